"""Fault injection against real watcher processes: a news site whose articles change on every
load, a Slack stand-in that records every delivery (and can fail for a while), kill loops,
and the checks every fault must pass afterwards.

Shared by ``tests/faults`` (short runs in CI) and ``benchmarks/faults.py`` (the soak). The
watcher processes are real (``tests/faults/launch.py``: apprise's real Slack plugin, posting
here); only this module's own servers are stand-ins.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.loopback import LOOPBACK_SETTING
from tests.sites import Story, render
from watcher.alerts.notify import deliver_due
from watcher.config import load_watchlist
from watcher.store.store import Store
from watcher.store.verify import verify_store

LAUNCH = Path(__file__).with_name("launch.py")
ROUTES = {
    "desk": ("T0000/B0000/DESKDESKDESKDESKDESKDESK",),
    "night": (
        "T0000/B0001/NIGHTNIGHTNIGHTNIGHTNIGH",
        "T0000/B0002/SECONDSECONDSECONDSECOND",
    ),
}
# one word per revision digit: every load of a page says something new (no flip-back)
_WORDS = [
    *("amber", "basalt", "cedar", "delta", "ember", "fjord", "garnet", "harbor", "indigo"),
    *("juniper", "kestrel", "lagoon", "marble", "nectar", "onyx", "prairie", "quartz"),
    *("raven", "sierra", "tundra", "umber", "violet", "willow", "xenon", "yarrow", "zephyr"),
]
_VERSION = re.compile(r"version (\d+)")
# How long a delivery's request may wait in the stand-in's socket before it is handled: with
# the whole suite running on two cores its handler thread has been seen to run over 5 s after
# the kill (the daemons' logs show each such sender killed between "Notifying" and "Sent").
_IN_FLIGHT_SECONDS = 15.0


class NewsSite:
    """Local pages whose article says something new on every load (a one-word edit)."""

    def __init__(self, pages: int) -> None:
        self.paths = [f"/story{n}" for n in range(pages)]
        self.loads: Counter[str] = Counter()
        self._lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with site._lock:
                    site.loads[self.path] += 1
                    count = site.loads[self.path]
                body = site.page(self.path, count).encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def page(self, path: str, count: int) -> str:
        witness = f"{_WORDS[count % 26]}{_WORDS[(count // 26) % 26]}{count // 676}"
        story = Story(title=f"Inquiry into {path[1:]}")
        paragraphs = list(story.paragraphs)
        paragraphs[1] = f"{paragraphs[1]} The inquiry heard witness {witness} on Friday."
        return render(replace(story, paragraphs=tuple(paragraphs)), seed=count)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class SlackSink:
    """Stands in for hooks.slack.com: records (webhook path, version id, when) per delivery,
    and answers 500 to the next ``failures`` posts, or until ``down_until`` (monotonic): a
    service down for a while."""

    def __init__(self) -> None:
        self.receipts: list[tuple[str, int | None, float]] = []
        self.refused = 0
        self.failures = 0
        self.down_until = 0.0
        self._lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with sink._lock:
                    failing = sink.failures > 0 or time.monotonic() < sink.down_until
                    if failing:
                        sink.failures = max(sink.failures - 1, 0)
                        sink.refused += 1
                    else:
                        text = json.loads(body)["attachments"][0]["text"]
                        found = _VERSION.search(text)
                        version = int(found[1]) if found else None
                        sink.receipts.append((self.path, version, time.monotonic()))
                reply = b"internal_error" if failing else b"ok"
                self.send_response(500 if failing else 200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def webhook(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/services"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def slack_pointed_at(sink: SlackSink) -> Iterator[None]:
    """In this process, apprise's Slack plugin posts to ``sink`` (as launch.py does)."""
    from apprise.plugins.slack import NotifySlack

    saved = NotifySlack.webhook_url, NotifySlack.request_rate_per_sec
    NotifySlack.webhook_url, NotifySlack.request_rate_per_sec = sink.webhook, 0
    try:
        yield
    finally:
        NotifySlack.webhook_url, NotifySlack.request_rate_per_sec = saved


def write_watchlist(path: Path, database: str, site: NewsSite, *, every: str = "2s") -> Path:
    """Every page alerts two routes: ``desk`` (one Slack target) and ``night`` (two)."""
    lines = [
        "[settings]",
        LOOPBACK_SETTING,
        f'database = "{database}"',
        f'every = "{every}"',
        'timeout = "5s"',
        'deadline = "10s"',
        "confirm = false",
        "workers = 4",
        "readers = 1",
        "per_host = 8",
        'host_delay = "1ms"',
        'default_notify = ["desk", "night"]',
    ]
    for name, tokens in ROUTES.items():
        urls = ", ".join(f'"slack://{token}"' for token in tokens)
        lines += [f"[notify.{name}]", f"urls = [{urls}]"]
    for page in site.paths:
        lines += ["[[watch]]", f'url = "{site.url(page)}"']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


RUN_ARGS = ("--lease", "4")
STARTED: list[subprocess.Popen[bytes]] = []  # every process started here, for ``reap``
KILLED_AT: dict[Path, list[float]] = defaultdict(list)  # per watchlist: SIGKILL times


