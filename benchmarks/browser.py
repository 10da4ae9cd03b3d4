"""Browser checks per second and memory at ``browsers = 2``, next to plain checks.

The articles of ../shared/corpus are served twice by a local site: as server-rendered
HTML (``/plain/N``, read by plain checks) and as an app shell whose script fetches the
same article from a JSON endpoint (``/app/N``, read by ``fetch = "browser"`` checks).
Each kind gets two ``watcher check``-style passes through the real pipeline
(``run_pass``, reader processes, SQLite): the first stores every version (with a
screenshot for browser watches), the second finds every page unchanged. Memory is
sampled every 50 ms: this process with its readers, and the browser's processes (PSS).

    python benchmarks/browser.py [--corpus DIR] [--pages N] [--browsers 2] [--workers 4]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import proctree

from watcher.browser import close_shared_pool
from watcher.check.pipeline import read_article, run_pass
from watcher.check.reading import start_readers
from watcher.config import Settings, Watch, Watchlist
from watcher.store.store import Store

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "pages"
SHELL = """<!doctype html><html><head><meta charset="utf-8"><title>App</title><script>
fetch("/api/%d.json").then(r => r.json()).then(s => {
  let html = "<article><h1>" + s.title + "</h1><p class=byline>" + s.byline + "</p>";
  s.paragraphs.forEach(p => { html += "<p>" + p + "</p>"; });
  document.getElementById("root").innerHTML = html + "</article>";
});
</script></head><body><div id="root"></div></body></html>"""


def stories(corpus: Path, count: int) -> list[dict[str, Any]]:
    """The corpus articles as JSON stories (read once, offline, in this process)."""
    found = []
    for path in sorted(corpus.glob("*.html.gz"))[:count]:
        html = gzip.decompress(path.read_bytes()).decode("utf-8", "replace")
        article = read_article(html, Watch(url="https://example.org/"))
        if article.paragraphs:
            found.append(
                {
                    "title": escape(article.title),
                    "byline": escape(article.byline),
                    "paragraphs": [escape(p) for p in article.paragraphs],
                }
            )
    return found


@contextmanager
def site(articles: list[dict[str, Any]]) -> Iterator[int]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            kind, _, rest = self.path.strip("/").partition("/")
            index = int(rest.split(".")[0])
            story = articles[index]
            if kind == "plain":
                body = "".join(f"<p>{p}</p>" for p in story["paragraphs"])
                text = (
                    f"<!doctype html><html><head><meta charset=utf-8><title>{story['title']}"
                    f"</title></head><body><article><h1>{story['title']}</h1><p class=byline>"
                    f"{story['byline']}</p>{body}</article></body></html>"
                )
                kind_header = "text/html; charset=utf-8"
            elif kind == "app":
                text, kind_header = SHELL % index, "text/html; charset=utf-8"
            else:
                text, kind_header = json.dumps(story), "application/json"
            data = text.encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", kind_header)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def _pss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def _is_python(pid: int) -> bool:
    try:
        argv0 = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
    except OSError:
        return False
    return b"python" in Path(argv0.decode(errors="replace")).name.encode()


class Peak:
    """Peak proportional memory (PSS, so shared pages count once) while a block runs:
    watcher's processes (this one and its readers), and the browser's (Playwright's driver
    and Chromium's processes)."""

    def __init__(self) -> None:
        self.watcher, self.browser = 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            own = browser = 0
            for pid in proctree.tree(os.getpid()):
                if _is_python(pid):
                    own += _pss(pid)
                else:
                    browser += _pss(pid)
            self.watcher, self.browser = max(self.watcher, own), max(self.browser, browser)

    def __enter__(self) -> Peak:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


def measure(watchlist: Watchlist, label: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = Store(f"sqlite:///{folder}/bench.db")
        store.migrate()
        with start_readers(watchlist.settings) as readers:
            for name in ("first pass (stores)", "second pass (unchanged)"):
                with Peak() as peak:
                    started = time.monotonic()
                    results = run_pass(store, watchlist, reader=readers)
                    wall = time.monotonic() - started
                kinds: dict[str, int] = {}
                for result in results:
                    kinds[result.verdict.kind.value] = kinds.get(result.verdict.kind.value, 0) + 1
                print(
                    f"| {label} | {name} | {len(results) / wall:.2f} | {wall:.1f} s | "
                    f"{peak.watcher / 2**20:.0f} MiB | {peak.browser / 2**20:.0f} MiB | {kinds} |"
                )
        store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--pages", type=int, default=40)
    parser.add_argument("--browsers", type=int, default=2)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    articles = stories(args.corpus, args.pages)
    if not articles:
        print(f"no corpus pages under {args.corpus}", file=sys.stderr)
        return 2
    with site(articles) as port:
        settings = Settings(
            database="sqlite://",
            workers=args.workers,
            readers=2,
            browsers=args.browsers,
            deadline=timedelta(seconds=60),
            allow_networks=["127.0.0.1/32"],
            allowed_ports=[port],
        )
        base = f"http://127.0.0.1:{port}"
        plain = [Watch(url=f"{base}/plain/{i}") for i in range(len(articles))]
        browsed = [Watch(url=f"{base}/app/{i}", fetch="browser") for i in range(len(articles))]
        print(
            f"{len(articles)} pages, workers={args.workers}, readers=2, "
            f"browsers={args.browsers}, {os.cpu_count()} CPUs\n"
        )
        print(
            "| fetch | pass | checks/s | wall | peak PSS: watcher + readers | browser | verdicts |"
        )
        print("|---|---|---:|---:|---:|---:|---|")
        measure(Watchlist(settings=settings, watch=plain), "http")
        measure(Watchlist(settings=settings, watch=browsed), "browser")
        close_shared_pool()
    return 0


if __name__ == "__main__":
    sys.exit(main())
