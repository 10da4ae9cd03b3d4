"""One check of one page, end to end; the only module that knows the order of the stages.

fetch -> read (reader processes) -> judge, asking for more -> store. It gathers and records
and never decides: every verdict is ``judge.decide``'s. The broad ``except`` here is the
per-page boundary: one broken page is logged and recorded, never fatal to a pass.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import requests

from watcher.alerts.message import alert_event
from watcher.check.probe import not_found_page
from watcher.check.readers import Reader
from watcher.check.reading import (
    compare_rules,
    fetch_options,
    locate_article,
    page_lines,
    read_article,
    reader_key,
    reads_as_before,
    snapshot_article,
    visible_lines,
)
from watcher.config import Settings, Watch, Watchlist
from watcher.errors import FetchError, ReaderError, ReaderStopped, StoreError
from watcher.fetch import FetchResult, fetch_page, parse_retry_after
from watcher.judge.classify import Baseline, Kind, Removal, State, Verdict, error_verdict
from watcher.judge.decide import KEEP as JUDGE_KEEP
from watcher.judge.decide import (
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
from watcher.read.extract import Article
from watcher.read.normalize import normalize_article
from watcher.store.models import Page, Snapshot
from watcher.store.store import KEEP, ChangeDraft, Store, VersionRecord

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


def check_page(
    store: Store,
    session: requests.Session,
    watch: Watch,
    settings: Settings,
    *,
    page_id: int,
    now: datetime | None = None,
    routes: Sequence[str] = (),
    reader: Reader,
) -> CheckResult:
    """Fetch ``watch``, let the judge decide against its stored versions, store what is new.

    The stages, in order: fetch; read and judge, fetching and reading more while the judge
    asks; record. ``routes`` (``Watchlist.routes_for(watch)``) get the alerts, written with
    the change. ``reader`` parses the page in a reader process; a page that crashes or
    hangs its reader is recorded as an error of its own, with its body kept to reproduce it.
    """
    check = _Check(store, session, watch, settings, reader, page_id, now or datetime.now(UTC))
    page, latest = store.page_by_url(watch.url), store.latest_snapshot(page_id)
    try:
        fetched = check.fetch_first(page, latest)
    except FetchError as exc:
        return check.record_failure(str(exc), None, routes)
    try:
        decision, loads = check.judge(fetched, page, latest)
    except ReaderStopped:
        raise
    except ReaderError as exc:
        return _unreadable(check, fetched, exc, routes)
    return check.record(decision, loads, latest, routes)


def _unreadable(
    check: _Check, fetched: FetchResult, exc: ReaderError, routes: Sequence[str]
) -> CheckResult:
    """A page its reader could not get through: an error, never a change or removal.

    The body is kept, so ``watcher inspect --body SHA256`` can read it again.
    """
    kept = check.store.keep_body(fetched.body, kept_at=check.checked_at)
    message = f"{exc}; body kept as {kept[:16]}"
    logger.error("%s page=%s url=%s", message, check.watch.label, check.watch.url)
    return check.record_failure(message, fetched.status, routes)


@dataclass(frozen=True, slots=True)
class _Check:
    """One check's gatherer: fetches and reads what the judge asks for, records what it
    decides. It never decides anything itself."""

    store: Store
    session: requests.Session
    watch: Watch
    settings: Settings
    reader: Reader
    page_id: int
    checked_at: datetime

    def fetch_first(self, page: Page | None, latest: Snapshot | None) -> FetchResult:
        """The check's fetch: conditional when the stored version is a good one."""
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
        self, fetched: FetchResult, page: Page | None, latest: Snapshot | None
    ) -> tuple[Decision, list[FetchResult]]:
        """Hand the judge what is known; gather what it asks for until it decides."""
        loads = [fetched]
        obs = self.observe(fetched, page, latest)
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
            stored = Stored(state, _removal(latest.removal), page.locator if page else None)
        return Observations(
            url=self.watch.url,
            mode=self.watch.mode,
            ignore=compare_rules(self.watch),  # applied to both sides: editing one is silent
            rules=detection_rules(self.settings.removal_phrases),
            now=self.checked_at,
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
            where = obs.stored.locator if obs.stored else None
            quick = self.reader.run(reads_as_before, load.text, self.watch, where, obs.ignore)
            if quick:
                logger.debug("unchanged where the article was found last time url=%s", load.url)
            return replace(obs, reads_as_before=quick)
        if ask.evidence is Evidence.BASELINE:
            return replace(obs, baseline=_baseline(self.store, latest, obs.ignore))
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
            where = self.reader.run(locate_article, load.text, self.watch, ask.place, obs.ignore)
            return replace(obs, located=where)
        return self.read(ask, obs, load)

    def read(self, ask: Ask, obs: Observations, load: FetchResult) -> Observations:
        """A reading of one load: its article, its whole visible text, or the host's
        "not found" page for its URL."""
        seen = obs.first if ask.load == 0 else obs.second
        assert isinstance(seen, Load)
        if ask.evidence is Evidence.READING:
            article = self.reader.run(read_article, load.text, self.watch, load.final_url)
            seen = replace(seen, article=article)
        elif ask.evidence is Evidence.PAGE_LINES:
            seen = replace(seen, page_lines=self.reader.run(visible_lines, load.text, self.watch))
        else:
            found = not_found_page(
                self.session, self.watch, self.settings, load.final_url, self.reader
            )
            seen = replace(seen, not_found=found)
        return replace(obs, first=seen) if ask.load == 0 else replace(obs, second=seen)

    def fetch_second(self) -> FetchResult | None:
        """The confirming look, on a fresh connection (a keep-alive would reach the same
        CDN node and repeat its mistake); None when it fails."""
        if self.settings.confirm_delay:
            time.sleep(self.settings.confirm_delay.total_seconds())
        try:
            with requests.Session() as fresh:
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
        routes: Sequence[str],
    ) -> CheckResult:
        """Store what the judge decided: a check, or a new version with its change."""
        fetched, verdict = loads[decision.load], decision.verdict
        if not decision.stores_version:
            return self.record_check(decision, fetched, routes)
        draft = ChangeDraft(
            kind=verdict.kind.value,
            parts=tuple(part.value for part in verdict.parts),
            removal=verdict.removal.value if verdict.removal else None,
            summary=verdict.summary,
            words_added=verdict.words_added,
            words_removed=verdict.words_removed,
            detected_at=self.checked_at,
        )
        version = version_record(
            fetched,
            decision.stored or Article("", "", "", ()),
            state=verdict.state.value,
            removal=draft.removal,
            reader=reader_key(self.watch),
            locator=None if decision.locator is JUDGE_KEEP else decision.locator,
        )
        # a return to a version already reported is recorded, and told to no one
        alerts = () if decision.repeat_of is not None else routes
        event = alert_event(verdict, status=fetched.status, final_url=fetched.final_url)
        snapshot_id, change_id = self.store.record_version(
            self.page_id,
            version,
            change=draft,
            previous_snapshot_id=latest.id if latest else None,
            alerts=alerts,
            alert_event=event if decision.is_alerting and alerts else None,
        )
        logger.info("%s: %s page=%s url=%s", verdict.kind, verdict.summary, *self.names)
        result = self.result(verdict, fetched.status, change_id, snapshot_id)
        return replace(result, repeat_of=decision.repeat_of)

    def record_check(
        self, decision: Decision, fetched: FetchResult, routes: Sequence[str]
    ) -> CheckResult:
        """A check that stores no version: unchanged, not confirmed, or an error."""
        verdict = decision.verdict
        error = verdict.summary if verdict.kind is Kind.ERROR else None
        self.store.record_check(
            self.page_id,
            checked_at=self.checked_at,
            status=fetched.status,
            error=error,
            etag=None if error else fetched.headers.get("etag"),
            last_modified=None if error else fetched.headers.get("last-modified"),
            alerts=routes,
            unreachable_after=self.settings.unreachable_after,
            locator=KEEP if decision.locator is JUDGE_KEEP else decision.locator,
        )
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