def reap() -> None:
    """Kill (by pid) and wait for every process started here that still runs: a failed
    test must not leave a daemon behind."""
    while STARTED:
        process = STARTED.pop()
        if process.poll() is None:
            process.kill()
        process.wait(30)


class Watcher:
    """One real ``watcher check`` or ``watcher run`` process, its stderr in a log file.

    Daemons in a kill loop are started with short page leases (``RUN_ARGS``). A killed
    daemon's pages are taken over at once by the next one (its pid is gone), so the short
    leases only keep the loops as they were when the soak's earlier figures were measured.
    """

    def __init__(self, config: Path, sink: SlackSink, log: Path, command: str, *args: str) -> None:
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "WATCHER_DATABASE")
        }
        env["WATCHER_TEST_SLACK"] = sink.webhook
        env["WATCHER_TEST_DELIVER_SECONDS"] = "1"
        self.log = log
        self._log_size = log.stat().st_size if log.exists() else 0
        with log.open("ab") as stderr:
            self.popen = subprocess.Popen(
                [sys.executable, str(LAUNCH), "--config", str(config), "-v", command, *args],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                env=env,
            )
        STARTED.append(self.popen)

    def wait_started(self, marker: str = "", timeout: float = 120.0) -> None:
        """Until the process wrote its first log line (or ``marker``), or ended."""
        limit = time.monotonic() + timeout
        while self.popen.poll() is None and time.monotonic() < limit:
            with self.log.open("rb") as log:
                log.seek(self._log_size)
                written = log.read().decode("utf-8", errors="replace")
            if written and marker in written:
                return
            time.sleep(0.05)

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM, then the exit code."""
        self.popen.send_signal(signal.SIGTERM)
        return self.popen.wait(timeout)


@dataclass
class Outcome:
    """One scenario: the faults injected and what the checks afterwards found."""

    scenario: str
    faults: str
    kills: int = 0
    versions: int = 0
    changes: int = 0
    alerts: int = 0
    deliveries: int = 0
    duplicates: int = 0
    order_violations: int = 0
    lost_alerts: int = 0
    lost_versions: int = 0
    broken: int = 0  # blobs or chains that do not verify, integrity failures
    sigterm_exit: int | None = None
    notes: list[str] = field(default_factory=list)
    # per duplicate: seconds from its first delivery to the next SIGKILL (the window)
    duplicate_windows: list[float] = field(default_factory=list)

    @property
    def duplicate_share(self) -> float:
        return self.duplicates / self.deliveries if self.deliveries else 0.0

    def row(self) -> str:
        exit_code = "-" if self.sigterm_exit is None else str(self.sigterm_exit)
        return (
            f"| {self.scenario} | {self.faults} | {self.kills} | {self.versions} | "
            f"{self.alerts} | {self.deliveries} | {self.duplicates} "
            f"({self.duplicate_share:.2%}) | {self.order_violations} | {self.lost_alerts} | "
            f"{self.lost_versions} | {self.broken} | {exit_code} |"
        )


TABLE_HEAD = (
    "| scenario | faults injected | kills | versions | alerts | deliveries | duplicates | "
    "order violations | lost alerts | lost versions | broken | SIGTERM exit |\n"
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
)


def kill_loop(
    config: Path,
    sink: SlackSink,
    log: Path,
    *,
    command: str,
    kills: int,
    life: tuple[float, float],
    rng: random.Random,
    deadline: float | None = None,
    between: Callable[[int], None] | None = None,
) -> int:
    """Start ``watcher COMMAND`` and SIGKILL it at a random moment of ``life`` seconds after
    it started up (its first log line, a daemon's "watching" line: on a loaded machine the
    interpreter's start alone takes seconds), ``kills`` times (a run that ends by itself
    first is not counted); returns the kills.

    A run that ends before its moment pulls later moments towards the lives seen: a
    `watcher check` of a few pages often ends within a second, and drawing from seconds
    it never lives would start a hundred runs for a dozen kills.
    """
    done = 0
    low, high = life
    while done < kills and (deadline is None or time.monotonic() < deadline):
        process = Watcher(config, sink, log, command, *(RUN_ARGS if command == "run" else ()))
        try:
            process.wait_started("watching" if command == "run" else "")
            started = time.monotonic()
            process.popen.wait(rng.uniform(low, high))
        except subprocess.TimeoutExpired:
            process.popen.send_signal(signal.SIGKILL)
            KILLED_AT[config].append(time.monotonic())
            done += 1
        else:
            high = max((high + time.monotonic() - started) / 2, 0.05)
            low = min(low, high / 2)
            # Ended by itself: its exit status tells a crash from a run that finished.
            with log.open("a", encoding="utf-8") as out:
                out.write(
                    f"[fault harness] watcher {command} ended: exit {process.popen.returncode}\n"
                )
        process.popen.wait(30)
        if between is not None:
            between(done)
    return done


def drain(database: str, config: Path, sink: SlackSink) -> None:
    """Deliver whatever is still owed, in this process, an hour later per round (past
    every backoff, within ``alert_give_up``) until nothing is pending."""
    watchlist = load_watchlist(config)
    with Store(database) as store, slack_pointed_at(sink):
        for hour in range(1, 20):
            later = datetime.now(UTC) + timedelta(hours=hour)
            while deliver_due(store, watchlist, now=later, owner="drain:0:0"):
                pass
            if not store.outbox.alert_counts()["pending"]:
                return


def verify(
    database: str, sink: SlackSink | None, outcome: Outcome, config: Path | None = None
) -> Outcome:
    """Every blob and chain verifies, every change has its version and every version its
    change, every alert went to every target of its route (at least once), no route's
    alerts arrived out of order; duplicates are counted."""
    with Store(database) as store:
        report = verify_store(store)
        outcome.broken += len(report.breaks)
        if store.dialect == "sqlite":
            path = database.removeprefix("sqlite:///")
            with sqlite3.connect(path) as connection:
                status = connection.execute("PRAGMA integrity_check").fetchone()[0]
            outcome.broken += status != "ok"
        pages = store.all_pages()
        snapshots = [s for page in pages for s in store.snapshots(page.id or 0)]
        changes = store.changes()
        versions = {s.id for s in snapshots}
        changed = {c.snapshot_id for c in changes}
        outcome.versions = len(snapshots)
        outcome.changes = len(changes)
        outcome.lost_versions = len(changed - versions) + len(versions - changed)
        alerts = store.outbox.alerts()
        outcome.alerts = len(alerts)
        routes_of: dict[int, set[str]] = defaultdict(set)
        for alert in alerts:
            if alert.change_id is not None:
                routes_of[alert.change_id].add(alert.route)
        # a change that alerts must have one alert per route, or an alert was lost
        outcome.lost_alerts = sum(
            len(set(ROUTES) - routes_of[c.id or 0]) for c in changes if c.kind == "changed"
        )
        outcome.lost_alerts += sum(1 for a in alerts if a.sent_at is None)
        if sink is not None:
            _count_receipts(sink, alerts, outcome, KILLED_AT.get(config or Path(), []))
    return outcome


def _count_receipts(sink: SlackSink, alerts: Any, outcome: Outcome, killed_at: list[float]) -> None:
    """Deliveries, duplicates, lost sends and order violations, per Slack target."""
    alert_of: dict[tuple[str, int], int] = {}
    for alert in alerts:
        version = (alert.event.get("version") or {}).get("id")
        if version is not None:
            alert_of[(alert.route, int(version))] = alert.id or 0
    route_of_path = {
        f"/services/{token}": name for name, tokens in ROUTES.items() for token in tokens
    }
    seen: Counter[tuple[str, int]] = Counter()
    first_at: dict[tuple[str, int], float] = {}
    newest: dict[str, int] = {}
    for path, version, at in list(sink.receipts):
        if version is None:
            continue
        route = route_of_path[path]
        alert_id = alert_of.get((route, version))
        if alert_id is None:
            outcome.notes.append(f"a delivery of version {version} matches no alert")
            continue
        seen[(path, alert_id)] += 1
        if seen[(path, alert_id)] > 1:
            # a repeat: which kill explains it (the first one after the first delivery). A
            # POST its sender wrote just before it was killed can be handled here after
            # the kill (the bytes wait in the socket), so a kill shortly before counts too.
            first = first_at[(path, alert_id)]
            since = first - _IN_FLIGHT_SECONDS
            kills = [killed - first for killed in killed_at if since <= killed <= at]
            # The explaining kill: the first one after the first delivery, else the last
            # one before it (the POST was still on its way).
            after = [k for k in kills if k >= 0]
            explained = min(after) if after else max(kills, default=float("inf"))
            outcome.duplicate_windows.append(explained)
            if not kills:
                outcome.notes.append(
                    f"alert {alert_id} (version {version}) sent to {path} again "
                    f"{at - first:.1f} s later, with no kill in between"
                )
            continue
        first_at[(path, alert_id)] = at
        if alert_id < newest.get(path, 0):
            outcome.order_violations += 1
        newest[path] = max(newest.get(path, 0), alert_id)
    outcome.deliveries = len(seen)
    outcome.duplicates = sum(count - 1 for count in seen.values())
    for alert in alerts:
        if alert.sent_at is None:
            continue
        for token in ROUTES[alert.route]:
            if (f"/services/{token}", alert.id or 0) not in seen:
                outcome.lost_alerts += 1


class PostgresDatabase:
    """A database of its own on the test server: created, dropped with its connections,
    its backends terminated (``pg_terminate_backend``), as an operator or an outage would."""

    def __init__(self, admin_url: str, name: str) -> None:
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url

        self.name = name
        self.admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self.url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)

    def create(self) -> None:
        self._run(f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        self._run(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def terminate_backends(self) -> int:
        """Kill every connection to the database; how many there were."""
        from sqlalchemy import text

        with self.admin.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": self.name},
            ).all()
        return len(rows)

    def close(self) -> None:
        self.drop()
        self.admin.dispose()

    def _run(self, statement: str) -> None:
        from sqlalchemy import text

        with self.admin.connect() as connection:
            connection.execute(text(statement))
