"""One check end to end: a real local HTTP server, the real store, every stage in between."""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import ParamSpec, TypeVar

import pytest
import requests
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.conftest import shared_readers
from tests.sites import CJK_STORY, PARAGRAPHS, Story, boxed_page, encoded, not_found_page, render
from watcher.check.pipeline import (
    QUIET_BATCH,
    CheckResult,
    check_page,
    check_safely,
    run_pass,
    version_record,
)
from watcher.check.readers import Reader
from watcher.check.reading import compare_rules, fetch_options, read_article
from watcher.check.textcap import Reading, read_article_within
from watcher.config import Settings, Watch, Watchlist
from watcher.fetch import fetch_page
from watcher.judge.classify import Kind, Part, Removal
from watcher.read.extract import Article
from watcher.read.locate import Locator
from watcher.read.normalize import normalize_article
from watcher.store.store import Store

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


class Site:
    """A scriptable site: set what each path answers next, and see what was asked."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.replies: dict[str, Reply] = {}
        self.requests: list[Request] = []
        self.fallback = Reply(404, b"<h1>Not Found</h1>")  # for paths nobody set
        server.expect_request(re.compile(".*")).respond_with_handler(self._handle)

    def _handle(self, request: Request) -> Response:
        self.requests.append(request)
        reply = self.replies.get(request.path, self.fallback)
        return Response(reply.body, status=reply.status, headers=reply.headers)

    def serve(self, path: str, body: bytes | str, status: int = 200, **headers: str) -> None:
        data = body.encode("utf-8") if isinstance(body, str) else body
        merged = {"Content-Type": "text/html; charset=utf-8", **headers}
        self.replies[path] = Reply(status, data, merged)

    def url(self, path: str) -> str:
        return self.server.url_for(path)


@pytest.fixture
def site(httpserver: HTTPServer) -> Site:
    return Site(httpserver)


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


SETTINGS = Settings(
    timeout=timedelta(seconds=5), deadline=timedelta(seconds=10), allow_private=True
)


class Checker:
    """Runs successive checks of one watch, a minute apart."""

    def __init__(
        self, store: Store, session: requests.Session, watch: Watch, routes: tuple[str, ...] = ()
    ) -> None:
        self.store, self.session, self.watch, self.routes = store, session, watch, routes
        self.page_id = store.sync_pages([(watch.url, watch.label)], T0)[watch.url]
        self.now = T0
        self.reader: Reader = shared_readers()

    def __call__(self) -> CheckResult:
        self.now += timedelta(minutes=1)
        return check_page(
            self.store,
            self.session,
            self.watch,
            SETTINGS,
            page_id=self.page_id,
            now=self.now,
            routes=self.routes,
            reader=self.reader,
        )

    def snapshot_count(self) -> int:
        return len(self.store.snapshots(self.page_id))

    def locator(self) -> str | None:
        """Where the page's article was last found, as stored for the next check."""
        page = self.store.page_by_url(self.watch.url)
        return page.locator if page is not None else None


