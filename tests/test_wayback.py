"""archive = ["wayback"]: Save Page Now against a local stand-in, through the outbox."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.factories import T0, make_article, make_fetch_result
from watcher.alerts.notify import deliver_due
from watcher.alerts.wayback import MIN_INTERVAL, ROUTE
from watcher.check.gather import version_record
from watcher.config import Watchlist
from watcher.store.store import ChangeDraft, Store

URL = "https://news.example/2026/bridge"


@dataclass
class SavePageNow:
    """Answers /save/URL like the archive: a redirect to /web/TIMESTAMP/URL; can be told
    to refuse the next requests with 429."""

    port: int = 0
    asked: list[str] = field(default_factory=list)
    busy: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/save/"


@pytest.fixture
def archive() -> Iterator[SavePageNow]:
    stand_in = SavePageNow()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            target = self.path.removeprefix("/save/")
            with stand_in.lock:
                stand_in.asked.append(target)
                refused = stand_in.busy > 0
                stand_in.busy -= int(refused)
            self.send_response(429 if refused else 302)
            if not refused:
                self.send_header("Location", f"/web/20261129120000/{target}")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    stand_in.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stand_in
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def watchlist(archive: SavePageNow, **watch: Any) -> Watchlist:
    return Watchlist.model_validate(
        {
            "settings": {"wayback_endpoint": archive.endpoint},
            "watch": [{"url": URL, "archive": ["wayback"], **watch}],
        }
    )


def store_change(db: Store, routes: tuple[str, ...], n: int = 0) -> int:
    """A confirmed change with its outbox rows, as the pipeline writes it."""
    page_id = db.sync_pages([(URL, "Bridge")], T0)[URL]
    at = T0 + timedelta(seconds=n)
    draft = ChangeDraft("changed", ("body",), None, "body edited", 1, 1, at)
    _, change_id = db.record_version(
        page_id,
        version_record(
            make_fetch_result(f"<p>{n}</p>", url=URL, fetched_at=at),
            make_article(f"Version {n}."),
            state="ok",
            removal=None,
            reader="",
            locator=None,
        ),
        change=draft,
        previous_snapshot_id=None,
        alerts=routes,
        alert_event={"summary": "body edited", "parts": ["body"]},
    )
    assert change_id is not None
    return change_id


def test_archive_on_a_watch_adds_the_capture_route() -> None:
    """A watch with archive = ["wayback"] (or a route with it) gets the capture route."""
    listed = Watchlist.model_validate(
        {
            "notify": {"desk": {"urls": ["json://127.0.0.1/"], "archive": ["wayback"]}},
            "watch": [
                {"url": URL, "archive": ["wayback"]},
                {"url": "https://b.example/", "notify": ["desk"]},
                {"url": "https://c.example/"},
            ],
        }
    )
    assert listed.routes_for(listed.watch[0]) == (ROUTE,)
    assert listed.routes_for(listed.watch[1]) == ("desk", ROUTE)
    assert listed.routes_for(listed.watch[2]) == ()


def test_a_confirmed_change_is_captured_and_recorded(db: Store, archive: SavePageNow) -> None:
    """The page URL goes to Save Page Now; the capture's URL is stored on the change."""
    change_id = store_change(db, (ROUTE,))
    deliver_due(db, watchlist(archive), now=T0, owner="test")
    assert archive.asked == [URL]
    change = db.get_change(change_id)
    assert change is not None
    assert change.archive_url == f"{archive.endpoint[:-6]}/web/20261129120000/{URL}"
    assert db.outbox.alert_counts()["pending"] == 0


def test_captures_are_spaced_and_refusals_back_off(db: Store, archive: SavePageNow) -> None:
    """Two changes are captured MIN_INTERVAL apart; a 429 is retried later, not at once."""
    first, second = store_change(db, (ROUTE,), 0), store_change(db, (ROUTE,), 1)
    listed = watchlist(archive)
    deliver_due(db, listed, now=T0, owner="test")
    assert archive.asked == [URL], "the second capture waits"
    deliver_due(db, listed, now=T0 + MIN_INTERVAL / 2, owner="test")
    assert len(archive.asked) == 1
    archive.busy = 1
    deliver_due(db, listed, now=T0 + MIN_INTERVAL, owner="test")
    assert len(archive.asked) == 2, "refused with 429"
    deliver_due(db, listed, now=T0 + MIN_INTERVAL + timedelta(seconds=30), owner="test")
    assert len(archive.asked) == 2, "backing off"
    deliver_due(db, listed, now=T0 + MIN_INTERVAL + timedelta(minutes=3), owner="test")
    assert len(archive.asked) == 3
    captured = [db.get_change(first), db.get_change(second)]
    assert all(c is not None and c.archive_url for c in captured)
