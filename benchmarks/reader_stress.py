"""Crash stress: repeated ``watcher check`` passes over the 80 corpus pages, N at a time.

Each pass runs the real command against a local site whose pages change between passes
(fresh noise every pass, a third of the URLs rewritten on odd passes). A pass that ends
by a signal (SIGSEGV, SIGABRT from ``double free or corruption``), or that does not report
every page, is a failure. ``--pythonpath`` runs another checkout of watcher (for example
the one before reader processes) with the same command and site.

    .venv/bin/python benchmarks/reader_stress.py --minutes 10 --workers 8
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.corpus_site import CorpusSite

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "pages"


def _config(site: CorpusSite, workers: int) -> str:
    lines = ["[settings]", "allow_private = true  # the corpus site listens on 127.0.0.1"]
    lines += ['every = "1h"', 'host_delay = "1ms"', "per_host = 64"]
    lines.append(f"workers = {workers}")
    for path in site.paths():
        lines += ["", "[[watch]]", f'url = "{site.url(path)}"']
    return "\n".join(lines) + "\n"


def _outcome(done: subprocess.CompletedProcess[str], expected: int) -> str:
    """What one pass came to: ok, or how it failed."""
    if done.returncode < 0:
        return f"killed by {signal.Signals(-done.returncode).name}"
    if done.returncode not in (0, 1, 4):
        return f"exit {done.returncode}"
    reported = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    if len(reported) != expected:
        return f"reported {len(reported)} of {expected} pages"
    return "ok"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--pythonpath", help="run the watcher package found here instead")
    args = parser.parse_args()
    pages = [gzip.decompress(p.read_bytes()) for p in sorted(args.corpus.glob("*.html.gz"))]
    if not pages:
        print(f"no pages in {args.corpus}", file=sys.stderr)
        return 2
    env = dict(os.environ)
    if args.pythonpath:
        env["PYTHONPATH"] = args.pythonpath
    outcomes: Counter[str] = Counter()
    crashes: list[str] = []
    deadline = time.monotonic() + args.minutes * 60
    with tempfile.TemporaryDirectory() as tmp, CorpusSite(pages) as site:
        config = Path(tmp) / "watcher.toml"
        config.write_text(_config(site, args.workers), encoding="utf-8")
        database = f"sqlite:///{tmp}/watcher.db"
        command = [sys.executable, "-m", "watcher", "-c", str(config), "--database", database]
        while time.monotonic() < deadline:
            site.round = sum(outcomes.values())
            started = time.monotonic()
            done = subprocess.run(
                [*command, "check", "--json", "--all"],
                capture_output=True,
                text=True,
                env=env,
                cwd=args.pythonpath or None,
                check=False,
            )
            outcome = _outcome(done, len(pages))
            outcomes[outcome] += 1
            took = time.monotonic() - started
            print(f"pass {site.round:3d}: {outcome} ({took:.1f}s)", file=sys.stderr)
            if outcome != "ok":
                last = [line for line in done.stderr.splitlines() if line.strip()][-3:]
                crashes.append(f"pass {site.round}: {outcome}: {' | '.join(last)}")
    total = sum(outcomes.values())
    print(f"\n{total} passes of {len(pages)} pages, {args.workers} checks at a time")
    for outcome, count in outcomes.most_common():
        print(f"  {outcome:<40} {count:4d}")
    for line in crashes:
        print(f"  {line}")
    return 0 if outcomes.get("ok", 0) == total else 1


if __name__ == "__main__":
    raise SystemExit(main())
