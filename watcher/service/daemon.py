"""``watcher run`` (edge): APScheduler ticks lease due pages and check them in a thread pool.

Pages are fetched in threads and parsed in reader processes (``watcher.check.readers``): a
reader that crashes or hangs costs one page, and SIGTERM kills the readers if they do
not finish within the stop timeout.

The database owns each page's ``next_check_at``; this process leases due pages, checks them
politely (per-host concurrency and spacing, backoff, Retry-After) and writes the next due
time, so several daemons can share one PostgreSQL database. It must never spin: a failing
database or site pushes work later, and every wait is bounded.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
from apscheduler.executors.pool import ThreadPoolExecutor as JobExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from watcher.check.pipeline import CheckResult, check_safely, open_session
from watcher.check.readers import Reader, ReaderPool
from watcher.check.reading import start_readers
from watcher.config import Settings, Source, Watch, Watchlist, parse_watchlist
from watcher.discover.poll import poll_due_sources, sync_sources
from watcher.errors import ConfigError, ReaderStopped, StoreError
from watcher.judge.classify import Kind
from watcher.service import sdnotify
from watcher.service.health import Health
from watcher.service.metrics import Endpoint, Metrics
from watcher.service.politeness import HostLimits, host_of
from watcher.service.reload import WatchedFile
from watcher.service.schedule import (
    Interval,
    backoff_due,
    due_after,
    next_due,
    schedule_of,
)
from watcher.service.tiers import TierPlan, plan_tier, tier_summary
from watcher.store.models import Page
from watcher.store.store import QuietCheck, Store
from watcher.store.workers import new_owner

logger = logging.getLogger(__name__)

_SIGNALS = frozenset({signal.SIGHUP, signal.SIGTERM, signal.SIGINT})
_POOL_THREADS = 64  # settings.workers (le=64) limits how many run; reload may raise it
# Retrying an unreachable database at most this far apart: checks resume within a minute
# of it coming back (the schema re-checked and migrated if it came back empty).
_STORE_RETRY_CAP_SECONDS = 30.0
_COOLDOWN_RELEASE_SECONDS = 5.0  # a host resting longer than this gives its pages back
_DURATIONS_KEPT = 1000  # recent check durations behind STATUS's percentiles
_KILLED_CHECKS_SECONDS = 2.0  # how long checks whose readers were killed get to wind up
_RELEASE_BATCH = 8  # finished checks given back in one write transaction
# ... or fewer, once the first of them has waited this long (seconds)
_RELEASE_WAIT = 1.0
# How often the claim looks for dead daemons whose pages it may take over at once. Between
# looks, a busy daemon claims with the list it found last: a claim a few times a second
# no longer pays a heartbeat and two queries each time.
_SURVEY_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class DaemonOptions:
    """Timing of the daemon's own machinery; the watchlist's settings cover the checks."""

    tick_seconds: float = 1.0
    reload_poll_seconds: float = 2.0
    status_seconds: float = 10.0
    deliver_seconds: float = 5.0
    poll_seconds: float = 15.0  # how often due sources are looked for (each has its own poll)
    stop_timeout_seconds: float = 30.0
    # Default: 1.5 x (deadline + 30 s), so a check plus its wait for a host slot fits.
    lease_seconds: float | None = None


@dataclass(frozen=True, slots=True)
class _Loaded:
    """One accepted watchlist, swapped in whole so workers never see half a reload."""

    watchlist: Watchlist
    by_url: dict[str, Watch]
    by_source: dict[int, Source] = field(default_factory=dict)  # source id -> its options

    @property
    def settings(self) -> Settings:
        return self.watchlist.settings

    def watch_for(self, page: Page) -> Watch | None:
        """A hand-written watch, else the options of the source that found the page."""
        watch = self.by_url.get(page.url)
        if watch is None and page.source_id is not None and page.source_id in self.by_source:
            watch = self.by_source[page.source_id].watch_for(page.url, page.name)
        return watch


@dataclass(slots=True)
class _Claim:
    """A page leased to this process, waiting for a worker and its host's turn."""

    page: Page
    page_id: int
    host: str
    claimed_at: datetime
    # The database the claim was made in: it is bumped when the database came back empty
    # and was migrated again, where the same page id may name a new row.
    generation: int = 0


