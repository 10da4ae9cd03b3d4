"""Sources: feeds, news sitemaps and section pages on a local site become watched pages,
first fetched within one poll; duplicates are one page; dropped articles are events; a
broken source keeps its last good item set. Real daemon, real databases."""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import SlackEndpoint, shared_readers
from tests.loopback import LOOPBACK_SETTING
from tests.test_daemon import WAIT, Clock, Site, drain, make_daemon, site
from tests.viewer_support import running
from watcher.cli import main
from watcher.config import Watchlist, load_watchlist
from watcher.serve.app import create_app
from watcher.service.daemon import Daemon
from watcher.store.store import Store

__all__ = ["make_daemon", "site"]  # fixtures

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
MakeDaemon = Callable[..., Daemon]


def rss(site: Site, paths: list[str]) -> bytes:
    items = "".join(
        f"<item><title>Story {p}</title><link>{site.url(p)}</link>"
        f"<pubDate>Sun, 29 Nov 2026 11:{i:02d}:00 GMT</pubDate></item>"
        for i, p in enumerate(paths)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Desk</title>'
        f"<link>{site.url('/')}</link>{items}</channel></rss>"
    ).encode()


def atom(site: Site, paths: list[str]) -> bytes:
    entries = "".join(
        f'<entry><title>Story {p}</title><link href="{site.url(p)}"/><id>{site.url(p)}</id>'
        f"<updated>2026-11-29T11:{i:02d}:00Z</updated></entry>"
        for i, p in enumerate(paths)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>Desk</title><id>{site.url('/atom')}</id><updated>2026-11-29T12:00:00Z</updated>"
        f"{entries}</feed>"
    ).encode()


def news_sitemap(site: Site, paths: list[str]) -> bytes:
    urls = "".join(
        f"<url><loc>{site.url(p)}</loc><news:news><news:publication>"
        "<news:name>Desk</news:name><news:language>zh</news:language></news:publication>"
        f"<news:publication_date>2026-11-29T19:{i:02d}:00+08:00</news:publication_date>"
        f"<news:title>Story {p}</news:title></news:news></url>"
        for i, p in enumerate(paths)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
        f"{urls}</urlset>"
    ).encode()


def sitemap_index(site: Site, children: list[str]) -> bytes:
    entries = "".join(f"<sitemap><loc>{site.url(c)}</loc></sitemap>" for c in children)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}'
        "</sitemapindex>"
    ).encode()


def section(site: Site, paths: list[str]) -> bytes:
    links = "".join(f'<li><a href="{p}">Story {p}</a></li>' for p in paths)
    return (
        "<html><body><nav><a href='/about'>About</a><a href='/world/'>World</a></nav>"
        f"<ul>{links}</ul><a href='{paths[0] if paths else '/'}#comments'>comments</a>"
        "</body></html>"
    ).encode()


ARTICLES = ["/2026/11/a.html", "/2026/11/b.html", "/2026/11/c.html"]


def publish(site: Site, kind: str, paths: list[str]) -> dict[str, Any]:
    """Serve ``paths`` as articles listed by a source of ``kind``; the [[source]] table."""
    for path in paths:
        site.serve(path)
    xml = {"Content-Type": "application/xml"}
    if kind == "rss":
        site.serve("/rss.xml", body=rss(site, paths), **xml)
        return {"url": site.url("/rss.xml")}
    if kind == "atom":
        site.serve("/atom.xml", body=atom(site, paths), **xml)
        return {"url": site.url("/atom.xml"), "kind": "feed"}
    if kind == "sitemap":
        half = len(paths) // 2
        site.serve("/sitemap.xml", body=sitemap_index(site, ["/n1.xml", "/n2.xml.gz"]), **xml)
        site.serve("/n1.xml", body=news_sitemap(site, paths[:half]), **xml)
        site.serve(
            "/n2.xml.gz",
            body=gzip.compress(news_sitemap(site, paths[half:])),
            **{"Content-Type": "application/x-gzip"},
        )
        return {"url": site.url("/sitemap.xml"), "kind": "sitemap"}
    site.serve("/world/", body=section(site, paths))
    pattern = site.url("/").replace(".", r"\.") + r"\d{4}/\d{2}/[a-z]+\.html"
    return {"url": site.url("/world/"), "links": pattern}


def watchlist(
    sources: list[dict[str, Any]], watches: Sequence[str] = (), **extra: Any
) -> Watchlist:
    return Watchlist.model_validate(
        {
            "settings": {"allow_private": True, "every": "1h", "host_delay": "1ms", "per_host": 4},
            "source": sources,
            "watch": [{"url": url} for url in watches],
            **extra,
        }
    )


def active_urls(db: Store) -> set[str]:
    return {p.url for p in db.all_pages() if p.is_active}


