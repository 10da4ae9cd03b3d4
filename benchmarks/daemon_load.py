"""Load test of ``watcher run``: many pages on a local server, checked on a schedule.

Starts the real daemon as a subprocess, serves pages from a threaded HTTP server on
loopback, and reports checks per second, CPU per check and peak RSS of the daemon and
its reader processes together, the median and 99th percentile time from fetch to
verdict (from the daemon's STATUS), and how far behind schedule it fell. Its own CPU
(serving the pages, sampling /proc) is reported too: it runs on the same cores.

Two sites: small generated articles, 2 % of them changing every interval (the default),
or ``--noisy``: the 80 real corpus pages cycled over the URLs, each load with fresh
noise, so every check has to read its page. ``--readers 1,2`` runs the daemon once per
reader count; with ``--every 1s`` the schedule asks for more than it can do, so
checks/s is its throughput. ``--daemons 1,2 --postgres`` runs one daemon, then two
sharing a fresh PostgreSQL schema (``--readers`` each).

    .venv/bin/python benchmarks/daemon_load.py [--pages 2000] [--seconds 90] [--every 30s]
    .venv/bin/python benchmarks/daemon_load.py --noisy --every 1s --readers 1,2 --seconds 60
    .venv/bin/python benchmarks/daemon_load.py --noisy --every 1s --readers 1 --daemons 1,2 \
        --postgres --seconds 60
"""

from __future__ import annotations

import argparse
import gzip
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
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import proctree
from fleet import Database, notify_socket
from fleet import ready_at as wait_ready

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.corpus_site import CorpusSite

WATCHER = (sys.executable, "-m", "watcher")
DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "pages"

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


@dataclass
class Run:
    readers: int
    daemons: int
    ready_seconds: float
    first_round_seconds: float | None
    steady_per_second: float | None
    checks: int
    cpu_seconds: float
    main_cpu_seconds: float
    harness_cpu_seconds: float
    peak_rss: int
    peak_pss: int
    failed: int
    warnings: list[str]
    status: str
    exit_code: int


def _config(args: argparse.Namespace, url: str, readers: int) -> str:
    lines = [
        "[settings]",
        "allow_private = true  # the site listens on 127.0.0.1",
        f'every = "{args.every}"',
        f"workers = {args.workers}",
        f"readers = {readers}",
        f"per_host = {args.workers}",  # every page is on one host here
        'host_delay = "1ms"',
        'timeout = "10s"',
        'deadline = "20s"',
    ]
    for i in range(args.pages):
        lines += ["[[watch]]", f'url = "{url}{i}"']
    return "\n".join(lines) + "\n"


