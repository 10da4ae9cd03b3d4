"""The gatherer of one check (edge): fetches and reads what the judge asks for, and records
what it decides. It never decides anything itself: every verdict is ``judge.decide``'s.

Every parse runs in a reader process (``Reader.run``) on plain data; the store gets plain
values (``VersionRecord``).
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import requests

from watcher.alerts.message import alert_event
from watcher.browser import BrowserLimits, BrowserPool, RenderedResult, RenderOptions, shared_pool
from watcher.check.probe import not_found_page
from watcher.check.readers import Reader
from watcher.check.reading import (
    compare_rules,
    fetch_options,
    locate_article,
    page_lines,
    parts_json,
    read_article,
    reader_key,
    snapshot_article,
    visible_lines,
)
from watcher.check.textcap import Reading, read_article_within, read_unless_as_before, within_cap
from watcher.config import Settings, Watch
from watcher.errors import FetchError, StoreError
from watcher.fetch import FetchResult, fetch_page, open_session, parse_retry_after
from watcher.judge.classify import Baseline, Kind, Removal, State, Verdict, error_verdict
from watcher.judge.decide import KEEP as JUDGE_KEEP
from watcher.judge.decide import (
    UNASKED,
    UNPLACED,
    Ask,
    Decision,
    Earlier,
    Evidence,
    Load,
    Observations,
    Stored,
    decide,
)
from watcher.judge.phrases import detection_rules
from watcher.read.diff import fewer_words_than
from watcher.read.extract import Article
from watcher.read.normalize import normalize_article
from watcher.read.shell import SHELL_WORDS, looks_like_app_shell
from watcher.store.models import Page, Snapshot
from watcher.store.store import KEEP, ChangeDraft, QuietCheck, Store, VersionRecord

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CheckResult:
    """What one check found, as reported by ``watcher check``."""

    url: str
    name: str
    verdict: Verdict
    checked_at: datetime
    status: int | None = None
    change_id: int | None = None
    snapshot_id: int | None = None
    # Set when a 429/503 carried Retry-After: the daemon waits at least this long.
    retry_after_seconds: float | None = None
    # Set when the page went back to a version already stored (and reported): no alert.
    repeat_of: int | None = None
    # The check failed exactly as the one before it: nothing new to report.
    is_repeat: bool = False
    # Set instead of writing when the caller batches quiet checks (``check_page``'s
    # ``defer_quiet``): the caller records it with the page's release.
    quiet: QuietCheck | None = None
    # The check failed because the database did: the page is not at fault, and a
    # daemon does not back it off as if it were.
    store_failed: bool = False


@dataclass(frozen=True, slots=True)
class Gatherer:
    """One check's gatherer: fetches and reads what the judge asks for, records what it
    decides. It never decides anything itself."""

    store: Store
    session: requests.Session
    watch: Watch
    settings: Settings
    reader: Reader
    page_id: int
    checked_at: datetime
    browser: BrowserPool | None = None  # None: this process's shared browser, if needed
    # A check of a page without errors that stores nothing is handed back as
    # ``CheckResult.quiet`` for the caller to write, not written here.
    defer_quiet: bool = False

    def fetch_first(self, page: Page | None, latest: Snapshot | None) -> FetchResult:
        """The check's fetch: conditional when the stored version is a good one; a browser
        watch's page is loaded in the browser and its rendered DOM read like any HTML."""
        if self.watch.fetch == "browser":
            return self.render()
        conditional = latest is not None and latest.state == State.OK and page is not None
        # Cookies a server set for one page (paywall meters, A/B buckets) must not leak
        # into the next check: each fetch starts from the watch's own cookies only.
        self.session.cookies.clear()
        return fetch_page(
            self.session,
            self.watch.url,
            fetch_options(self.settings, self.watch),
            etag=page.etag if conditional and page else None,
            last_modified=page.last_modified if conditional and page else None,
        )

    def judge(
        self,
        fetched: FetchResult,
        page: Page | None,
        latest: Snapshot | None,
        routes: Sequence[str] = (),
    ) -> tuple[Decision, list[FetchResult]]:
        """Hand the judge what is known; gather what it asks for until it decides."""
        loads = [fetched]
        obs = replace(self.observe(fetched, page, latest), routes=tuple(routes))
        while True:
            decision = decide(obs)
            if isinstance(decision, Decision):
                return decision, loads
            logger.debug("judge asks for %s url=%s", decision.evidence, self.watch.url)
            obs = self.gather(decision, obs, loads, latest)

    def observe(
        self, fetched: FetchResult, page: Page | None, latest: Snapshot | None
    ) -> Observations:
        """The first observations: the first load and what the store says of the page."""
        stored = None
        if latest is not None:
            state = State.OK if latest.state == State.OK else State.REMOVED
            stored = Stored(
                state,
                _removal(latest.removal),
                page.locator if page else None,
                status=latest.status,
                final_url=latest.final_url,
            )
        return Observations(
            url=self.watch.url,
            mode=self.watch.mode,
            ignore=compare_rules(self.watch),  # applied to both sides: editing one is silent
            rules=detection_rules(self.settings.removal_phrases),
            checked_at=self.checked_at,
            confirm=self.settings.confirm,
            stored=stored,
            first=_load(fetched),
            is_unmodified=fetched.is_not_modified
            or (latest is not None and _same_response(latest, fetched)),
        )

    def gather(
        self, ask: Ask, obs: Observations, loads: list[FetchResult], latest: Snapshot | None
    ) -> Observations:
        """Fetch or read the one piece of evidence ``ask`` names and add it to ``obs``."""
        load = loads[ask.load] if ask.load < len(loads) else loads[0]
        if ask.evidence is Evidence.QUICK_READ:
            return self.quick_read(obs, load)
        if ask.evidence is Evidence.BASELINE:
            return self.baseline(obs, load, latest)
        if ask.evidence is Evidence.REREAD:
            return replace(obs, baseline=self.reread(latest, obs), is_reread=True)
        if ask.evidence is Evidence.SECOND_FETCH:
            second = self.fetch_second()
            if second is not None:
                loads.append(second)
            return replace(obs, second=_load(second) if second is not None else None)
        if ask.evidence is Evidence.PREVIOUS_PAGE:
            return replace(obs, page_texts=self.page_texts(latest, load, obs.ignore))
        if ask.evidence is Evidence.HISTORY:
            return replace(obs, earlier=_earlier(self.store, latest))
        if ask.evidence is Evidence.LOCATION:
            assert ask.place is not None
            where = self.reader.run(
                locate_article, load.text, self.watch, ask.place, obs.ignore, load.final_url
            )
            return replace(obs, located=where)
        return self.read(ask, obs, load)

    def quick_read(self, obs: Observations, load: FetchResult) -> Observations:
        """The quick re-read, with the full reading of the load in the same round trip
        when it fails (the judge asks for that next). A page never placed has nowhere to
        look: its reading comes with the baseline, in one trip too."""
        where = obs.stored.locator if obs.stored else None
        if where in (None, UNPLACED) or self.watch.mode != "article":
            return replace(obs, reads_as_before=False)  # nowhere to look: no trip to a reader
        cap = self.settings.max_text
        found = self.reader.run(
            read_unless_as_before, load.text, self.watch, load.final_url, cap, where, obs.ignore
        )
        if found is True:
            logger.debug("unchanged where the article was found last time url=%s", load.url)
            return replace(obs, reads_as_before=True)
        if isinstance(found, str):  # the same, and this load's glance to keep
            return replace(obs, reads_as_before=True, located=found)
        if found is False:
            return replace(obs, reads_as_before=False)
        first = _with_reading(obs.first, within_cap(found, cap), load)
        return replace(obs, reads_as_before=False, first=first)

    def baseline(
        self, obs: Observations, load: FetchResult, latest: Snapshot | None
    ) -> Observations:
        """The stored versions as the checks compare them. The first load's reading is
        always asked for next: when it is still to come, it is made in the same trip to a
        reader, which applies the ignore rules to the stored versions too."""
        versions = _stored_versions(self.store, latest)
        if versions is None:
            return replace(obs, baseline=None)
        if obs.first.article is not UNASKED or not obs.first.has_text:
            return replace(obs, baseline=versions.normalized(obs.ignore))
        cap = self.settings.max_text
        found = self.reader.run(
            read_article_within,
            load.text,
            self.watch,
            load.final_url,
            cap,
            obs.ignore,
            versions.articles,
        )
        reading = within_cap(found, cap)
        first = _with_reading(obs.first, reading, load)
        return replace(obs, baseline=versions.compared(reading.versions), first=first)

    def read(self, ask: Ask, obs: Observations, load: FetchResult) -> Observations:
        """A reading of one load: its article, its whole visible text, or the host's
        "not found" page for its URL."""
        seen = obs.first if ask.load == 0 else obs.second
        assert isinstance(seen, Load)
        if ask.evidence is Evidence.READING:
            cap = self.settings.max_text
            found = self.reader.run(
                read_article_within, load.text, self.watch, load.final_url, cap, obs.ignore
            )
            seen = _with_reading(seen, within_cap(found, cap), load)
        elif ask.evidence is Evidence.PAGE_LINES:
            seen = replace(seen, page_lines=self.reader.run(visible_lines, load.text, self.watch))
        else:
            render = self.render_url if self.watch.fetch == "browser" else None
            probed = not_found_page(
                self.session, self.watch, self.settings, load.final_url, self.reader, render=render
            )
            seen = replace(seen, not_found=probed)
        return replace(obs, first=seen) if ask.load == 0 else replace(obs, second=seen)

    def render(self) -> RenderedResult:
        """The watch's page loaded in the (shared) headless browser."""
        return self.render_url(self.watch.url)

    def render_url(self, url: str) -> RenderedResult:
        """``url`` loaded in the (shared) headless browser as this watch is loaded."""
        browser = self.browser or shared_pool(browser_limits(self.settings))
        return browser.render(url, render_options(self.settings, self.watch))

    def fetch_second(self) -> FetchResult | None:
        """The confirming look, on a fresh connection (a keep-alive would reach the same
        CDN node and repeat its mistake); None when it fails."""
        if self.settings.confirm_delay:
            time.sleep(self.settings.confirm_delay.total_seconds())
        try:
            if self.watch.fetch == "browser":
                return self.render()  # a fresh context: no cookie or cache is shared
            with open_session(self.settings.user_agent) as fresh:
                fresh.headers.update(self.session.headers)
                return fetch_page(fresh, self.watch.url, fetch_options(self.settings, self.watch))
        except FetchError as exc:
            logger.info("confirming fetch failed url=%s: %s", self.watch.url, exc)
            return None

    def reread(self, latest: Snapshot | None, obs: Observations) -> Baseline | None:
        """The baseline again; stored versions read by an earlier watcher or with other
        watch settings are read again from their raw body by today's reader."""
        baseline = obs.baseline if isinstance(obs.baseline, Baseline) else None
        if not _read_otherwise(self.store, latest, reader_key(self.watch)):
            return baseline
        return _baseline(self.store, latest, obs.ignore, reread=(self.watch, self.reader))

    def page_texts(
        self, latest: Snapshot | None, load: FetchResult, ignore: Sequence[re.Pattern[str]]
    ) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
        """The stored version's and ``load``'s whole visible text, read like the article
        is compared; None when the stored raw body cannot be read."""
        if latest is None:
            return None
        try:
            old_html = self.store.raw_body(latest.body_sha256).decode(
                latest.encoding or "utf-8", errors="replace"
            )
        except (StoreError, LookupError) as exc:
            logger.warning("cannot re-read the stored version url=%s: %s", self.watch.url, exc)
            return None
        old = self.reader.run(page_lines, old_html, self.watch, tuple(ignore))
        return old, self.reader.run(page_lines, load.text, self.watch, tuple(ignore))

    def record(
        self,
        decision: Decision,
        loads: list[FetchResult],
        latest: Snapshot | None,
    ) -> CheckResult:
        """Store what the judge decided: a check, or a new version with its change."""
        fetched, verdict = loads[decision.load], decision.verdict
        if not decision.stores_version:
            return self.record_check(decision, fetched)
        draft = _draft(verdict, self.checked_at)
        version = version_record(
            fetched,
            decision.stored or Article("", "", "", ()),
            state=verdict.state.value,
            removal=draft.removal,
            reader=reader_key(self.watch),
            locator=None if decision.locator is JUDGE_KEEP else decision.locator,
        )
        event = alert_event(verdict, status=fetched.status, final_url=fetched.final_url)
        snapshot_id, change_id = self.store.record_version(
            self.page_id,
            version,
            change=draft,
            previous_snapshot_id=latest.id if latest else None,
            alerts=decision.routes,
            alert_event=event if decision.is_alerting and decision.routes else None,
        )
        logger.info("%s: %s page=%s url=%s", verdict.kind, verdict.summary, *self.names)
        result = self.result(verdict, fetched.status, change_id, snapshot_id)
        return replace(result, repeat_of=decision.repeat_of)

    def record_check(self, decision: Decision, fetched: FetchResult) -> CheckResult:
        """A check that stores no version: unchanged, not confirmed, or an error."""
        verdict = decision.verdict
        error = verdict.summary if verdict.kind is Kind.ERROR else None
        if verdict.kind is Kind.UNCHANGED and verdict.summary:
            # a change the judge quieted: not confirmed, or only the extractor moving
            logger.info("not reported, %s page=%s url=%s", verdict.summary, *self.names)
        if self.defer_quiet and error is None:
            quiet = QuietCheck(
                self.page_id,
                self.checked_at,
                fetched.status,
                etag=fetched.headers.get("etag"),
                last_modified=fetched.headers.get("last-modified"),
                locator=KEEP if decision.locator is JUDGE_KEEP else decision.locator,
            )
            return replace(self._check_result(verdict, fetched), quiet=quiet)
        self.store.record_check(
            self.page_id,
            checked_at=self.checked_at,
            status=fetched.status,
            error=error,
            etag=None if error else fetched.headers.get("etag"),
            last_modified=None if error else fetched.headers.get("last-modified"),
            alerts=decision.routes,
            unreachable_after=self.settings.unreachable_after,
            locator=KEEP if decision.locator is JUDGE_KEEP else decision.locator,
        )
        return self._check_result(verdict, fetched)

    def _check_result(self, verdict: Verdict, fetched: FetchResult) -> CheckResult:
        result = self.result(verdict, fetched.status)
        if fetched.status in (429, 503) and "retry-after" in fetched.headers:
            wait = parse_retry_after(fetched.headers["retry-after"], self.checked_at)
            return replace(result, retry_after_seconds=wait)
        return result

    def record_failure(
        self, message: str, status: int | None, routes: Sequence[str]
    ) -> CheckResult:
        """A check that got no response, or a response no reader could get through."""
        self.store.record_check(
            self.page_id,
            checked_at=self.checked_at,
            status=status,
            error=message,
            alerts=routes,
            unreachable_after=self.settings.unreachable_after,
        )
        return self.result(error_verdict(message), status)

    @property
    def names(self) -> tuple[str, str]:
        return self.watch.label, self.watch.url

    def result(
        self,
        verdict: Verdict,
        status: int | None = None,
        change_id: int | None = None,
        snapshot_id: int | None = None,
    ) -> CheckResult:
        return CheckResult(
            self.watch.url,
            self.watch.label,
            verdict,
            self.checked_at,
            status,
            change_id,
            snapshot_id,
        )


