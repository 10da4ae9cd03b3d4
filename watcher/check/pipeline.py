"""One check of one page, end to end; the only module that knows the order of the stages.

fetch -> read (reader processes) -> judge, asking for more -> store. It gathers and records
and never decides: every verdict is ``judge.decide``'s. The broad ``except`` here is the
per-page boundary: one broken page is logged and recorded, never fatal to a pass.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime

import requests

from watcher.browser import BrowserPool
from watcher.check.gather import CheckResult, Gatherer, version_record
from watcher.check.readers import Reader
from watcher.check.reading import fetch_options, read_article, snapshot_article
from watcher.config import Settings, Watch, Watchlist
from watcher.errors import FetchError, ReaderError, ReaderStopped, StoreError
from watcher.fetch import FetchResult, open_session
from watcher.judge.classify import Kind, error_verdict
from watcher.judge.decide import UNPLACED
from watcher.store.models import Page
from watcher.store.store import QuietCheck, Store

logger = logging.getLogger(__name__)


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
    page: Page | None = None,
    browser: BrowserPool | None = None,
    defer_quiet: bool = False,
) -> CheckResult:
    """Fetch ``watch``, let the judge decide against its stored versions, store what is new.

    The stages, in order: fetch; read and judge, fetching and reading more while the judge
    asks; record. ``routes`` (``Watchlist.routes_for(watch)``) get the alerts, written with
    the change. ``reader`` parses the page in a reader process; a page that crashes or
    hangs its reader is recorded as an error of its own, with its body kept to reproduce it.
    ``page`` is the page's row when the caller has just read it (the daemon's claim). A
    ``fetch = "browser"`` watch is loaded in ``browser`` (default: this process's shared
    browser) and its rendered HTML goes through the same stages. With ``defer_quiet``, a
    check of a page with no errors that stores nothing is not written but handed back as
    ``CheckResult.quiet``, for the caller to write in a batch (``Store.release_pages``).
    """
    checked_at = now or datetime.now(UTC)
    if page is None:
        page = store.page_by_url(watch.url)
    # Only a page without errors: a success after errors ends an outage, which is written
    # at once with its "reachable" alert.
    quiet = defer_quiet and page is not None and not page.last_error
    check = Gatherer(
        store, session, watch, settings, reader, page_id, checked_at, browser, defer_quiet=quiet
    )
    latest = store.latest_snapshot(page_id)
    last_error = page.last_error if page is not None else None
    try:
        fetched = check.fetch_first(page, latest)
    except FetchError as exc:
        return _as_before(check.record_failure(str(exc), None, routes), last_error)
    try:
        decision, loads = check.judge(fetched, page, latest, routes)
    except ReaderStopped:
        raise
    except ReaderError as exc:
        return _as_before(_unreadable(check, fetched, exc, routes), last_error)
    return _as_before(check.record(decision, loads, latest), last_error)


def _as_before(result: CheckResult, last_error: str | None) -> CheckResult:
    """``result``, marked as a repeat when it fails exactly as the check before did: a
    page that keeps failing the same way has nothing new to report until that changes."""
    verdict = result.verdict
    if verdict.kind is not Kind.ERROR or not last_error:
        return result
    said = verdict.summary.removeprefix("error: ")
    if last_error not in (verdict.summary, said):
        return result
    return replace(result, is_repeat=True)


def _unreadable(
    check: Gatherer, fetched: FetchResult, exc: ReaderError, routes: Sequence[str]
) -> CheckResult:
    """A page its reader could not get through: an error, never a change or removal.

    The body is kept, so ``watcher inspect --body SHA256`` can read it again.
    """
    kept = check.store.keep_body(fetched.body, kept_at=check.checked_at)
    message = f"{exc}; body kept as {kept[:16]}"
    logger.error("%s page=%s url=%s", message, check.watch.label, check.watch.url)
    return check.record_failure(message, fetched.status, routes)


@contextmanager
def _thread_sessions(user_agent: str) -> Iterator[Callable[[], requests.Session]]:
    """One ``requests.Session`` per worker thread (sessions are not thread-safe)."""
    local = threading.local()
    sessions: list[requests.Session] = []
    lock = threading.Lock()

    def get() -> requests.Session:
        session = getattr(local, "session", None)
        if session is None:
            session = open_session(user_agent)
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

    Fetching runs in threads; every parse runs in ``reader``'s processes. As in the
    daemon, each check is handed its page's row (read once for the pass) and quiet checks
    are written ``QUIET_BATCH`` at a time.
    """
    clock = now or (lambda: datetime.now(UTC))
    settings = watchlist.settings
    ids = store.sync_pages(((w.url, w.label) for w in watchlist.watch), clock())
    rows = {page.id: page for page in store.all_pages()}
    results: list[CheckResult | None] = [None] * len(watchlist.watch)
    quiet = _QuietWrites(store, results)

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
                page=rows.get(ids[watch.url]),
                defer_quiet=True,
            )
            results[index] = result
            if result.quiet is not None:
                quiet.add(index, result.quiet)
            if on_result is not None:
                on_result(result)

        try:
            futures = [pool.submit(one, i, w) for i, w in enumerate(watchlist.watch)]
            for future in futures:
                future.result()
        finally:
            quiet.flush()
    return [r for r in results if r is not None]


