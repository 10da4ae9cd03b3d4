"""A PostgreSQL database dropped and recreated empty under a running daemon: the daemon
says it is unhealthy (no watchdog ping, STATUS says why) while it cannot work, migrates
the new database under the advisory lock when it is back, and checks resume."""

from __future__ import annotations

import signal
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from tests.conftest import POSTGRES_URL
from tests.faults.conftest import OUTCOMES
from tests.faults.harness import Outcome, verify
from tests.test_daemon import Site, site, wait_for
from tests.test_daemon_process import Process, spawn, write_config
from watcher.store.store import Store

__all__ = ["site", "spawn"]  # fixtures

pytestmark = pytest.mark.postgres


@pytest.fixture
def database(
    postgres_admin: Engine,
) -> Iterator[tuple[str, Callable[[], None], Callable[[], None]]]:
    """A database of its own (URL, drop, create): dropped with its connections, as an
    operator or a restore script would."""
    name = f"watcher_fault_{uuid.uuid4().hex[:12]}"

    def create() -> None:
        with postgres_admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with postgres_admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    create()
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    yield url, drop, create
    drop()


class Notifications:
    """A systemd notify socket: every datagram the daemon sends, in order."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.server.bind(str(path))
        self.server.settimeout(0.2)
        self.received: list[tuple[float, str]] = []

    def poll(self) -> None:
        try:
            while True:
                message = self.server.recv(4096).decode("utf-8")
                self.received.append((time.monotonic(), message))
        except TimeoutError:
            return

    def since(self, moment: float) -> list[str]:
        self.poll()
        return [message for at, message in self.received if at >= moment]


def test_database_recreated_empty_is_migrated_and_checks_resume(
    site: Site,
    spawn: Callable[..., Process],
    tmp_path: Path,
    database: tuple[str, Callable[[], None], Callable[[], None]],
) -> None:
    """Drop the database under `watcher run`, recreate it empty: the watchdog goes quiet
    and STATUS says why; once it is back, the schema is migrated again, the pages are
    checked again, pings resume, and SIGTERM exits 0."""
    url, drop, create = database
    paths = ["/r1", "/r2"]
    for path in paths:
        site.serve(path)
    config = tmp_path / "watcher.toml"
    write_config(config, site, paths)
    settings = config.read_text(encoding="utf-8")
    # The first checks' fetches are held open until the database is back: the checks from
    # before the outage finish only after it was migrated again (as on a slow machine),
    # and must not keep the pages of the new database from being checked.
    settings = settings.replace('timeout = "5s"', 'timeout = "60s"')
    settings = settings.replace('deadline = "10s"', 'deadline = "90s"')
    config.write_text(settings.replace("[settings]\n", '[settings]\nunhealthy_after = "3s"\n'))
    notify = Notifications(tmp_path / "notify.sock")
    env = {"NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": "1000000"}
    site.gate.clear()
    daemon = spawn(config, url, env=env)
    try:
        site.wait_active(len(paths))  # the first checks
        wait_for(lambda: "WATCHDOG=1" in notify.since(0), "a watchdog ping")

        drop()
        dropped = time.monotonic()
        wait_for(  # the reason joins the status once a database call has failed
            lambda: any(
                m.startswith("STATUS=unhealthy") and "database" in m for m in notify.since(dropped)
            ),
            "STATUS saying the daemon is unhealthy, and why",
        )
        quiet = time.monotonic()
        time.sleep(2.0)  # two watchdog periods with no ping
        assert "WATCHDOG=1" not in notify.since(quiet + 0.6)
        statuses = [m for m in notify.since(dropped) if m.startswith("STATUS=unhealthy")]
        assert all("no check or delivery completed for" in m for m in statuses)

        # What counts is a fetch after the database is back. The claims retry at most
        # every 30 s; on a busy machine, the migration and the check come on top.
        seen = {p: site.hits[p] for p in paths}
        create()
        back = time.monotonic()
        daemon.wait_log("migrated it again")
        site.gate.set()
        try:
            wait_for(
                lambda: all(site.hits[p] > seen[p] for p in paths), "checks after recreation", 90
            )
        except AssertionError as exc:
            raise AssertionError(f"{exc}; the daemon's log:\n{daemon.text()}") from None
        resumed = time.monotonic() - back
        wait_for(lambda: "WATCHDOG=1" in notify.since(back), "watchdog pings again")
        with Store(url) as store:

            def stored_again() -> bool:  # a fetched page may still be recording its version
                # (a check in flight when the database came back may store one as well)
                rows = [store.page_by_url(site.url(path)) for path in paths]
                return all(r is not None and store.snapshots(r.id or 0) for r in rows)

            wait_for(stored_again, "each page's version stored again", 30)
        daemon.signal(signal.SIGTERM)
        exit_code = daemon.wait()
        faults = f"database dropped, recreated empty: checks resumed after {resumed:.1f} s"
        outcome = verify(url, None, Outcome("watcher run, PostgreSQL", faults))
        outcome.sigterm_exit = exit_code
        OUTCOMES.append(outcome)
        assert exit_code == 0
        assert outcome.broken == outcome.lost_versions == 0, outcome
    finally:
        notify.server.close()