def _draft(verdict: Verdict, detected_at: datetime) -> ChangeDraft:
    """The change row of ``verdict``, in the store's plain values."""
    return ChangeDraft(
        kind=verdict.kind.value,
        parts=tuple(part.value for part in verdict.parts),
        removal=verdict.removal.value if verdict.removal else None,
        summary=verdict.summary,
        words_added=verdict.words_added,
        words_removed=verdict.words_removed,
        detected_at=detected_at,
    )


def _load(fetched: FetchResult) -> Load:
    return Load(fetched.status, fetched.final_url, has_text=bool(fetched.text))


def _with_reading(load: Load, reading: Reading, fetched: FetchResult) -> Load:
    """``load`` with its reading. Whether the page is an app shell matters only when almost
    nothing was read, and only then is the whole page scanned for one."""
    shell = (
        fewer_words_than(reading.compared.text, SHELL_WORDS)
        # A rendered DOM is what scripts made of the page: never a shell waiting for them.
        and not isinstance(fetched, RenderedResult)
        and looks_like_app_shell(fetched.text)
    )
    return replace(load, article=reading.article, compared=reading.compared, is_app_shell=shell)


def browser_limits(settings: Settings) -> BrowserLimits:
    """The shared browser's bounds, from the watchlist's settings."""
    return BrowserLimits(
        pages=settings.browsers,
        recycle_after=settings.browser_recycle,
        memory_bytes=settings.browser_memory,
        executable=settings.browser_executable,
    )