@pytest.mark.parametrize("kind", ["rss", "atom", "sitemap", "section"])
def test_listed_articles_become_pages_first_fetched_within_one_poll(
    db: Store, site: Site, make_daemon: MakeDaemon, kind: str
) -> None:
    """Every article the source lists is a page of that source, captured before the next
    poll; the source itself and the section page's other links are not watched."""
    source = publish(site, kind, ARTICLES)
    clock = Clock(T0)
    daemon = make_daemon(watchlist([source]), clock)
    assert daemon.poll_sources() == 1
    assert drain(daemon, clock) == len(ARTICLES)
    assert clock.now < T0 + timedelta(minutes=10)  # all captured before the next poll
    urls = {site.url(p) for p in ARTICLES}
    assert active_urls(db) == urls
    record = db.sources.sources()[0]
    assert record.last_error is None
    for url in urls:
        found = db.page_by_url(url)
        assert found is not None
        assert found.source_id == record.id
        assert found.discovered_at == T0
        assert len(db.snapshots(found.id or 0)) == 1
    assert all(site.hits[p] == 1 for p in ARTICLES)
    if kind in ("rss", "atom", "sitemap"):
        stated = db.page_by_url(site.url(ARTICLES[0]))
        assert stated is not None
        assert stated.published_at is not None


def test_new_articles_are_checked_ahead_of_routine_checks(
    db: Store, site: Site, make_daemon: MakeDaemon
) -> None:
    """A newly listed article is claimed before pages that are merely overdue."""
    routine = [f"/old{i}" for i in range(6)]
    for path in routine:
        site.serve(path)
    source = publish(site, "rss", ARTICLES[:1])
    clock = Clock(T0)
    daemon = make_daemon(watchlist([source], [site.url(p) for p in routine]), clock)
    daemon.poll_sources()
    claimed = db.claim_due_pages(T0 + timedelta(hours=2), 1, 60, "probe")
    assert [p.url for p in claimed] == [site.url(ARTICLES[0])]
    db.release_page(claimed[0].id or 0, T0, owner="probe")


def test_one_article_is_one_page(db: Store, site: Site, make_daemon: MakeDaemon) -> None:
    """Hand-written and discovered, listed by two sources, listed twice: one page each."""
    both = ARTICLES[0]
    first = publish(site, "rss", [*ARTICLES, both])
    second = publish(site, "atom", ARTICLES[1:])
    clock = Clock(T0)
    daemon = make_daemon(watchlist([first, second], [site.url(both)]), clock)
    assert daemon.poll_sources() == 2
    assert drain(daemon, clock) == 3
    assert len(db.all_pages()) == 3
    assert all(site.hits[p] == 1 for p in ARTICLES)
    hand_written = db.page_by_url(site.url(both))
    assert hand_written is not None
    assert hand_written.source_id is None
    labels = db.sources.sources_by_page()
    assert labels[hand_written.id or 0] == [site.url("/rss.xml")]
    shared = db.page_by_url(site.url(ARTICLES[1]))
    assert shared is not None
    assert labels[shared.id or 0] == [site.url("/rss.xml"), site.url("/atom.xml")]


def test_redirect_to_a_watched_article_is_one_page(
    db: Store, site: Site, make_daemon: MakeDaemon
) -> None:
    """A feed's tracking link that redirects to an article already watched is folded into
    that page after its first check."""
    site.serve("/story")
    site.serve("/r/1", status=301, body=b"", Location=site.url("/story"))
    site.serve("/rss.xml", body=rss(site, ["/r/1"]))
    clock = Clock(T0)
    daemon = make_daemon(watchlist([{"url": site.url("/rss.xml")}], [site.url("/story")]), clock)
    daemon.poll_sources()
    drain(daemon, clock)
    clock.advance(minutes=11)
    daemon.poll_sources()
    assert active_urls(db) == {site.url("/story")}
    story = db.page_by_url(site.url("/story"))
    assert story is not None
    assert [i.page_id for i in db.sources.items()] == [story.id]


def test_article_dropped_while_online_is_one_event(
    db: Store, site: Site, make_daemon: MakeDaemon, slack: SlackEndpoint
) -> None:
    """An article that leaves the feed within dropped_within while its page still answers
    is one 'dropped' change, alerted to the route that asked for it and no other."""
    source = publish(site, "rss", ARTICLES)
    desk_and_dropped = {"urls": [slack.url()], "on": ["dropped"]}
    wl = watchlist(
        [{**source, "notify": ["desk", "plain"]}],
        notify={"desk": desk_and_dropped, "plain": {"urls": [slack.url()]}},
    )
    clock = Clock(T0)
    daemon = make_daemon(wl, clock)
    daemon.poll_sources()
    drain(daemon, clock)
    clock.advance(hours=3)
    site.serve("/rss.xml", body=rss(site, ARTICLES[1:]))
    daemon.poll_sources()
    clock.advance(minutes=11)
    daemon.poll_sources()  # still gone: no second event
    dropped = [c for c in db.changes() if c.kind == "dropped"]
    assert len(dropped) == 1
    gone = db.page_by_url(site.url(ARTICLES[0]))
    assert gone is not None
    assert dropped[0].page_id == gone.id
    assert "3 h after it appeared" in dropped[0].summary
    alerts = [a for a in db.outbox.alerts() if a.kind == "dropped"]
    assert [a.route for a in alerts] == ["desk"]
    assert gone.is_active  # still watched: a quiet removal may follow


