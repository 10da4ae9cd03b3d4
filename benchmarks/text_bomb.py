"""A text bomb against `watcher check`: peak memory of the check and what it stores.

A local server answers with gzip of 10 MiB of zero bytes as ``text/html`` (about 10 KB on
the wire, just within ``max_bytes`` once decompressed). `watcher check` runs on it twice
(a first version, then a check against it) as a real process; its memory and its readers'
are sampled from /proc every 10 ms, and the SQLite file's size is reported afterwards.

    .venv/bin/python benchmarks/text_bomb.py                    # this tree
    .venv/bin/python benchmarks/text_bomb.py --pythonpath ../main   # another tree, to compare
"""

from __future__ import annotations

import argparse
import gzip
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

BOMB = gzip.compress(b"\0" * (10 * 1024 * 1024), compresslevel=9)


class _Bomb(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(BOMB)))
        self.end_headers()
        self.wfile.write(BOMB)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants, read from /proc."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                queue += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
    return found


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def run_check(config: Path, env: dict[str, str]) -> tuple[int, int, int, str]:
    """Run one `watcher check`; peak KiB of the main process, of one reader, of all at once."""
    process = subprocess.Popen(
        [sys.executable, "-m", "watcher", "--config", str(config), "check", "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    main_peak = reader_peak = total_peak = 0
    while process.poll() is None:
        pids = _tree(process.pid)
        sizes = {pid: _rss_kib(pid) for pid in pids}
        main_peak = max(main_peak, sizes.get(process.pid, 0))
        others = [size for pid, size in sizes.items() if pid != process.pid]
        reader_peak = max([reader_peak, *others])
        total_peak = max(total_peak, sum(sizes.values()))
        time.sleep(0.01)
    out = process.stdout.read().decode() if process.stdout else ""
    return main_peak, reader_peak, total_peak, out.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pythonpath", help="import watcher from this tree")
    parser.add_argument("--mode", default="article", choices=("article", "page"))
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Bomb)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {k: v for k, v in os.environ.items() if k != "WATCHER_DATABASE"}
    if args.pythonpath:
        env["PYTHONPATH"] = str(Path(args.pythonpath).resolve())
    # the bomb is served on loopback: allowed on purpose (a tree from before the network
    # guard knows no such setting)
    tree = Path(args.pythonpath) if args.pythonpath else Path(__file__).resolve().parents[1]
    guarded = (tree / "watcher" / "guard.py").exists()
    with tempfile.TemporaryDirectory() as tmp:
        database = Path(tmp) / "bomb.db"
        config = Path(tmp) / "watcher.toml"
        config.write_text(
            f'[settings]\ndatabase = "sqlite:///{database}"\nreaders = 1\nconfirm = false\n'
            + ("allow_private = true\n" if guarded else "")
            + f'[[watch]]\nurl = "http://127.0.0.1:{server.server_address[1]}/bomb"\n'
            f'mode = "{args.mode}"\n',
            encoding="utf-8",
        )
        print(f"response: {len(BOMB):,} bytes gzip, {10 * 1024 * 1024:,} bytes decoded")
        print("| pass | peak RSS watcher | peak RSS reader | peak RSS together | result |")
        print("|---|---:|---:|---:|---|")
        for attempt in (1,):
            main_kib, reader_kib, total_kib, out = run_check(config, env)
            print(
                f"| {attempt} | {main_kib / 1024:.0f} MiB | {reader_kib / 1024:.0f} MiB "
                f"| {total_kib / 1024:.0f} MiB | {out[:120]} |"
            )
        with sqlite3.connect(database) as connection:
            columns = {row[1] for row in connection.execute("PRAGMA table_info(snapshot)")}
            column = "text_zstd" if "text_zstd" in columns else "text"
            stored = connection.execute(
                f"SELECT count(*), coalesce(sum(length(CAST({column} AS BLOB))), 0) FROM snapshot"
            ).fetchone()
        print(f"versions stored: {stored[0]}, their text: {stored[1]:,} bytes")
        print(f"database file: {database.stat().st_size:,} bytes")
    server.shutdown()


if __name__ == "__main__":
    main()
