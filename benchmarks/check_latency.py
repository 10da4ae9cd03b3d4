"""How long ``watcher check`` takes for one page, as a user types it.

Serves one real corpus page on loopback and times the installed ``watcher`` script: the
first check of the page (a new database: migrate, fetch, read, store) and a second check
of the same page (fetch, quick re-read, record). Each is run ``--rounds`` times; the
median and the spread are printed. ``--pythonpath DIR`` runs another checkout of watcher
with the same interpreter (for example an older commit in a ``git worktree``), so two
versions can be compared in one run on the same machine:

    .venv/bin/python benchmarks/check_latency.py
    .venv/bin/python benchmarks/check_latency.py --pythonpath /tmp/old --pythonpath .
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "pages"
DEFAULT_PAGE = CORPUS / "aeb-aljazeera-7916ec.html.gz"
SCRIPT = Path(sys.executable).with_name("watcher")


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def _timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        sys.exit(f"watcher check failed ({done.returncode}): {done.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--page", type=Path, default=DEFAULT_PAGE)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--pythonpath", action="append", default=[], metavar="DIR")
    args = parser.parse_args()
    checkouts = args.pythonpath or [str(Path(__file__).resolve().parents[1])]

    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp, "site")
        site.mkdir()
        body = args.page.read_bytes()
        if args.page.suffix == ".gz":
            body = gzip.decompress(body)
        (site / "page.html").write_bytes(body)
        server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(site)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}/page.html"
        watchlist = Path(tmp, "watcher.toml")  # the page is on loopback: allowed on purpose
        watchlist.write_text(f'[settings]\n\n[[watch]]\nurl = "{url}"\n', encoding="utf-8")
        guarded = Path(tmp, "guarded.toml")
        guarded.write_text(
            f'[settings]\nallow_private = true\n\n[[watch]]\nurl = "{url}"\n', encoding="utf-8"
        )

        print(f"watcher check of one page ({len(body) // 1024} KB), {args.rounds} rounds\n")
        print(f"  {'checkout':40} {'first check':>18} {'second check':>18}")
        timings: dict[str, tuple[list[float], list[float]]] = {c: ([], []) for c in checkouts}
        for round_ in range(args.rounds):
            for checkout in checkouts:  # interleaved, so machine load hits both alike
                env = {**os.environ, "PYTHONPATH": str(Path(checkout).resolve())}
                database = f"sqlite:///{tmp}/{round_}-{abs(hash(checkout))}.db"
                # a checkout from before the network guard knows no allow_private
                listed = guarded if Path(checkout, "watcher", "guard.py").exists() else watchlist
                command = [str(SCRIPT), "-c", str(listed), "--database", database, "check"]
                timings[checkout][0].append(_timed(command, env))
                timings[checkout][1].append(_timed(command, env))
        for checkout, (first, second) in timings.items():
            print(f"  {checkout[-40:]:40} {_summary(first):>18} {_summary(second):>18}")
        server.shutdown()


def _summary(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} s ({min(values):.2f}–{max(values):.2f})"


if __name__ == "__main__":
    main()
