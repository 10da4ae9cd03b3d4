"""The fault soak: hundreds of SIGKILLs of real watcher processes, then every check.

Two kinds of round run side by side until both ``--minutes`` and ``--kills`` are reached:
``watcher check`` killed at random moments on a SQLite file (Slack down for 20 s every third
round), and ``watcher run`` killed at random moments on a PostgreSQL database whose
connections are terminated every one to four seconds. Then each database gets a daemon
stopped with SIGTERM, whatever is still owed is delivered, and everything is verified as
``tests/faults`` does: blobs and chains, versions and changes, alerts lost, duplicates,
order per route. Each duplicate is matched with the kill that explains it (the first
SIGKILL after the duplicated alert's first delivery).

    .venv/bin/python benchmarks/faults.py                        # >= 300 kills, >= 10 minutes
    .venv/bin/python benchmarks/faults.py --minutes 2 --kills 40  # a quick look
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import POSTGRES_URL
from tests.faults.harness import (
    RUN_ARGS,
    TABLE_HEAD,
    NewsSite,
    Outcome,
    PostgresDatabase,
    SlackSink,
    Watcher,
    drain,
    kill_loop,
    verify,
    write_watchlist,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--kills", type=int, default=300)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--pages", type=int, default=10)
    parser.add_argument("--keep", type=Path, help="a directory to keep the processes' logs in")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    started = time.monotonic()
    deadline = started + args.minutes * 60

    with tempfile.TemporaryDirectory(prefix="watcher-faults-") as tmp:
        work = Path(tmp)
        logs = args.keep or work
        logs.mkdir(parents=True, exist_ok=True)
        sqlite_site, sqlite_sink = NewsSite(args.pages), SlackSink()
        pg_site, pg_sink = NewsSite(args.pages), SlackSink()
        sqlite_url = f"sqlite:///{work / 'watcher.db'}"
        postgres = PostgresDatabase(POSTGRES_URL, f"watcher_soak_{uuid.uuid4().hex[:10]}")
        postgres.create()
        sqlite_config = write_watchlist(work / "sqlite.toml", sqlite_url, sqlite_site)
        pg_config = write_watchlist(work / "postgres.toml", postgres.url, pg_site)
        kills = {"check": 0, "run": 0}
        terminated: list[int] = []
        rounds = 0
        try:
            # The two kinds of round run side by side, each on its own database.
            def check_rounds() -> None:
                round_number = 0
                while kills["check"] < args.kills // 2 or time.monotonic() < deadline:
                    round_number += 1
                    if round_number % 3 == 1:
                        sqlite_sink.down_until = time.monotonic() + 20.0  # Slack down, then back
                    kills["check"] += kill_loop(
                        sqlite_config,
                        sqlite_sink,
                        logs / "check.log",
                        command="check",
                        kills=10,
                        life=(0.0, 4.0),  # a whole pass takes about 3 s once started
                        rng=random.Random(rng.random()),
                    )
                    _progress(kills, started)

            def run_rounds() -> None:
                while kills["run"] < args.kills - args.kills // 2 or time.monotonic() < deadline:
                    kills["run"] += _run_round(
                        pg_config,
                        pg_sink,
                        logs / "run.log",
                        postgres,
                        random.Random(rng.random()),
                        terminated,
                    )
                    _progress(kills, started)

            loops = [threading.Thread(target=check_rounds), threading.Thread(target=run_rounds)]
            for loop in loops:
                loop.start()
            for loop in loops:
                loop.join()
            rounds = sum(kills.values()) // 10
            outcomes = []
            for name, url, config, sink, count, faults in (
                (
                    "watcher check, SQLite",
                    sqlite_url,
                    sqlite_config,
                    sqlite_sink,
                    kills["check"],
                    f"SIGKILL; Slack 500 ({sqlite_sink.refused}x)",
                ),
                (
                    "watcher run, PostgreSQL",
                    postgres.url,
                    pg_config,
                    pg_sink,
                    kills["run"],
                    f"SIGKILL; {sum(terminated)} connections terminated",
                ),
            ):
                daemon = Watcher(config, sink, logs / "final.log", "run", *RUN_ARGS)
                daemon.wait_started("watching")
                time.sleep(5.0)
                exit_code = daemon.stop()
                drain(url, config, sink)
                outcome = verify(url, sink, Outcome(name, faults, kills=count), config)
                outcome.sigterm_exit = exit_code
                outcomes.append(outcome)
        finally:
            postgres.close()
            for server in (sqlite_site, sqlite_sink, pg_site, pg_sink):
                server.close()

    minutes = (time.monotonic() - started) / 60
    print(f"\n{sum(kills.values())} kills in {minutes:.1f} minutes ({rounds} rounds)\n")
    print(TABLE_HEAD)
    for outcome in outcomes:
        print(outcome.row())
        for note in outcome.notes:
            print(f"  {outcome.scenario}: {note}")
        for window in outcome.duplicate_windows:
            print(f"  {outcome.scenario}: a duplicate, killed {window * 1000:.0f} ms after it")
    total = Outcome("all", "", kills=sum(kills.values()))
    for outcome in outcomes:
        for name in (
            "versions",
            "alerts",
            "deliveries",
            "duplicates",
            "order_violations",
            "lost_alerts",
            "lost_versions",
            "broken",
        ):
            setattr(total, name, getattr(total, name) + getattr(outcome, name))
    print(
        f"\ntotal: {total.kills} kills, {total.versions} versions, {total.alerts} alerts, "
        f"{total.deliveries} deliveries, {total.duplicates} duplicates "
        f"({total.duplicate_share:.2%}), {total.order_violations} order violations, "
        f"{total.lost_alerts} lost alerts, {total.lost_versions} lost versions, "
        f"{total.broken} broken"
    )
    held = (
        total.lost_alerts == total.lost_versions == total.order_violations == total.broken == 0
        and total.duplicate_share <= 0.002
        and all(outcome.sigterm_exit == 0 for outcome in outcomes)
    )
    print("held" if held else "DID NOT HOLD")
    return 0 if held else 1


def _progress(kills: dict[str, int], started: float) -> None:
    minutes = (time.monotonic() - started) / 60
    print(f"{kills['check']} + {kills['run']} kills, {minutes:.1f} min", flush=True)


def _run_round(
    config: Path,
    sink: SlackSink,
    log: Path,
    postgres: PostgresDatabase,
    rng: random.Random,
    terminated: list[int],
) -> int:
    """Ten kills of `watcher run` while the database's connections are terminated."""
    stop = threading.Event()

    def terminate() -> None:
        while not stop.wait(rng.uniform(1.0, 4.0)):
            terminated.append(postgres.terminate_backends())

    chaos = threading.Thread(target=terminate)
    chaos.start()
    try:
        return kill_loop(config, sink, log, command="run", kills=10, life=(0.5, 4.0), rng=rng)
    finally:
        stop.set()
        chaos.join()


if __name__ == "__main__":
    sys.exit(main())
