"""A local site serving the shared corpus's real news pages, changing between passes.

Used by the reader stress test and by ``benchmarks/reader_stress.py``.
"""

from __future__ import annotations

import re
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread
from types import TracebackType


class CorpusSite(ThreadingHTTPServer):
    """Serves corpus pages; each pass adds fresh noise, and on odd passes a third of the
    URLs serve another corpus page (a rewrite)."""

    def __init__(self, pages: list[bytes]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.pages = pages
        self.round = 0

    def __enter__(self) -> CorpusSite:
        Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.shutdown()
        self.server_close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"

    def paths(self) -> list[str]:
        return [f"/p{i}" for i in range(len(self.pages))]

    def body(self, index: int) -> bytes:
        shift = 1 if self.round % 2 and index % 3 == 0 else 0
        page = self.pages[(index + shift) % len(self.pages)]
        noise = f"<div class=clock>{self.round}:{index}:{time.time_ns()}</div>".encode()
        return page.replace(b"</body>", noise + b"</body>", 1)


class _Handler(BaseHTTPRequestHandler):
    server: CorpusSite

    def do_GET(self) -> None:
        match = re.fullmatch(r"/p(\d+)", self.path)
        body = self.server.body(int(match.group(1))) if match else b""
        self.send_response(200 if match else 404)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass
