"""Why reading may not run in threads: corpus pages read by N threads at once, per variant.

Each run is a child process in which ``--threads`` threads read the 80 corpus pages in a
loop for ``--seconds``; a child that dies by a signal crashed (lxml and trafilatura are
C code: a double free aborts the whole process). Variants:

- ``shared-parser``: ``read_article`` as the pipeline called it before reader processes,
  every thread parsing with one module-level lxml ``HTMLParser``;
- ``watcher``: ``read_article`` as it is now, one ``HTMLParser`` per thread;
- ``trafilatura``: ``trafilatura.bare_extraction`` alone, on the decoded text;
- ``processes``: ``read_article`` through a ``ReaderPool`` (what watcher does now).

    .venv/bin/python benchmarks/thread_crash.py --runs 10 --seconds 25 --threads 8
"""

from __future__ import annotations

import argparse
import gzip
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "pages"
VARIANTS = ("shared-parser", "watcher", "trafilatura", "processes")


def _reader(variant: str) -> Callable[[str], object]:
    import trafilatura

    from watcher import extract
    from watcher.check.reading import read_article
    from watcher.config import Watch

    watch = Watch(url="http://127.0.0.1/")
    if variant == "trafilatura":
        return lambda html: trafilatura.bare_extraction(html, with_metadata=True)
    if variant == "processes":
        from watcher.check.readers import ReaderPool

        pool = ReaderPool(2)
        return lambda html: pool.run(read_article, html, watch, None)
    if variant == "shared-parser":
        shared = extract._parsers()  # created once, in this thread, then used by all
        extract._parsers = lambda: shared
    return lambda html: read_article(html, watch, None)


def child(variant: str, corpus: Path, threads: int, seconds: float) -> None:
    """Runs in the child process: read pages in threads until time is up."""
    texts = [
        gzip.decompress(p.read_bytes()).decode("utf-8", "replace") for p in corpus.glob("*.gz")
    ]
    read = _reader(variant)
    deadline = time.monotonic() + seconds

    def loop(offset: int) -> int:
        done = 0
        while time.monotonic() < deadline:
            read(texts[(offset + done) % len(texts)])
            done += 1
        return done

    with ThreadPoolExecutor(threads) as pool:
        total = sum(pool.map(loop, range(0, threads * 7, 7)))
    print(f"read {total} pages")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=25.0)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--variant", action="append", choices=VARIANTS)
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.corpus, args.threads, args.seconds)
        return 0
    print(f"{args.runs} runs of {args.seconds:g} s, {args.threads} threads, per variant")
    for variant in args.variant or VARIANTS:
        outcomes: Counter[str] = Counter()
        command = [sys.executable, __file__, "--child", variant, "--corpus", str(args.corpus)]
        command += ["--threads", str(args.threads), "--seconds", str(args.seconds)]
        for _ in range(args.runs):
            done = subprocess.run(
                command,
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode < 0:
                outcome = signal.Signals(-done.returncode).name
                fault = [
                    line for line in done.stderr.splitlines() if "free" in line or "corrupt" in line
                ]
                outcome += f" ({fault[0].strip()})" if fault else ""
            else:
                outcome = "ok" if done.returncode == 0 else f"exit {done.returncode}"
            outcomes[outcome] += 1
        shown = ", ".join(f"{count} {outcome}" for outcome, count in outcomes.most_common())
        print(f"  {variant:<12} {shown}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
