"""The daemon in-process: ``Daemon.tick`` on an injected clock, a real local site, a real store."""

from __future__ import annotations

import logging
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import MetaData, text
from werkzeug import Request, Response

from tests.conftest import shared_readers
from tests.loopback import LOOPBACK_SETTING
from tests.sites import Story, render
from watcher.config import Watchlist
from watcher.service import sdnotify
from watcher.service.daemon import Daemon, DaemonOptions
from watcher.service.schedule import Interval, backoff_due, next_due
from watcher.store.models import Page
from watcher.store.store import Store

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
WAIT = 60.0  # seconds any wait may take before the test fails (a busy, slow machine)


class Site:
    """A threaded local news site that counts requests and can hold them open."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.replies: dict[str, tuple[int, bytes, dict[str, str]]] = {}
        self.hits: Counter[str] = Counter()
        self.agents: Counter[str] = Counter()
        self.active = 0
        self.max_active = 0
        self.gate = threading.Event()
        self.gate.set()
        self._lock = threading.Lock()
        server.expect_request(re.compile(".*")).respond_with_handler(self._handle)

    def _handle(self, request: Request) -> Response:
        with self._lock:
            self.hits[request.path] += 1
            self.agents[request.headers.get("User-Agent", "")] += 1
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            self.gate.wait(WAIT)
            status, body, headers = self.replies.get(request.path, (404, b"gone", {}))
            return Response(body, status=status, headers=headers)
        finally:
            with self._lock:
                self.active -= 1

    def serve(
        self, path: str, status: int = 200, body: bytes | None = None, **headers: str
    ) -> None:
        page = body if body is not None else render(Story(title=f"Story {path}")).encode()
        self.replies[path] = (status, page, {"Content-Type": "text/html; charset=utf-8", **headers})

    def url(self, path: str) -> str:
        return self.server.url_for(path)

    def wait_active(self, count: int) -> None:
        wait_for(lambda: self.active >= count, f"{count} requests in flight")


def wait_for(condition: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    """Poll until ``condition`` holds; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@pytest.fixture
def site() -> Iterator[Site]:
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    result = Site(server)
    try:
        yield result
    finally:
        result.gate.set()
        server.clear()
        server.stop()


