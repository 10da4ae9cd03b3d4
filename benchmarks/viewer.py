"""How fast ``watcher serve`` answers on a large database, over real HTTP (target < 200 ms).

Fills a database with 10,000 pages and 100,000 versions (with a change each), plus one page
of 1,000 versions, then times the pages list (first page, a tag filter, a kind filter, a
later page) and the 1,000-version timeline, as HTML and JSON, on SQLite and PostgreSQL.

    .venv/bin/python benchmarks/viewer.py                 # both databases
    .venv/bin/python benchmarks/viewer.py --only sqlite
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
import zstandard
from sqlalchemy import create_engine, insert, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.viewer_support import running
from watcher.check.readers import OnDemandReader
from watcher.check.reading import start_readers
from watcher.config import Watch, Watchlist
from watcher.serve.app import create_app
from watcher.store.models import Blob, Change, Page, Snapshot
from watcher.store.store import Store

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PAGES = 10_000
VERSIONS_PER_PAGE = 10
BIG_PAGE_VERSIONS = 1_000
TARGET_MS = 200.0
T0 = datetime(2026, 1, 1, tzinfo=UTC)
HEADERS = {
    "content-type": "text/html; charset=utf-8",
    "server": "nginx",
    "cache-control": "max-age=60",
    "etag": '"abc"',
    "date": "Thu, 01 Jan 2026 00:00:00 GMT",
    "x-cache": "HIT",
}


def fill(store: Store) -> int:
    """Bulk-load the benchmark data; returns the id of the 1,000-version page."""
    body = b"<html><body><p>benchmark</p></body></html>"
    sha = hashlib.sha256(body).hexdigest()
    with store.engine.begin() as connection:
        connection.execute(
            insert(Blob),
            [
                {
                    "sha256": sha,
                    "codec": "zstd",
                    "size": len(body),
                    "created_at": T0,
                    "data": zstandard.ZstdCompressor().compress(body),
                }
            ],
        )
        pages = [
            {
                "url": f"https://news{i % 50}.example/story/{i}",
                "name": f"Story {i}",
                "is_active": True,
                "created_at": T0,
                "consecutive_errors": 0,
                "last_checked_at": T0,
                "last_record_sha256": "",
            }
            for i in range(PAGES + 1)
        ]
        connection.execute(insert(Page), pages)
        ids = [row[0] for row in connection.execute(text("SELECT id FROM page ORDER BY id"))]
        big = ids[-1]
        plan = [(pid, VERSIONS_PER_PAGE) for pid in ids[:-1]] + [(big, BIG_PAGE_VERSIONS)]
        snapshot_id = 0
        snapshots: list[dict[str, object]] = []
        changes: list[dict[str, object]] = []
        for page_id, count in plan:
            for n in range(count):
                snapshot_id += 1
                at = T0 + timedelta(minutes=page_id + n)
                snapshots.append(_snapshot(snapshot_id, page_id, at, sha, n))
                changes.append(_change(snapshot_id, page_id, at, n))
                if len(snapshots) >= 5_000:
                    connection.execute(insert(Snapshot), snapshots)
                    connection.execute(insert(Change), changes)
                    snapshots, changes = [], []
        connection.execute(insert(Snapshot), snapshots)
        connection.execute(insert(Change), changes)
        if store.dialect == "postgresql":
            connection.execute(text("SELECT setval('snapshot_id_seq', :n)"), {"n": snapshot_id})
            connection.execute(text("ANALYZE"))
        else:
            connection.execute(text("ANALYZE"))
    return big


def _snapshot(sid: int, page_id: int, at: datetime, sha: str, n: int) -> dict[str, object]:
    return {
        "id": sid,
        "page_id": page_id,
        "fetched_at": at,
        "status": 200,
        "final_url": f"https://news.example/story/{page_id}",
        "headers": HEADERS,
        "redirects": [
            {"url": "http://news.example/s", "status": 301, "location": "https://news.example/s"}
        ]
        if n % 7 == 0
        else [],
        "body_sha256": sha,
        "encoding": "utf-8",
        "state": "ok",
        "removal": None,
        "title": f"Headline {n}",
        "byline": "Jane Doe",
        "published": "2026-01-01",
        "page_title": "",
        "text": "word " * 400,
        "text_sha256": "",
        "reader": "2:bench",
        "previous_record_sha256": "",
        "record_sha256": hashlib.sha256(str(sid).encode()).hexdigest(),
    }


def _change(sid: int, page_id: int, at: datetime, n: int) -> dict[str, object]:
    kind = "new" if n == 0 else ("removed" if n % 9 == 0 else "changed")
    return {
        "page_id": page_id,
        "snapshot_id": sid,
        "previous_snapshot_id": sid - 1 if n else None,
        "kind": kind,
        "parts": ["body"],
        "removal": "gone" if kind == "removed" else None,
        "summary": f"body edited: +{n} -1 words",
        "words_added": n,
        "words_removed": 1,
        "detected_at": at,
    }


def timed(session: requests.Session, url: str, runs: int) -> tuple[float, int]:
    """Median milliseconds of ``runs`` GETs after one warm-up, and the response size."""
    session.get(url, timeout=60).raise_for_status()
    samples = []
    size = 0
    for _ in range(runs):
        start = time.perf_counter()
        response = session.get(url, timeout=60)
        samples.append((time.perf_counter() - start) * 1000)
        response.raise_for_status()
        size = len(response.content)
    return statistics.median(samples), size


@contextmanager
def database(kind: str, folder: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'bench.db'}"
        return
    admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def bench(kind: str, runs: int) -> list[tuple[str, str, float, int]]:
    with tempfile.TemporaryDirectory() as folder, database(kind, Path(folder)) as url:
        store = Store(url)
        store.migrate()
        started = time.perf_counter()
        big = fill(store)
        print(
            f"{kind}: loaded {PAGES + 1} pages, "
            f"{PAGES * VERSIONS_PER_PAGE + BIG_PAGE_VERSIONS} versions "
            f"in {time.perf_counter() - started:.1f} s",
            file=sys.stderr,
        )
        watchlist = Watchlist(
            watch=[
                Watch(url=f"https://news{i % 50}.example/story/{i}", tags=[f"t{i % 20}"])
                for i in range(PAGES)
            ]
        )
        cases = [
            ("pages list", "/"),
            ("pages list JSON", "/api/pages"),
            ("pages list, page 100", "/?page=100"),
            ("pages list, tag filter", "/?tag=t3"),
            ("pages list, kind+date filter", "/?kind=removed&since=2026-01-02"),
            ("1,000-version page", f"/pages/{big}"),
            ("1,000-version page JSON", f"/api/pages/{big}"),
            ("diff of two versions", f"/changes/{PAGES * VERSIONS_PER_PAGE + BIG_PAGE_VERSIONS}"),
            ("Atom feed of all changes", "/feeds/changes.atom"),
        ]
        results = []
        try:
            with (
                OnDemandReader(lambda: start_readers(watchlist.settings, 1)) as reader,
                running(create_app(store, watchlist, reader=reader)) as base,
                requests.Session() as session,
            ):
                for name, path in cases:
                    ms, size = timed(session, base + path, runs)
                    results.append((kind, name, ms, size))
        finally:
            store.close()
        return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("sqlite", "postgres"))
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    kinds = [args.only] if args.only else ["sqlite", "postgres"]
    rows = [row for kind in kinds for row in bench(kind, args.runs)]
    print("| database | view | median ms | KiB |\n|---|---|---:|---:|")
    for kind, name, ms, size in rows:
        flag = "" if ms < TARGET_MS else " (over target)"
        print(f"| {kind} | {name} | {ms:.1f}{flag} | {size // 1024} |")
    return 0 if all(ms < TARGET_MS for *_, ms, _ in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
