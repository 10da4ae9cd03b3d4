"""Operators' numbers: a Prometheus endpoint for the daemon (``settings.metrics``).

What this process does (checks, readings, lag, reader failures) is counted as it happens;
what the database holds (pages by state and tier, the outbox) is read when scraped, at
most every ``refresh_seconds``, so a scrape costs the database a few indexed counts. It
only observes: nothing here changes a check, and a failed count is logged, not raised.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import ParamSpec, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from watcher.check.gather import CheckResult
from watcher.check.readers import Reader
from watcher.errors import ReaderError, ReaderStopped, StoreError
from watcher.judge.classify import Kind
from watcher.store.counts import operator_counts
from watcher.store.store import Store

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

# seconds: a check spans a fetch (up to its deadline), a confirming fetch and readings
_CHECK_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
_READ_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0)
_LAG_BUCKETS = (0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0)
# what the reader was asked to run, by function name: the quick re-read (which brings the
# full reading back with it when the page differs) or a full reading
_QUICK = "read_unless_as_before"
_FULL = "read_article_within"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where metrics are served: host and port parsed from ``settings.metrics``."""

    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> Endpoint:
        host, _, port = text.rpartition(":")
        return cls(host.strip("[]"), int(port))


class Metrics:
    """The daemon's counters and histograms, and the database counts read on a scrape."""

    def __init__(self, store: Store, *, refresh_seconds: float = 5.0) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.checks = Counter(
            "watcher_checks",
            "Checks finished, by verdict and, for errors, by kind of error.",
            ["verdict", "error"],
            registry=registry,
        )
        self.check_seconds = Histogram(
            "watcher_check_duration_seconds",
            "Time from a check's first fetch to its recorded verdict.",
            buckets=_CHECK_BUCKETS,
            registry=registry,
        )
        self.reading_seconds = Histogram(
            "watcher_reading_duration_seconds",
            "Time a reader process took for one reading: the quick re-read or a full one.",
            ["reading"],
            buckets=_READ_BUCKETS,
            registry=registry,
        )
        self.quick_reads = Counter(
            "watcher_quick_reads",
            "Quick re-reads of the block where the article was found last time, by outcome.",
            ["outcome"],
            registry=registry,
        )
        self.full_readings = Counter(
            "watcher_full_readings", "Full readings of an article (extraction).", registry=registry
        )
        Gauge(
            "watcher_quick_read_hit_ratio",
            "Readings settled by the quick re-read, over those plus full readings (since start).",
            registry=registry,
        ).set_function(self._hit_ratio)
        self.lag_seconds = Histogram(
            "watcher_schedule_lag_seconds",
            "How late a check started after the time it was due.",
            buckets=_LAG_BUCKETS,
            registry=registry,
        )
        self.reader_restarts = Counter(
            "watcher_reader_restarts",
            "Reader processes replaced because a reading crashed, overran or ran out of memory.",
            ["cause"],
            registry=registry,
        )
        for outcome in ("unchanged", "differs"):  # shown as 0 before the first one
            self.quick_reads.labels(outcome)
        for cause in ("reader_timeout", "reader_crashed", "reader_out_of_memory"):
            self.reader_restarts.labels(cause)
        registry.register(_StoreCounts(store, refresh_seconds))
        self._server: Callable[[], None] | None = None

    def serve(self, endpoint: Endpoint) -> None:
        """Serve ``/metrics`` at ``endpoint`` from a background thread until ``close``."""
        server, thread = start_http_server(endpoint.port, endpoint.host, registry=self.registry)
        logger.info("metrics at http://%s:%d/metrics", endpoint.host, server.server_port)

        def stop() -> None:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)

        self._server = stop

    def close(self) -> None:
        if self._server is not None:
            self._server()
            self._server = None

    def checked(self, result: CheckResult, seconds: float, due_at: datetime | None) -> None:
        """Count one finished check: its verdict, how long it took and how late it began."""
        kind = result.verdict.kind
        error = error_kind(result) if kind is Kind.ERROR else ""
        self.checks.labels(kind.value, error).inc()
        self.check_seconds.observe(seconds)
        if due_at is not None:
            self.lag_seconds.observe(max(0.0, (result.checked_at - due_at).total_seconds()))

    def reader(self, reader: Reader) -> Reader:
        """``reader``, timing each reading and counting quick re-reads and reader failures."""
        return _TimedReader(reader, self)

    def _hit_ratio(self) -> float:
        hits = self.quick_reads.labels("unchanged")._value.get()
        full = self.full_readings._value.get()
        return hits / (hits + full) if hits + full else 0.0