def _load(fetched: FetchResult) -> Load:
    return Load(fetched.status, fetched.final_url, has_text=bool(fetched.text))


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
        reader=reader,
        locator=locator,
    )


def _same_response(latest: Snapshot, fetched: FetchResult) -> bool:
    """The cheapest check: byte-identical body, same status and final URL."""
    return (
        latest.status == fetched.status
        and latest.final_url == fetched.final_url
        and latest.body_sha256 == hashlib.sha256(fetched.body).hexdigest()
    )


def _baseline(
    store: Store,
    latest: Snapshot | None,
    patterns: Sequence[re.Pattern[str]],
    *,
    reread: tuple[Watch, Reader] | None = None,
) -> Baseline | None:
    """The stored versions, read with today's ignore rules so a new rule applies to both;
    with ``reread``, versions read otherwise are read again from their raw body."""
    if latest is None or latest.id is None:
        return None

    def text_of(snapshot: Snapshot) -> Article:
        stored = _reread(store, snapshot, *reread) if reread is not None else None
        return normalize_article(stored or snapshot_article(snapshot), patterns).article

    article = text_of(latest)
    if latest.state == State.OK:
        return Baseline(State.OK, None, article, article)
    good = store.latest_good_snapshot(latest.page_id)
    last_good = text_of(good) if good else None
    return Baseline(State.REMOVED, _removal(latest.removal), article, last_good)


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