def render_options(settings: Settings, watch: Watch) -> RenderOptions:
    """How the browser loads ``watch``: its fetch options, what it waits for, a screenshot."""
    return RenderOptions(
        fetch=fetch_options(settings, watch),
        wait_for=watch.wait_for,
        screenshot=watch.takes_screenshot,
    )


def _earlier(store: Store, latest: Snapshot | None) -> Earlier | None:
    """The version before ``latest`` and the change that led from it to ``latest``."""
    if latest is None or latest.id is None:
        return None
    change = store.change_to(latest.id)
    if change is None or change.previous_snapshot_id is None:
        return None
    previous = store.get_snapshot(change.previous_snapshot_id)
    if previous is None or previous.id is None:
        return None
    return Earlier(
        snapshot_id=previous.id,
        fetched_at=previous.fetched_at,
        state=previous.state,
        article=snapshot_article(previous),
        change_kind=change.kind,
        change_parts=tuple(change.parts),
    )


def version_record(
    fetched: FetchResult,
    article: Article,
    *,
    state: str,
    removal: str | None,
    reader: str,
    locator: str | None,
) -> VersionRecord:
    """A fetch and its reading as the plain values the store keeps."""
    return VersionRecord(
        fetched_at=fetched.fetched_at,
        status=fetched.status,
        final_url=fetched.final_url,
        hops=tuple((hop.url, hop.status, hop.location) for hop in fetched.redirects),
        headers=fetched.headers,
        body=fetched.body,
        encoding=fetched.encoding,
        state=state,
        removal=removal,
        title=article.title,
        byline=article.byline,
        published=article.published,
        page_title=article.page_title,
        text=article.text,
        parts=parts_json(article),
        reader=reader,
        locator=locator,
        screenshot=fetched.screenshot if isinstance(fetched, RenderedResult) else None,
        url=fetched.url,
    )