class Trips:
    """The real readers, with a note of what each trip to them was for."""

    def __init__(self, reader: Reader) -> None:
        self.reader = reader
        self.names: list[str] = []

    def run(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        self.names.append(fn.__name__)
        return self.reader.run(fn, *args, **kwargs)


def checker(
    db: Store, session: requests.Session, site: Site, path: str, **watch: object
) -> Checker:
    return Checker(db, session, Watch.model_validate({"url": site.url(path), **watch}))


def test_new_then_unchanged_then_noise(db: Store, session: requests.Session, site: Site) -> None:
    """First fetch is new; a byte-identical and a noisy re-fetch store nothing."""
    story = Story()
    site.serve("/a", render(story, seed=1))
    check = checker(db, session, site, "/a")
    assert check().verdict.kind is Kind.NEW
    assert check().verdict.kind is Kind.UNCHANGED
    site.serve("/a", render(story, seed=2, comments=57))  # ads, clock, related, nonce, count
    result = check()
    assert result.verdict.kind is Kind.UNCHANGED, result.verdict.summary
    assert check.snapshot_count() == 1


def test_one_word_edit_is_stored_with_evidence(
    db: Store, session: requests.Session, site: Site
) -> None:
    """A one-word edit is a change; the raw HTML is kept byte for byte with its hash."""
    story = Story()
    site.serve("/a", render(story, seed=1))
    check = checker(db, session, site, "/a")
    check()
    edited_html = render(story.edit(4, "declined", "refused"), seed=3)
    site.serve("/a", edited_html, ETag='"v2"')
    result = check()
    assert result.verdict.kind is Kind.CHANGED
    assert result.verdict.parts == (Part.BODY,)
    assert (result.verdict.words_added, result.verdict.words_removed) == (1, 1)
    assert result.change_id is not None
    change = db.get_change(result.change_id)
    assert change is not None
    snapshot = db.get_snapshot(change.snapshot_id)
    assert snapshot is not None
    raw = db.raw_body(snapshot.body_sha256)
    assert raw == edited_html.encode("utf-8")
    assert snapshot.body_sha256 == hashlib.sha256(raw).hexdigest()
    assert snapshot.status == 200
    assert snapshot.headers.get("etag") == '"v2"'
    assert abs(snapshot.fetched_at - datetime.now(UTC)) < timedelta(minutes=5)  # real time
    assert "refused" in snapshot.text


def test_quick_reread_settles_noise_and_still_catches_every_edit(
    db: Store, session: requests.Session, site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    """Once the article is placed, a noisy re-fetch is settled by re-reading the block
    where it was found; an edit in it, or a paragraph added beside it, still alerts."""
    caplog.set_level(logging.DEBUG, logger="watcher.check")
    quick = "unchanged where the article was found last time"
    site.serve("/a", boxed_page(seed=1))
    check = checker(db, session, site, "/a")
    assert check().verdict.kind is Kind.NEW
    page = db.page_by_url(check.watch.url)
    assert page is not None
    assert Locator.loads(page.locator) is not None

    caplog.clear()
    site.serve("/a", boxed_page(seed=2, banner=True))  # clock, ad, related, nonce, banner
    assert check().verdict.kind is Kind.UNCHANGED
    assert quick in caplog.text

    edited = (*PARAGRAPHS[:2], PARAGRAPHS[2].replace("declined", "refused"))
    site.serve("/a", boxed_page(edited, seed=3))
    result = check()
    assert result.verdict.kind is Kind.CHANGED
    assert (result.verdict.words_added, result.verdict.words_removed) == (1, 1)

    caplog.clear()
    site.serve("/a", boxed_page(edited, seed=4))  # placed again where the new version stands
    assert check().verdict.kind is Kind.UNCHANGED
    assert quick in caplog.text

    beside = "<p>Update: the former minister was arrested on Saturday morning.</p>"
    site.serve("/a", boxed_page(edited, seed=5, beside=beside))
    result = check()
    assert result.verdict.kind is Kind.CHANGED, result.verdict.summary
    assert result.verdict.words_added >= 8
    assert check.snapshot_count() == 3


LONGER = (
    *PARAGRAPHS,
    "The bridge, which was to open next spring, has cost twice its budget so far, and "
    "the auditors who found the missing tender were asked to look at two other contracts.",
)


def test_a_page_dated_only_in_its_text_is_re_read_quickly_and_its_date_still_counts(
    db: Store, session: requests.Session, site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    """dateline-shown-only on a page whose metadata states no date: the date is found in
    the text, by full reading and by the quick re-read alike, so noise is settled without
    reading the page in full, and a changed date is still a change."""
    caplog.set_level(logging.DEBUG, logger="watcher.check")

    def dated_in_text(day: str, seed: int) -> str:
        html = re.sub(r'<meta property="article:published_time"[^>]*>', "", boxed_page(seed=seed))
        return html.replace('<p class="byline">', f'<p class="byline">Published {day}. ')

    site.serve("/a", dated_in_text("2026-11-27", 1))
    check = checker(db, session, site, "/a")
    assert check().verdict.kind is Kind.NEW
    latest = db.latest_snapshot(check.page_id)
    assert latest is not None
    assert latest.published == "2026-11-27"
    site.serve("/a", dated_in_text("2026-11-27", 2))
    check.reader = trips = Trips(shared_readers())
    caplog.clear()
    assert check().verdict.kind is Kind.UNCHANGED
    assert "unchanged where the article was found last time" in caplog.text
    assert trips.names == ["read_unless_as_before"]  # one trip, and no full reading
    site.serve("/a", dated_in_text("2026-11-20", 3))
    result = check()
    assert result.verdict.kind is Kind.CHANGED, result.verdict.summary


def test_a_quick_re_read_keeps_this_load_glance_for_the_next_check(
    db: Store, session: requests.Session, site: Site
) -> None:
    """Furniture that moved (related links) reads as before where the article stands; the
    load's glance is then kept, so a next load that differs from it only by what every
    load stamps (a nonce, a clock) needs no parse at all."""
    site.serve("/a", boxed_page(LONGER, seed=1))
    check = checker(db, session, site, "/a")
    assert check().verdict.kind is Kind.NEW
    first = Locator.loads(check.locator())
    assert first is not None
    assert first.glance
    site.serve("/a", boxed_page(LONGER, seed=2))  # other related links: another glance
    assert check().verdict.kind is Kind.UNCHANGED
    kept = Locator.loads(check.locator())
    assert kept is not None
    assert kept.glance != first.glance
    assert kept.misses == 1
    assert replace(kept, glance=first.glance, misses=0) == first  # only the glance is new
    site.serve("/a", boxed_page(LONGER, seed=2).replace("</body>", "<!-- 3 ms --></body>"))
    assert check().verdict.kind is Kind.UNCHANGED
    assert Locator.loads(check.locator()) == replace(kept, misses=0)  # it glanced


def test_versions_read_by_an_earlier_watcher_are_read_again(
    db: Store, session: requests.Session, site: Site
) -> None:
    """upgrade: a version whose text an earlier extractor read differently (here with a
    cookie notice as a paragraph) is re-read from its raw body, so nothing is reported;
    a real edit afterwards still is."""
    html = boxed_page(seed=1)
    site.serve("/a", html)
    check = checker(db, session, site, "/a")
    fetched = fetch_page(session, check.watch.url, fetch_options(SETTINGS, check.watch))
    today = read_article(html, check.watch, check.watch.url)
    earlier = Article(
        today.title,
        today.byline,
        today.published,
        ("We use cookies to improve your experience.", *today.paragraphs),
        today.page_title,
    )
    # stored before versions recorded how they were read (no reader key)
    db.record_version(
        check.page_id,
        version_record(fetched, earlier, state="ok", removal=None, reader="", locator=None),
    )
    site.serve("/a", boxed_page(seed=2))
    result = check()
    assert result.verdict.kind is Kind.UNCHANGED, result.verdict.summary
    edited = (*PARAGRAPHS[:2], PARAGRAPHS[2].replace("declined", "refused"))
    site.serve("/a", boxed_page(edited, seed=3))
    result = check()
    assert result.verdict.kind is Kind.CHANGED
    assert (result.verdict.words_added, result.verdict.words_removed) == (1, 1)


def test_changing_how_a_watch_is_read_is_not_an_edit(
    db: Store, session: requests.Session, site: Site
) -> None:
    """A wider selector in the watchlist reads more of the same page: not a change."""
    site.serve("/a", boxed_page(seed=1))
    narrow = checker(db, session, site, "/a", mode="selector", selector=".body")
    assert narrow().verdict.kind is Kind.NEW
    wide = checker(db, session, site, "/a", mode="selector", selector=".story")
    wide.now = narrow.now
    site.serve("/a", boxed_page(seed=2))
    result = wide()
    assert result.verdict.kind is Kind.UNCHANGED, result.verdict.summary
    site.serve("/a", boxed_page(title="Minister quits", seed=3))
    result = wide()
    assert result.verdict.kind is Kind.CHANGED
    assert Part.BODY in result.verdict.parts  # the <h1> is part of what ".story" reads


def test_headline_only_edit(db: Store, session: requests.Session, site: Site) -> None:
    """A changed headline with an unchanged body is reported as a headline change."""
    story = Story()
    site.serve("/a", render(story))
    check = checker(db, session, site, "/a")
    check()
    site.serve("/a", render(Story(title="Minister steps down amid bridge inquiry")))
    result = check()
    assert result.verdict.kind is Kind.CHANGED
    assert Part.HEADLINE in result.verdict.parts
    assert Part.BODY not in result.verdict.parts


def test_gbk_page_one_cjk_character(db: Store, session: requests.Session, site: Site) -> None:
    """A GBK page declaring gb2312: one changed Han character is caught and decoded right."""
    story = replace(CJK_STORY, charset="gb2312")
    site.serve("/zh", encoded(story, codec="gbk"), **{"Content-Type": "text/html"})
    check = checker(db, session, site, "/zh")
    first = check()
    assert first.verdict.kind is Kind.NEW
    snapshot = db.latest_snapshot(check.page_id)
    assert snapshot is not None
    assert "十二人死亡" in snapshot.text
    edited = story.edit(0, "十二人死亡", "十三人死亡")
    site.serve("/zh", encoded(edited, codec="gbk"), **{"Content-Type": "text/html"})
    result = check()
    assert result.verdict.kind is Kind.CHANGED
    assert (result.verdict.words_added, result.verdict.words_removed) == (1, 1)


@pytest.mark.parametrize(
    ("status", "removal"), [(404, Removal.GONE), (410, Removal.GONE), (451, Removal.LEGAL)]
)
def test_removed_by_status_once(
    db: Store, session: requests.Session, site: Site, status: int, removal: Removal
) -> None:
    """404/410/451 are one removal (stored as evidence), then quiet while it stays gone."""
    site.serve("/a", render(Story()))
    check = checker(db, session, site, "/a")
    check()
    site.serve("/a", not_found_page(), status=status)
    result = check()
    assert result.verdict.kind is Kind.REMOVED
    assert result.verdict.removal is removal
    assert check().verdict.kind is Kind.UNCHANGED
    snapshots = db.snapshots(check.page_id)
    assert [s.state for s in snapshots] == ["ok", "removed"]
    assert snapshots[-1].status == status


def test_redirect_home_is_removal_with_hops(
    db: Store, session: requests.Session, site: Site
) -> None:
    """A 301 to the home page is a removal; the hop is recorded in the snapshot."""
    site.serve("/", "<html><title>Home</title><body><h1>Front page</h1></body></html>")
    site.serve("/world/2026/a", render(Story()))
    check = checker(db, session, site, "/world/2026/a")
    check()
    site.serve("/world/2026/a", b"", status=301, Location="/")
    result = check()
    assert result.verdict.kind is Kind.REMOVED
    assert result.verdict.removal is Removal.REDIRECTED
    snapshot = db.latest_snapshot(check.page_id)
    assert snapshot is not None
    assert snapshot.redirects[0]["status"] == 301
    assert snapshot.final_url == site.url("/")


def test_a_stub_that_refreshes_to_the_home_page_is_a_redirect_away(
    db: Store, session: requests.Session, site: Site
) -> None:
    """An article replaced, with status 200, by a stub whose <meta> refresh sends the
    reader to the home page at once is a removal by redirect, its hop recorded; the
    stub never reads as an emptied article."""
    site.serve("/", "<html><title>Home</title><body><h1>Front page</h1></body></html>")
    site.serve("/world/2026/a", render(Story()))
    check = checker(db, session, site, "/world/2026/a")
    check()
    stub = (
        '<html><head><meta http-equiv="refresh" content="0;URL=\'/\'"></head><body></body></html>'
    )
    site.serve("/world/2026/a", stub)
    result = check()
    assert (result.verdict.kind, result.verdict.removal) == (Kind.REMOVED, Removal.REDIRECTED)
    snapshot = db.latest_snapshot(check.page_id)
    assert snapshot is not None
    assert [(hop["status"], hop["location"]) for hop in snapshot.redirects] == [
        (200, site.url("/"))
    ]
    assert check().verdict.kind is Kind.UNCHANGED


def test_503_is_an_error_not_a_removal(db: Store, session: requests.Session, site: Site) -> None:
    """A 503 is recorded as an error on the page; no snapshot, no removal."""
    site.serve("/a", render(Story()))
    check = checker(db, session, site, "/a")
    check()
    site.serve("/a", "<h1>Service Unavailable</h1>", status=503)
    result = check()
    assert result.verdict.kind is Kind.ERROR
    assert check.snapshot_count() == 1
    page = db.page_by_url(check.watch.url)
    assert page is not None
    assert page.consecutive_errors == 1
    assert page.last_status == 503


def test_restored_after_removal(db: Store, session: requests.Session, site: Site) -> None:
    """A page that comes back after a 404 is restored, diffed against its last good text."""
    story = Story()
    site.serve("/a", render(story))
    check = checker(db, session, site, "/a")
    check()
    site.serve("/a", not_found_page(), status=404)
    check()
    site.serve("/a", render(story.edit(1, "14", "4")))
    result = check()
    assert result.verdict.kind is Kind.RESTORED
    assert result.verdict.parts == (Part.BODY,)


def test_not_modified_uses_validators(db: Store, session: requests.Session, site: Site) -> None:
    """The ETag and Last-Modified of the stored version are sent; a 304 is unchanged."""
    site.serve(
        "/a", render(Story()), ETag='"abc"', **{"Last-Modified": "Fri, 27 Nov 2026 08:00:00 GMT"}
    )
    check = checker(db, session, site, "/a")
    check()
    site.serve("/a", b"", status=304)
    assert check().verdict.kind is Kind.UNCHANGED
    last = site.requests[-1]
    assert last.headers.get("If-None-Match") == '"abc"'
    assert last.headers.get("If-Modified-Since") == "Fri, 27 Nov 2026 08:00:00 GMT"


def test_ignore_rule_silences_counter(db: Store, session: requests.Session, site: Site) -> None:
    """A per-watch ignore regex drops a volatile counter inside the article text."""
    story = Story().edit(4, "Friday morning.", "Friday morning. Read 1,024 times.")
    site.serve("/a", render(story))
    check = checker(db, session, site, "/a", ignore=[r"Read [\d,]+ times\."])
    check()
    site.serve("/a", render(story.edit(4, "1,024", "2,311")))
    assert check().verdict.kind is Kind.UNCHANGED
    site.serve("/a", render(story.edit(4, "Friday", "Monday")))
    assert check().verdict.kind is Kind.CHANGED


def test_a_rotating_read_more_line_counter_bar_and_offer_in_the_article_are_not_edits(
    db: Store, session: requests.Session, site: Site
) -> None:
    """A "read more" line linking another story, a counter bar in the page's language and
    a sign-up offer, set between the article's paragraphs and different on every load,
    never alert; a one-word edit of the article still does."""

    def page(story: Story, load: int) -> str:
        html = render(story, seed=1)
        teaser = ("Storm closes the airport", "Museum reopens after fire")[load % 2]
        offer = ("Sign up for our newsletter", "Download our app for alerts")[load % 2]
        furniture = (
            f'<p><strong>Lesen Sie auch:</strong> <a href="/n/{load}">{teaser}</a></p>'
            f'<div class="stats">{1200 + load * 37} Aufrufe · {3 + load} Kommentare</div>'
            f'<div class="newsletter-box"><p>{offer}</p></div>'
        )
        first, rest = html.split("</p>", 1)
        return f"{first}</p>{furniture}{rest}"

    story = Story()
    site.serve("/a", page(story, 0))
    check = checker(db, session, site, "/a")
    assert check().verdict.kind is Kind.NEW
    for load in (1, 2, 3):
        site.serve("/a", page(story, load))
        result = check()
        assert result.verdict.kind is Kind.UNCHANGED, result.verdict.summary
    site.serve("/a", page(story.edit(4, "Friday", "Monday"), 4))
    assert check().verdict.kind is Kind.CHANGED


def test_the_readers_compared_text_is_what_the_judge_would_compare() -> None:
    """The ignore rules are applied in the reader, to spare the checking process; what comes
    back must be exactly what the judge would make of the stored reading itself."""
    story = Story().edit(4, "Friday morning.", "Friday morning. Read 1,024 times.")
    html = render(story)
    watch = Watch(url="https://example.org/a", ignore=[r"Read [\d,]+ times\."])
    rules = compare_rules(watch)
    reading = read_article_within(html, watch, watch.url, 10**6, rules)
    assert isinstance(reading, Reading)
    assert reading.article == read_article(html, watch, watch.url)
    assert reading.compared == normalize_article(reading.article, rules).article
    assert "1,024" in reading.article.text
    assert "1,024" not in reading.compared.text


def test_selector_mode(db: Store, session: requests.Session, site: Site) -> None:
    """Selector mode compares only the chosen block: changes elsewhere are ignored."""
    page = "<html><body><div id='live'><p>{}</p></div><p>{}</p></body></html>"
    site.serve("/live", page.format("Notice 1: roads closed", "weather 12C"))
    check = checker(db, session, site, "/live", mode="selector", selector="#live")
    check()
    site.serve("/live", page.format("Notice 1: roads closed", "weather 14C"))
    assert check().verdict.kind is Kind.UNCHANGED
    site.serve("/live", page.format("Notice 1: roads reopened", "weather 14C"))
    assert check().verdict.kind is Kind.CHANGED


def test_connection_refused_is_error(db: Store, session: requests.Session) -> None:
    """No server at all is an error recorded on the page, never a removal."""
    watch = Watch(url="http://127.0.0.1:9/closed")
    check = Checker(db, session, watch)
    result = check()
    assert result.verdict.kind is Kind.ERROR
    page = db.page_by_url(watch.url)
    assert page is not None
    assert page.last_error
    assert check.snapshot_count() == 0


def test_run_pass_checks_every_watch(db: Store, site: Site) -> None:
    """A pass checks every watch with a worker pool and reports in watchlist order."""
    for n in range(6):
        site.serve(f"/p{n}", render(Story(title=f"Story number {n} about the bridge")))
    watchlist = Watchlist(
        settings=SETTINGS.model_copy(update={"workers": 3}),
        watch=[Watch(url=site.url(f"/p{n}")) for n in range(6)],
    )
    first = run_pass(db, watchlist, reader=shared_readers())
    assert [r.verdict.kind for r in first] == [Kind.NEW] * 6
    assert [r.url for r in first] == [w.url for w in watchlist.watch]
    site.serve("/p4", render(Story(title="Story number 4 about the tunnel")))
    second = run_pass(db, watchlist, reader=shared_readers())
    kinds = [r.verdict.kind for r in second]
    assert kinds == [Kind.UNCHANGED] * 4 + [Kind.CHANGED, Kind.UNCHANGED]


def _pass_of(db: Store, site: Site, count: int) -> Watchlist:
    for n in range(count):
        site.serve(f"/q{n}", render(Story(title=f"Quiet story {n} about the harbour")))
    watchlist = Watchlist(
        settings=SETTINGS.model_copy(update={"workers": 4}),
        watch=[Watch(url=site.url(f"/q{n}")) for n in range(count)],
    )
    first = run_pass(db, watchlist, reader=shared_readers(), now=lambda: T0)
    assert [r.verdict.kind for r in first] == [Kind.NEW] * count
    return watchlist


def test_a_pass_records_every_quiet_check_written_in_batches(db: Store, site: Site) -> None:
    """Checks that store nothing are written together, a full batch and the rest alike."""
    count = QUIET_BATCH + 5
    watchlist = _pass_of(db, site, count)
    later = T0 + timedelta(hours=1)
    second = run_pass(db, watchlist, reader=shared_readers(), now=lambda: later)
    assert [r.verdict.kind for r in second] == [Kind.UNCHANGED] * count
    pages = [db.page_by_url(w.url) for w in watchlist.watch]
    assert [p.last_checked_at.replace(tzinfo=UTC) for p in pages if p] == [later] * count
    assert [p.last_status for p in pages if p] == [200] * count


def test_quiet_checks_the_database_refuses_are_errors(db: Store, site: Site) -> None:
    """A database that refuses the batched write (a full disk) makes those checks errors,
    so ``watcher check`` exits with its errors code instead of reporting all is well."""
    watchlist = _pass_of(db, site, 3)
    before = [db.page_by_url(w.url) for w in watchlist.watch]
    with db.engine.begin() as connection:
        if db.dialect == "postgresql":
            connection.exec_driver_sql(
                "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN "
                "RAISE EXCEPTION 'no space left on device'; END $$ LANGUAGE plpgsql"
            )
            connection.exec_driver_sql(
                "CREATE TRIGGER refuse BEFORE UPDATE OF last_checked_at ON page "
                "FOR EACH ROW EXECUTE FUNCTION refuse()"
            )
        else:
            connection.exec_driver_sql(
                "CREATE TRIGGER refuse BEFORE UPDATE OF last_checked_at ON page "
                "BEGIN SELECT RAISE(ABORT, 'no space left on device'); END"
            )
    later = T0 + timedelta(hours=1)
    second = run_pass(db, watchlist, reader=shared_readers(), now=lambda: later)
    assert [r.verdict.kind for r in second] == [Kind.ERROR] * 3
    assert all("no space left on device" in r.verdict.summary for r in second)
    after = [db.page_by_url(w.url) for w in watchlist.watch]
    assert [p.last_checked_at for p in after if p] == [p.last_checked_at for p in before if p]


class Sequenced(Site):
    """A site whose page answers from a script, one reply per request, the last repeating."""

    def __init__(self, server: HTTPServer) -> None:
        super().__init__(server)
        self.script: dict[str, list[Reply]] = {}

    def _handle(self, request: Request) -> Response:
        queue = self.script.get(request.path)
        if queue:
            reply = queue.pop(0) if len(queue) > 1 else queue[0]
            self.requests.append(request)
            return Response(reply.body, status=reply.status, headers=reply.headers)
        return super()._handle(request)

    def play(self, path: str, *pages: str) -> None:
        headers = {"Content-Type": "text/html; charset=utf-8"}
        self.script[path] = [Reply(200, p.encode("utf-8"), headers) for p in pages]


@pytest.fixture
def sequenced(httpserver: HTTPServer) -> Sequenced:
    return Sequenced(httpserver)


def confirming_check(db: Store, session: requests.Session, site: Site, path: str) -> Checker:
    """Checks with the default confirmation on and alerts routed to "desk"."""
    assert SETTINGS.confirm
    return Checker(db, session, Watch(url=site.url(path)), routes=("desk",))


def test_change_seen_once_is_not_reported(
    db: Store, session: requests.Session, sequenced: Sequenced
) -> None:
    """A version served once and then gone again (A/B test, CDN node) is not a change."""
    story = Story()
    sequenced.play("/a", render(story))
    check = confirming_check(db, session, sequenced, "/a")
    assert check().verdict.kind is Kind.NEW
    sequenced.play("/a", render(story.edit(1, "14", "40")), render(story))
    result = check()
    assert result.verdict.kind is Kind.UNCHANGED
    assert "not confirmed" in result.verdict.summary
    assert check.snapshot_count() == 1


def test_removal_seen_once_is_not_reported(
    db: Store, session: requests.Session, sequenced: Sequenced
) -> None:
    """A single 404 followed by the article is a flap, not a removal."""
    sequenced.play("/a", render(Story()))
    check = confirming_check(db, session, sequenced, "/a")
    check()
    sequenced.script["/a"] = [
        Reply(404, not_found_page().encode(), {"Content-Type": "text/html"}),
        Reply(200, render(Story()).encode(), {"Content-Type": "text/html"}),
    ]
    assert check().verdict.kind is Kind.UNCHANGED
    assert check.snapshot_count() == 1


def test_text_that_differs_between_loads_is_masked(
    db: Store, session: requests.Session, sequenced: Sequenced
) -> None:
    """A ticker inside the article that changes on every load never alerts; an edit does."""
    story = Story()

    def ticked(base: Story, tick: int) -> str:
        return render(base.edit(0, "resigned on Friday", f"resigned on Friday [live {tick}]"))

    sequenced.play("/a", ticked(story, 1))
    check = confirming_check(db, session, sequenced, "/a")
    check()
    sequenced.play("/a", ticked(story, 2), ticked(story, 3))
    assert check().verdict.kind is Kind.UNCHANGED
    edited = story.edit(3, "suspended", "cancelled")
    sequenced.play("/a", ticked(edited, 4), ticked(edited, 5))
    result = check()
    assert result.verdict.kind is Kind.CHANGED
    assert (result.verdict.words_added, result.verdict.words_removed) == (1, 1)


def test_return_to_an_earlier_version_is_recorded_but_not_alerted(
    db: Store, session: requests.Session, sequenced: Sequenced
) -> None:
    """A -> B -> A alerts once, for B; the return to A is stored without a new alert."""
    story_a, story_b = Story(), Story(title="Minister quits over bridge deal")
    sequenced.play("/a", render(story_a))
    check = confirming_check(db, session, sequenced, "/a")
    check()
    sequenced.play("/a", render(story_b))
    assert check().verdict.kind is Kind.CHANGED
    sequenced.play("/a", render(story_a))
    back = check()
    assert back.verdict.kind is Kind.CHANGED
    assert "already reported" in back.verdict.summary
    assert back.repeat_of is not None
    assert check.snapshot_count() == 3
    alerts = db.outbox.alerts(check.page_id)
    assert len(alerts) == 1


def test_headline_flip_alerts_once_even_when_loads_differ_elsewhere(
    db: Store, session: requests.Session, sequenced: Sequenced
) -> None:
    """ab-headline-flip: A -> B -> A -> B with a live ticker in the body that differs on
    every load: one alert, for B; the flips back and forth are stored, not alerted."""

    def load(story: Story, tick: int) -> str:
        return render(story.edit(0, "resigned on Friday", f"resigned on Friday [live {tick}]"))

    story_a, story_b = Story(), Story(title="Minister quits over bridge deal")
    sequenced.play("/a", load(story_a, 1))
    check = confirming_check(db, session, sequenced, "/a")
    check()
    results = []
    for tick, story in enumerate((story_b, story_a, story_b), start=2):
        sequenced.play("/a", load(story, 10 * tick), load(story, 10 * tick + 1))
        results.append(check())
    assert [r.verdict.kind for r in results] == [Kind.CHANGED] * 3
    assert [r.repeat_of is not None for r in results] == [False, True, True]
    assert len(db.outbox.alerts(check.page_id)) == 1


STORY_B = Story(title="Minister quits over bridge deal")


def headline_changed(db: Store, session: requests.Session, sequenced: Sequenced) -> Checker:
    """A page stored as Story() and then, with a confirmed alert, as ``STORY_B``."""
    sequenced.play("/a", render(Story()))
    check = confirming_check(db, session, sequenced, "/a")
    check()
    sequenced.play("/a", render(STORY_B))
    assert check().verdict.kind is Kind.CHANGED
    return check


def test_headline_reverted_with_a_new_body_edit_alerts(
    db: Store, session: requests.Session, sequenced: Sequenced
) -> None:
    """A return to an earlier headline that comes with an edit nobody has seen alerts."""
    check = headline_changed(db, session, sequenced)
    sequenced.play("/a", render(Story().edit(3, "suspended", "cancelled")))
    result = check()
    assert result.verdict.kind is Kind.CHANGED
    assert result.repeat_of is None
    assert len(db.outbox.alerts(check.page_id)) == 2


def test_headline_reverted_after_other_edits_alerts(
    db: Store, session: requests.Session, sequenced: Sequenced
) -> None:
    """A -> B (headline) -> body edit -> headline back to A: not a flip, an edit."""
    check = headline_changed(db, session, sequenced)
    sequenced.play("/a", render(STORY_B.edit(3, "suspended", "cancelled")))
    assert check().verdict.kind is Kind.CHANGED
    sequenced.play("/a", render(Story().edit(3, "suspended", "cancelled")))
    result = check()
    assert result.verdict.kind is Kind.CHANGED
    assert result.verdict.parts == (Part.HEADLINE,)
    assert result.repeat_of is None
    assert len(db.outbox.alerts(check.page_id)) == 3


SOFT_404 = """<html><head><title>Example News</title></head><body>
<nav><a href="/">Home</a> <a href="/world/">World</a></nav>
<main><h1>Oops</h1><p>We looked everywhere but could not find what you asked for.</p>
<p>Try the search box or go back to the front page.</p></main>
<footer>Example News 2026</footer></body></html>"""


def test_soft_404_is_recognised_by_the_hosts_own_not_found_page(
    db: Store, session: requests.Session, site: Site
) -> None:
    """A 200 page that reads like what the host serves for a random URL is a soft 404."""
    site.fallback = Reply(200, SOFT_404.encode(), {"Content-Type": "text/html"})
    path = f"/section-{uuid.uuid4().hex[:8]}/a"  # the probe's answer is cached per section
    site.serve(path, render(Story()))
    check = checker(db, session, site, path)
    check()
    site.serve(path, SOFT_404)
    result = check()
    assert result.verdict.kind is Kind.REMOVED
    assert result.verdict.removal is Removal.SOFT_404
    probes = [r.path for r in site.requests if r.path.endswith(".html")]
    assert probes, "the host was asked for a URL that cannot exist"


def test_removal_notice_in_chinese(db: Store, session: requests.Session, site: Site) -> None:
    """The article replaced by a Chinese removal notice is removed (notice)."""
    site.serve("/zh", render(CJK_STORY))
    check = checker(db, session, site, "/zh")
    check()
    notice = render(replace(CJK_STORY, paragraphs=("根据相关法律法规和政策，该内容无法显示。",)))
    site.serve("/zh", notice)
    result = check()
    assert result.verdict.kind is Kind.REMOVED
    assert result.verdict.removal is Removal.NOTICE


def test_revert_days_later_is_reported_again(
    db: Store, session: requests.Session, sequenced: Sequenced
) -> None:
    """A -> B, then back to A three days later: a quiet revert is news, so it alerts."""
    story_a, story_b = Story(), Story(title="Minister quits over bridge deal")
    sequenced.play("/a", render(story_a))
    check = confirming_check(db, session, sequenced, "/a")
    check()
    sequenced.play("/a", render(story_b))
    check()
    check.now = datetime.now(UTC) + timedelta(days=3)  # stored versions carry real fetch times
    sequenced.play("/a", render(story_a))
    back = check()
    assert back.verdict.kind is Kind.CHANGED
    assert back.repeat_of is None
    assert len(db.outbox.alerts(check.page_id)) == 2


def test_an_internal_failure_is_one_log_line_and_recorded(
    db: Store, session: requests.Session, site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    """A crashing check (a page id the store does not know) logs one line, no traceback."""
    site.serve("/a", render(Story()))
    watch = Watch(url=site.url("/a"))
    with caplog.at_level(logging.INFO, logger="watcher.check.pipeline"):
        result = check_safely(
            db, session, watch, SETTINGS, page_id=987654, now=T0, reader=shared_readers()
        )
    assert result.verdict.kind is Kind.ERROR
    assert "internal error" in result.verdict.summary
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors
    assert all("\n" not in r.getMessage() and r.exc_info is None for r in errors)


def test_a_quiet_check_is_handed_back_for_the_batch_and_an_outage_end_never_is(
    db: Store, session: requests.Session, site: Site
) -> None:
    """With ``defer_quiet`` (the daemon), an uneventful check is not written but handed
    back, and ``release_pages`` writes it as ``record_check`` would. A success after
    errors is written at once: it ends the outage, which may owe a "reachable" alert."""
    story = Story()
    site.serve("/a", render(story, seed=1), ETag='"v1"')
    check = checker(db, session, site, "/a")
    check()

    def deferred(at: datetime) -> CheckResult:
        page = db.page_by_url(check.watch.url)
        return check_page(
            db, session, check.watch, SETTINGS, page_id=check.page_id, now=at,
            reader=shared_readers(), page=page, defer_quiet=True,
        )  # fmt: skip

    site.serve("/a", render(story, seed=2), ETag='"v2"')
    at = T0 + timedelta(hours=1)
    result = deferred(at)
    assert result.verdict.kind is Kind.UNCHANGED
    assert result.quiet is not None
    page = db.page_by_url(check.watch.url)
    assert page is not None
    assert page.last_checked_at != at
    db.release_pages([], owner="me", quiet=[result.quiet])
    page = db.page_by_url(check.watch.url)
    assert page is not None
    assert (page.last_checked_at, page.last_status, page.etag) == (at, 200, '"v2"')

    site.serve("/a", "busy", status=503)
    assert deferred(at + timedelta(minutes=1)).quiet is None  # errors are written at once
    site.serve("/a", render(story, seed=3))
    result = deferred(at + timedelta(minutes=2))
    assert result.verdict.kind is Kind.UNCHANGED
    assert result.quiet is None
    page = db.page_by_url(check.watch.url)
    assert page is not None
    assert (page.last_error, page.consecutive_errors) == (None, 0)
