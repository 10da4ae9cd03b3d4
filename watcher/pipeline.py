"""One check of one page, end to end; the only module that knows the order of the stages.

fetch -> extract -> normalize -> classify -> store. The broad ``except`` here is the
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
from datetime import UTC, datetime, timedelta

import requests

from watcher.alerts import alert_event
from watcher.classify import (
    Baseline,
    DetectionRules,
    Kind,
    Removal,
    State,
    Verdict,
    error_verdict,
)
from watcher.config import Settings, Watch, Watchlist
from watcher.errors import FetchError, ReaderError, ReaderStopped, StoreError
from watcher.extract import Article
from watcher.fetch import FetchResult, fetch_page
from watcher.models import Snapshot
from watcher.normalize import normalize_article
from watcher.phrases import detection_rules, shipped_phrases
from watcher.readers import Reader
from watcher.reading import (
    compare_rules,
    fetch_options,
    locate_article,
    read_article,
    reader_key,
    reads_as_before,
    snapshot_article,
)
from watcher.review import (
    Evaluation,
    Look,
    confirm_change,
    explained_by_extraction,
    flips_back,
    not_found_page,
)
from watcher.schedule import parse_retry_after
from watcher.store import KEEP, ChangeDraft, Store, VersionRecord

logger = logging.getLogger(__name__)

# Stored as a page's locator when its article could not be placed in the current version.
UNPLACED = "unplaced"


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
    """Fetch ``watch`` once, compare with its stored versions, store what is new.

    ``routes`` (``Watchlist.routes_for(watch)``) get the alerts, written with the change.
    ``reader`` parses the page in a reader process; a page that crashes or hangs its
    reader is recorded as an error of its own, with its body kept to reproduce it.
    """
    checked_at = now or datetime.now(UTC)
    page = store.page_by_url(watch.url)
    latest = store.latest_snapshot(page_id)
    conditional = latest is not None and latest.state == State.OK and page is not None
    # Cookies a server set for one page (paywall meters, A/B buckets) must not leak into
    # the next check: each fetch starts from the watch's own cookies only.
    session.cookies.clear()
    try:
        fetched = fetch_page(
            session,
            watch.url,
            fetch_options(settings, watch),
            etag=page.etag if conditional and page else None,
            last_modified=page.last_modified if conditional and page else None,
        )
    except FetchError as exc:
        verdict = error_verdict(str(exc))
        store.record_check(
            page_id,
            checked_at=checked_at,
            status=None,
            error=str(exc),
            alerts=routes,
            unreachable_after=settings.unreachable_after,
        )
        return _result(watch, verdict, checked_at)

    def refetch() -> FetchResult:
        """The confirming look, on a fresh connection: a keep-alive would reach the same
        CDN node and repeat its mistake."""
        if settings.confirm_delay:
            time.sleep(settings.confirm_delay.total_seconds())
        with requests.Session() as fresh:
            fresh.headers.update(session.headers)
            return fetch_page(fresh, watch.url, fetch_options(settings, watch))

    try:
        return process_fetch(
            store,
            watch,
            page_id,
            latest,
            fetched,
            checked_at,
            routes=routes,
            unreachable_after=settings.unreachable_after,
            refetch=refetch if settings.confirm else None,
            probe=lambda url: not_found_page(session, watch, settings, url, reader),
            rules=detection_rules(settings.removal_phrases),
            locator=page.locator if page is not None else None,
            reader=reader,
        )
    except ReaderStopped:
        raise
    except ReaderError as exc:
        return _unreadable(store, watch, page_id, fetched, checked_at, exc, routes, settings)


def _unreadable(
    store: Store,
    watch: Watch,
    page_id: int,
    fetched: FetchResult,
    checked_at: datetime,
    exc: ReaderError,
    routes: Sequence[str],
    settings: Settings,
) -> CheckResult:
    """A page its reader could not get through: an error, never a change or removal.

    The body is kept, so ``watcher inspect --body SHA256`` can read it again.
    """
    kept = store.keep_body(fetched.body, kept_at=checked_at)
    message = f"{exc}; body kept as {kept[:16]}"
    logger.error("%s page=%s url=%s", message, watch.label, watch.url)
    store.record_check(
        page_id,
        checked_at=checked_at,
        status=fetched.status,
        error=message,
        alerts=routes,
        unreachable_after=settings.unreachable_after,
    )
    verdict = error_verdict(message)
    return _result(watch, verdict, checked_at, fetched.status)


def process_fetch(
    store: Store,
    watch: Watch,
    page_id: int,
    latest: Snapshot | None,
    fetched: FetchResult,
    checked_at: datetime,
    *,
    routes: Sequence[str] = (),
    unreachable_after: timedelta | None = None,
    refetch: Callable[[], FetchResult] | None = None,
    probe: Callable[[str], Article | None] | None = None,
    rules: DetectionRules | None = None,
    locator: str | None = None,
    reader: Reader,
) -> CheckResult:
    """Everything after the fetch: compare with ``latest`` and store what is new.

    With ``refetch``, a change, removal or restoration is reported only if a second
    fetch confirms it; what differs between the two loads is treated as noise.
    ``locator`` is where the article was found last time (``Page.locator``): if the page
    reads there exactly as it did, the article is unchanged without a full extraction.
    """
    ignore = compare_rules(watch)  # applied to both sides, so editing a rule is silent
    same = fetched.is_not_modified or (latest is not None and _same_response(latest, fetched))
    if same or (
        latest is not None
        and latest.state == State.OK
        and reader.run(reads_as_before, fetched.text, watch, locator, ignore)
    ):
        store.record_check(
            page_id,
            checked_at=checked_at,
            status=fetched.status,
            error=None,
            etag=fetched.headers.get("etag"),
            last_modified=fetched.headers.get("last-modified"),
            alerts=routes,
        )
        if not same:
            logger.debug("unchanged where the article was found last time url=%s", watch.url)
        return _result(watch, _unchanged(latest), checked_at, fetched.status)
    read_key = reader_key(watch)
    baseline = _baseline(store, latest, ignore)
    look = Look(watch, baseline, ignore, probe, rules or shipped_phrases(), reader)
    seen = look.evaluate(fetched)
    if seen.verdict.kind.is_alerting and _read_otherwise(store, latest, read_key):
        # The stored version was read by an earlier watcher or with other watch settings:
        # compare with how today's reader reads its raw body, not with yesterday's text.
        baseline = _baseline(store, latest, ignore, reread=(watch, reader))
        look = Look(watch, baseline, ignore, probe, rules or shipped_phrases(), reader)
        seen = look.evaluate(fetched)
    unconfirmed_load = False
    if refetch is not None and seen.verdict.kind.is_alerting:
        confirmed = confirm_change(look, seen, refetch)
        if confirmed is None:
            logger.info(
                "not confirmed by a second fetch, not reported: %s page=%s url=%s",
                seen.verdict.summary,
                watch.label,
                watch.url,
            )
            unconfirmed = Verdict(
                Kind.UNCHANGED,
                state=baseline.state if baseline else State.OK,
                summary=f"not confirmed by a second fetch: {seen.verdict.summary}",
            )
            seen = Evaluation(seen.stored, seen.compared, unconfirmed)
            # what this load showed was not seen again: nothing to re-read next time
            unconfirmed_load = True
        else:
            fetched, seen = confirmed
    if explained_by_extraction(store, watch, latest, baseline, seen, fetched, ignore, reader):
        logger.info(
            "body change explained by extraction alone, not reported: %s page=%s url=%s",
            seen.verdict.summary,
            watch.label,
            watch.url,
        )
        quiet = Verdict(Kind.UNCHANGED, summary=f"extraction shift: {seen.verdict.summary}")
        seen = Evaluation(seen.stored, seen.compared, quiet)
    stored_article, verdict = seen.stored, seen.verdict

    def where_found() -> str | None:
        """Where the article stands in this page, for the next check's quick re-read.

        When no new version is stored, the next full check would compare with the stored
        version, so the block must hold its paragraphs as well as what was read now (the
        extractor may have left some of them out this time). A page that could not be
        placed is tried again only with its next version: placing costs a parse.
        """
        if unconfirmed_load or verdict.state is not State.OK or stored_article is None:
            return None
        if not verdict.is_event and locator == UNPLACED:
            return UNPLACED
        placed = stored_article
        if not verdict.is_event and baseline is not None:
            # compared as the checks compare them: what the ignore rules drop never counts
            current = set(seen.compared.paragraphs) if seen.compared else set()
            extra = tuple(p for p in baseline.article.paragraphs if p not in current)
            placed = replace(stored_article, paragraphs=(*stored_article.paragraphs, *extra))
        return reader.run(locate_article, fetched.text, watch, placed, ignore) or UNPLACED

    if not verdict.is_event:
        error = verdict.summary if verdict.kind is Kind.ERROR else None
        store.record_check(
            page_id,
            checked_at=checked_at,
            status=fetched.status,
            error=error,
            etag=None if error else fetched.headers.get("etag"),
            last_modified=None if error else fetched.headers.get("last-modified"),
            alerts=routes,
            unreachable_after=unreachable_after,
            locator=KEEP if error else where_found(),
        )
        result = _result(watch, verdict, checked_at, fetched.status)
        if fetched.status in (429, 503) and "retry-after" in fetched.headers:
            wait = parse_retry_after(fetched.headers["retry-after"], checked_at)
            return replace(result, retry_after_seconds=wait)
        return result

    alert_routes = routes
    earlier: Snapshot | None = None
    if verdict.kind is Kind.CHANGED and latest is not None:
        earlier = flips_back(store, latest, seen.compared, verdict.parts, ignore, checked_at)
        if earlier is not None:
            # A/B tests and flapping pages return to versions already reported: record
            # the return, alert once per real new version.
            alert_routes = ()
            verdict = replace(
                verdict,
                summary=f"back to the version of {earlier.fetched_at:%Y-%m-%d %H:%M} UTC "
                f"(#{earlier.id}), already reported: {verdict.summary}",
            )
    draft = ChangeDraft(
        kind=verdict.kind.value,
        parts=tuple(part.value for part in verdict.parts),
        removal=verdict.removal.value if verdict.removal else None,
        summary=verdict.summary,
        words_added=verdict.words_added,
        words_removed=verdict.words_removed,
        detected_at=checked_at,
    )
    version = version_record(
        fetched,
        stored_article or Article("", "", "", ()),
        state=verdict.state.value,
        removal=draft.removal,
        reader=read_key,
        locator=where_found(),
    )
    snapshot_id, change_id = store.record_version(
        page_id,
        version,
        change=draft,
        previous_snapshot_id=latest.id if latest else None,
        alerts=alert_routes,
        alert_event=(
            alert_event(verdict, status=fetched.status, final_url=fetched.final_url)
            if verdict.kind.is_alerting and alert_routes
            else None
        ),
    )
    logger.info("%s: %s page=%s url=%s", verdict.kind, verdict.summary, watch.label, watch.url)
    result = _result(watch, verdict, checked_at, fetched.status, change_id, snapshot_id)
    return replace(result, repeat_of=earlier.id) if earlier is not None else result


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


def _result(
    watch: Watch,
    verdict: Verdict,
    checked_at: datetime,
    status: int | None = None,
    change_id: int | None = None,
    snapshot_id: int | None = None,
) -> CheckResult:
    return CheckResult(watch.url, watch.label, verdict, checked_at, status, change_id, snapshot_id)


def _unchanged(latest: Snapshot | None) -> Verdict:
    if latest is not None and latest.state == State.REMOVED:
        return Verdict(Kind.UNCHANGED, state=State.REMOVED, removal=_removal(latest.removal))
    return Verdict(Kind.UNCHANGED)


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
    "CheckResult",
    "check_page",
    "check_safely",
    "fetch_options",
    "process_fetch",
    "read_article",
    "run_pass",
    "snapshot_article",
    "version_record",
]
