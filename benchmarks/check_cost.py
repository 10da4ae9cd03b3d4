"""CPU cost of one check against a bare lxml parse, on the real pages of ../shared/corpus.

For every page: store a first version, then time (CPU, best of N) the check of
(a) a noisy re-fetch of the unchanged article (a new nonce, clock bar, "N minutes ago"
line, view counter between headline and body, and render comment): the quick
re-read of the block where the article was found, falling back to extract, normalise,
diff and classify when that block reads differently or was not placed, and
(b) a one-word edit of the article, stored as a new version (the quick re-read, then
the full path). The fetch is not timed. Reading runs in one reader process, as in
watcher; CPU is this process's plus the reader's. The noisy check is timed twice: alone
(``check_page`` with no page row: the page looked up, the check written on its own) and
as ``watcher check`` and the daemon make it (the page row read with the others' or
handed over by the claim, quiet checks written 8 at a time, the daemon's batch;
``watcher check`` writes 16). Prints
per-page rows with --verbose and the medians with their ratio to
``lxml.html.fromstring``, the quick read's hit ratio, the cost of handing a page to a
reader and back, and the throughput of noisy checks with 1 and with 2 readers (all pages
checked concurrently, wall clock).

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
from watcher.store.models import Page, Snapshot
from watcher.store.store import QuietCheck, Store

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
    page: Page | None = None,
) -> CheckResult:
    """Everything a check does after its fetch: read, judge, record (``check_page``'s
    stages without the fetch). With ``page`` (the row read for the pass, or handed over by
    the daemon's claim), as ``watcher check`` and the daemon do it: the page is not looked
    up, and a quiet check is handed back (``CheckResult.quiet``) for a batched write
    instead of written on its own."""
    if page is not None:
        check = Gatherer(store, SESSION, watch, SETTINGS, reader, page_id, at, defer_quiet=True)
        decision, loads = check.judge(fetched, page, latest)
        return check.record(decision, loads, latest)
    with requests.Session() as session:
        check = Gatherer(store, session, watch, SETTINGS, reader, page_id, at)
        decision, loads = check.judge(fetched, store.page_by_url(watch.url), latest)
        return check.record(decision, loads, latest)


# The daemon's fetch session lives as long as the daemon (nothing is fetched here).
SESSION = requests.Session()


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
    """The same article as reloaded: a fresh nonce, a clock bar, an "N minutes ago" line,
    a view and comment counter between the headline and the body, and a render comment.

    Each goes where a server puts it: into the page's own ``<body>`` tag and headline, not
    into a copy of the markup that structured data carries (``"articleBody": "<body>…"``).
    """
    top = (
        f'<div class="clock-bar">{n % 24:02d}:{n * 7 % 60:02d}:{n * 13 % 60:02d}</div>'
        f'<div class="ago">{n % 50 + 2} minutes ago</div>'
    )
    body = re.compile(r"<body([^>]*)>", re.I).search(html, max(0, html.lower().find("</head>")))
    if body is None:
        return html
    start = f'<body data-nonce="{n:016x}"{body.group(1)}>{top}'
    html = html[: body.start()] + start + html[body.end() :]
    headline = html.lower().find("</h1>", body.start())
    if headline >= 0:
        counter = f'<p class="meta">{12345 + 37 * n:,} views · {n % 9} comments</p>'
        html = html[: headline + 5] + counter + html[headline + 5 :]
    end = html.lower().rfind("</body>")
    render = f"<!-- rendered in {n % 97} ms at {1733300000 + n} -->"
    return html[:end] + render + html[end:] if end >= 0 else html + render


def one_word_edit(html: str, article_text: str) -> str | None:
    """Replace one word of the article text where it appears verbatim in the HTML."""
    for word in sorted(set(re.findall(r"\b[A-Za-z]{7,}\b", article_text)), key=len, reverse=True):
        if html.count(word) == 1:
            return html.replace(word, word[::-1])
    for char in article_text:  # CJK: change one Han character
        if "\u4e00" <= char <= "\u9fff" and html.count(char) == 1:
            return html.replace(char, "\u56fd" if char != "\u56fd" else "\u5bb6")
    return None


Row = tuple[
    str, float, float, float | None, bool, tuple[float, float] | None, tuple[int, int], float
]
# Quiet checks made as the daemon makes them, written in one batch at the end.
QUIET: list[QuietCheck] = []
# Noise-only reloads per page whose quick re-read is counted (the hit ratio).
HIT_LOADS = 5


def measure_page(store: Store, path: Path, repeat: int, reader: ReaderPool) -> Row:
    """(name, bare parse, noisy unchanged check, one-word edit check) CPU seconds,
    whether the first check placed the article for the quick re-read, the CPU seconds of
    that re-read alone (no store) when it did, and of ``HIT_LOADS`` noise-only reloads,
    how many the quick re-read found unchanged: against the first version (the first
    noisy pass) and against where the noisy checks left the page's locator (every pass
    after it)."""
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

    reload: list[FetchResult] = []

    def serve_noisy() -> None:
        """The next noisy load, made before the clock starts (the server's work)."""
        n = next(counter)
        html = noisy(text, n)
        at = now + timedelta(minutes=n)
        reload[:] = [as_fetch(url, html.encode("utf-8"), html, "utf-8", at)]

    def noise_check() -> None:
        fetched = reload[0]
        at = fetched.fetched_at
        result = process_fetch(store, watch, page_id, latest, fetched, at, reader=reader)
        if result.verdict.kind.value != "unchanged":
            false_alerts.append(f"{path.name}: {result.verdict.summary}")

    noise = cpu(noise_check, repeat, serve_noisy)
    claimed = store.page_by_url(url)  # what the daemon's claim hands its check
    assert claimed is not None

    def daemon_check() -> None:
        fetched = reload[0]
        at = fetched.fetched_at
        result = process_fetch(
            store, watch, page_id, latest, fetched, at, reader=reader, page=claimed
        )
        if result.quiet is None:
            false_alerts.append(f"{path.name}: {result.verdict.summary} (as the daemon)")
        else:
            QUIET.append(result.quiet)

    daemon = cpu(daemon_check, repeat, serve_noisy)
    reread: tuple[float, float] | None = None
    hits = (0, 0)
    if placed:
        sample = noisy(text, 10**6)
        ignore = compare_rules(watch)
        now_page = store.page_by_url(url)
        later = now_page.locator if now_page is not None else None
        reread = (
            cpu(lambda: reads_as_before(sample, watch, locator, ignore, url), repeat),
            cpu(lambda: reads_as_before(sample, watch, later, ignore, url), repeat),
        )
        loads = [noisy(text, 10**6 + k) for k in range(1, HIT_LOADS + 1)]
        hits = (
            sum(reads_as_before(load, watch, locator, ignore, url) for load in loads),
            sum(reads_as_before(load, watch, later, ignore, url) for load in loads),
        )
    for alert in dict.fromkeys(false_alerts):
        print(f"note: noise-only re-fetch not unchanged: {alert}", file=sys.stderr)
    edited = one_word_edit(text, latest.text if latest else "")
    if edited is None:
        return path.name, parse, noise, None, placed, reread, hits, daemon
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

    edit = cpu(edit_check, repeat, as_first_stored)
    return path.name, parse, noise, edit, placed, reread, hits, daemon


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
    counter = iter(range(10**9))

    def check(pool: ReaderPool, setup: tuple[Watch, int, str]) -> None:
        watch, page_id, text = setup
        n = next(counter)
        html = noisy(text, 10**7 + n)
        at = now + timedelta(seconds=n)
        fetched = as_fetch(watch.url, html.encode(), html, "utf-8", at)
        latest = store.latest_snapshot(page_id)
        process_fetch(store, watch, page_id, latest, fetched, at, reader=pool)

    with ReaderPool(readers, max_tasks=0) as pool:
        # Untimed, one noisy check of every page: each reader sets up what it builds
        # lazily, and each page's stored version and locator are a noisy load's, as
        # after a daemon's first pass (the one-word edits above left other versions).
        with ThreadPoolExecutor(4 * readers) as threads:
            list(threads.map(lambda setup: check(pool, setup), setups))
        deadline = time.monotonic() + seconds

        def loop(offset: int) -> int:
            done = 0
            while time.monotonic() < deadline:
                check(pool, setups[(offset + done) % len(setups)])
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
                _, parse, noise, edit, placed, _, _, _ = row
                shown = f"{edit * 1000:7.1f}" if edit is not None else "      -"
                print(
                    f"{index:3d} {path.name[:40]:<40} parse {parse * 1000:6.1f} ms  "
                    f"noise {noise * 1000:6.1f} ms  edit {shown} ms"
                    f"  {'placed' if placed else 'not placed'}"
                )

        # in batches of 8, half a daemon's 16 workers, as it releases pages
        def write(batch: list[QuietCheck]) -> float:
            return cpu(lambda: store.release_pages([], owner="check-cost", quiet=batch), 1)

        written = sum(write(QUIET[i : i + 8]) for i in range(0, len(QUIET), 8))
        per_write = written / max(1, len(QUIET))
        throughput = [_throughput(store, pages, n, args.seconds) for n in (1, 2)]
        store.close()

    parse_median = statistics.median(r[1] for r in rows)
    noise_median = statistics.median(r[2] for r in rows)
    edits = [r[3] for r in rows if r[3] is not None]
    edit_median = statistics.median(edits)
    print(f"pages: {len(rows)} ({len(edits)} with a one-word edit); CPU, best of {args.repeat}")
    placed_rows = [r for r in rows if r[5] is not None]
    print(f"article placed for the quick re-read on {len(placed_rows)} of {len(rows)} pages")
    loads = HIT_LOADS * len(rows)
    for label, index in (("against the first version", 0), ("on later noisy passes", 1)):
        hits = sum(r[6][index] for r in rows)
        print(
            f"quick re-read hit ratio, {label:26} {hits / loads:6.1%}"
            f" ({hits} of {loads} noise-only reloads)"
        )
    print(f"bare lxml.html.fromstring      median {parse_median * 1000:7.2f} ms")
    print(
        f"check alone, noisy unchanged   median {noise_median * 1000:7.2f} ms"
        f"  ratio {noise_median / parse_median:5.1f}x"
    )
    daemon_ratios = sorted((r[7] + per_write) / r[1] for r in rows)
    daemon_median = statistics.median(r[7] + per_write for r in rows)
    print(
        f"  as watcher check and the daemon check (the page row at hand, quiet checks written 8"
        f" at a time: {per_write * 1000:.2f} ms a check; the daemon's lease not counted)"
    )
    print(
        f"  median {daemon_median * 1000:7.2f} ms  ratio {daemon_median / parse_median:5.2f}x;"
        f" per page median {statistics.median(daemon_ratios):5.2f}x"
        f"  p90 {daemon_ratios[min(len(rows) - 1, round(0.9 * (len(rows) - 1)))]:5.2f}x"
    )
    if args.verbose:
        costliest = sorted(rows, key=lambda r: (r[7] + per_write) / r[1], reverse=True)[:8]
        shown = ", ".join(f"{r[0][:24]} {(r[7] + per_write) / r[1]:.1f}x" for r in costliest)
        print(f"  costliest pages to parse: {shown}")
    ratios = sorted(r[2] / r[1] for r in rows)
    p90 = ratios[min(len(ratios) - 1, round(0.9 * (len(ratios) - 1)))]
    print(
        f"  per page, noisy check / parse  median {statistics.median(ratios):5.1f}x"
        f"  p90 {p90:5.1f}x"
    )
    unplaced = [r for r in rows if r[5] is None]
    for label, group in (("placed", placed_rows), ("not placed", unplaced)):
        if group:
            median = statistics.median(r[2] for r in group)
            ratio = median / statistics.median(r[1] for r in group)
            name = f"  noisy check, {label} pages"
            print(f"{name:33}median {median * 1000:7.2f} ms  ratio {ratio:5.1f}x")
    parse_placed = statistics.median(r[1] for r in placed_rows) if placed_rows else 0.0
    for label, index in (("against the first version", 0), ("on later passes", 1)):
        if placed_rows:
            reread_median = statistics.median(r[5][index] if r[5] else 0.0 for r in placed_rows)
            print(
                f"quick re-read alone, {label:26} median {reread_median * 1000:7.2f} ms"
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