def _same_response(latest: Snapshot, fetched: FetchResult) -> bool:
    """The cheapest check: byte-identical body, same status and final URL."""
    return (
        latest.status == fetched.status
        and latest.final_url == fetched.final_url
        and latest.body_sha256 == hashlib.sha256(fetched.body).hexdigest()
    )


@dataclass(frozen=True, slots=True)
class _Versions:
    """The stored versions a check compares with, as stored (no ignore rules)."""

    state: State
    removal: Removal | None
    latest: Article
    last_good: Article | None  # the latest version whose state was OK

    @property
    def articles(self) -> tuple[Article, ...]:
        return (self.latest,) if self.last_good is None else (self.latest, self.last_good)

    def normalized(self, patterns: Sequence[re.Pattern[str]]) -> Baseline:
        """The baseline, the ignore rules applied here."""
        return self.compared([normalize_article(a, patterns).article for a in self.articles])

    def compared(self, articles: Sequence[Article]) -> Baseline:
        """The baseline, given ``articles`` with the ignore rules applied."""
        if self.state is State.OK:
            return Baseline(State.OK, None, articles[0], articles[0])
        last_good = articles[1] if len(articles) > 1 else None
        return Baseline(self.state, self.removal, articles[0], last_good)


def _stored_versions(
    store: Store, latest: Snapshot | None, reread: tuple[Watch, Reader] | None = None
) -> _Versions | None:
    """The latest version and, for a removed page, its last good one; with ``reread``,
    versions read otherwise are read again from their raw body."""
    if latest is None or latest.id is None:
        return None

    def text_of(snapshot: Snapshot) -> Article:
        stored = _reread(store, snapshot, *reread) if reread is not None else None
        return stored or snapshot_article(snapshot)

    if latest.state == State.OK:
        return _Versions(State.OK, None, text_of(latest), None)
    good = store.latest_good_snapshot(latest.page_id)
    last_good = text_of(good) if good else None
    return _Versions(State.REMOVED, _removal(latest.removal), text_of(latest), last_good)


