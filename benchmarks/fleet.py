"""Ten thousand articles on one machine: ``watcher run`` at a 15-minute interval.

Serves ``--pages`` URLs cycling the 80 real corpus pages of ../shared/corpus, each load
with fresh noise (a nonce, a view counter between the headline and the body, a clock);
2 % of the URLs change once an interval (a one-word edit of a paragraph, made and undone
in turn), each at its own moment. The daemon starts on an empty database, reads every
page once (the first round), and is then measured for ``--minutes`` more:

- CPU share of the daemon and its readers, and checks/s;
- schedule lag: each page's planned check time is read from the database when the first
  round is over, and compared with when the page was fetched; pages already overdue
  then (their slot fell inside the first round) are reported apart, as the catch-up;
- peak RSS and PSS of the daemon and its readers, database growth, failed checks, the exit code
  after SIGTERM.

    .venv/bin/python benchmarks/fleet.py                       # 10,000 pages, SQLite
    .venv/bin/python benchmarks/fleet.py --postgres            # the same on PostgreSQL
    .venv/bin/python benchmarks/fleet.py --pages 1000 --minutes 2   # a quick look
"""

from __future__ import annotations

import argparse
import gzip
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import proctree
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import POSTGRES_URL
from tests.corpus_site import CorpusSite

WATCHER = (sys.executable, "-m", "watcher")
DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "pages"
PARAGRAPH = re.compile(rb"<p(?:\s[^>]*)?>([^<]{80,})</p>")
LONG_WORD = re.compile(rb"\b[A-Za-z]{7,}\b")
HAN = re.compile("[\u4e00-\u9fff]".encode("utf-8"))


def edited(page: bytes) -> bytes:
    """The page with one word of its first long paragraph changed (one Han character on a
    Chinese page): what a reader would see as a one-word edit."""
    for match in PARAGRAPH.finditer(page):
        paragraph = match.group(1)
        word = LONG_WORD.search(paragraph)
        if word is not None:
            new = paragraph[: word.start()] + word.group()[::-1] + paragraph[word.end() :]
            # everywhere it stands: a page that also carries its article as data for its
            # scripts (ifeng) shows the reader the edited copy only if the CMS edits both
            return page.replace(paragraph, new)
        han = HAN.search(paragraph)
        if han is not None:
            swap = "国".encode() if han.group() != "国".encode() else "家".encode()
            new = paragraph[: han.start()] + swap + paragraph[han.end() :]
            return page.replace(paragraph, new)
    return page.replace(b"</body>", b"<p>One more paragraph, added later.</p></body>", 1)