class Clock:
    """The daemon's clock, moved by hand."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def watchlist(site: Site, paths: list[str], **settings: object) -> Watchlist:
    merged: dict[str, object] = {
        "allow_private": True,  # the site listens on 127.0.0.1
        "every": "10m",
        "timeout": "5s",
        "deadline": "10s",
        "workers": 4,
        "per_host": 4,
        "host_delay": "1ms",
        **settings,
    }
    return Watchlist.model_validate(
        {"settings": merged, "watch": [{"url": site.url(p)} for p in paths]}
    )


@pytest.fixture
def make_daemon(db: Store) -> Iterator[Callable[..., Daemon]]:
    """Builds daemons on ``db`` and shuts every one down afterwards."""
    made: list[Daemon] = []

    def make(wl: Watchlist, clock: Clock, **kwargs: object) -> Daemon:
        kwargs.setdefault("readers", shared_readers())
        daemon = Daemon(db, wl, clock=clock, **kwargs)  # type: ignore[arg-type]
        made.append(daemon)
        daemon.start()
        return daemon

    yield make
    for daemon in made:
        daemon.shutdown(timeout=WAIT)


def drain(daemon: Daemon, clock: Clock, step: timedelta = timedelta(milliseconds=1)) -> int:
    """Tick until nothing due is left, letting each round of checks finish; checks started."""
    started = 0
    for _ in range(1000):
        count = daemon.tick()
        started += count
        assert daemon.wait_idle(WAIT)
        if count == 0 and daemon.pending() == 0:
            return started
        clock.now += step
    raise AssertionError("the daemon never ran out of due pages")


def page(db: Store, site: Site, path: str) -> Page:
    found = db.page_by_url(site.url(path))
    assert found is not None
    return found


def test_due_pages_are_checked_and_rescheduled(db: Store, site: Site, make_daemon) -> None:  # type: ignore[no-untyped-def]
    """New pages are checked at once; each gets its next slot and its lease back."""
    paths = [f"/a{i}" for i in range(3)]
    for path in paths:
        site.serve(path)
    clock = Clock()
    daemon = make_daemon(watchlist(site, paths), clock)
    assert drain(daemon, clock) == 3
    for path in paths:
        row = page(db, site, path)
        assert row.leased_by is None
        assert row.lease_until is None
        assert row.next_check_at == next_due(Interval(timedelta(minutes=10)), site.url(path), T0)
        assert T0 + timedelta(minutes=5) < row.next_check_at <= T0 + timedelta(minutes=16)
        assert len(db.snapshots(row.id or 0)) == 1
    assert site.hits == Counter(dict.fromkeys(paths, 1))
    assert daemon.tick() == 0  # nothing is due until the first slot


def test_restart_keeps_the_schedule(db: Store, site: Site, make_daemon) -> None:  # type: ignore[no-untyped-def]
    """A new daemon on the same database checks only what is due: no stampede."""
    paths = [f"/p{i}" for i in range(40)]
    for path in paths:
        site.serve(path)
    clock = Clock()
    first = make_daemon(watchlist(site, paths), clock)
    assert drain(first, clock) == 40
    first.shutdown(timeout=WAIT)

    clock.now = T0 + timedelta(minutes=7)
    second = make_daemon(watchlist(site, paths), clock)
    due = {p for p in paths if (page(db, site, p).next_check_at or T0) <= clock.now}
    assert len(due) < 20  # slots are spread over the interval, not all at once
    site.hits.clear()
    assert drain(second, clock) == len(due)
    assert set(site.hits) == due

    clock.now = T0 + timedelta(minutes=15)  # every first slot has passed, no second one
    drain(second, clock)
    assert set(site.hits) == set(paths)
    assert max(site.hits.values()) == 1


def test_per_host_concurrency_is_observed_by_the_server(
    db: Store,
    site: Site,
    make_daemon,  # type: ignore[no-untyped-def]
) -> None:
    """With per_host = 2, the server never sees more than two requests at once."""
    paths = [f"/h{i}" for i in range(6)]
    for path in paths:
        site.serve(path)
    site.gate.clear()
    clock = Clock()
    daemon = make_daemon(watchlist(site, paths, workers=6, per_host=2), clock)
    assert daemon.tick() == 1
    clock.advance(milliseconds=1)  # host_delay
    assert daemon.tick() == 1
    site.wait_active(2)
    clock.advance(seconds=5)
    assert daemon.tick() == 0  # the host is full, though four workers are idle
    site.gate.set()
    drain(daemon, clock)
    assert site.max_active == 2
    assert sum(site.hits.values()) == 6


def test_host_delay_spaces_request_starts(db: Store, site: Site, make_daemon) -> None:  # type: ignore[no-untyped-def]
    """host_delay = 10s: one start per host per ten seconds, other hosts unaffected."""
    paths = ["/d1", "/d2", "/d3"]
    for path in paths:
        site.serve(path)
    clock = Clock()
    wl = watchlist(site, paths, per_host=4, host_delay="10s")
    other = site.url("/d4").replace("127.0.0.1", "localhost")
    wl = Watchlist.model_validate(
        {
            "settings": wl.settings.model_dump(mode="json"),
            "watch": [*(w.model_dump(mode="json") for w in wl.watch), {"url": other}],
        }
    )
    site.serve("/d4")
    daemon = make_daemon(wl, clock)
    assert daemon.tick() == 2  # one for 127.0.0.1, one for localhost
    assert daemon.wait_idle(WAIT)
    clock.advance(seconds=9)
    assert daemon.tick() == 0
    clock.advance(seconds=1)
    assert daemon.tick() == 1
    assert daemon.wait_idle(WAIT)
    clock.advance(seconds=10)
    assert daemon.tick() == 1
    assert daemon.wait_idle(WAIT)
    assert sum(site.hits.values()) == 4


def test_failing_page_backs_off(db: Store, site: Site, make_daemon) -> None:  # type: ignore[no-untyped-def]
    """A page that keeps failing is retried after 10, 20, 40, 40 minutes; success resets."""
    site.serve("/e", status=500, body=b"oops")
    clock = Clock()
    daemon = make_daemon(watchlist(site, ["/e"]), clock)
    url = site.url("/e")
    schedule = Interval(timedelta(minutes=10))
    gaps = []
    for errors in range(1, 5):
        checked_at = clock.now
        assert drain(daemon, clock) == 1
        row = page(db, site, "/e")
        assert row.consecutive_errors == errors
        assert row.next_check_at == backoff_due(schedule, url, errors, checked_at)
        gaps.append(row.next_check_at - checked_at)
        clock.now = row.next_check_at
    assert gaps[0] < gaps[1] < gaps[2]
    assert gaps[3] <= timedelta(minutes=45)
    site.serve("/e")
    checked_at = clock.now
    assert drain(daemon, clock) == 1
    row = page(db, site, "/e")
    assert row.consecutive_errors == 0
    assert row.next_check_at == next_due(schedule, url, checked_at)


def test_retry_after_holds_off_the_page_and_its_host(
    db: Store,
    site: Site,
    make_daemon,  # type: ignore[no-untyped-def]
) -> None:
    """429 with Retry-After: 3600 pushes the page and the rest of its host back an hour."""
    site.serve("/r1", status=429, body=b"slow down", **{"Retry-After": "3600"})
    site.serve("/r2")
    clock = Clock()
    daemon = make_daemon(watchlist(site, ["/r1", "/r2"], per_host=1, host_delay="1s"), clock)
    first = min(["/r1", "/r2"], key=lambda p: page(db, site, p).id or 0)
    site.serve(first, status=429, body=b"slow down", **{"Retry-After": "3600"})
    second = "/r2" if first == "/r1" else "/r1"
    site.serve(second)
    assert daemon.tick() == 1
    assert daemon.wait_idle(WAIT)
    clock.advance(seconds=2)
    assert daemon.tick() == 0  # the host is resting: its other page is given back
    assert site.hits == Counter({first: 1})
    for path in (first, second):
        row = page(db, site, path)
        assert row.next_check_at is not None
        assert row.next_check_at >= T0 + timedelta(hours=1)
        assert row.leased_by is None


def test_reload_adds_and_removes_pages(
    db: Store,
    site: Site,
    make_daemon,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    """An edited watchlist file starts added pages and stops removed ones; history stays."""
    for path in ("/k1", "/k2", "/k3"):
        site.serve(path)
    config = tmp_path / "watcher.toml"
    config.write_text(_toml(site, ["/k1", "/k2"]), encoding="utf-8")
    clock = Clock()
    daemon = make_daemon(
        Watchlist.model_validate({"watch": []}), clock, config_path=config
    )  # the file, not this, is what counts once reloaded
    assert daemon.reload("test")
    assert drain(daemon, clock) == 2

    replacement = tmp_path / "watcher.toml.new"  # an editor's atomic save
    replacement.write_text(_toml(site, ["/k1", "/k3"]), encoding="utf-8")
    replacement.replace(config)
    assert daemon.reload_if_changed()
    assert not daemon.reload_if_changed()  # nothing new since
    assert drain(daemon, clock) == 1
    assert site.hits == Counter({"/k1": 1, "/k2": 1, "/k3": 1})
    removed = page(db, site, "/k2")
    assert not removed.is_active
    assert len(db.snapshots(removed.id or 0)) == 1

    clock.advance(hours=1)
    drain(daemon, clock)
    assert site.hits["/k2"] == 1
    assert site.hits["/k1"] >= 2


def test_broken_file_keeps_the_last_good_watchlist(
    db: Store,
    site: Site,
    make_daemon,  # type: ignore[no-untyped-def]
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A broken edit is reported with line and key; the pages it would drop keep running."""
    site.serve("/b1")
    config = tmp_path / "watcher.toml"
    config.write_text(_toml(site, ["/b1"]), encoding="utf-8")
    clock = Clock()
    daemon = make_daemon(Watchlist.model_validate({"watch": []}), clock, config_path=config)
    assert daemon.reload("test")
    before = daemon.watchlist
    config.write_text(
        _toml(site, ["/b1"]) + '\n[[watch]]\nurl = "https://x.example/"\nevery = "15 mins"\n',
        encoding="utf-8",
    )
    with caplog.at_level(logging.ERROR, logger="watcher.service.daemon"):
        assert not daemon.reload_if_changed()
    assert f"{config}:14: watch[1].every: '15 mins' is not a duration" in caplog.text
    assert "keeping the last good one" in caplog.text
    assert daemon.watchlist is before
    assert page(db, site, "/b1").is_active
    assert drain(daemon, clock) == 1
    caplog.clear()
    assert not daemon.reload_if_changed()  # reported once, not every poll
    assert caplog.text == ""


