"""CPU cost of one check against a bare lxml parse, on the real pages of ../shared/corpus.

For every page: store a first version, then time (CPU, best of N) the check of
(a) a noisy re-fetch of the unchanged article (new nonce, ad and counter): the quick
re-read of the block where the article was found, falling back to extract, normalise,
diff and classify when that block reads differently or was not placed, and
(b) a one-word edit of the article, stored as a new version (the quick re-read, then
the full path). The fetch is not timed. Reading runs in one reader process, as in
watcher; CPU is this process's plus the reader's. Prints per-page rows with --verbose
and the medians with their ratio to ``lxml.html.fromstring``, the cost of handing a
page to a reader and back, and the throughput of noisy checks with 1 and with 2
readers (all pages checked concurrently, wall clock).

    python benchmarks/check_cost.py [--corpus DIR] [--repeat N] [--verbose]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import lxml.html
import proctree
import requests

from watcher.check.gather import CheckResult, Gatherer
from watcher.check.pipeline import read_article
from watcher.check.readers import ReaderPool
from watcher.check.reading import compare_rules, reads_as_before
from watcher.config import Settings, Watch
from watcher.fetch import FetchResult
from watcher.read.decode import decode_body
from watcher.read.locate import Locator
from watcher.store.models import Snapshot
from watcher.store.store import Store

# No confirming fetch (nothing to fetch from); a not-found probe would be refused at once.
SETTINGS = Settings(confirm=False)

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "pages"


# The reader whose CPU counts with this process's (set in main: one reader, never recycled).
_READER_PID: list[int] = []


def cpu(fn: Callable[[], object], repeat: int, before: Callable[[], object] | None = None) -> float:
    """Best-of-``repeat`` CPU seconds of ``fn()``, this process's and its reader's;
    ``before`` (untimed) runs ahead of each."""
    best = float("inf")
    for _ in range(repeat):
        if before is not None:
            before()
        start, reader = time.process_time(), _reader_ns()
        fn()
        used = time.process_time() - start + (_reader_ns() - reader) / 1e9
        best = min(best, used)
    return best


def _reader_ns() -> int:
    return proctree.thread_cpu_ns(_READER_PID[0]) if _READER_PID else 0


def process_fetch(
    store: Store,
    watch: Watch,
    page_id: int,
    latest: Snapshot | None,
    fetched: FetchResult,
    at: datetime,
    *,
    reader: ReaderPool,
) -> CheckResult:
    """Everything a check does after its fetch: read, judge, record (``check_page``'s
    stages without the fetch)."""
    with requests.Session() as session:
        check = Gatherer(store, session, watch, SETTINGS, reader, page_id, at)
        decision, loads = check.judge(fetched, store.page_by_url(watch.url), latest)
        return check.record(decision, loads, latest)


def _length(text: str) -> int:
    return len(text)


def as_fetch(url: str, body: bytes, text: str, codec: str, at: datetime) -> FetchResult:
    return FetchResult(
        url=url,
        final_url=url,
        status=200,
        headers={"content-type": "text/html"},
        body=body,
        text=text,
        encoding=codec,
        redirects=(),
        fetched_at=at,
        elapsed_seconds=0.0,
    )


def noisy(html: str, n: int) -> str:
    """The same article with a fresh nonce, ad and comment counter, as on every reload."""
    noise = f'<div class="ad" data-nonce="{n:08x}">Ad {n}</div><span>{n} comments</span>'
    return re.sub(r"(<body[^>]*>)", r"\1" + noise, html, count=1, flags=re.I) or html + noise


def one_word_edit(html: str, article_text: str) -> str | None:
    """Replace one word of the article text where it appears verbatim in the HTML."""
    for word in sorted(set(re.findall(r"\b[A-Za-z]{7,}\b", article_text)), key=len, reverse=True):
        if html.count(word) == 1:
            return html.replace(word, word[::-1])
    for char in article_text:  # CJK: change one Han character
        if "\u4e00" <= char <= "\u9fff" and html.count(char) == 1:
            return html.replace(char, "\u56fd" if char != "\u56fd" else "\u5bb6")
    return None


Row = tuple[str, float, float, float | None, bool, float | None]


def measure_page(store: Store, path: Path, repeat: int, reader: ReaderPool) -> Row:
    """(name, bare parse, noisy unchanged check, one-word edit check) CPU seconds,
    whether the first check placed the article for the quick re-read, and the CPU
    seconds of that re-read alone (no store) when it did."""
    raw = gzip.decompress(path.read_bytes())
    text, codec = decode_body(raw, "text/html")
    url = f"http://127.0.0.1:9/{path.name}"
    now = datetime(2026, 11, 29, tzinfo=UTC)
    page_id = store.sync_pages([(url, path.name)], now)[url]
    watch = Watch(url=url)
    process_fetch(
        store, watch, page_id, None, as_fetch(url, raw, text, codec, now), now, reader=reader
    )
    latest = store.latest_snapshot(page_id)
    page = store.page_by_url(url)
    locator = page.locator if page is not None else None  # what check_page passes
    placed = Locator.loads(locator) is not None
    parse = cpu(lambda: lxml.html.fromstring(text), repeat)
    counter = iter(range(1, 10**6))
    false_alerts: list[str] = []

    def noise_check() -> None:
        n = next(counter)
        html = noisy(text, n)
        at = now + timedelta(minutes=n)
        fetched = as_fetch(url, html.encode("utf-8"), html, "utf-8", at)
        result = process_fetch(store, watch, page_id, latest, fetched, at, reader=reader)
        if result.verdict.kind.value != "unchanged":
            false_alerts.append(f"{path.name}: {result.verdict.summary}")

    noise = cpu(noise_check, repeat)
    reread: float | None = None
    if placed:
        sample = noisy(text, 10**6)
        ignore = compare_rules(watch)
        reread = cpu(lambda: reads_as_before(sample, watch, locator, ignore), repeat)
    for alert in dict.fromkeys(false_alerts):
        print(f"note: noise-only re-fetch not unchanged: {alert}", file=sys.stderr)
    edited = one_word_edit(text, latest.text if latest else "")
    if edited is None:
        return path.name, parse, noise, None, placed, reread
    body = edited.encode("utf-8")

    def edit_check() -> None:
        n = next(counter)
        at = now + timedelta(minutes=n)
        fetched = as_fetch(url, body + str(n).encode(), edited, "utf-8", at)
        result = process_fetch(store, watch, page_id, latest, fetched, at, reader=reader)
        assert result.verdict.kind.value == "changed", (path.name, result.verdict.summary)

    def as_first_stored() -> None:
        """Each edit is judged against the first version, found where it was found."""
        store.record_check(page_id, checked_at=now, status=200, error=None, locator=locator)

    return path.name, parse, noise, cpu(edit_check, repeat, as_first_stored), placed, reread


def _crossing(reader: ReaderPool, pages: list[Path]) -> tuple[float, float]:
    """Median wall seconds of a round trip of a page's text to a reader, and mean bytes."""
    texts = [decode_body(gzip.decompress(p.read_bytes()), "text/html")[0] for p in pages]
    times = []
    for text in texts:
        start = time.perf_counter()
        reader.run(_length, text)
        times.append(time.perf_counter() - start)
    return statistics.median(times), statistics.mean(len(t.encode()) for t in texts)