# Quiet checks of a pass written in one transaction: a transaction each cost a noisy check
# about as much as a parse. A pass killed meanwhile loses only those checks' times.
QUIET_BATCH = 16


class _QuietWrites:
    """The pass's quiet checks, waiting to be written together. A batch the database
    refuses turns its results into errors, so the pass's exit code says so."""

    def __init__(self, store: Store, results: list[CheckResult | None]) -> None:
        self._store = store
        self._results = results
        self._lock = threading.Lock()
        self._waiting: list[tuple[int, QuietCheck]] = []

    def add(self, index: int, quiet: QuietCheck) -> None:
        with self._lock:
            self._waiting.append((index, quiet))
            if len(self._waiting) < QUIET_BATCH:
                return
        self.flush()

    def flush(self) -> None:
        with self._lock:
            batch, self._waiting = self._waiting, []
        if not batch:
            return
        try:
            self._store.release_pages([], owner="", quiet=[quiet for _index, quiet in batch])
        except StoreError as exc:
            message = f"database: could not record the check: {_one_line(str(exc))}"
            logger.error("%s (%d pages that read as before)", message, len(batch))
            for index, _quiet in batch:
                done = self._results[index]
                if done is not None:
                    self._results[index] = replace(done, verdict=error_verdict(message))


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
    page: Page | None = None,
    defer_quiet: bool = False,
) -> CheckResult:
    """The per-page boundary: any failure is logged on one line and recorded.

    journald keeps one line per event; the traceback follows at DEBUG (``-vv``).

    ``routes`` (``Watchlist.routes_for(watch)``) receive the page's alerts. Only
    ``ReaderStopped`` passes through: the readers are shutting down, nothing is recorded.
    """
    try:
        return check_page(
            store,
            session,
            watch,
            settings,
            page_id=page_id,
            now=now,
            routes=routes,
            reader=reader,
            page=page,
            defer_quiet=defer_quiet,
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
        failed = error_verdict(message)
        return CheckResult(
            watch.url, watch.label, failed, now, store_failed=isinstance(exc, StoreError)
        )


def _one_line(text: str) -> str:
    return " ".join(text.split())


# Re-exported: the CLI, the demo, the daemon and the benchmarks read and fetch pages the
# pipeline's way.
__all__ = [
    "UNPLACED",
    "CheckResult",
    "check_page",
    "check_safely",
    "fetch_options",
    "open_session",
    "read_article",
    "run_pass",
    "snapshot_article",
    "version_record",
]