def _baseline(
    store: Store,
    latest: Snapshot | None,
    patterns: Sequence[re.Pattern[str]],
    *,
    reread: tuple[Watch, Reader] | None = None,
) -> Baseline | None:
    """The stored versions, read with today's ignore rules so a new rule applies to both;
    with ``reread``, versions read otherwise are read again from their raw body."""
    versions = _stored_versions(store, latest, reread)
    return versions.normalized(patterns) if versions is not None else None


def _read_otherwise(store: Store, latest: Snapshot | None, reader: str) -> bool:
    """Whether a stored version this check compares with was read another way."""
    if latest is None:
        return False
    if latest.reader != reader:
        return True
    if latest.state == State.OK:
        return False
    good = store.latest_good_snapshot(latest.page_id)
    return good is not None and good.reader != reader


def _reread(store: Store, snapshot: Snapshot, watch: Watch, reader: Reader) -> Article | None:
    """``snapshot``'s raw body read as this watcher reads ``watch`` now; None when it is
    read that way already or its body cannot be read (then its stored text is used)."""
    if snapshot.reader == reader_key(watch) or snapshot.status != 200:
        return None
    try:
        html = store.raw_body(snapshot.body_sha256).decode(snapshot.encoding or "utf-8", "replace")
    except (StoreError, LookupError) as exc:
        logger.warning("cannot re-read a stored version url=%s: %s", watch.url, exc)
        return None
    return reader.run(read_article, html, watch, snapshot.final_url)


def _removal(value: str | None) -> Removal | None:
    try:
        return Removal(value) if value else None
    except ValueError:
        return None