def _start(config: Path, database: str, log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """One `watcher run`, its log in ``log``."""
    with log.open("wb") as stream:
        return subprocess.Popen(
            [*WATCHER, "-c", str(config), "--database", database, "run"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stream,
            env=env,
        )


def run_daemon(
    args: argparse.Namespace, url: str, counts: Counts, readers: int, daemons: int = 1
) -> Run | None:
    """``daemons`` daemons on one database, each with ``readers`` reader processes, from
    start to exit after SIGTERM."""
    with counts.lock:
        counts.times.clear()
        counts.paths.clear()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        config = root / "watcher.toml"
        config.write_text(_config(args, url, readers), encoding="utf-8")
        fresh = Database(postgres=True, folder=root) if args.postgres else None
        database = fresh.url if fresh else args.database or f"sqlite:///{root / 'watcher.db'}"
        sock, env = notify_socket(root)
        started = time.monotonic()
        logs = [root / f"daemon{n}.log" for n in range(daemons)]
        processes = [_start(config, database, log, env) for log in logs]
        ready_at = wait_ready(sock, 300, daemons)
        if ready_at is None:
            for daemon in processes:
                daemon.kill()
            print("the daemon never became ready", file=sys.stderr)
            if fresh is not None:
                fresh.close()
            return None
        pids = [daemon.pid for daemon in processes]
        harness_at = _own_cpu_seconds()
        statuses, peak, first_done, cpu, main_cpu = _observe(args, pids, sock, counts, ready_at)
        harness_cpu = _own_cpu_seconds() - harness_at
        for daemon in processes:
            daemon.send_signal(signal.SIGTERM)
        code = max(daemon.wait(120) for daemon in processes)
        sock.close()
        if fresh is not None:
            fresh.close()
        daemon_log = "".join(log.read_text(errors="replace") for log in logs)
    with counts.lock:
        times = list(counts.times)
    end = ready_at + args.seconds
    steady = None
    if first_done is not None and end > first_done:
        steady = len([t for t in times if t >= first_done]) / (end - first_done)
    return Run(
        readers=readers,
        daemons=daemons,
        ready_seconds=ready_at - started,
        first_round_seconds=first_done - ready_at if first_done is not None else None,
        steady_per_second=steady,
        checks=len(times),
        cpu_seconds=cpu,
        main_cpu_seconds=main_cpu,
        harness_cpu_seconds=harness_cpu,
        peak_rss=peak[0],
        peak_pss=peak[1],
        failed=daemon_log.count("check failed"),
        warnings=[line for line in daemon_log.splitlines() if line.startswith("WARNING")],
        status=statuses[-1] if statuses else "-",
        exit_code=code,
    )


def _own_cpu_seconds() -> float:
    """CPU seconds of this process: the site serving the pages, and the sampling."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _observe(
    args: argparse.Namespace,
    pids: list[int],
    sock: socket.socket,
    counts: Counts,
    ready_at: float,
) -> tuple[list[str], tuple[int, int], float | None, float, float]:
    """Watch the running daemons: their STATUS lines, the trees' peak RSS and PSS, when
    every page had been fetched once, and the CPU seconds of the trees and of the daemons' own
    processes from then to the end (before SIGTERM)."""
    statuses: list[str] = []
    peak = (0, 0)
    first_done: float | None = None
    cpu_at_ready = sum(proctree.cpu_seconds(pid) for pid in pids)
    main_at_ready = sum(proctree.own_cpu_seconds(pid) for pid in pids)
    end = ready_at + args.seconds
    while time.monotonic() < end:
        try:
            message = sock.recv(4096).decode()
            if message.startswith("STATUS="):
                statuses.append(message[7:])
        except TimeoutError:
            pass
        rss = sum(proctree.rss_bytes(pid) for pid in pids)
        pss = sum(proctree.pss_bytes(pid) for pid in pids)
        peak = (max(peak[0], rss), max(peak[1], pss))
        with counts.lock:
            distinct = len(counts.paths)
        if first_done is None and distinct >= args.pages:
            first_done = time.monotonic()
    cpu = sum(proctree.cpu_seconds(pid) for pid in pids) - cpu_at_ready
    main_cpu = sum(proctree.own_cpu_seconds(pid) for pid in pids) - main_at_ready
    return statuses, peak, first_done, cpu, main_cpu


def report(args: argparse.Namespace, runs: list[Run]) -> None:
    site = "noisy corpus pages" if args.noisy else "generated pages"
    base = "PostgreSQL" if args.database or args.postgres else "SQLite"
    print(
        f"daemon_load: {args.pages} {site}, every {args.every}, {args.workers} workers, "
        f"{args.seconds:.0f} s after READY=1 ({base})"
    )
    for run in runs:
        print(f"\n  daemons × readers           {run.daemons:4d} × {run.readers}")
        print(f"  startup to READY=1          {run.ready_seconds:8.1f} s (migrate, sync pages)")
        if run.first_round_seconds is not None:
            print(f"  first round (all new)       {run.first_round_seconds:8.1f} s")
        if run.steady_per_second is not None:
            print(
                f"  steady checks/s             {run.steady_per_second:8.1f}"
                f"  (schedule asks {args.pages / float(args.every.rstrip('s')):.1f}/s)"
            )
        print(f"  checks                      {run.checks:8d}  ({run.checks / args.seconds:.1f}/s)")
        per_check = 1000 * run.cpu_seconds / max(run.checks, 1)
        print(f"  CPU, daemon + readers       {run.cpu_seconds:8.1f} s  ({per_check:.2f} ms/check)")
        main = 1000 * run.main_cpu_seconds / max(run.checks, 1)
        print(
            f"    of which the daemon itself {run.main_cpu_seconds:7.1f} s  ({main:.2f} ms/check)"
        )
        harness = 1000 * run.harness_cpu_seconds / max(run.checks, 1)
        print(
            f"  CPU, the site and sampling  {run.harness_cpu_seconds:8.1f} s"
            f"  ({harness:.2f} ms/check, on the same cores)"
        )
        print(f"  peak RSS, daemon + readers  {run.peak_rss / 2**20:8.1f} MiB")
        print(f"  peak PSS, daemon + readers  {run.peak_pss / 2**20:8.1f} MiB (shared pages once)")
        print(f"  failed checks               {run.failed:8d}")
        print(f"  warnings logged             {len(run.warnings):8d}")
        for line in sorted(set(run.warnings))[:5]:
            print(f"    {line[:120]}")
        print(f"  last STATUS                 {run.status}")
        print(f"  exit code after SIGTERM     {run.exit_code:8d}")
    if len(runs) == 2 and runs[0].checks:
        first, second = runs
        ratio = second.checks / first.checks
        what = f"{second.daemons} daemons" if second.daemons > first.daemons else "readers"
        steady = ""
        if first.steady_per_second and second.steady_per_second:
            steady = f" ({second.steady_per_second / first.steady_per_second:.2f}x steady)"
        print(
            f"\n  throughput, {second.daemons}×{second.readers} vs {first.daemons}×{first.readers}"
            f" ({what})  {ratio:8.2f}x over the run{steady}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=90.0)
    parser.add_argument("--every", default="30s")
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--readers", default="2", help="reader counts to run, e.g. 1,2")
    parser.add_argument(
        "--daemons", default="1", help="daemon counts to run on one database, e.g. 1,2"
    )
    parser.add_argument("--noisy", action="store_true", help="real corpus pages, fresh noise")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--database", help="database URL (default: SQLite in a temp dir)")
    parser.add_argument(
        "--postgres", action="store_true", help="a fresh schema on the test server for each run"
    )
    args = parser.parse_args()
    counts = Counts()
    if args.noisy:
        pages = [gzip.decompress(p.read_bytes()) for p in sorted(args.corpus.glob("*.html.gz"))]
        if not pages:
            print(f"no pages in {args.corpus} (see --corpus)", file=sys.stderr)
            return 2
        site = CountingCorpusSite(pages, counts)
        site.__enter__()
        url, stop = site.url("/p"), site.__exit__
    else:
        server = serve(counts, float(args.every.rstrip("s")), change_share=50)
        url = f"http://127.0.0.1:{server.server_address[1]}/p/"
        stop = lambda *_: server.shutdown()  # noqa: E731
    runs = []
    try:
        for daemons in (int(n) for n in args.daemons.split(",")):
            for readers in (int(n) for n in args.readers.split(",")):
                run = run_daemon(args, url, counts, readers, daemons)
                if run is None:
                    return 1
                runs.append(run)
    finally:
        stop(None, None, None)
    report(args, runs)
    return 0 if all(run.exit_code == 0 for run in runs) else 1


class CountingCorpusSite(CorpusSite):
    """The corpus site, counting fetches like the generated one; page i is corpus page
    i mod 80, with fresh noise on every load."""

    def __init__(self, pages: list[bytes], counts: Counts) -> None:
        super().__init__(pages)
        self.counts = counts

    def body(self, index: int) -> bytes:
        with self.counts.lock:
            self.counts.times.append(time.monotonic())
            self.counts.paths[str(index)] += 1
        return super().body(index)


if __name__ == "__main__":
    raise SystemExit(main())