def _throughput(
    store: Store, pages: list[Path], readers: int, seconds: float
) -> tuple[int, float, float]:
    """Noisy checks of every page, 4 per reader at a time, for ``seconds``: (checks, wall
    seconds, CPU seconds of this process and its readers)."""
    now = datetime(2026, 11, 30, tzinfo=UTC)
    setups = []
    for path in pages:
        text, _codec = decode_body(gzip.decompress(path.read_bytes()), "text/html")
        url = f"http://127.0.0.1:9/{path.name}"
        page = store.page_by_url(url)
        if page is not None and page.id is not None:
            setups.append((Watch(url=url), page.id, text))
    with ReaderPool(readers, max_tasks=0) as pool:
        pool.run(read_article, "<p>warm up</p>", Watch(url="https://b.example/"))
        deadline = time.monotonic() + seconds
        counter = iter(range(10**9))

        def loop(offset: int) -> int:
            done = 0
            while time.monotonic() < deadline:
                watch, page_id, text = setups[(offset + done) % len(setups)]
                n = next(counter)
                html = noisy(text, 10**7 + n)
                at = now + timedelta(seconds=n)
                fetched = as_fetch(watch.url, html.encode(), html, "utf-8", at)
                latest = store.latest_snapshot(page_id)
                process_fetch(store, watch, page_id, latest, fetched, at, reader=pool)
                done += 1
            return done

        started, cpu_before = time.monotonic(), proctree.cpu_seconds(os.getpid())
        with ThreadPoolExecutor(4 * readers) as threads:
            checks = sum(threads.map(loop, range(0, 4 * readers * 11, 11)))
        return (
            checks,
            time.monotonic() - started,
            proctree.cpu_seconds(os.getpid()) - cpu_before,
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--seconds", type=float, default=30.0, help="per throughput run")
    args = parser.parse_args()
    pages = sorted(args.corpus.glob("*.html.gz"))
    if not pages:
        print(f"no pages in {args.corpus}", file=sys.stderr)
        return 2

    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp, ReaderPool(1, max_tasks=0) as reader:
        store = Store(f"sqlite:///{tmp}/bench.db")
        store.migrate()
        warm = "<html><body><p>warm up</p></body></html>"
        read_article(warm, Watch(url="https://b.example/"))
        reader.run(read_article, warm, Watch(url="https://b.example/"))
        _READER_PID.append(reader.run(os.getpid))
        crossing = _crossing(reader, pages)
        for index, path in enumerate(pages):
            row = measure_page(store, path, args.repeat, reader)
            rows.append(row)
            if args.verbose:
                _, parse, noise, edit, placed, _ = row
                shown = f"{edit * 1000:7.1f}" if edit is not None else "      -"
                print(
                    f"{index:3d} {path.name[:40]:<40} parse {parse * 1000:6.1f} ms  "
                    f"noise {noise * 1000:6.1f} ms  edit {shown} ms"
                    f"  {'placed' if placed else 'not placed'}"
                )
        throughput = [_throughput(store, pages, n, args.seconds) for n in (1, 2)]
        store.close()

    parse_median = statistics.median(r[1] for r in rows)
    noise_median = statistics.median(r[2] for r in rows)
    edits = [r[3] for r in rows if r[3] is not None]
    edit_median = statistics.median(edits)
    print(f"pages: {len(rows)} ({len(edits)} with a one-word edit); CPU, best of {args.repeat}")
    placed = [r for r in rows if r[5] is not None]
    print(f"article placed for the quick re-read on {len(placed)} of {len(rows)} pages")
    print(f"bare lxml.html.fromstring      median {parse_median * 1000:7.2f} ms")
    print(
        f"check, noisy unchanged page    median {noise_median * 1000:7.2f} ms"
        f"  ratio {noise_median / parse_median:5.1f}x"
    )
    unplaced = [r for r in rows if r[5] is None]
    for label, group in (("placed", placed), ("not placed", unplaced)):
        if group:
            median = statistics.median(r[2] for r in group)
            ratio = median / statistics.median(r[1] for r in group)
            name = f"  noisy check, {label} pages"
            print(f"{name:33}median {median * 1000:7.2f} ms  ratio {ratio:5.1f}x")
    if placed:
        reread_median = statistics.median(r[5] or 0.0 for r in placed)
        parse_placed = statistics.median(r[1] for r in placed)
        print(
            f"quick re-read alone, placed    median {reread_median * 1000:7.2f} ms"
            f"  ratio {reread_median / parse_placed:5.1f}x (to those pages' parse)"
        )
    print(
        f"check, one-word edit stored    median {edit_median * 1000:7.2f} ms"
        f"  ratio {edit_median / parse_median:5.1f}x"
    )
    print(
        f"handing a page to a reader and back   median {crossing[0] * 1000:6.2f} ms "
        f"(mean page {crossing[1] / 1024:.0f} KiB; pickling and two pipe hops)"
    )
    for readers, (checks, seconds, used) in zip((1, 2), throughput, strict=True):
        print(
            f"noisy checks, {readers} reader{'s' if readers > 1 else ' '}, concurrent  "
            f"{checks / seconds:6.1f} checks/s  CPU {used / checks * 1000:6.1f} ms/check "
            f"(this process + readers)"
        )
    (one, one_wall, _), (two, two_wall, _) = throughput
    print(f"throughput, 2 readers vs 1            {two / two_wall / (one / one_wall):6.2f}x")
    digest = hashlib.sha256("".join(r[0] for r in rows).encode()).hexdigest()[:12]
    print(f"corpus fingerprint {digest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
