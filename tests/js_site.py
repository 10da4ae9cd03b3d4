"""A local news site that renders its article with JavaScript from a JSON endpoint.

``/story`` is an app shell: an empty ``<div id="root">`` and a script that fetches
``/api/story.json`` and writes headline, byline, dateline and body into the page. The
test edits ``JsSite.story`` or makes the endpoint answer 404. ``/beacon-story`` also tries
to ``fetch()`` a beacon URL, ``/never-settles`` keeps the network busy forever.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

BODY = (
    "The city council voted on Tuesday to close the old harbour bridge to cars from March, "
    "after engineers found corrosion in three of its steel supports.",
    "The mayor said the decision was painful but unavoidable. Buses and bicycles will still "
    "cross the bridge while repairs are planned over the next two years.",
    "Shop owners on the north bank warned that fewer visitors would reach them, and asked "
    "the council for help with parking and signs during the works.",
)
SHELL = """<!doctype html><html><head><meta charset="utf-8"><title>Harbour Daily</title>
<script>
window.BEACON = %(beacon)s;
function render(story) {
  var root = document.getElementById("root");
  if (!story) { root.innerHTML = "<h1>Page not found</h1>"; return; }
  var html = "<article><h1>" + story.headline + "</h1>" +
    "<p class=byline>By " + story.byline + "</p>" +
    "<time datetime=" + story.date + ">" + story.date + "</time>";
  story.body.forEach(function (p) { html += "<p>" + p + "</p>"; });
  root.innerHTML = html + "</article>";
}
fetch("/api/story.json").then(function (r) { return r.ok ? r.json() : null; })
  .then(render, function () { render(null); });
if (window.BEACON) {
  fetch(window.BEACON).catch(function () {});
  navigator.sendBeacon && navigator.sendBeacon(window.BEACON + "-send");
  new Image().src = window.BEACON + "-img";
}
%(extra)s
</script></head><body><div id="root"></div></body></html>"""
NEVER_SETTLES = "setInterval(function () { fetch('/api/tick?' + Math.random()); }, 100);"


@dataclass
class JsSite:
    """The site's state: its story (None: the endpoint answers 404) and what it served."""

    port: int = 0
    story: dict[str, Any] | None = None
    beacon: str | None = None
    hits: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str = "story") -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    def edit(self, paragraph: int, text: str) -> None:
        assert self.story is not None
        body = list(self.story["body"])
        body[paragraph] = text
        self.story = {**self.story, "body": body}


def first_story() -> dict[str, Any]:
    return {
        "headline": "Council closes the harbour bridge to cars",
        "byline": "Maria Jensen",
        "date": "2026-11-19",
        "body": list(BODY),
    }


@contextmanager
def js_site(host: str = "127.0.0.1") -> Iterator[JsSite]:
    """Serve the site on ``host`` (a loopback address) and a free port."""
    site = JsSite(story=first_story())

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with site.lock:
                site.hits.append(self.path)
            path = self.path.split("?", 1)[0]
            if path in ("/story", "/beacon-story", "/never-settles"):
                beacon = json.dumps(site.beacon if path == "/beacon-story" else None)
                extra = NEVER_SETTLES if path == "/never-settles" else ""
                self._reply(
                    200, "text/html; charset=utf-8", SHELL % {"beacon": beacon, "extra": extra}
                )
            elif path == "/api/story.json" and site.story is not None:
                self._reply(200, "application/json", json.dumps(site.story))
            elif path == "/api/tick":
                self._reply(200, "text/plain", "tick")
            else:
                self._reply(404, "text/plain", "not found")

        def _reply(self, status: int, kind: str, text: str) -> None:
            data = text.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with _serving(host, Handler) as port:
        site.port = port
        yield site


@dataclass
class Beacon:
    """A server that records every request: a page's scripts must never reach it."""

    port: int = 0
    hits: list[str] = field(default_factory=list)

    def url(self, path: str = "beacon") -> str:
        return f"http://{self.host}:{self.port}/{path}"

    host: str = "127.0.0.1"


@contextmanager
def beacon_server(host: str = "127.0.0.1") -> Iterator[Beacon]:
    found = Beacon(host=host)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found.hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.send_header("Access-Control-Allow-Origin", "*")
            self.end_headers()
            self.wfile.write(b"ok")

        do_POST = do_GET

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with _serving(host, Handler) as port:
        found.port = port
        yield found


@contextmanager
def _serving(host: str, handler: type[BaseHTTPRequestHandler]) -> Iterator[int]:
    """Serve ``handler`` on ``host`` and a free port, from a thread; yields the port."""
    server = ThreadingHTTPServer((host, 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