def test_article_leaving_after_dropped_within_is_no_event(
    db: Store, site: Site, make_daemon: MakeDaemon
) -> None:
    """Leaving the front page after the window is routine, not news."""
    source = publish(site, "rss", ARTICLES)
    clock = Clock(T0)
    daemon = make_daemon(watchlist([{**source, "dropped_within": "2h"}]), clock)
    daemon.poll_sources()
    drain(daemon, clock)
    clock.advance(hours=3)
    site.serve("/rss.xml", body=rss(site, ARTICLES[1:]))
    daemon.poll_sources()
    assert [c for c in db.changes() if c.kind == "dropped"] == []


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (500, b"oops", "answered HTTP 500"),
        (200, b"<!doctype html><html><body>Sign in</body></html>", "returned an HTML page"),
        (200, b'<?xml version="1.0"?><rss><channel><item><title>x</ti', "malformed feed"),
        (200, b'<?xml version="1.0"?><rss version="2.0"><channel></channel></rss>', "no articles"),
    ],
    ids=["error", "html", "malformed", "emptied"],
)
def test_broken_source_keeps_its_last_item_set(
    db: Store, site: Site, make_daemon: MakeDaemon, status: int, body: bytes, reason: str
) -> None:
    """A feed that errors, turns into HTML, breaks or empties is a clear error on the
    source; its items stay listed and nothing counts as dropped."""
    source = publish(site, "rss", ARTICLES)
    clock = Clock(T0)
    daemon = make_daemon(watchlist([source]), clock)
    daemon.poll_sources()
    drain(daemon, clock)
    clock.advance(minutes=11)
    site.serve("/rss.xml", status=status, body=body)
    daemon.poll_sources()
    record = db.sources.sources()[0]
    assert record.last_error is not None
    assert reason in record.last_error
    assert site.url("/rss.xml") in record.last_error
    assert all(item.is_listed for item in db.sources.items())
    assert [c for c in db.changes() if c.kind == "dropped"] == []
    clock.advance(minutes=11)  # mended: read again, still nothing dropped
    site.serve("/rss.xml", body=rss(site, ARTICLES))
    daemon.poll_sources()
    assert db.sources.sources()[0].last_error is None
    assert [c for c in db.changes() if c.kind == "dropped"] == []


def test_match_and_since_filter_items(db: Store, site: Site, make_daemon: MakeDaemon) -> None:
    """match keeps items whose URL or title matches; since drops items dated too long ago."""
    source = publish(site, "rss", ARTICLES)
    clock = Clock(T0)
    daemon = make_daemon(watchlist([{**source, "match": "Story /2026/11/[ab]"}]), clock)
    daemon.poll_sources()
    assert active_urls(db) == {site.url(ARTICLES[0]), site.url(ARTICLES[1])}
    clock.advance(days=3)
    daemon2 = make_daemon(
        watchlist([{**source, "since": "1d"}, {"url": site.url("/world/")}]), clock
    )
    site.serve("/world/", body=section(site, ["/2026/11/d.html"]))
    daemon2.poll_sources()  # the feed's items are from T0, three days ago
    assert site.url(ARTICLES[2]) not in active_urls(db)


def test_source_removed_from_the_watchlist_takes_its_pages_along(
    db: Store, site: Site, make_daemon: MakeDaemon
) -> None:
    """Its pages stop being checked (history kept); a hand-written one stays."""
    source = publish(site, "rss", ARTICLES)
    clock = Clock(T0)
    daemon = make_daemon(watchlist([source], [site.url(ARTICLES[0])]), clock)
    daemon.poll_sources()
    drain(daemon, clock)
    daemon.shutdown(timeout=WAIT)
    make_daemon(watchlist([], [site.url(ARTICLES[0])]), clock)
    assert active_urls(db) == {site.url(ARTICLES[0])}
    assert len(db.all_pages()) == 3


