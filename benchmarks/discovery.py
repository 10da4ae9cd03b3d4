"""Following newsrooms: what age tiers save, and how soon a new article's first version is kept.

Two parts, both on the real code:

1. Volume. 50 sources publish 10,000 articles over a simulated month (uniformly, one
   article every ~4.3 minutes). Each article is checked from discovery on the schedule's
   own pace (``watcher.service.tiers.next_tier_check``, as the daemon schedules it) until
   it retires or the month ends, and on a flat 15-minute interval for comparison. A share
   of articles changes once in its first day, which puts it back on the first tier
   (``--change-share``). Source polls are counted in both.

2. Latency, from an item appearing in a feed to its first stored version. The real daemon
   on a real SQLite file polls 50 local feeds (``poll = 10m`` each, phases spread) while
   articles appear at random moments; the simulated clock moves a minute at a time and
   every due check really runs (fetch, reader process, store). Reported in simulated
   minutes (dominated by the poll interval: a new item waits for its feed's next poll) and
   the wall time the daemon took from the poll to the stored version.

    .venv/bin/python benchmarks/discovery.py [--articles 10000] [--sources 50] [--days 30]
        [--latency-articles 300] [--latency-hours 3]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from watcher.check.readers import ReaderPool
from watcher.config import Watchlist, parse_age_schedule
from watcher.service.daemon import Daemon
from watcher.service.tiers import next_tier_check
from watcher.store.store import Store

T0 = datetime(2026, 11, 1, tzinfo=UTC)
NEWS = ["5m for 6h", "30m for 2d", "6h for 30d", "retire"]
FLAT = timedelta(minutes=15)
POLL = timedelta(minutes=10)


def volume(articles: int, sources: int, days: int, change_share: float, seed: int) -> None:
    """Fetches per day: tiers against a flat interval, source polls included."""
    rng = random.Random(seed)
    schedule = parse_age_schedule(NEWS)
    end = T0 + timedelta(days=days)
    tiered: Counter[int] = Counter()
    flat: Counter[int] = Counter()
    span = (end - T0).total_seconds()
    for _ in range(articles):
        born = T0 + timedelta(seconds=rng.uniform(0, span))
        fast_until = None
        if rng.random() < change_share:
            # one confirmed change in the first day: fast again for 6 h after it
            fast_until = born + timedelta(hours=rng.uniform(0, 24) + 6)
        at = born
        while at < end:
            tiered[(at - T0).days] += 1
            step = next_tier_check(schedule, born, at, fast_until)
            if step.next_at is None:
                break
            at = step.next_at
        at = born
        while at < end:
            flat[(at - T0).days] += 1
            at += FLAT
    polls_per_day = sources * int(timedelta(days=1) / POLL)
    tier_days = [tiered[d] + polls_per_day for d in range(days)]
    flat_days = [flat[d] + polls_per_day for d in range(days)]
    print(f"volume: {articles} articles from {sources} sources over {days} days")
    print(f"  schedule {NEWS}, {change_share:.0%} change once in their first day")
    print(f"  source polls: {polls_per_day}/day (every {POLL})")
    print(f"  {'':24}{'mean/day':>12}{'last day':>12}{'month':>14}")
    for label, per_day in (("age tiers", tier_days), ("flat 15 minutes", flat_days)):
        print(
            f"  {label:<24}{statistics.mean(per_day):>12,.0f}{per_day[-1]:>12,}{sum(per_day):>14,}"
        )
    print(f"  tiers fetch {sum(tier_days) / sum(flat_days):.1%} of the flat interval's volume")


class _Feeds:
    """50 RSS feeds and their articles on 127.0.0.1; items appear when the test says so."""

    def __init__(self, sources: int) -> None:
        self.items: list[list[str]] = [[] for _ in range(sources)]
        self.lock = threading.Lock()
        feeds = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body, kind = feeds.answer(self.path)
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, path: str) -> tuple[bytes, str]:
        if path.startswith("/feed/"):
            index = int(path.split("/")[2])
            with self.lock:
                links = list(self.items[index][-30:])  # a feed shows its newest 30
            items = "".join(
                f"<item><title>{p}</title><link>{self.base}{p}</link></item>" for p in links
            )
            body = f"<rss version='2.0'><channel><title>f{index}</title>{items}</channel></rss>"
            return body.encode(), "application/rss+xml"
        paragraph = f"<p>Article {path} reports on the council's budget vote, {'word ' * 40}</p>"
        page = (
            f"<html><head><title>{path}</title></head><body><article><h1>Story {path}</h1>"
            f"{paragraph * 5}</article></body></html>"
        )
        return page.encode(), "text/html; charset=utf-8"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def latency(sources: int, articles: int, hours: float, seed: int) -> None:
    """Appearance in a feed -> first stored version, with the real daemon and store."""
    rng = random.Random(seed)
    feeds = _Feeds(sources)
    span = timedelta(hours=hours)
    arrivals = sorted(
        (T0 + timedelta(seconds=rng.uniform(0, span.total_seconds())), rng.randrange(sources), n)
        for n in range(articles)
    )
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{tmp}/bench.db")
        store.migrate()
        watchlist = Watchlist.model_validate(
            {
                "settings": {
                    "allow_private": True,
                    "host_delay": "1ms",
                    "per_host": 8,
                    "workers": 4,
                },
                "source": [
                    {
                        "url": f"{feeds.base}/feed/{i}",
                        "poll": "10m",
                        "schedule": ["30m for 6h", "retire"],
                    }
                    for i in range(sources)
                ],
            }
        )
        clock = _Clock()
        readers = ReaderPool(2, timeout_seconds=60)
        daemon = Daemon(store, watchlist, clock=clock, readers=readers)
        daemon.start()
        # spread the feeds' first polls over one poll interval, as a running daemon would
        for index, record in enumerate(store.sources.sources()):
            store.sources.record_failure(
                record.id or 0, T0, "", next_poll_at=T0 + POLL * index / sources
            )
        appeared: dict[str, datetime] = {}
        first_version: dict[str, datetime] = {}
        processing: list[float] = []
        pending = list(arrivals)
        checks = 0
        wall_started = time.perf_counter()
        while clock.now <= T0 + span + POLL:
            while pending and pending[0][0] <= clock.now:
                at, source, n = pending.pop(0)
                path = f"/a/{n}"
                with feeds.lock:
                    feeds.items[source].append(path)
                appeared[f"{feeds.base}{path}"] = at
            polled = time.perf_counter()
            daemon.poll_sources()
            minute = clock.now
            while True:
                started = daemon.tick()
                daemon.wait_idle(120)
                checks += started
                if started == 0 and daemon.pending() == 0:
                    break
                clock.now += timedelta(milliseconds=1)  # host_delay spaces starts on one host
            done = time.perf_counter()
            clock.now = minute
            for page in store.all_pages():
                if page.url in appeared and page.url not in first_version and page.last_checked_at:
                    first_version[page.url] = clock.now  # stored before the clock moved on
                    processing.append(done - polled)
            clock.now += timedelta(minutes=1)
        wall = time.perf_counter() - wall_started
        waits = [(first_version[u] - appeared[u]).total_seconds() / 60 for u in first_version]
        daemon.shutdown(timeout=60)
        readers.close(kill=True)
        store.close()
    feeds.close()
    captured = len(waits)
    print(f"latency: {articles} articles appearing in {sources} feeds over {hours:g} h (simulated)")
    print(f"  feeds polled every {POLL}; first versions stored: {captured}/{articles}")
    print(f"  checks run: {checks}")
    print(
        f"  item appears -> first version (simulated minutes): p50 {_pct(waits, 50):.1f}, "
        f"p99 {_pct(waits, 99):.1f}, max {max(waits):.1f}"
    )
    print(
        f"  poll -> version stored (wall seconds, this machine): p50 {_pct(processing, 50):.2f}, "
        f"p99 {_pct(processing, 99):.2f}"
    )
    print(f"  wall time {wall:.0f} s")


def _pct(values: list[float], pct: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, len(ordered) * pct // 100)] if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--sources", type=int, default=50)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--change-share", type=float, default=0.1)
    parser.add_argument("--latency-articles", type=int, default=300)
    parser.add_argument("--latency-hours", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    volume(args.articles, args.sources, args.days, args.change_share, args.seed)
    print()
    latency(args.sources, args.latency_articles, args.latency_hours, args.seed)


if __name__ == "__main__":
    main()
