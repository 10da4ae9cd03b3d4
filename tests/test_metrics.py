"""The Prometheus endpoint of a real ``watcher run``: scraped over HTTP as checks happen."""

from __future__ import annotations

import signal
import socket
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from pytest_httpserver import HTTPServer
from sqlalchemy import update
from sqlmodel import col

from tests.conftest import shared_readers
from tests.factories import T0, make_article, make_fetch_result, make_version
from tests.sites import PARAGRAPHS, boxed_page
from tests.test_daemon import Site, site, wait_for
from tests.test_daemon_process import Process, spawn, sqlite_url, write_config
from watcher.check.gather import CheckResult
from watcher.check.pipeline import check_page
from watcher.config import Settings, Watch
from watcher.errors import ConfigError
from watcher.judge.classify import Kind, Verdict
from watcher.service.metrics import Metrics, error_kind
from watcher.store.counts import operator_counts
from watcher.store.models import Page
from watcher.store.store import ChangeDraft, Store

__all__ = ["site", "spawn"]  # the fixtures, shared with the daemon tests


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the endpoint, by name and labels; empty while it is not up yet."""
    try:
        reply = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    except requests.ConnectionError:
        return {}
    reply.raise_for_status()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(reply.text)
        for sample in family.samples
    }


def value(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def write_metrics_config(path: Path, site: Site, paths: list[str], port: int) -> None:
    write_config(path, site, paths)
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("[settings]\n", f'[settings]\nmetrics = "127.0.0.1:{port}"\n', 1),
        encoding="utf-8",
    )


def test_a_running_daemon_serves_numbers_that_follow_its_checks(
    site: Site, spawn: Callable[..., Process], tmp_path: Path
) -> None:
    """Checks, verdicts, errors, durations, lag and page counts rise as the daemon works."""
    site.serve("/ok")
    site.serve("/broken", status=500, body=b"down")
    port = free_port()
    config = tmp_path / "watcher.toml"
    write_metrics_config(config, site, ["/ok", "/broken"], port)
    daemon = spawn(config, sqlite_url(tmp_path))

    def checks_done(count: int) -> Callable[[], bool]:
        return lambda: value(scrape(port), "watcher_check_duration_seconds_count") >= count

    wait_for(checks_done(2), "two checks counted")
    first = scrape(port)
    assert value(first, "watcher_checks_total", verdict="new", error="") == 1
    assert value(first, "watcher_checks_total", verdict="error", error="http_5xx") == 1
    assert value(first, "watcher_schedule_lag_seconds_count") == 2
    assert value(first, "watcher_reading_duration_seconds_count", reading="full") >= 1
    assert value(first, "watcher_full_readings_total") >= 1
    wait_for(
        lambda: (
            value(scrape(port), "watcher_pages", state="ok") == 1
            and value(scrape(port), "watcher_pages", state="failing") == 1
        ),
        "the pages counted by state",
    )
    assert value(scrape(port), "watcher_pages_by_tier", tier="none") == 2
    assert value(scrape(port), "watcher_outbox_alerts", state="pending") == 0

    # a third page, added on reload: its check moves the counters on
    site.serve("/later")
    write_metrics_config(config, site, ["/ok", "/broken", "/later"], port)
    daemon.signal(signal.SIGHUP)
    wait_for(checks_done(3), "the added page's check counted")
    later = scrape(port)
    assert value(later, "watcher_checks_total", verdict="new", error="") == 2
    assert value(later, "watcher_check_duration_seconds_sum") > value(
        first, "watcher_check_duration_seconds_sum"
    )
    daemon.signal(signal.SIGTERM)
    assert daemon.wait() == 0
    assert scrape(port) == {}  # the endpoint stops with the daemon


@pytest.mark.parametrize(
    ("summary", "status", "kind"),
    [
        ("error: reader timeout: reading took longer than 30s", 200, "reader_timeout"),
        ("error: the server answers 503", 503, "http_5xx"),
        ("error: the server answers 429", 429, "http_429"),
        ("error: https://x: blocked by the network guard: 10.0.0.1 is private", None, "guard"),
        ("error: internal error: KeyError: 'x'", None, "internal"),
        ("error: something new", None, "other"),
    ],
)
def test_errors_are_counted_by_a_short_kind(summary: str, status: int | None, kind: str) -> None:
    """An error's label is one of a few kinds, never its unbounded message."""
    result = CheckResult("https://x", "x", Verdict(Kind.ERROR, summary=summary), T0, status)
    assert error_kind(result) == kind


