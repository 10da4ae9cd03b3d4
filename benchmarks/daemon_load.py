"""Load test of ``watcher run``: 2,000 pages on a local server, checked every 30 seconds.

Starts the real daemon as a subprocess (so its CPU time and peak RSS are its own), serves
small generated news articles from a threaded HTTP server on loopback (2% of them change
every interval), and reports checks per second, CPU per check, peak RSS and how far
behind schedule the daemon fell.

    .venv/bin/python benchmarks/daemon_load.py [--pages 2000] [--seconds 90] [--every 30s]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PARAGRAPH = (
    "The council approved the budget on {day} after a debate that lasted more than six hours, "
    "with {n} members voting in favour and the opposition calling the plan a fiscal risk."
)


def article(index: int, version: int) -> bytes:
    """A small news page; ``version`` changes one number in the body."""
    paragraphs = "".join(
        f"<p>{PARAGRAPH.format(day='Friday', n=20 + (index + k + version) % 30)}</p>"
        for k in range(6)
    )
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Story {index} | Example News</title></head><body>"
        f"<header><nav><a href='/'>Home</a></nav></header><main><article>"
        f"<h1>Council approves budget, part {index}</h1>"
        f"<p class='byline'>By Jane Doe</p>{paragraphs}</article></main>"
        f"<footer>&copy; Example News</footer></body></html>"
    ).encode()


class Counts:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.times: list[float] = []
        self.paths: Counter[str] = Counter()


def serve(counts: Counts, every_seconds: float, change_share: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            match = re.fullmatch(r"/p/(\d+)", self.path)
            if match is None:
                self.send_error(404)
                return
            index = int(match.group(1))
            version = int(time.time() // every_seconds) if index % change_share == 0 else 0
            body = article(index, version)
            with counts.lock:
                counts.times.append(time.monotonic())
                counts.paths[self.path] += 1
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=90.0)
    parser.add_argument("--every", default="30s")
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--database", help="database URL (default: SQLite in a temp dir)")
    args = parser.parse_args()
    every_seconds = float(args.every.rstrip("s"))

    counts = Counts()
    server = serve(counts, every_seconds, change_share=50)
    port = server.server_address[1]
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        config = root / "watcher.toml"
        lines = [
            "[settings]",
            f'every = "{args.every}"',
            f"workers = {args.workers}",
            f"per_host = {args.workers}",  # every page is on one host here
            'host_delay = "1ms"',
            'timeout = "10s"',
            'deadline = "20s"',
        ]
        for i in range(args.pages):
            lines += ["[[watch]]", f'url = "http://127.0.0.1:{port}/p/{i}"']
        config.write_text("\n".join(lines) + "\n", encoding="utf-8")
        database = args.database or f"sqlite:///{root / 'watcher.db'}"

        notify_path = root / "notify.sock"
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(str(notify_path))
        sock.settimeout(0.5)
        env = {**os.environ, "NOTIFY_SOCKET": str(notify_path)}
        env.pop("WATCHDOG_USEC", None)
        log = (root / "daemon.log").open("wb")
        started = time.monotonic()
        daemon = subprocess.Popen(
            [sys.executable, "-m", "watcher", "-c", str(config), "--database", database, "run"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log,
            env=env,
        )
        statuses: list[str] = []
        ready_at: float | None = None
        while time.monotonic() - started < 300:
            try:
                message = sock.recv(4096).decode()
            except TimeoutError:
                continue
            if message == "READY=1":
                ready_at = time.monotonic()
                break
        if ready_at is None:
            daemon.kill()
            print("the daemon never became ready", file=sys.stderr)
            return 1
        end = ready_at + args.seconds
        first_round_done: float | None = None
        while time.monotonic() < end:
            try:
                message = sock.recv(4096).decode()
                if message.startswith("STATUS="):
                    statuses.append(message[7:])
            except TimeoutError:
                pass
            with counts.lock:
                distinct = len(counts.paths)
            if first_round_done is None and distinct >= args.pages:
                first_round_done = time.monotonic()
        daemon.send_signal(signal.SIGTERM)
        code = daemon.wait(120)
        log.close()
        sock.close()
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        server.shutdown()
        daemon_log = (root / "daemon.log").read_text(errors="replace")
        errors = daemon_log.count("check failed")
        warnings = [line for line in daemon_log.splitlines() if line.startswith("WARNING")]

    with counts.lock:
        times = list(counts.times)
    total = len(times)
    cpu = usage.ru_utime + usage.ru_stime
    print(
        f"daemon_load: {args.pages} pages, every {args.every}, {args.workers} workers, "
        f"{args.seconds:.0f} s after READY=1 ({'PostgreSQL' if args.database else 'SQLite'})"
    )
    print(f"  startup to READY=1          {ready_at - started:8.1f} s (migrate, sync pages)")
    if first_round_done is not None:
        print(f"  first round (all new)       {first_round_done - ready_at:8.1f} s")
        steady = [t for t in times if t >= first_round_done]
        span = end - first_round_done
        if span > 0:
            print(
                f"  steady checks/s             {len(steady) / span:8.1f}"
                f"  (schedule asks {args.pages / every_seconds:.1f}/s)"
            )
    else:
        print("  first round did not finish within the run")
    print(f"  checks                      {total:8d}  ({total / args.seconds:.1f}/s overall)")
    print(
        f"  daemon CPU                  {cpu:8.1f} s  ({1000 * cpu / max(total, 1):.2f} ms/check)"
    )
    print(f"  daemon peak RSS             {usage.ru_maxrss / 1024:8.1f} MiB")
    print(f"  failed checks               {errors:8d}")
    print(f"  warnings logged             {len(warnings):8d}")
    for line in sorted(set(warnings))[:5]:
        print(f"    {line[:120]}")
    print(f"  last STATUS                 {statuses[-1] if statuses else '-'}")
    print(f"  exit code after SIGTERM     {code:8d}")
    return 0 if code == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
