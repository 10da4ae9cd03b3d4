"""``watcher demo``: a local news site that edits and deletes articles, watched by the daemon.

Everything runs on loopback in a temporary directory (SQLite default), so a newcomer sees
an edit caught, a removal caught and the page noise ignored, with no internet and no setup.
"""

from __future__ import annotations

import logging
import random
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TextIO

from watcher.check.pipeline import snapshot_article
from watcher.config import load_watchlist
from watcher.render import render_diff
from watcher.service.daemon import Daemon, DaemonOptions
from watcher.store.models import Change
from watcher.store.store import Store

logger = logging.getLogger(__name__)

_BRIDGE = (
    "Minister resigns over bridge contract",
    "Jane Doe",
    (
        "The transport minister resigned on Friday after documents showed that the contract "
        "for the new river bridge was awarded without a public tender.",
        "Opposition leaders said at least 14 officials had been questioned by investigators "
        "in the past two weeks, and called for a parliamentary inquiry.",
        "The minister denied any wrongdoing in a short statement posted late on Thursday.",
    ),
)
_BRIDGE_EDIT = ("at least 14 officials", "several officials")
_FLOOD = (
    "Flood relief funds went missing, audit finds",
    "Wang Wei",
    (
        "An audit published on Monday found that a third of the money raised for flood "
        "relief in the province cannot be accounted for.",
        "The auditors said receipts for 2.4 million yuan were missing or forged.",
    ),
)
_FACTORY = (
    "化工厂爆炸事故致十二人死亡",
    "李娜",
    (
        "据当地应急管理部门通报，位于工业园区的一家化工厂于周五凌晨发生爆炸，"
        "事故造成十二人死亡、三十人受伤，伤者已被送往附近医院救治。",
        "事故发生后，省政府立即成立调查组，调查组已于当天上午进驻现场，"
        "事故原因正在进一步调查之中，相关企业负责人已被警方控制。",
        "当地居民表示，爆炸声在数公里外都能听到，附近多栋居民楼的玻璃被震碎，"
        "部分居民已被疏散到临时安置点。",
        "应急管理部门提醒周边群众关闭门窗，减少外出，并密切关注官方发布的最新信息。",
    ),
)
_ADS = ("Cheap flights to Rome", "New phone, half price", "Learn piano in a week", "Shoes -40%")
_RELATED = ("Storm closes airport", "Rail strike called off", "Museum reopens", "Budget vote")


@dataclass(frozen=True, slots=True)
class DemoTiming:
    """When the site changes, and how often the daemon looks (seconds)."""

    every: float = 5.0
    edit_after: float = 12.0
    remove_after: float = 24.0
    settle: float = 11.0  # quiet time after the removal, to show no false alarm follows
    timeout: float = 90.0


class DemoSite:
    """Three articles; every response carries fresh ads, clocks, counters and nonces."""

    def __init__(self, timing: DemoTiming) -> None:
        self.timing = timing
        self.started = time.monotonic()
        self.requests = 0
        self._lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, body = site.respond(self.path)
                data = body.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                pass  # the demo prints its own story

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def start(self) -> None:
        self.started = time.monotonic()
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def respond(self, path: str) -> tuple[int, str]:
        with self._lock:
            self.requests += 1
        elapsed = self.elapsed()
        if path == "/news/bridge-minister-resigns":
            title, byline, paragraphs = _BRIDGE
            if elapsed >= self.timing.edit_after:
                old, new = _BRIDGE_EDIT
                return 200, _page(title, byline, tuple(p.replace(old, new) for p in paragraphs))
            return 200, _page(title, byline, paragraphs)
        if path == "/news/flood-relief-audit":
            if elapsed >= self.timing.remove_after:
                return 404, _page("Page not found", "", ("Sorry, this page does not exist.",), "en")
            return 200, _page(*_FLOOD, "en")
        if path == "/news/factory-explosion":
            return 200, _page(*_FACTORY, "zh-CN")
        return 404, _page("Page not found", "", ("Sorry, this page does not exist.",), "en")


def _page(title: str, byline: str, paragraphs: tuple[str, ...], lang: str = "en") -> str:
    rng = random.Random()
    related = list(_RELATED)
    rng.shuffle(related)
    body = "\n".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    links = "".join(f'<li><a href="/r/{rng.randrange(10**6)}">{r}</a></li>' for r in related)
    by = f'<p class="byline">By {escape(byline)}</p>' if byline else ""
    return f"""<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">
<title>{escape(title)} | Demo News</title>
<script>window.nonce="{rng.getrandbits(64):x}";</script></head><body>
<header><a href="/">Demo News</a> <span class="clock">{time.strftime("%H:%M:%S")}</span></header>
<div class="ad" id="ad-{rng.getrandbits(32):x}">{rng.choice(_ADS)}</div>
<main><article><h1>{escape(title)}</h1>{by}
{body}
</article><aside><h2>Related</h2><ul>{links}</ul></aside>
<section class="comments">{rng.randrange(500)} comments</section></main>
<footer>Demo News, {rng.randrange(10**6)} readers online</footer></body></html>"""