class FleetSite(CorpusSite):
    """URL i serves corpus page i mod 80 with fresh noise; every 50th URL alternates
    between the page and its edit, switching once an interval at its own moment."""

    def __init__(self, pages: list[bytes], every: float, count: int) -> None:
        super().__init__(pages)
        self.edits = [edited(page) for page in pages]
        self.every = every
        self.count = count
        self.lock = threading.Lock()
        self.fetched: dict[int, list[float]] = defaultdict(list)
        # what each fetch of a changing URL served: (time, edited or not)
        self.served: dict[int, list[tuple[float, bool]]] = defaultdict(list)

    def body(self, index: int) -> bytes:
        now = time.time()
        with self.lock:
            self.fetched[index].append(now)
        which = index % len(self.pages)
        page = self.pages[which]
        if index % 50 == 0:
            version = int((now + index * self.every / self.count) // self.every)
            page = self.edits[which] if version % 2 else page
            with self.lock:
                self.served[index].append((now, bool(version % 2)))
        nonce = f"{index}-{time.time_ns()}"
        # an entity: the page may be in GBK or Latin-1, where UTF-8 bytes read as mojibake
        count = f"{time.time_ns() % 99991:,} views &#183; {now % 97:.0f} comments"
        views = f"<p class=meta>{count}</p>"
        page = page.replace(b"</h1>", b"</h1>" + views.encode(), 1)
        page = page.replace(b"<body", f'<body data-nonce="{nonce}"'.encode(), 1)
        clock = f"<div class=clock>{datetime.now(UTC):%H:%M:%S}</div>".encode()
        return page.replace(b"</body>", clock + b"</body>", 1)


def _config(args: argparse.Namespace, url: str) -> str:
    lines = [
        "[settings]",
        "allow_private = true  # the site listens on 127.0.0.1",
        f'every = "{args.every}"',
        f"workers = {args.workers}",
        f"readers = {args.readers}",
        f"per_host = {args.workers}",  # every page is on one host here
        'host_delay = "1ms"',
    ]
    for i in range(args.pages):
        lines += ["[[watch]]", f'url = "{url}{i}"']
    return "\n".join(lines) + "\n"


class Database:
    """A SQLite file in ``folder`` or a fresh PostgreSQL schema, with its size."""

    def __init__(self, postgres: bool, folder: Path) -> None:
        self.schema = f"fleet_{uuid.uuid4().hex[:12]}" if postgres else None
        if self.schema is None:
            self.path = folder / "watcher.db"
            self.url = f"sqlite:///{self.path}"
            self.engine = create_engine(self.url)
            return
        self.admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{self.schema}"'))
        separator = "&" if "?" in POSTGRES_URL else "?"
        self.url = f"{POSTGRES_URL}{separator}options=-csearch_path%3D{self.schema}"
        self.engine = create_engine(self.url)

    def size(self) -> int:
        if self.schema is None:
            files = [self.path, Path(f"{self.path}-wal")]
            return sum(f.stat().st_size for f in files if f.exists())
        with self.admin.connect() as connection:
            total = connection.execute(
                text(
                    "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = :schema AND c.relkind IN ('r', 'm')"
                ),
                {"schema": self.schema},
            ).scalar_one()
        return int(total)

    def planned(self) -> dict[int, float]:
        """Each page's next planned check (Unix time), by URL index."""
        with self.engine.connect() as connection:
            rows = connection.execute(text("SELECT url, next_check_at FROM page")).all()
        planned = {}
        for url, at in rows:
            if at is None:
                continue
            moment = at if isinstance(at, datetime) else datetime.fromisoformat(str(at))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            planned[int(url.rsplit("/p", 1)[1])] = moment.timestamp()
        return planned

    def counts(self) -> tuple[int, int]:
        """Versions stored, and pages whose last check ended in an error."""
        with self.engine.connect() as connection:
            versions = connection.execute(text("SELECT COUNT(*) FROM snapshot")).scalar_one()
            errors = connection.execute(
                text("SELECT COUNT(*) FROM page WHERE last_error IS NOT NULL")
            ).scalar_one()
        return int(versions), int(errors)

    def changes_since(self, start: float, until: float) -> list[tuple[int, str, str]]:
        """Every change but a first version detected from ``start`` to ``until``: URL
        index, kind and summary."""
        since = datetime.fromtimestamp(start, UTC)
        before = datetime.fromtimestamp(until, UTC)
        if self.schema is None:  # SQLite keeps naive UTC
            since, before = since.replace(tzinfo=None), before.replace(tzinfo=None)
        with self.engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT page.url, change.kind, change.summary FROM change "
                    "JOIN page ON page.id = change.page_id "
                    "WHERE change.kind != 'new' AND change.detected_at >= :since "
                    "AND change.detected_at < :before"
                ),
                {"since": since, "before": before},
            ).all()
        return [(int(url.rsplit("/p", 1)[1]), kind, summary) for url, kind, summary in rows]

    def close(self) -> None:
        self.engine.dispose()
        if self.schema is not None:
            with self.admin.connect() as connection:
                connection.execute(text(f'DROP SCHEMA "{self.schema}" CASCADE'))
            self.admin.dispose()


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def notify_socket(root: Path) -> tuple[socket.socket, dict[str, str]]:
    """A socket in ``root`` standing in for systemd's, and the environment naming it."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(root / "notify.sock"))
    sock.settimeout(0.5)
    env = {**os.environ, "NOTIFY_SOCKET": str(root / "notify.sock")}
    env.pop("WATCHDOG_USEC", None)
    return sock, env


def ready_at(sock: socket.socket, limit: float, daemons: int = 1) -> float | None:
    """When the last of ``daemons`` sent READY=1 (they share the notify socket)."""
    started = time.monotonic()
    ready = 0
    while time.monotonic() - started < limit:
        try:
            if sock.recv(4096).decode() == "READY=1":
                ready += 1
                if ready == daemons:
                    return time.monotonic()
        except TimeoutError:
            continue
    return None


@dataclass
class Measured:
    ready: float
    first_round: float
    first_peak: tuple[int, int]  # RSS, PSS
    planned: dict[int, float]
    start: float
    end: float
    fetched: dict[int, list[float]]
    fetches: int
    cpu: float
    peak: tuple[int, int]  # RSS, PSS
    size_before: int
    size_after: int
    versions: int
    changes: list[tuple[int, str, str]]
    edits: dict[int, int]
    errors: int
    failed: int
    exit_code: int


def run(args: argparse.Namespace, site: FleetSite, root: Path) -> Measured | None:
    """Start the daemon on an empty database, wait out its first round, measure."""
    database = Database(args.postgres, root)
    try:
        config = root / "watcher.toml"
        config.write_text(_config(args, site.url("/p")), encoding="utf-8")
        sock, env = notify_socket(root)
        started = time.monotonic()
        log_path = root / "daemon.log"
        with log_path.open("wb") as log:
            daemon = subprocess.Popen(
                [*WATCHER, "-c", str(config), "--database", database.url, "run"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
                env=env,
            )
            if ready_at(sock, 600) is None:
                daemon.kill()
                print("the daemon never became ready", file=sys.stderr)
                return None
            ready = time.monotonic() - started
            # systemd reads every message; a full socket would refuse the daemon's STATUS
            threading.Thread(target=_drain, args=(sock,), daemon=True).start()
            first_peak = _first_round(site, args.pages, daemon.pid)
            first_round = time.monotonic() - started - ready
            time.sleep(5)  # the first round's last releases
            measured = _measure(args, site, database, daemon.pid)
            daemon.send_signal(signal.SIGTERM)
            code = daemon.wait(120)
        sock.close()
    finally:
        database.close()
    failed = log_path.read_text(errors="replace").count("check failed")
    return Measured(ready, first_round, first_peak, **measured, failed=failed, exit_code=code)


def _drain(sock: socket.socket) -> None:
    while True:
        try:
            sock.recv(4096)
        except TimeoutError:
            continue
        except OSError:
            return  # closed


def _first_round(site: FleetSite, pages: int, pid: int) -> tuple[int, int]:
    """Wait until every page was fetched once; the tree's peak RSS and PSS meanwhile."""
    peak = (0, 0)
    while True:
        peak = _higher(peak, pid)
        with site.lock:
            if len(site.fetched) >= pages:
                return peak
        time.sleep(0.5)