@pytest.mark.parametrize("address", ["127.0.0.1", "localhost:99999", "http://127.0.0.1:9108"])
def test_a_metrics_address_needs_a_host_and_a_port(address: str) -> None:
    """settings.metrics is HOST:PORT with a real port, or the watchlist is refused."""
    with pytest.raises((ValueError, ConfigError)):
        Settings(metrics=address)


def test_pages_and_alerts_are_counted_by_state(db: Store) -> None:
    """New, ok, removed, failing and retired pages, each tier, and failed deliveries."""
    urls = [f"https://news.example/{name}" for name in ("new", "ok", "gone", "down", "old")]
    ids = db.sync_pages([(url, url) for url in urls], T0)
    for name, state in (("ok", "ok"), ("gone", "removed"), ("down", "ok")):
        version = make_version(
            make_fetch_result(f"<p>{name}</p>", url=f"https://news.example/{name}"),
            make_article(name),
            state=state,
            removal="gone" if state == "removed" else None,
        )
        change = ChangeDraft("new", (), None, "first version", 0, 0, T0)
        db.record_version(
            ids[f"https://news.example/{name}"],
            version,
            change=change,
            alerts=["desk"] if name == "gone" else [],
            alert_event={"summary": "first version"},
        )
    (alert,) = db.outbox.alerts()
    db.outbox.mark_alert_failed(alert.id or 0, error="refused", retry_at=T0, delivered=[])
    db.record_check(ids["https://news.example/down"], checked_at=T0, status=None, error="timed out")
    with db.engine.begin() as connection:  # past its last age tier
        connection.execute(
            update(Page)
            .where(col(Page.id) == ids["https://news.example/old"])
            .values(retired_at=T0, next_check_at=None)
        )
    counts = operator_counts(db)
    assert counts.pages_by_state == {"new": 1, "ok": 1, "removed": 1, "failing": 1, "retired": 1}
    assert counts.pages_by_tier == {"none": 4, "retired": 1}
    assert counts.alerts_by_state == {"pending": 1, "sent": 0, "given_up": 0}
    assert counts.delivery_failures == 1


def test_quick_reads_and_full_readings_are_counted_apart(db: Store, httpserver: HTTPServer) -> None:
    """A placed page's noisy re-fetch counts as a quick-read hit; an edit counts as a quick
    read that differs and one full reading (both come back from one trip to a reader)."""
    metrics = Metrics(db)
    reader = metrics.reader(shared_readers())
    watch = Watch(url=httpserver.url_for("/a"))
    settings = Settings(allow_private=True, confirm=False)  # one load per check
    page_id = db.sync_pages([(watch.url, watch.label)], T0)[watch.url]

    def check(body: str, minutes: int) -> Kind:
        httpserver.clear()
        httpserver.expect_request("/a").respond_with_data(body, content_type="text/html")
        with requests.Session() as session:
            result = check_page(
                db,
                session,
                watch,
                settings,
                page_id=page_id,
                now=T0 + timedelta(minutes=minutes),
                reader=reader,
            )
        return result.verdict.kind

    assert check(boxed_page(seed=1), 1) is Kind.NEW
    assert metrics.full_readings._value.get() == 1
    assert check(boxed_page(seed=2, banner=True), 2) is Kind.UNCHANGED
    assert metrics.quick_reads.labels("unchanged")._value.get() == 1
    assert metrics.full_readings._value.get() == 1
    edited = (*PARAGRAPHS[:2], PARAGRAPHS[2].replace("declined", "refused"))
    assert check(boxed_page(edited, seed=3), 3) is Kind.CHANGED
    assert metrics.quick_reads.labels("differs")._value.get() == 1
    assert metrics.full_readings._value.get() == 2
    assert metrics._hit_ratio() == pytest.approx(1 / 3)
