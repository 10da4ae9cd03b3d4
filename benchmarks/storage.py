"""Bytes a stored version costs, and what reading it back costs, on ../shared/corpus pages.

For every corpus page: store a first version, then ``--edits`` versions each with fresh
noise (a nonce, a clock, a view counter) and one more word replaced in a paragraph, on a
SQLite file. Reports the packed bytes of first versions and of edited versions (median,
p90, max), and the time of ``Store.raw_body`` and of a WARC export of every version,
against a store of the same versions kept whole (every body its own keyframe, as before
deltas). The target is <= 2 KB per one-word edit of a 130 KB page and reads no slower.

    python benchmarks/storage.py [--corpus DIR] [--edits N] [--repeat N]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from watcher.evidence.archive import export_warc
from watcher.store import blobs
from watcher.store.models import Blob
from watcher.store.store import Store, VersionRecord

T0 = datetime(2026, 12, 1, tzinfo=UTC)
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "pages"


def noisy(html: bytes, page: int, n: int) -> bytes:
    """The page as reloaded: a new nonce, clock and counter line after the body tag."""
    noise = (
        f'<div class="ad" data-nonce="{hashlib.sha1(f"{page}:{n}".encode()).hexdigest()}">'
        f"<span class=clock>12:{n:02d}:{page % 60:02d}</span>"
        f"<p>{1000 + 37 * n:,} views · {n} comments</p></div>"
    ).encode()
    return re.sub(rb"(<body[^>]*>)", lambda m: m.group(1) + noise, html, count=1) or html + noise


def edit_words(html: bytes, n: int) -> bytes:
    """``html`` with the n-th long word of its paragraphs replaced (one word per edit)."""
    words = list(re.finditer(rb"(?<=[ >])([A-Za-z]{6,})(?=[ ,.<])", html))
    if not words:
        return html
    match = words[(len(words) // 2 + 7 * n) % len(words)]
    return html[: match.start()] + match.group(1)[::-1] + html[match.end() :]


def version(body: bytes, at: datetime) -> VersionRecord:
    return VersionRecord(
        fetched_at=at,
        status=200,
        final_url="https://news.example/",
        hops=(),
        headers={"content-type": "text/html"},
        body=body,
        encoding="utf-8",
        state="ok",
        removal=None,
        title="",
        byline="",
        published="",
        page_title="",
        text="",
    )


def fill(store: Store, pages: list[bytes], edits: int) -> tuple[list[str], list[str]]:
    """Store every page's versions; returns the first versions' and the edits' hashes."""
    firsts: list[str] = []
    edited: list[str] = []
    urls = [(f"https://news.example/{i}", str(i)) for i in range(len(pages))]
    ids = store.sync_pages(urls, T0)
    for i, html in enumerate(pages):
        page_id = ids[urls[i][0]]
        body = html
        for n in range(edits + 1):
            current = noisy(body, i, n)
            store.record_version(page_id, version(current, T0 + timedelta(minutes=n)))
            (edited if n else firsts).append(hashlib.sha256(current).hexdigest())
            body = edit_words(body, n)
    return firsts, edited


def packed_sizes(store: Store, hashes: list[str]) -> list[int]:
    with store.engine.connect() as connection:
        rows = connection.execute(
            select(Blob.sha256, func.length(Blob.data))  # type: ignore[call-overload]
        ).all()
    sizes = dict(rows)
    return [sizes[sha] for sha in hashes]


def timed(repeat: int, call: object) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        call()  # type: ignore[operator]
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--edits", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    pages = [gzip.decompress(p.read_bytes()) for p in sorted(args.corpus.glob("*.html.gz"))]
    if not pages:
        print(f"no pages in {args.corpus}", file=sys.stderr)
        return 1
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, every in (("whole", 1), ("delta", blobs.KEYFRAME_EVERY)):
            blobs.KEYFRAME_EVERY = every  # 1: every body its own keyframe, as before deltas
            store = Store(f"sqlite:///{tmp}/{label}.db")
            store.migrate()
            firsts, edited = fill(store, pages, args.edits)
            every_hash = firsts + edited
            read = timed(args.repeat, lambda s=store, h=every_hash: [s.raw_body(x) for x in h])
            out = Path(tmp) / f"{label}.warc.gz"
            export = timed(args.repeat, lambda s=store, o=out: export_warc(s, o))
            sizes = packed_sizes(store, firsts), packed_sizes(store, edited)
            results[label] = (*sizes, read, export)
            store.close()
    mean_kb = statistics.mean(map(len, pages)) / 1024
    print(f"{len(pages)} pages (mean {mean_kb:.0f} KB), {args.edits} one-word edits each")
    for label, (first, edits, read, export) in results.items():
        edits.sort()
        n = len(first) + len(edits)
        print(
            f"{label:6} first version {statistics.median(first) / 1024:6.1f} KB median | "
            f"per edit {statistics.median(edits):7.0f} B median, "
            f"{edits[int(len(edits) * 0.9)]:7.0f} B p90, {edits[-1]:7.0f} B max | "
            f"raw_body {read / n * 1000:.3f} ms each | WARC export {export:.2f} s"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