def test_list_shows_discovered_pages_with_their_source(
    db_url: str, site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """watcher list: hand-written watches, then the articles sources found, each with the
    source it came from; add/remove never see them (the file is unchanged)."""
    source = publish(site, "rss", ARTICLES)
    config = tmp_path / "watcher.toml"
    text = (
        f'[settings]\n{LOOPBACK_SETTING}\n\n[[watch]]\nurl = "{site.url(ARTICLES[0])}"\n\n'
        f'[[source]]\nurl = "{source["url"]}"\nname = "Desk feed"\n'
    )
    config.write_text(text, encoding="utf-8")
    store = Store(db_url)
    try:
        store.migrate()
        daemon = Daemon(store, load_watchlist(config), clock=Clock(T0), readers=shared_readers())
        daemon.start()
        daemon.poll_sources()
        daemon.shutdown(timeout=WAIT)
    finally:
        store.close()
    assert main(["-c", str(config), "--database", db_url, "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].startswith(site.url(ARTICLES[0]))
    assert out[2] == "  from Desk feed"
    assert {line.split()[0] for line in out[3:] if not line.startswith(" ")} == {"Story"}
    assert out.count("  from Desk feed") == 3
    assert main(["-c", str(config), "--database", db_url, "list", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["sources"] for r in rows] == [["Desk feed"]] * 3
    assert config.read_text(encoding="utf-8") == text


def test_viewer_shows_a_dropped_article(db: Store, site: Site, make_daemon: MakeDaemon) -> None:
    """The dropped event is in the viewer's change list, its own page and the Atom feed."""
    source = publish(site, "rss", ARTICLES)
    clock = Clock(T0)
    daemon = make_daemon(watchlist([source]), clock)
    daemon.poll_sources()
    drain(daemon, clock)
    clock.advance(hours=1)
    site.serve("/rss.xml", body=rss(site, ARTICLES[1:]))
    daemon.poll_sources()
    (dropped,) = [c for c in db.changes() if c.kind == "dropped"]
    with running(create_app(db, Watchlist(), reader=shared_readers())) as base:
        listing = requests.get(f"{base}/?kind=dropped", timeout=WAIT)
        history = requests.get(f"{base}/pages/{dropped.page_id}", timeout=WAIT)
        change = requests.get(f"{base}/changes/{dropped.id}", timeout=WAIT)
        feed = requests.get(f"{base}/feeds/changes.atom", timeout=WAIT)
    assert listing.status_code == history.status_code == feed.status_code == 200
    assert site.url(ARTICLES[0]) in listing.text
    assert "60 min after it appeared" in history.text
    # nothing to compare: the change opens the version the article had when it was dropped
    assert change.url.endswith(f"/versions/{dropped.snapshot_id}")
    assert "Dropped" in feed.text


def test_two_daemons_never_poll_one_source_at_once(
    db: Store, site: Site, make_daemon: MakeDaemon
) -> None:
    """A source is leased while it is read: a second daemon on the same database skips it,
    so its articles are recorded once."""
    source = publish(site, "rss", ARTICLES)
    clock = Clock(T0)
    first = make_daemon(watchlist([source]), clock)
    second = make_daemon(watchlist([source]), clock)
    site.gate.clear()
    polls: list[int] = []
    reader = threading.Thread(target=lambda: polls.append(first.poll_sources()))
    reader.start()
    try:
        site.wait_active(1)  # the first daemon is reading the feed, its lease held
        assert second.poll_sources() == 0
    finally:
        site.gate.set()
        reader.join(WAIT)
    assert polls == [1]
    assert site.hits["/rss.xml"] == 1
    assert len(db.sources.items()) == len(ARTICLES)


def _sync_together(stores: list[Store], urls: list[tuple[str, str]], now: datetime) -> list[Any]:
    """Each store syncs ``urls`` in its own thread, released at the same moment."""
    start = threading.Barrier(len(stores))
    results: list[Any] = []

    def sync(store: Store) -> None:
        start.wait()
        try:
            results.append(store.sources.sync(urls, now, hand_written=()))
        except Exception as exc:  # noqa: BLE001  # reported by the test, with its round
            results.append(exc)

    threads = [threading.Thread(target=sync, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_two_daemons_starting_together_add_a_new_source_once(db_url: str) -> None:
    """Two daemons that sync the same new sources at the same moment both start, and each
    source is one row (the second insert yields to the first)."""
    stores = [Store(db_url), Store(db_url)]
    stores[0].migrate()
    now = datetime(2026, 1, 1, tzinfo=UTC)
    try:
        for round_ in range(6):
            urls = [(f"https://news.example/{round_}/feed-{n}.xml", f"feed {n}") for n in range(5)]
            results = _sync_together(stores, urls, now)
            assert not [r for r in results if isinstance(r, Exception)], (round_, results)
            assert len(results) == 2
            assert results[0] == results[1]
            assert len(set(results[0].values())) == len(urls)
    finally:
        for store in stores:
            store.close()