class Daemon:
    """Checks the watchlist's pages on their schedules until stopped.

    ``tick()`` is one dispatch pass on the injected clock, so tests drive it directly;
    ``run()`` adds the APScheduler jobs, signals and systemd notifications around it.
    """

    def __init__(
        self,
        store: Store,
        watchlist: Watchlist,
        *,
        config_path: Path | None = None,
        options: DaemonOptions | None = None,
        clock: Callable[[], datetime] | None = None,
        owner: str | None = None,
        readers: ReaderPool | None = None,
    ) -> None:
        self.store = store
        # Readers given by the caller stay the caller's to close; our own end with us.
        self._readers = readers or start_readers(watchlist.settings)
        self._owns_readers = readers is None
        # operators' numbers (settings.metrics): served by run(), counted by every check
        self.metrics = Metrics(store) if watchlist.settings.metrics else None
        self._reader: Reader = self.metrics.reader(self._readers) if self.metrics else self._readers
        self.options = options or DaemonOptions()
        self.owner = owner or new_owner()
        self._clock = clock or (lambda: datetime.now(UTC))
        self._file = WatchedFile(config_path) if config_path is not None else None
        self._loaded = _Loaded(watchlist, {w.url: w for w in watchlist.watch})
        self._lock = threading.Lock()
        self._reload_lock = threading.Lock()  # SIGHUP and the file poll may coincide
        self._pending: list[_Claim] = []
        self._running = 0
        self._in_flight: set[int] = set()  # page ids being checked by this process
        self._generation = 0  # see _Claim.generation
        # checked, lease not yet ended; with the check's record when it was quiet
        self._releases: list[tuple[_Claim, datetime, QuietCheck | None]] = []
        self._releases_since = 0.0  # monotonic time the oldest of them was queued
        # how long recent checks took from the first fetch to the recorded verdict
        self._durations: deque[float] = deque(maxlen=_DURATIONS_KEPT)
        self._futures: set[Future[None]] = set()
        self._limits = HostLimits()
        self._pool = ThreadPoolExecutor(max_workers=_POOL_THREADS, thread_name_prefix="check")
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._stopping = threading.Event()
        self._stop_requested = threading.Event()
        self._slot_freed = threading.Event()
        self._backlog = False
        self._takeover: list[str] = []  # dead holders found by the last survey
        self._surveyed_at: float | None = None  # monotonic time of that survey
        self._store_failures = 0
        self._store_retry_at: datetime | None = None
        self._last_tick_monotonic = time.monotonic()
        self._watchdog_timeout: float | None = None
        self.health = Health(watchlist.settings.unhealthy_after.total_seconds())
        self._was_unhealthy = False
        self.checks_done = 0

    @property
    def watchlist(self) -> Watchlist:
        return self._loaded.watchlist

    @property
    def lease_seconds(self) -> float:
        if self.options.lease_seconds is not None:
            return self.options.lease_seconds
        return 1.5 * (self._loaded.settings.deadline.total_seconds() + 30.0)

    # -- starting and reloading -------------------------------------------------------

    def start(self) -> None:
        """Put the watchlist into the pages table; raises ``StoreError`` if unreachable."""
        self._apply(self._loaded.watchlist, first=True)

    def reload(self, reason: str = "reload") -> bool:
        """Re-read the watchlist file; a broken file is logged and the last good one kept."""
        if self._file is None:
            return False
        with self._reload_lock:
            return self._reload(self._file, reason)

    def _reload(self, file: WatchedFile, reason: str) -> bool:
        try:
            source = file.read()
        except OSError as exc:
            logger.error("watchlist not reloaded (%s), keeping the last good one: %s", reason, exc)
            return False
        try:
            watchlist = parse_watchlist(source, str(file.path))
        except ConfigError as exc:
            for line in str(exc).splitlines():
                logger.error(
                    "watchlist not reloaded (%s), keeping the last good one: %s", reason, line
                )
            return False
        try:
            self._apply(watchlist)
        except StoreError as exc:
            file.forget()  # try again at the next poll
            logger.error("watchlist not reloaded (%s): database: %s", reason, exc)
            return False
        return True

    def reload_if_changed(self) -> bool:
        """Reload when the file's inode, size, mtime and then content say it was edited."""
        if self._file is None:
            return False
        with self._reload_lock:
            if not self._file.is_changed():
                return False
            return self._reload(self._file, "file changed")

    def _apply(self, watchlist: Watchlist, *, first: bool = False) -> None:
        now = self._clock()
        before = self._loaded
        self.store.sync_pages(((w.url, w.label) for w in watchlist.watch), now)
        by_source = sync_sources(self.store, watchlist, now)
        loaded = _Loaded(watchlist, {w.url: w for w in watchlist.watch}, by_source)
        self._loaded = loaded
        self.health.unhealthy_after_seconds = watchlist.settings.unhealthy_after.total_seconds()
        moved = self._pull_forward(loaded, now)
        if first:
            logger.info(
                "watching %d pages (%d workers, %d per host, owner %s)",
                len(watchlist.watch),
                loaded.settings.workers,
                loaded.settings.per_host,
                self.owner,
            )
            return
        added = loaded.by_url.keys() - before.by_url.keys()
        removed = before.by_url.keys() - loaded.by_url.keys()
        logger.info(
            "watchlist reloaded: %d pages, %d added, %d removed, %d rescheduled",
            len(watchlist.watch),
            len(added),
            len(removed),
            moved,
        )
        for url in sorted(added):
            logger.info("watch added url=%s", url)
        for url in sorted(removed):
            logger.info("watch removed (history kept) url=%s", url)
        if watchlist.settings.database != before.settings.database:
            logger.warning("settings.database changed: restart watcher to use the new database")

    def _pull_forward(self, loaded: _Loaded, now: datetime) -> int:
        """Bring pages whose schedule got shorter (edited, or while stopped) forward.

        The new due time is what the current schedule gives after the page's last check
        (or now, if that is already past), so a shorter interval applies at once without
        checking any page sooner than its schedule says. Failing and leased pages keep
        their times (backoff, checks in flight), and a longer schedule waits one more check.
        """
        moves: dict[int, datetime] = {}
        for position in self.store.pages_for_reschedule():
            watch = loaded.by_url.get(position.url)
            if watch is None or watch.schedule is not None:
                continue  # not hand-written, or paced by its age tiers
            schedule = schedule_of(watch, loaded.settings)
            if position.last_checked_at is None:
                wanted = due_after(schedule, position.url, now)
            else:
                checked_at = min(position.last_checked_at, now)
                wanted = max(next_due(schedule, position.url, checked_at), now)
            if position.next_check_at > wanted:
                moves[position.page_id] = wanted
        return self.store.pull_forward(moves) if moves else 0

    # -- dispatching -----------------------------------------------------------------

    def tick(self, *, claim: bool = True) -> int:
        """One dispatch pass: lease due pages, start those whose host allows; count started."""
        try:
            if self._stopping.is_set():
                return 0
            now = self._clock()
            loaded = self._loaded
            claiming = claim and (self._store_retry_at is None or now >= self._store_retry_at)
            if claiming and self._wants_claim(loaded.settings):
                # Before a claim, so the pages just checked are due again; otherwise
                # they wait for a full batch, a second, or the next claim (the leases hold).
                self.flush_releases()
                self._claim(now, loaded.settings)
            elif self._releases_due():
                self.flush_releases()
            return self._start_ready(now, loaded)
        finally:
            self._last_tick_monotonic = time.monotonic()

    def _room(self, settings: Settings) -> int:
        """How many pages a claim may lease: twice the workers, less those held here."""
        with self._lock:
            return 2 * settings.workers - len(self._pending) - self._running

    def _wants_claim(self, settings: Settings) -> bool:
        """Claim in batches: while pages wait here, a slot or two freeing up is not worth
        a write transaction; half the workers' worth is."""
        room = self._room(settings)
        with self._lock:
            waiting = len(self._pending)
        return room > 0 and not (waiting and room < settings.workers // 2)

    def _releases_due(self) -> bool:
        with self._lock:
            if not self._releases:
                return False
            waited = time.monotonic() - self._releases_since
            return len(self._releases) >= _RELEASE_BATCH or waited >= _RELEASE_WAIT

    def _claim(self, now: datetime, settings: Settings) -> None:
        room = self._room(settings)
        if room <= 0:
            return
        try:
            if self._store_failures:
                self._reconnect()
            pages = self.store.claim_due_pages(
                now, room, self.lease_seconds, self.owner, takeover=self._survey(now)
            )
        except StoreError as exc:
            self._store_failures += 1
            wait = min(2.0 ** (self._store_failures - 1), _STORE_RETRY_CAP_SECONDS)
            self._store_retry_at = now + timedelta(seconds=wait)
            self.health.failed(f"database: {exc}")
            logger.warning("database unavailable, next claim in %.0fs: %s", wait, exc)
            return
        if not pages:
            self.health.done()  # asked for due work and there was none: on the job
        if self._store_failures:
            logger.info("database reachable again")
        self._store_failures = 0
        self._store_retry_at = None
        self._backlog = len(pages) == room
        with self._lock:
            # A page still being checked here is never started again beside itself (its
            # lease is renewed while it runs; this guards a renewal that came too late).
            busy = self._in_flight | {c.page_id for c in self._pending}
            claims = [
                _Claim(page, page.id, host_of(page.url), now, self._generation)
                for page in pages
                if page.id is not None and page.id not in busy
            ]
            self._pending.extend(claims)

    def _survey(self, now: datetime) -> list[str]:
        """The dead holders whose due pages may be taken over, looked up (with this
        daemon's heartbeat) at most every ``_SURVEY_SECONDS``."""
        at = time.monotonic()
        if self._surveyed_at is None or at - self._surveyed_at >= _SURVEY_SECONDS:
            self._takeover = self.store.dead_page_holders(now, self.owner)
            self._surveyed_at = at
        return self._takeover

    def _reconnect(self) -> None:
        """After a database outage: the database may have come back empty (dropped and
        recreated). Migrate it as at start (under the advisory lock) and put the
        watchlist back into it, so checks resume instead of failing forever."""
        if self.store.ensure_schema():
            logger.warning("the database came back without watcher's schema: migrated it again")
            with self._lock:
                # Claims, leases and releases of the old database are void in the new one:
                # its page ids name new rows. A check still running from before neither
                # holds its page id here nor ends a lease when it finishes.
                self._generation += 1
                self._pending = []
                self._in_flight.clear()
                self._releases = []
            self._apply(self._loaded.watchlist, first=True)

    def _start_ready(self, now: datetime, loaded: _Loaded) -> int:
        settings = loaded.settings
        stale_after = timedelta(seconds=self.lease_seconds / 3)
        starts: list[tuple[_Claim, Watch]] = []
        releases: list[tuple[_Claim, datetime]] = []
        with self._lock:
            free = settings.workers - self._running
            waiting: list[_Claim] = []
            for claim in self._pending:
                watch = loaded.watch_for(claim.page)
                if watch is None:
                    # Removed by a reload, or another daemon's watchlist lists it: give it
                    # back no sooner than a default interval, so it cannot loop.
                    later = due_after(Interval(settings.every), claim.page.url, now)
                    releases.append((claim, claim.page.next_check_at or later))
                    continue
                resting = self._limits.resting_until(claim.host, now)
                if resting and resting - now > timedelta(seconds=_COOLDOWN_RELEASE_SECONDS):
                    releases.append((claim, resting))
                elif now - claim.claimed_at > stale_after:
                    # Waited a third of its lease for its host: return it while it is ours.
                    releases.append((claim, claim.page.next_check_at or now))
                elif free > 0 and self._limits.try_start(
                    claim.host, now, settings.per_host, settings.host_delay
                ):
                    free -= 1
                    self._running += 1
                    self._in_flight.add(claim.page_id)
                    starts.append((claim, watch))
                else:
                    waiting.append(claim)
            self._pending = waiting
        for claim, watch in starts:
            future = self._pool.submit(self._check, claim, watch)
            with self._lock:
                self._futures.add(future)
            future.add_done_callback(self._forget)
        for claim, when in releases:
            self._release(claim, when)
        return len(starts)

    def _forget(self, future: Future[None]) -> None:
        with self._lock:
            self._futures.discard(future)

    def _check(self, claim: _Claim, watch: Watch) -> None:
        """One page in a worker thread; always frees its slot, whatever happens."""
        try:
            loaded = self._loaded
            settings = loaded.settings
            started_at = self._clock()
            session = self._session(settings.user_agent)
            routes = loaded.watchlist.routes_for(watch)
            begun = time.monotonic()
            try:
                result = check_safely(
                    self.store,
                    session,
                    watch,
                    settings,
                    claim.page_id,
                    started_at,
                    routes=routes,
                    reader=self._reader,
                    page=claim.page,
                    defer_quiet=True,
                )
            except ReaderStopped:
                # Shutting down mid-read: nothing was recorded; the page is due again.
                self._release(claim, claim.page.next_check_at or started_at)
                return
            if claim.generation != self._generation:
                logger.info("checked before the database was recreated url=%s", watch.url)
                return
            took = time.monotonic() - begun
            with self._lock:
                self._durations.append(took)
            if self.metrics is not None:
                self.metrics.checked(result, took, claim.page.next_check_at)
            # A reload during the check applies to the next due time.
            loaded = self._loaded
            current = loaded.by_url.get(watch.url, watch)
            tier = plan_tier(
                claim.page, current, loaded.settings, result.verdict.kind.is_alerting, started_at
            )
            if tier is not None and self._record_tier(claim, tier, result, started_at):
                self._record_quiet(claim, result.quiet)
                return  # retired: no next check, history kept
            next_at = self._next_check_at(claim, current, loaded.settings, result, started_at, tier)
            self._release_later(claim, next_at, result.quiet)
        finally:
            with self._lock:
                self.checks_done += 1
                self._running -= 1
                if claim.generation == self._generation:
                    self._in_flight.discard(claim.page_id)
                self._limits.finish(claim.host)
            self._slot_freed.set()

    def _next_check_at(
        self,
        claim: _Claim,
        watch: Watch,
        settings: Settings,
        result: CheckResult,
        started_at: datetime,
        tier: TierPlan | None = None,
    ) -> datetime:
        schedule = schedule_of(watch, settings)
        if tier is not None and tier.every is not None:
            schedule = Interval(tier.every)  # errors back off from the tier's pace
        if result.verdict.kind is Kind.ERROR and not result.store_failed:
            errors = claim.page.consecutive_errors + 1
            next_at = backoff_due(schedule, watch.url, errors, started_at)
            logger.warning(
                "check failed (%d in a row), next try %s: %s url=%s",
                errors,
                _when(next_at),
                result.verdict.summary,
                watch.url,
            )
        elif tier is not None and tier.next_at is not None:
            next_at = tier.next_at
        else:
            next_at = next_due(schedule, watch.url, started_at)
            logger.debug(
                "checked: %s, next %s url=%s", result.verdict.kind, _when(next_at), watch.url
            )
        if result.retry_after_seconds is not None:
            until = started_at + timedelta(seconds=result.retry_after_seconds)
            with self._lock:
                self._limits.rest(claim.host, until)
            if until > next_at:
                next_at = until
            logger.info("server asked to retry after %s url=%s", _when(until), watch.url)
        return next_at

    def _record_tier(
        self, claim: _Claim, tier: TierPlan, result: CheckResult, at: datetime
    ) -> bool:
        """Keep the page's tier; True when it retires now (a failed check never retires)."""
        retires = tier.next_at is None and result.verdict.kind is not Kind.ERROR
        every = int(tier.every.total_seconds()) if tier.every is not None else None
        try:
            self.store.sources.record_tier(
                claim.page_id,
                every_seconds=every,
                fast_until=tier.fast_until,
                retired_at=at if retires else None,
                owner=self.owner,
            )
        except StoreError as exc:
            logger.warning("could not record the age tier url=%s: %s", claim.page.url, exc)
            return False
        if retires:
            logger.info("retired (past its last age tier, history kept) url=%s", claim.page.url)
        return retires

    def _release_later(
        self, claim: _Claim, next_at: datetime, quiet: QuietCheck | None = None
    ) -> None:
        """Give a checked page back with the others finishing about now, with the record
        of its check when that was quiet: one write transaction for several was the
        daemon's largest cost per noisy check. At once when no other check is running;
        otherwise with the next claim, a batch of ``_RELEASE_BATCH`` or after
        ``_RELEASE_WAIT`` (the lease holds meanwhile). A daemon killed meanwhile
        loses only the time of those quiet checks: nothing was found in them."""
        with self._lock:
            if claim.generation != self._generation:
                return  # its lease was in a database that is gone
            if not self._releases:
                self._releases_since = time.monotonic()
            self._releases.append((claim, next_at, quiet))
            due = self._running <= 1 or len(self._releases) >= _RELEASE_BATCH
        if due:
            self.flush_releases()

    def flush_releases(self) -> None:
        """End the leases of the checks that finished since the last flush."""
        with self._lock:
            batch, self._releases = self._releases, []
        if not batch:
            return
        try:
            released = self.store.release_pages(
                [(claim.page_id, next_at) for claim, next_at, _quiet in batch],
                owner=self.owner,
                quiet=[quiet for _claim, _next_at, quiet in batch if quiet is not None],
            )
        except StoreError as exc:
            # The leases expire on their own and the pages are checked again then.
            self.health.failed(f"database: {exc}")
            logger.warning("could not release %d pages: %s", len(batch), exc)
            return
        self.health.done()  # recorded, and the database took their next due times
        for claim, _next_at, _quiet in batch:
            if claim.page_id not in released:
                logger.warning(
                    "lease had expired and the page was taken over url=%s", claim.page.url
                )

    def _record_quiet(self, claim: _Claim, quiet: QuietCheck | None) -> None:
        """Write a quiet check's record on its own (its page is not released)."""
        if quiet is None:
            return
        try:
            self.store.release_pages([], owner=self.owner, quiet=[quiet])
        except StoreError as exc:
            logger.warning("could not record the check url=%s: %s", claim.page.url, exc)

    def _release(self, claim: _Claim, next_at: datetime) -> bool:
        """Give the page back with its next due time; False if the database failed."""
        if claim.generation != self._generation:
            return False  # its lease was in a database that is gone
        try:
            if not self.store.release_page(claim.page_id, next_at, owner=self.owner):
                logger.warning(
                    "lease had expired and the page was taken over url=%s", claim.page.url
                )
        except StoreError as exc:
            # The lease expires on its own and the page is checked again then.
            self.health.failed(f"database: {exc}")
            logger.warning("could not release url=%s: %s", claim.page.url, exc)
            return False
        return True

    def _session(self, user_agent: str) -> requests.Session:
        """One ``requests.Session`` per worker thread (sessions are not thread-safe)."""
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = open_session(user_agent)
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def renew_leases(self) -> int:
        """Extend the leases of the pages this process is checking (a periodic job): a
        slow check keeps its page, and no other daemon starts it again meanwhile. The
        heartbeat is written too, so a daemon busy with long checks and sends is never
        taken for dead (``workers.STALE_SECONDS``) by daemons on other machines."""
        with self._lock:
            page_ids = sorted(self._in_flight)
        now = self._clock()
        until = now + timedelta(seconds=self.lease_seconds)
        try:
            self.store.outbox.beat(self.owner, now)
            if not page_ids:
                return 0
            return self.store.renew_leases(page_ids, self.owner, until)
        except StoreError as exc:
            logger.warning("could not renew %d leases: %s", len(page_ids), exc)
            return 0

    def running(self) -> int:
        with self._lock:
            return self._running

    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no check is running; False on timeout (for tests and shutdown)."""
        with self._lock:
            futures = list(self._futures)
        _done, not_done = wait_futures(futures, timeout=timeout)
        return not not_done

    # -- status and shutdown ---------------------------------------------------------

    def status_line(self) -> str:
        """One line for systemd's STATUS: pages, due, running, failing, last change, and
        how long recent checks took (median and 99th percentile, fetch to verdict)."""
        counts = self.store.status_counts(self._clock())
        last = counts.last_change_at
        changed = _when(last) if last is not None else "none"
        line = (
            f"{counts.pages} pages, {counts.due} due, {self.running()} checking, "
            f"{counts.failing} failing, last change {changed}"
        )
        with self._lock:
            durations = sorted(self._durations)
        if durations:
            p50 = durations[len(durations) // 2]
            p99 = durations[min(len(durations) - 1, len(durations) * 99 // 100)]
            line += f", check p50 {p50 * 1000:.0f} ms p99 {p99 * 1000:.0f} ms"
        tiers = self.store.sources.tier_counts()
        if tiers:
            line += ", tiers " + tier_summary(tiers)
        return line

    def deliver(self) -> int:
        """Send due alerts from the outbox (the maintenance job); how many were delivered.

        Rows are claimed in the database, so several daemons deliver each alert once; a
        database outage is logged and retried at the next run.
        """
        from watcher.alerts.notify import deliver_due  # apprise loads only in a daemon that sends

        try:
            sent = deliver_due(
                self.store, self._loaded.watchlist, now=self._clock(), owner=self.owner
            )
        except StoreError as exc:
            self.health.failed(f"database: {exc}")
            logger.warning("alerts not delivered, retrying later: %s", exc)
            return 0
        if sent:
            self.health.done()
        return sent

    def stop(self) -> None:
        """Ask ``run()`` to stop, from any thread (signals do the same)."""
        self._stop_requested.set()

    def shutdown(self, timeout: float | None = None) -> bool:
        """Stop claiming, give back unstarted pages, wait for checks in flight (bounded)."""
        self._stopping.set()
        with self._lock:
            unstarted, self._pending = self._pending, []
        for claim in unstarted:
            self._release(claim, claim.page.next_check_at or self._clock())
        limit = self.options.stop_timeout_seconds if timeout is None else timeout
        finished = self.wait_idle(limit)
        if not finished:
            # A reader stuck on a page must not hold the service past its stop timeout:
            # kill the readers; their checks end without a verdict and are due again.
            logger.warning(
                "%d checks still running after %.0fs: stopping them", self.running(), limit
            )
            self._readers.close(kill=True)
            finished = self.wait_idle(_KILLED_CHECKS_SECONDS)
            if not finished:
                logger.warning("%d checks still fetching; their leases will expire", self.running())
        self.flush_releases()
        if self._owns_readers:
            self._readers.close(kill=True)
        try:
            self.store.outbox.forget_owner(self.owner)  # nothing waits on our heartbeat
        except StoreError as exc:
            logger.warning("could not sign off from the database: %s", exc)
        self._pool.shutdown(wait=False, cancel_futures=True)
        if finished:
            with self._lock:
                sessions, self._sessions = self._sessions, []
            for session in sessions:
                session.close()
        return finished

    # -- the real loop ----------------------------------------------------------------

    def run(self) -> None:
        """Run until SIGTERM/SIGINT (or ``stop()``); SIGHUP reloads the watchlist.

        The signals are blocked before any thread starts and collected with sigtimedwait in
        this thread, so no handler ever runs inside a lock or a half-done database call.
        """
        previous_mask = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
        scheduler: BackgroundScheduler | None = None
        try:
            self.start()
            if self.metrics is not None and self.watchlist.settings.metrics:
                self.metrics.serve(Endpoint.parse(self.watchlist.settings.metrics))
            scheduler = self._scheduler()
            # Ready before the jobs start, so no WATCHDOG=1 can precede READY=1.
            self._notify("READY=1")
            self._notify(f"STATUS={self._safe_status()}")
            scheduler.start()
            while not self._stop_requested.is_set():
                info = signal.sigtimedwait(_SIGNALS, 0.5)
                if info is None:
                    continue
                if info.si_signo == signal.SIGHUP:
                    logger.info("SIGHUP: reloading the watchlist")
                    self._notify("RELOADING=1")
                    self.reload("SIGHUP")
                    self._notify("READY=1")
                    continue
                logger.info("%s: stopping", signal.Signals(info.si_signo).name)
                break
            self._notify("STOPPING=1")
            self._stopping.set()
        finally:
            self._stopping.set()
            if scheduler is not None:
                scheduler.shutdown(wait=True)
            self.shutdown()
            if self.metrics is not None:
                self.metrics.close()
            signal.pthread_sigmask(signal.SIG_SETMASK, previous_mask)
        logger.info("stopped after %d checks", self.checks_done)

    def _scheduler(self) -> BackgroundScheduler:
        # APScheduler logs every job run at INFO; journald does not need a line a second.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={"default": JobExecutor(4)},
            job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": None},
        )
        now = datetime.now(UTC)
        options = self.options
        scheduler.add_job(
            self._dispatch_job,
            IntervalTrigger(seconds=options.tick_seconds, timezone=UTC),
            id="dispatch",
            next_run_time=now,
        )
        if self._file is not None:
            scheduler.add_job(
                self.reload_if_changed,
                IntervalTrigger(seconds=options.reload_poll_seconds, timezone=UTC),
                id="watchlist",
            )
        scheduler.add_job(
            self.renew_leases,
            IntervalTrigger(seconds=max(self.lease_seconds / 3, 1.0), timezone=UTC),
            id="leases",
        )
        scheduler.add_job(
            self.deliver,
            IntervalTrigger(seconds=options.deliver_seconds, timezone=UTC),
            id="deliver",
        )
        scheduler.add_job(
            self.poll_sources,
            IntervalTrigger(seconds=options.poll_seconds, timezone=UTC),
            id="sources",
            next_run_time=now,
        )
        scheduler.add_job(
            self._status_job,
            IntervalTrigger(seconds=options.status_seconds, timezone=UTC),
            id="status",
        )
        watchdog = sdnotify.watchdog_seconds()
        if watchdog is not None:
            self._watchdog_timeout = watchdog
            scheduler.add_job(
                self._watchdog_job,
                IntervalTrigger(seconds=watchdog / 2, timezone=UTC),
                id="watchdog",
                next_run_time=now,
            )
        return scheduler

    def _dispatch_job(self) -> None:
        """Tick, then keep starting checks as workers free up, for most of one period.

        Claiming again only when the last claim was full keeps an idle daemon at one
        database query per period.
        """
        deadline = time.monotonic() + self.options.tick_seconds * 0.9
        claim = True
        while not self._stopping.is_set():
            self.tick(claim=claim)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            with self._lock:
                if not self._pending and self._running == 0:
                    return
                wait = remaining
                if self._pending and self._running < self._loaded.settings.workers:
                    # A worker is free and a page waits for its host's spacing: wake then.
                    now = self._clock()
                    turn = min(self._limits.next_turn(c.host, now) for c in self._pending)
                    wait = min(remaining, max((turn - now).total_seconds(), 0.001))
            freed = self._slot_freed.wait(wait)
            self._slot_freed.clear()
            claim = freed and self._backlog

    def poll_sources(self) -> int:
        """Read the sources that are due (feeds, sitemaps, section pages); count polls."""
        if self._stopping.is_set() or not self._loaded.by_source:
            return 0
        loaded = self._loaded
        try:
            outcomes = poll_due_sources(
                self.store,
                self._session(loaded.settings.user_agent),
                loaded.watchlist,
                loaded.by_source,
                self._clock(),
                owner=self.owner,
                lease_seconds=self.lease_seconds,
            )
        except StoreError as exc:
            logger.warning("sources not polled: database: %s", exc)
            return 0
        if any(o.record and o.record.new_pages for o in outcomes):
            self._slot_freed.set()  # new articles are due now: let the dispatcher look
        return len(outcomes)

    def _status_job(self) -> None:
        problem = self.health.problem()
        if problem and not self._was_unhealthy:
            logger.error("%s: withholding the watchdog ping", problem)
        elif self._was_unhealthy and not problem:
            logger.info("healthy again: work completes")
        self._was_unhealthy = problem is not None
        if os.environ.get("NOTIFY_SOCKET"):
            self._notify(f"STATUS={problem or self._safe_status()}")

    def _watchdog_job(self) -> None:
        """Ping only while the daemon does its job (``Health``) and its dispatch tick is
        alive, so systemd restarts a daemon that hangs or can no longer get work done."""
        problem = self.health.problem()
        if problem:
            self._notify(f"STATUS={problem}")
            return
        silent = time.monotonic() - self._last_tick_monotonic
        limit = self._watchdog_timeout or 0.0
        if silent > max(limit, self.options.tick_seconds * 3):
            logger.error("no dispatch tick for %.0fs: withholding the watchdog ping", silent)
            return
        self._notify("WATCHDOG=1")

    def _safe_status(self) -> str:
        try:
            return self.status_line()
        except StoreError as exc:
            return f"database unavailable ({exc})"

    def _notify(self, message: str) -> None:
        try:
            sdnotify.notify(message)
        except OSError as exc:
            logger.warning("sd_notify %s failed: %s", message.split("=", 1)[0], exc)


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