def _watchlist(site: DemoSite, directory: Path, every: float) -> Path:
    path = directory / "watcher.toml"
    path.write_text(
        f"""# The demo's watchlist: three articles on a local site, checked every {every:g}s.
[settings]
database = "sqlite:///watcher.db"
allow_private = true                 # the demo site listens on 127.0.0.1
every = "{every:g}s"
per_host = 4
host_delay = "100ms"
timeout = "5s"
deadline = "10s"

[[watch]]
url = "{site.base}/news/bridge-minister-resigns"
name = "Minister resigns over bridge contract"

[[watch]]
url = "{site.base}/news/flood-relief-audit"
name = "Flood relief audit"

[[watch]]
url = "{site.base}/news/factory-explosion"
name = "化工厂爆炸事故"
""",
        encoding="utf-8",
    )
    return path


@dataclass(frozen=True, slots=True)
class DemoOutcome:
    """What the daemon reported while the site changed."""

    edits: int
    removals: int
    false_alarms: int
    checks: int
    seconds: float

    @property
    def is_as_expected(self) -> bool:
        return self.edits == 1 and self.removals == 1 and self.false_alarms == 0


def run_demo(out: TextIO, timing: DemoTiming | None = None) -> DemoOutcome:
    """Run the site and the daemon until the edit and the removal are seen (or time runs out)."""
    timing = timing or DemoTiming()
    site = DemoSite(timing)
    with tempfile.TemporaryDirectory(prefix="watcher-demo-") as tmp:
        directory = Path(tmp)
        site.start()
        config = _watchlist(site, directory, timing.every)
        watchlist = load_watchlist(config)
        store = Store(f"sqlite:///{directory / 'watcher.db'}")
        store.migrate()
        say = _printer(out, site)
        say(f"local news site at {site.base}, database and watchlist in {directory}")
        say(
            f"watching 3 articles every {timing.every:g}s; one will be edited at "
            f"~{timing.edit_after:g}s, one deleted at ~{timing.remove_after:g}s; "
            "every page load changes its ads, clock, counters and nonce"
        )
        daemon = Daemon(
            store,
            watchlist,
            config_path=config,
            options=DaemonOptions(tick_seconds=0.5, deliver_seconds=60.0, status_seconds=60.0),
        )
        counts = {"edits": 0, "removals": 0, "false": 0}
        done = threading.Event()
        watcher_thread = threading.Thread(
            target=_watch_changes,
            args=(store, daemon, site, timing, say, counts, done),
            daemon=True,
        )
        watcher_thread.start()
        try:
            daemon.run()
        finally:
            done.set()
            watcher_thread.join(timeout=5)
            site.close()
            store.close()
        outcome = DemoOutcome(
            counts["edits"], counts["removals"], counts["false"], daemon.checks_done, site.elapsed()
        )
        verdict = "as expected" if outcome.is_as_expected else "NOT as expected"
        say(
            f"done: {outcome.edits} edit, {outcome.removals} removal, "
            f"{outcome.false_alarms} false alarms in {outcome.checks} checks ({verdict})"
        )
        return outcome


def _watch_changes(
    store: Store,
    daemon: Daemon,
    site: DemoSite,
    timing: DemoTiming,
    say: Callable[[str], None],
    counts: dict[str, int],
    done: threading.Event,
) -> None:
    """Report each change as it is stored; stop the daemon once both are seen and the
    quiet time after them has passed, or at the timeout."""
    seen: set[int] = set()
    # quiet time after the removal, and after both changes were seen: on a slow machine
    # the first checks may come after the removal itself
    deadline = timing.remove_after + timing.settle
    while not done.is_set():
        for change in store.changes():
            if change.id is None or change.id in seen:
                continue
            seen.add(change.id)
            _report(say, store, change, counts, site.elapsed(), timing)
        finished = counts["edits"] >= 1 and counts["removals"] >= 1
        if not finished:
            deadline = max(deadline, site.elapsed() + timing.settle)
        if (finished and site.elapsed() >= deadline) or site.elapsed() > timing.timeout:
            daemon.stop()
            return
        done.wait(0.25)


def _printer(out: TextIO, site: DemoSite) -> Callable[[str], None]:
    def say(message: str) -> None:
        out.write(f"[{site.elapsed():5.1f}s] {message}\n")
        out.flush()

    return say


def _report(
    say: Callable[[str], None],
    store: Store,
    change: Change,
    counts: dict[str, int],
    elapsed: float,
    timing: DemoTiming,
) -> None:
    page = store.get_page(change.page_id)
    name = page.name if page else f"page {change.page_id}"
    if change.kind == "new":
        say(f"first version stored: {name}")
        return
    expected_edit = change.kind == "changed" and "bridge" in (page.url if page else "")
    expected_removal = change.kind == "removed" and "flood" in (page.url if page else "")
    if expected_edit and elapsed >= timing.edit_after:
        counts["edits"] += 1
    elif expected_removal and elapsed >= timing.remove_after:
        counts["removals"] += 1
    else:
        counts["false"] += 1
        say(f"FALSE ALARM: {change.kind} {name}: {change.summary}")
        return
    say(f"{change.kind.upper()}: {name}: {change.summary}")
    if change.kind == "changed" and change.previous_snapshot_id is not None:
        old = store.get_snapshot(change.previous_snapshot_id)
        new = store.get_snapshot(change.snapshot_id)
        if old is not None and new is not None:
            diff = render_diff(snapshot_article(old), snapshot_article(new), color=False)
            for line in diff.splitlines():
                if line.strip():
                    say(f"    {line}")