def error_kind(result: CheckResult) -> str:
    """A short, bounded label for why a check failed (the summary itself is unbounded)."""
    reason = result.verdict.summary.removeprefix("error: ").lower()
    if reason.startswith("reader "):
        return reason.split(":", 1)[0].replace(" ", "_")  # reader_timeout, reader_crashed, …
    if result.status is not None and result.status >= 400:
        return f"http_{result.status}" if result.status in (403, 429) else "http_5xx"
    for needle, kind in (
        ("network guard", "guard"),
        ("timed out", "timeout"),
        ("timeout", "timeout"),
        ("deadline", "timeout"),
        ("too large", "too_large"),
        ("internal error", "internal"),
        ("nothing could be read", "unreadable"),
        ("redirect", "redirect"),
        ("resolve", "dns"),
        ("name or service", "dns"),
        ("connect", "connection"),
    ):
        if needle in reason:
            return kind
    return "other"


class _TimedReader:
    """A reader that times what it runs; everything else is the wrapped reader's."""

    def __init__(self, reader: Reader, metrics: Metrics) -> None:
        self._reader = reader
        self._metrics = metrics

    def run(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        name = getattr(fn, "__name__", "")
        begun = time.monotonic()
        try:
            result = self._reader.run(fn, *args, **kwargs)
        except ReaderStopped:
            raise
        except ReaderError as exc:
            self._metrics.reader_restarts.labels(exc.cause.replace(" ", "_")).inc()
            raise
        took = time.monotonic() - begun
        # a quick re-read answers True, or the locator to keep (str), when the page reads
        # as before; False or a full reading when it does not
        same = result is True or isinstance(result, str)
        if name == _QUICK:
            self._metrics.quick_reads.labels("unchanged" if same else "differs").inc()
        full = name == _FULL or (name == _QUICK and not same and result is not False)
        if full:
            self._metrics.full_readings.inc()
        reading = "full" if full else "quick" if name == _QUICK else "other"
        self._metrics.reading_seconds.labels(reading).observe(took)
        return result


class _StoreCounts(Collector):
    """Pages by state and tier, and the outbox, read from the database when scraped."""

    def __init__(self, store: Store, refresh_seconds: float) -> None:
        self._store = store
        self._refresh = refresh_seconds
        self._lock = threading.Lock()
        self._cached: list[Metric] = []
        self._read_at = float("-inf")

    def describe(self) -> Iterable[Metric]:
        return []  # read from the database: nothing to describe before the first scrape

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            if time.monotonic() - self._read_at >= self._refresh:
                try:
                    self._cached = self._read()
                    self._read_at = time.monotonic()
                except StoreError as exc:
                    logger.warning("metrics: the database could not be counted: %s", exc)
            yield from self._cached

    def _read(self) -> list[Metric]:
        counts = operator_counts(self._store)
        states = GaugeMetricFamily(
            "watcher_pages",
            "Active pages by state: new (no version yet), ok, removed, failing, retired.",
            labels=["state"],
        )
        for name, count in counts.pages_by_state.items():
            states.add_metric([name], count)
        tiers = GaugeMetricFamily(
            "watcher_pages_by_tier",
            "Active pages by age tier (its interval in seconds; 'none' without a schedule, "
            "'retired' past its last tier).",
            labels=["tier"],
        )
        for name, count in sorted(counts.pages_by_tier.items()):
            tiers.add_metric([name], count)
        backlog = GaugeMetricFamily(
            "watcher_outbox_alerts", "Alerts in the outbox, by state.", labels=["state"]
        )
        for name, count in counts.alerts_by_state.items():
            backlog.add_metric([name], count)
        failures = CounterMetricFamily(
            "watcher_alert_delivery_failures",
            "Failed delivery attempts of alerts, by every daemon sharing the database.",
        )
        failures.add_metric([], counts.delivery_failures)
        return [states, tiers, backlog, failures]
