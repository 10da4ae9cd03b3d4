"""``watcher run`` as a real process: signals, systemd notifications, two daemons on PostgreSQL."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.test_daemon import WAIT, Site, site, wait_for
from watcher.store.store import Store

__all__ = ["site"]  # the fixture, shared with test_daemon

WATCHER = (sys.executable, "-m", "watcher")
SETTINGS = """[settings]
allow_private = true  # the site listens on 127.0.0.1
every = "1h"
timeout = "5s"
deadline = "10s"
workers = {workers}
per_host = {per_host}
host_delay = "1ms"
user_agent = "{agent}"
"""


class Process:
    """One ``python -m watcher run``, its stderr in a file the test can read as it grows."""

    def __init__(
        self,
        config: Path,
        database: str,
        log: Path,
        *args: str,
        env: dict[str, str] | None = None,
    ) -> None:
        self.log = log
        clean = {
            k: v
            for k, v in os.environ.items()
            if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "WATCHER_DATABASE")
        }
        with log.open("wb") as stderr:
            self.popen = subprocess.Popen(
                [*WATCHER, "-c", str(config), "--database", database, "run", *args],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                env={**clean, **(env or {})},
            )

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_log(self, needle: str, count: int = 1) -> None:
        wait_for(lambda: self.text().count(needle) >= count, f"{needle!r} in the log")

    def signal(self, signum: signal.Signals) -> None:
        self.popen.send_signal(signum)

    def wait(self) -> int:
        try:
            return self.popen.wait(WAIT)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"watcher did not exit:\n{self.text()}") from None


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[..., Process]]:
    """Starts daemons; any still running at the end are killed (only ours, by pid)."""
    started: list[Process] = []

    def start(config: Path, database: str, *args: str, **kwargs: object) -> Process:
        log = tmp_path / f"daemon{len(started)}.log"
        process = Process(config, database, log, *args, **kwargs)  # type: ignore[arg-type]
        started.append(process)
        return process

    yield start
    for process in started:
        if process.popen.poll() is None:
            process.popen.kill()
            process.popen.wait(WAIT)


def write_config(
    path: Path,
    site: Site,
    paths: list[str],
    *,
    workers: int = 4,
    per_host: int = 4,
    agent: str = "watcher-test",
    extra: str = "",
) -> None:
    """Save the watchlist the way editors do: a new file renamed over the old one."""
    text = SETTINGS.format(workers=workers, per_host=per_host, agent=agent)
    for page in paths:
        text += f'\n[[watch]]\nurl = "{site.url(page)}"\n'
    temporary = path.with_suffix(".tmp")
    temporary.write_text(text + extra, encoding="utf-8")
    temporary.replace(path)


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'watcher.db'}"


def test_sighup_reloads_and_a_broken_file_keeps_running(
    site: Site, spawn: Callable[..., Process], tmp_path: Path
) -> None:
    """SIGHUP starts an added page; a broken file is reported by line and key and ignored."""
    for page in ("/h1", "/h2", "/h3"):
        site.serve(page)
    config = tmp_path / "watcher.toml"
    write_config(config, site, ["/h1"])
    daemon = spawn(config, sqlite_url(tmp_path))
    wait_for(lambda: site.hits["/h1"] == 1, "the first page")

    write_config(config, site, ["/h1", "/h2"])
    daemon.signal(signal.SIGHUP)
    daemon.wait_log("SIGHUP: reloading the watchlist")
    wait_for(lambda: site.hits["/h2"] == 1, "the added page")

    write_config(config, site, ["/h3"], extra='every = "15 mins"\n')
    daemon.signal(signal.SIGHUP)
    daemon.wait_log("SIGHUP: reloading the watchlist", 2)
    daemon.wait_log("keeping the last good one")
    assert re.search(
        r"watcher\.toml:\d+: watch\[0\]\.every: '15 mins' is not a duration", daemon.text()
    )
    assert daemon.popen.poll() is None

    write_config(config, site, ["/h1", "/h2", "/h3"])
    daemon.signal(signal.SIGHUP)
    wait_for(lambda: site.hits["/h3"] == 1, "the page of the repaired file")
    daemon.signal(signal.SIGTERM)
    assert daemon.wait() == 0
    assert site.hits == {"/h1": 1, "/h2": 1, "/h3": 1}
    with Store(sqlite_url(tmp_path)) as store:
        for page in ("/h1", "/h2", "/h3"):
            row = store.page_by_url(site.url(page))
            assert row is not None
            assert row.is_active  # the broken file removed nothing


def test_sigterm_lets_the_check_in_flight_finish(
    site: Site, spawn: Callable[..., Process], tmp_path: Path
) -> None:
    """SIGTERM during a check: no new claims, the check completes and is stored, exit 0."""
    site.serve("/slow")
    site.serve("/later")
    site.gate.clear()
    config = tmp_path / "watcher.toml"
    write_config(config, site, ["/slow", "/later"], workers=1, per_host=1)
    daemon = spawn(config, sqlite_url(tmp_path))
    site.wait_active(1)
    daemon.signal(signal.SIGTERM)
    daemon.wait_log("SIGTERM: stopping")
    assert daemon.popen.poll() is None  # still finishing the check
    site.gate.set()
    assert daemon.wait() == 0
    assert "stopped after 1 checks" in daemon.text()
    assert sum(site.hits.values()) == 1
    with Store(sqlite_url(tmp_path)) as store:
        rows = [store.page_by_url(site.url(p)) for p in ("/slow", "/later")]
        assert all(row is not None and row.leased_by is None for row in rows)
        done = [row for row in rows if row is not None and row.last_checked_at is not None]
        assert len(done) == 1
        checked = done[0]
        snapshots = store.snapshots(checked.id or 0)
        assert len(snapshots) == 1
        changes = store.changes(checked.id)
        assert [(c.kind, c.snapshot_id) for c in changes] == [("new", snapshots[0].id)]
        assert store.raw_body(snapshots[0].body_sha256)  # evidence complete and verified


def test_systemd_notify_protocol(site: Site, spawn: Callable[..., Process], tmp_path: Path) -> None:
    """READY=1, STATUS=, WATCHDOG=1 at half WATCHDOG_USEC, RELOADING=1, STOPPING=1."""
    site.serve("/n")
    config = tmp_path / "watcher.toml"
    write_config(config, site, ["/n"])
    address = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(str(address))
        server.settimeout(1.0)
        received: list[str] = []

        def until(predicate: Callable[[], bool], what: str) -> None:
            deadline = time.monotonic() + WAIT
            while not predicate():
                if time.monotonic() > deadline:
                    raise AssertionError(f"no {what}; got {received}")
                try:
                    received.append(server.recv(4096).decode("utf-8"))
                except TimeoutError:
                    continue

        env = {"NOTIFY_SOCKET": str(address), "WATCHDOG_USEC": "1000000"}
        daemon = spawn(config, sqlite_url(tmp_path), env=env)
        until(lambda: "READY=1" in received, "READY=1")
        until(lambda: received.count("WATCHDOG=1") >= 3, "watchdog pings")
        until(lambda: any(m.startswith("STATUS=") for m in received), "STATUS")
        status = next(m for m in received if m.startswith("STATUS="))
        assert re.fullmatch(
            r"STATUS=1 pages, \d+ due, \d+ checking, \d+ failing, last change .+", status
        )
        assert received.index("READY=1") < received.index("WATCHDOG=1")
        daemon.signal(signal.SIGHUP)
        until(lambda: "RELOADING=1" in received, "RELOADING=1")
        until(lambda: received.count("READY=1") >= 2, "READY=1 after the reload")
        daemon.signal(signal.SIGTERM)
        until(lambda: "STOPPING=1" in received, "STOPPING=1")
        assert daemon.wait() == 0


@pytest.mark.postgres
def test_two_daemons_never_check_the_same_page(
    site: Site, spawn: Callable[..., Process], tmp_path: Path, postgres_url: str
) -> None:
    """Two daemons on one PostgreSQL database split the pages: each is fetched once."""
    paths = [f"/s{i}" for i in range(24)]
    for path in paths:
        site.serve(path)
    agents = {}
    site.gate.clear()  # hold the first requests until both daemons have work in flight
    for name in ("a", "b"):
        config = tmp_path / f"{name}.toml"
        write_config(config, site, paths, workers=4, per_host=4, agent=f"watcher-{name}")
        agents[name] = spawn(config, postgres_url)
    site.wait_active(8)
    site.gate.set()
    with Store(postgres_url) as store:

        def all_checked() -> bool:
            rows = [store.page_by_url(site.url(p)) for p in paths]
            return all(r is not None and r.last_checked_at and not r.leased_by for r in rows)

        wait_for(all_checked, "every page checked and released")
        for name, daemon in agents.items():
            daemon.signal(signal.SIGTERM)
            assert daemon.wait() == 0, name
        assert site.hits == dict.fromkeys(paths, 1)
        assert set(site.agents) == {"watcher-a", "watcher-b"}
        for path in paths:
            row = store.page_by_url(site.url(path))
            assert row is not None
            assert len(store.snapshots(row.id or 0)) == 1


@pytest.mark.postgres
def test_killed_daemons_pages_are_taken_over(
    site: Site, spawn: Callable[..., Process], tmp_path: Path, postgres_url: str
) -> None:
    """After SIGKILL, another daemon checks the dead one's pages once its leases expire."""
    paths = [f"/k{i}" for i in range(6)]
    for path in paths:
        site.serve(path)
    site.gate.clear()
    config_a = tmp_path / "a.toml"
    write_config(config_a, site, paths, workers=2, per_host=2, agent="watcher-a")
    first = spawn(config_a, postgres_url, "--lease", "4")
    site.wait_active(2)
    with Store(postgres_url) as store:
        leased = {p for p in paths if (row := store.page_by_url(site.url(p))) and row.leased_by}
        assert len(leased) == 4  # two in flight, two waiting for a worker
        in_flight = set(site.hits)
        first.popen.send_signal(signal.SIGKILL)
        assert first.wait() == -signal.SIGKILL
        site.gate.set()

        config_b = tmp_path / "b.toml"
        write_config(config_b, site, paths, workers=2, per_host=2, agent="watcher-b")
        second = spawn(config_b, postgres_url)

        def all_checked() -> bool:
            rows = [store.page_by_url(site.url(p)) for p in paths]
            return all(r is not None and r.last_checked_at and not r.leased_by for r in rows)

        # a daemon that starts under a loaded suite forks its readers warm and reads six
        # first versions before the last page is released: more than one WAIT on two cores
        wait_for(all_checked, "the dead daemon's pages checked by the other", 2 * WAIT)
        second.signal(signal.SIGTERM)
        assert second.wait() == 0
        for path in paths:
            assert site.hits[path] == (2 if path in in_flight else 1), path
            row = store.page_by_url(site.url(path))
            assert row is not None
            assert len(store.snapshots(row.id or 0)) == 1