@contextmanager
def _thread_sessions(user_agent: str) -> Iterator[Callable[[], requests.Session]]:
    """One ``requests.Session`` per worker thread (sessions are not thread-safe)."""
    local = threading.local()
    sessions: list[requests.Session] = []
    lock = threading.Lock()

    def get() -> requests.Session:
        session = getattr(local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["User-Agent"] = user_agent
            local.session = session
            with lock:
                sessions.append(session)
        return session

    try:
        yield get
    finally:
        for session in sessions:
            session.close()


def run_pass(
    store: Store,
    watchlist: Watchlist,
    *,
    on_result: Callable[[CheckResult], None] | None = None,
    now: Callable[[], datetime] | None = None,
    reader: Reader,
) -> list[CheckResult]:
    """Check every watch once, ``settings.workers`` at a time; results in watchlist order.

    Fetching runs in threads; every parse runs in ``reader``'s processes.
    """
    clock = now or (lambda: datetime.now(UTC))
    settings = watchlist.settings
    ids = store.sync_pages(((w.url, w.label) for w in watchlist.watch), clock())
    results: list[CheckResult | None] = [None] * len(watchlist.watch)

    with (
        _thread_sessions(settings.user_agent) as session_for,
        ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="check") as pool,
    ):

        def one(index: int, watch: Watch) -> None:
            result = check_safely(
                store,
                session_for(),
                watch,
                settings,
                ids[watch.url],
                clock(),
                routes=watchlist.routes_for(watch),
                reader=reader,
            )
            results[index] = result
            if on_result is not None:
                on_result(result)

        futures = [pool.submit(one, i, w) for i, w in enumerate(watchlist.watch)]
        for future in futures:
            future.result()
    return [r for r in results if r is not None]


def check_safely(
    store: Store,
    session: requests.Session,
    watch: Watch,
    settings: Settings,
    page_id: int,
    now: datetime,
    *,
    routes: Sequence[str] = (),
    reader: Reader,
) -> CheckResult:
    """The per-page boundary: any failure is logged on one line and recorded.

    journald keeps one line per event; the traceback follows at DEBUG (``-vv``).

    ``routes`` (``Watchlist.routes_for(watch)``) receive the page's alerts. Only
    ``ReaderStopped`` passes through: the readers are shutting down, nothing is recorded.
    """
    try:
        return check_page(
            store, session, watch, settings, page_id=page_id, now=now, routes=routes, reader=reader
        )
    except ReaderStopped:
        raise
    except Exception as exc:  # the one broad boundary, by design
        message = f"internal error: {type(exc).__name__}: {exc}"
        logger.error("check failed page=%s url=%s: %s", watch.label, watch.url, _one_line(message))
        logger.debug("traceback of the failed check url=%s", watch.url, exc_info=True)
        try:
            store.record_check(
                page_id,
                checked_at=now,
                status=None,
                error=message,
                alerts=routes,
                unreachable_after=settings.unreachable_after,
            )
        except Exception as again:  # the store itself may be what failed
            logger.error(
                "could not record the failure url=%s: %s: %s",
                watch.url,
                type(again).__name__,
                _one_line(str(again)),
            )
            logger.debug("traceback of the failed record url=%s", watch.url, exc_info=True)
        return CheckResult(watch.url, watch.label, error_verdict(message), now)


def _one_line(text: str) -> str:
    return " ".join(text.split())


# Re-exported: the CLI, the demo and the benchmarks read pages the pipeline's way.
__all__ = [
    "UNPLACED",
    "CheckResult",
    "check_page",
    "check_safely",
    "fetch_options",
    "read_article",
    "run_pass",
    "snapshot_article",
    "version_record",
]