def _higher(peak: tuple[int, int], pid: int) -> tuple[int, int]:
    """``peak`` (RSS, PSS) raised to the tree's memory now: RSS counts the pages readers
    share with their fork server in each of them, PSS once."""
    return max(peak[0], proctree.rss_bytes(pid)), max(peak[1], proctree.pss_bytes(pid))


def _measure(
    args: argparse.Namespace, site: FleetSite, database: Database, pid: int
) -> dict[str, Any]:
    planned = database.planned()
    size_before = database.size()
    versions_before, _ = database.counts()
    start = time.time()
    with site.lock:
        fetches_before = sum(len(times) for times in site.fetched.values())
    cpu_before = proctree.cpu_seconds(pid)
    peak = (0, 0)
    until = time.monotonic() + args.minutes * 60
    while time.monotonic() < until:
        peak = _higher(peak, pid)
        time.sleep(0.2)
    cpu = proctree.cpu_seconds(pid) - cpu_before
    end = time.time()
    with site.lock:
        fetched = {index: list(times) for index, times in site.fetched.items()}
    versions_after, errors = database.counts()
    # what was fetched in the last seconds may still be checking: neither side counts it
    until = end - 15
    changes = database.changes_since(start, until)
    return {
        "changes": changes,
        "edits": edits_seen(site, start, until),
        "planned": planned,
        "start": start,
        "end": end,
        "fetched": fetched,
        "fetches": sum(len(times) for times in fetched.values()) - fetches_before,
        "cpu": cpu,
        "peak": peak,
        "size_before": size_before,
        "size_after": database.size(),
        "versions": versions_after - versions_before,
        "errors": errors,
    }


def edits_seen(site: FleetSite, start: float, until: float) -> dict[int, int]:
    """By URL index, the fetches from ``start`` to ``until`` that served another version
    than the fetch before them: the edits a check could report (a confirming fetch serves
    the same one again)."""
    with site.lock:
        served = {index: list(times) for index, times in site.served.items()}
    seen: dict[int, int] = defaultdict(int)
    for index, fetches in served.items():
        for (_, before), (at, now) in pairwise(fetches):
            seen[index] += start <= at < until and before != now
    return seen