def test_shorter_schedule_applies_at_once(
    db: Store,
    site: Site,
    make_daemon,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    """Editing every = 1d to 10m brings the next check within ten minutes."""
    site.serve("/s")
    config = tmp_path / "watcher.toml"
    config.write_text(_toml(site, ["/s"], every="1d"), encoding="utf-8")
    clock = Clock()
    daemon = make_daemon(Watchlist.model_validate({"watch": []}), clock, config_path=config)
    assert daemon.reload("test")
    drain(daemon, clock)
    assert (page(db, site, "/s").next_check_at or T0) > T0 + timedelta(hours=12)
    config.write_text(_toml(site, ["/s"], every="10m"), encoding="utf-8")
    assert daemon.reload_if_changed()
    assert (page(db, site, "/s").next_check_at or T0) <= T0 + timedelta(minutes=15)


def test_quiet_checks_are_recorded_with_their_release(db: Store, site: Site, make_daemon) -> None:  # type: ignore[no-untyped-def]
    """Unchanged checks finishing together are written in one batch with their pages'
    release; every page still shows when it was last checked, and the lease is back."""
    paths = [f"/q{i}" for i in range(8)]
    for path in paths:
        site.serve(path)
    clock = Clock()
    daemon = make_daemon(watchlist(site, paths), clock)
    assert drain(daemon, clock) == 8
    clock.now = T0 + timedelta(hours=1)
    second = clock.now
    assert drain(daemon, clock) == 8
    daemon.flush_releases()
    for path in paths:
        row = page(db, site, path)
        checked_at = row.last_checked_at
        assert checked_at is not None
        assert second <= checked_at < second + timedelta(seconds=1)
        assert (row.last_status, row.last_error, row.leased_by) == (200, None, None)
        assert row.next_check_at is not None
        assert row.next_check_at > second
        assert len(db.snapshots(row.id or 0)) == 1


def test_cron_watch_is_due_at_its_fire_time(db: Store, site: Site, make_daemon) -> None:  # type: ignore[no-untyped-def]
    """cron = "0 * * * *": after the first check, next due just after the next full hour."""
    site.serve("/c")
    clock = Clock(T0 + timedelta(minutes=20))
    wl = Watchlist.model_validate(
        {"settings": {"host_delay": "1ms"}, "watch": [{"url": site.url("/c"), "cron": "0 * * * *"}]}
    )
    daemon = make_daemon(wl, clock)
    assert drain(daemon, clock) == 1
    due = page(db, site, "/c").next_check_at or T0
    assert T0 + timedelta(hours=1) <= due < T0 + timedelta(hours=1, minutes=5)
    clock.now = due - timedelta(seconds=1)
    assert daemon.tick() == 0
    clock.now = due
    assert drain(daemon, clock) == 1


def test_shutdown_gives_back_unstarted_pages(db: Store, site: Site, make_daemon) -> None:  # type: ignore[no-untyped-def]
    """On stop, claimed pages that never started are released, still due, unchecked."""
    paths = ["/u1", "/u2", "/u3"]
    for path in paths:
        site.serve(path)
    site.gate.clear()
    clock = Clock()
    daemon = make_daemon(watchlist(site, paths, per_host=1), clock)
    assert daemon.tick() == 1
    site.wait_active(1)
    assert daemon.pending() == 2
    assert all(page(db, site, p).leased_by == daemon.owner for p in paths)
    site.gate.set()
    assert daemon.shutdown(timeout=WAIT)
    rows = [page(db, site, p) for p in paths]
    assert all(row.leased_by is None and row.lease_until is None for row in rows)
    checked = [row for row in rows if row.last_checked_at is not None]
    assert len(checked) == 1
    for row in rows:
        if row.last_checked_at is None:
            assert row.next_check_at == T0
            assert db.snapshots(row.id or 0) == []
    assert daemon.tick() == 0  # a stopped daemon claims nothing


def test_database_outage_backs_off(
    db: Store,
    site: Site,
    make_daemon,  # type: ignore[no-untyped-def]
    caplog: pytest.LogCaptureFixture,
) -> None:
    """With the pages table gone, ticks log and wait longer each time instead of spinning."""
    site.serve("/o")
    clock = Clock()
    daemon = make_daemon(watchlist(site, ["/o"]), clock)
    with db.engine.begin() as connection:
        connection.execute(text("ALTER TABLE page RENAME TO page_away"))
    with caplog.at_level(logging.WARNING, logger="watcher.service.daemon"):
        assert daemon.tick() == 0
        assert daemon.tick() == 0  # same instant: no second query
        clock.advance(seconds=1)
        assert daemon.tick() == 0
        clock.advance(seconds=1)
        assert daemon.tick() == 0  # the second wait is two seconds
    outages = [r for r in caplog.records if "database unavailable" in r.getMessage()]
    assert [r.getMessage().split(",")[1].split(":")[0] for r in outages] == [
        " next claim in 1s",
        " next claim in 2s",
    ]
    with db.engine.begin() as connection:
        connection.execute(text("ALTER TABLE page_away RENAME TO page"))
    clock.advance(seconds=2)
    assert drain(daemon, clock) == 1


def test_status_line_counts(db: Store, site: Site, make_daemon) -> None:  # type: ignore[no-untyped-def]
    """STATUS reports pages, due, running, failing, the last change and check times."""
    site.serve("/t1")
    site.serve("/t2", status=500, body=b"down")
    clock = Clock()
    daemon = make_daemon(watchlist(site, ["/t1", "/t2"]), clock)
    assert daemon.status_line() == "2 pages, 2 due, 0 checking, 0 failing, last change none"
    drain(daemon, clock)
    line = daemon.status_line()
    assert line.startswith(
        "2 pages, 0 due, 0 checking, 1 failing, last change 2026-11-29 12:00:00 UTC, "
    )
    times = re.fullmatch(r".*, check p50 (\d+) ms p99 (\d+) ms", line)
    assert times is not None
    assert 0 < int(times.group(1)) <= int(times.group(2)) < WAIT * 1000


def test_sd_notify_path_and_abstract_sockets(tmp_path: Path) -> None:
    """Messages arrive on a filesystem socket and on an abstract one ('@' prefix)."""
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(str(path))
        assert sdnotify.notify("READY=1", {"NOTIFY_SOCKET": str(path)})
        assert server.recv(4096) == b"READY=1"
    name = f"watcher-test-{time.monotonic_ns()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind("\0" + name)
        assert sdnotify.notify("STATUS=3 pages, 0 due", {"NOTIFY_SOCKET": "@" + name})
        assert server.recv(4096) == b"STATUS=3 pages, 0 due"
    assert not sdnotify.notify("READY=1", {})
    with pytest.raises(OSError):  # noqa: PT011 - any socket error must reach the caller
        sdnotify.notify("READY=1", {"NOTIFY_SOCKET": str(tmp_path / "missing")})


def test_sd_notify_never_waits_for_a_receiver_that_stopped_reading(tmp_path: Path) -> None:
    """A notify socket nobody reads fills up; then sending fails at once (the status job
    logs it) instead of hanging the thread that sends STATUS and the watchdog ping."""
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(str(path))
        env = {"NOTIFY_SOCKET": str(path)}
        sent = 0
        refused: OSError | None = None
        while refused is None and sent < 100_000:  # the queue holds a few hundred
            try:
                sdnotify.notify(f"STATUS=check {sent}", env)
                sent += 1
            except OSError as error:
                refused = error
        assert isinstance(refused, BlockingIOError)
        assert sent > 0
        assert server.recv(4096) == b"STATUS=check 0"
        assert sdnotify.notify("WATCHDOG=1", env)  # room again once the receiver reads


def test_watchdog_interval_from_environment() -> None:
    """WATCHDOG_USEC in seconds; ignored when meant for another process or zero."""
    assert sdnotify.watchdog_seconds({"WATCHDOG_USEC": "30000000"}) == 30
    pid = str(__import__("os").getpid())
    assert sdnotify.watchdog_seconds({"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": pid}) == 2
    assert sdnotify.watchdog_seconds({"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": "1"}) is None
    assert sdnotify.watchdog_seconds({"WATCHDOG_USEC": "0"}) is None
    assert sdnotify.watchdog_seconds({}) is None


def test_lease_defaults_cover_the_deadline(db: Store) -> None:
    """The default lease outlasts a check at its deadline plus its wait for a host."""
    daemon = Daemon(db, Watchlist.model_validate({"settings": {"deadline": "60s"}}))
    try:
        assert daemon.lease_seconds == 135
        assert Daemon(db, Watchlist(), options=DaemonOptions(lease_seconds=3)).lease_seconds == 3
    finally:
        daemon.shutdown(timeout=1)


def _toml(site: Site, paths: list[str], every: str = "10m") -> str:
    lines = [
        "[settings]",
        LOOPBACK_SETTING,
        f'every = "{every}"',
        'timeout = "5s"',
        'deadline = "10s"',
        'host_delay = "1ms"',
        "per_host = 4",
    ]
    for path in paths:
        lines += ["", "[[watch]]", f'url = "{site.url(path)}"']
    return "\n".join(lines) + "\n"


def test_schedule_shortened_while_stopped(db: Store, site: Site, make_daemon) -> None:  # type: ignore[no-untyped-def]
    """every = 1d edited to 10m while no daemon ran: the next start checks it at once."""
    site.serve("/w")
    clock = Clock(datetime.now(UTC))  # a stored version's time is the real fetch time
    first = make_daemon(watchlist(site, ["/w"], every="1d"), clock)
    assert drain(first, clock) == 1
    first.shutdown(timeout=WAIT)
    clock.advance(hours=1)
    second = make_daemon(watchlist(site, ["/w"], every="10m"), clock)
    assert drain(second, clock) == 1
    assert site.hits["/w"] == 2


def test_changes_found_by_the_daemon_are_alerted(
    db: Store,
    site: Site,
    make_daemon,  # type: ignore[no-untyped-def]
    slack,  # type: ignore[no-untyped-def]
) -> None:
    """A change the daemon finds is written to the outbox and its delivery job sends it."""
    story = Story(title="Minister resigns")
    site.serve("/x", body=render(story, seed=1).encode())
    wl = Watchlist.model_validate(
        {
            "settings": {"host_delay": "1ms", "every": "10m", "allow_private": True},
            "notify": {"desk": {"urls": [slack.url()]}},
            "watch": [{"url": site.url("/x"), "notify": ["desk"]}],
        }
    )
    clock = Clock()
    daemon = make_daemon(wl, clock)
    assert drain(daemon, clock) == 1
    assert daemon.deliver() == 0  # a first version alerts nobody
    site.serve("/x", body=render(story.edit(4, "declined", "refused"), seed=2).encode())
    clock.advance(minutes=16)
    assert drain(daemon, clock) == 1
    assert daemon.deliver() == 1
    assert len(slack.payloads) == 1


def _recreate_empty(db: Store) -> None:
    """Every table dropped, as a database dropped and created again empty leaves it."""
    with db.engine.begin() as connection:
        tables = MetaData()
        tables.reflect(connection)
        tables.drop_all(connection)


def _start_due(daemon: Daemon, clock: Clock, ticks: int = 5) -> int:
    """Checks started over a few ticks (one host's starts are spaced by its delay)."""
    started = 0
    for _ in range(ticks):
        started += daemon.tick()
        clock.advance(milliseconds=2)
    return started


def test_a_database_recreated_under_running_checks_is_checked_again_at_once(
    db: Store,
    site: Site,
    make_daemon,  # type: ignore[no-untyped-def]
) -> None:
    """The database comes back empty while checks from before still run: once migrated
    again, its pages (with the same ids as before) are checked at once, and the checks
    from before never end a lease or set a due time in it."""
    paths = ["/a", "/b"]
    for path in paths:
        site.serve(path)
    clock = Clock()
    daemon = make_daemon(watchlist(site, paths), clock)
    assert drain(daemon, clock) == 2
    clock.now = max(page(db, site, path).next_check_at for path in paths)
    site.gate.clear()
    assert _start_due(daemon, clock) == 2
    site.wait_active(2)
    _recreate_empty(db)
    assert daemon.tick() == 0  # the claim fails: the daemon waits a second
    clock.advance(seconds=2)
    assert _start_due(daemon, clock) == 2  # migrated, the watchlist put back, checked
    site.wait_active(4)
    checked_at = clock.now
    site.gate.set()
    assert daemon.wait_idle(WAIT)
    daemon.flush_releases()
    schedule = Interval(timedelta(minutes=10))
    for path in paths:
        row = page(db, site, path)
        assert row.leased_by is None
        assert (
            checked_at - timedelta(seconds=1)
            < row.next_check_at
            <= next_due(schedule, site.url(path), checked_at)
        )
        assert row.id is not None
        assert db.snapshots(row.id)
    assert all(site.hits[path] == 3 for path in paths)


def test_a_check_the_database_failed_is_not_backed_off(
    db: Store,
    site: Site,
    make_daemon,  # type: ignore[no-untyped-def]
) -> None:
    """A check that failed because the database did is not the page's fault: the page
    keeps its schedule instead of waiting out an error's backoff."""
    site.serve("/s")
    clock = Clock()
    daemon = make_daemon(watchlist(site, ["/s"]), clock)
    assert drain(daemon, clock) == 1
    clock.now = page(db, site, "/s").next_check_at
    site.serve("/s", body=render(Story(title="Story /s (edited)")).encode())
    with db.engine.begin() as connection:  # the edited version cannot be stored
        connection.execute(text("ALTER TABLE blob RENAME TO blob_away"))
    for _ in range(3):  # an error's backoff would grow from the second in a row
        checked_at = clock.now
        assert daemon.tick() == 1
        assert daemon.wait_idle(WAIT)
        daemon.flush_releases()
        row = page(db, site, "/s")
        assert row.leased_by is None
        assert row.next_check_at == next_due(Interval(timedelta(minutes=10)), row.url, checked_at)
        clock.now = row.next_check_at
    with db.engine.begin() as connection:
        connection.execute(text("ALTER TABLE blob_away RENAME TO blob"))
    assert drain(daemon, clock) == 1
    assert len(db.snapshots(row.id or 0)) == 2  # stored once the database can again


def test_a_page_in_flight_is_never_started_again(db: Store, site: Site, make_daemon) -> None:  # type: ignore[no-untyped-def]
    """A check outliving its lease is not started a second time beside itself."""
    site.serve("/slow")
    site.gate.clear()
    clock = Clock()
    daemon = make_daemon(watchlist(site, ["/slow"]), clock, options=DaemonOptions(lease_seconds=3))
    assert daemon.tick() == 1
    site.wait_active(1)
    clock.advance(seconds=10)  # the lease has expired, and nobody renewed it
    assert daemon.tick() == 0
    assert daemon.pending() == 0
    assert daemon.running() == 1
    site.gate.set()
    assert daemon.wait_idle(WAIT)
    assert site.hits["/slow"] == 1
    assert page(db, site, "/slow").leased_by is None


def test_leases_of_pages_in_flight_are_renewed(db: Store, site: Site, make_daemon) -> None:  # type: ignore[no-untyped-def]
    """While a check runs its lease is extended, so another daemon cannot take the page."""
    site.serve("/slow")
    site.gate.clear()
    clock = Clock()
    options = DaemonOptions(lease_seconds=3)
    daemon = make_daemon(watchlist(site, ["/slow"]), clock, options=options)
    other = make_daemon(watchlist(site, ["/slow"]), clock, options=options, owner="other")
    assert daemon.tick() == 1
    site.wait_active(1)
    clock.advance(seconds=2)
    assert daemon.renew_leases() == 1
    assert page(db, site, "/slow").lease_until == clock.now + timedelta(seconds=3)
    clock.advance(seconds=2)  # past the first lease, within the renewed one
    assert other.tick() == 0
    site.gate.set()
    assert daemon.wait_idle(WAIT)
    assert site.hits["/slow"] == 1
    assert daemon.renew_leases() == 0  # nothing in flight any more