def _lags(m: Measured) -> tuple[list[float], list[float], int]:
    """Lag of the pages due in the measured part, of those overdue when it began, and how
    many pages due over a minute before the end were never fetched (the lag of a page not
    fetched counts up to the end)."""
    due_in_run: list[float] = []
    catch_up: list[float] = []
    missed = 0
    for index, at in m.planned.items():
        if at >= m.end:
            continue
        after = [t for t in m.fetched.get(index, []) if t >= min(at, m.start) - 1]
        if not after and m.end - at > 60:
            missed += 1
        lag = (after[0] if after else m.end) - at
        (due_in_run if at >= m.start else catch_up).append(max(0.0, lag))
    return due_in_run, catch_up, missed


def report(args: argparse.Namespace, m: Measured) -> None:
    due_in_run, catch_up, missed = _lags(m)
    seconds = m.end - m.start
    base = "PostgreSQL" if args.postgres else "SQLite"
    print(
        f"fleet: {args.pages} noisy corpus pages every {args.every}, 2 % changing an "
        f"interval, {args.workers} workers, {args.readers} readers ({base})"
    )
    print(f"  startup to READY=1            {m.ready:8.1f} s")
    print(
        f"  first round (all new)         {m.first_round:8.1f} s, "
        f"peak RSS {m.first_peak[0] / 2**20:.0f} MiB, PSS {m.first_peak[1] / 2**20:.0f} MiB"
    )
    print(f"  measured after it             {seconds:8.1f} s")
    print(f"  checks                        {m.fetches:8d}  ({m.fetches / seconds:.2f}/s)")
    print(
        f"  CPU, daemon + readers         {m.cpu:8.1f} s  "
        f"({100 * m.cpu / seconds:.1f} % of one core,"
        f" {1000 * m.cpu / max(m.fetches, 1):.1f} ms a check)"
    )
    print(
        f"  schedule lag, due in the run  p50 {_percentile(due_in_run, 0.5):.1f} s, "
        f"p99 {_percentile(due_in_run, 0.99):.1f} s, max {max(due_in_run, default=0):.1f} s "
        f"({len(due_in_run)} pages)"
    )
    if catch_up:
        print(
            f"  catch-up (due in round one)   p50 {statistics.median(catch_up):.1f} s, "
            f"max {max(catch_up):.1f} s ({len(catch_up)} pages)"
        )
    print(f"  due, never checked (> 1 min)  {missed:8d}")
    print(f"  peak RSS, daemon + readers    {m.peak[0] / 2**20:8.1f} MiB (measured part)")
    print(f"  peak PSS, daemon + readers    {m.peak[1] / 2**20:8.1f} MiB (shared pages once)")
    print(
        f"  database                      {m.size_before / 2**20:8.1f} MiB after round one, "
        f"+{(m.size_after - m.size_before) / 2**20:.1f} MiB in the run "
        f"({m.versions} versions stored)"
    )
    edited = [c for c in m.changes if c[0] % 50 == 0]
    false = [c for c in m.changes if c[0] % 50 != 0]
    print(f"  edits served (a new version)  {sum(m.edits.values()):8d}  (to 15 s before the end)")
    print(f"  changes on the edited 2 %     {len(edited):8d}")
    reported = Counter(index for index, _, _ in edited)
    short = sorted(i for i, n in m.edits.items() if n > reported[i])
    if short:
        print(f"    fewer changes than edits on: {', '.join(f'p{i}' for i in short[:20])}")
    print(f"  changes on pages not edited   {len(false):8d}  (false alerts)")
    for index, kind, summary in false[:10]:
        print(f"    p{index} {kind}: {summary[:110]}")
    print(f"  failed checks                 {m.failed:8d}")
    print(f"  pages in error at the end     {m.errors:8d}")
    print(f"  exit code after SIGTERM       {m.exit_code:8d}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=10_000)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--every", default="15m")
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--readers", type=int, default=2)
    parser.add_argument("--postgres", action="store_true", help="the test PostgreSQL server")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    args = parser.parse_args()
    unit = {"s": 1, "m": 60, "h": 3600}[args.every[-1]]
    every = float(args.every[:-1]) * unit
    pages = [gzip.decompress(p.read_bytes()) for p in sorted(args.corpus.glob("*.html.gz"))]
    if not pages:
        parser.error(f"no corpus pages (*.html.gz) in {args.corpus}; see --corpus")
    with FleetSite(pages, every, args.pages) as site, tempfile.TemporaryDirectory() as folder:
        measured = run(args, site, Path(folder))
    if measured is None:
        return 1
    report(args, measured)
    clean = measured.exit_code == 0 and measured.failed == 0
    return 0 if clean and not [c for c in measured.changes if c[0] % 50] else 1


if __name__ == "__main__":
    raise SystemExit(main())
