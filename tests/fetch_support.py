"""Real loopback servers for the fetch tests: raw TCP behaviours, an HTTP forward proxy, SOCKS5.

pytest-httpserver covers well-behaved HTTP; these cover what it cannot script: bytes
dripped one at a time, headers that never come, bodies that never end, and proxies.
"""

from __future__ import annotations

import contextlib
import http.client
import http.server
import select
import shutil
import socket
import ssl
import struct
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

Handler = Callable[[socket.socket, threading.Event], None]

LOOPBACK = "127.0.0.1"
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "proxy-authorization", "transfer-encoding"}
)


class RawServer:
    """A loopback TCP server that runs ``handler(conn, stopping)`` on each connection.

    Handlers wait with ``stopping.wait(...)`` so that closing the server ends them at
    once, however long the behaviour they simulate would otherwise last.
    """

    def __init__(self, handler: Handler, ssl_context: ssl.SSLContext | None = None) -> None:
        self._handler = handler
        self._ssl_context = ssl_context
        self._listener = socket.create_server((LOOPBACK, 0))
        self._listener.settimeout(0.05)
        self.port: int = self._listener.getsockname()[1]
        self.stopping = threading.Event()
        self.connections = 0
        self._open: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True)

    def url(self, path: str = "/", host: str = LOOPBACK) -> str:
        scheme = "https" if self._ssl_context else "http"
        return f"{scheme}://{host}:{self.port}{path}"

    def __enter__(self) -> RawServer:
        self._acceptor.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stopping.set()
        self._acceptor.join(timeout=2)
        self._listener.close()
        for conn in self._open:  # unblock handlers waiting on a client that keeps alive
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(timeout=2)

    def _accept_loop(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            self._open.append(conn)
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(5)
            if self._ssl_context is not None:
                conn = self._ssl_context.wrap_socket(conn, server_side=True)
            self._handler(conn, self.stopping)
        except OSError:
            pass  # the client hung up on purpose: that is what most of these tests provoke
        finally:
            conn.close()


def read_request(conn: socket.socket) -> bytes:
    """Read one request head (up to the blank line) and return it."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def response_head(status: int, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} {http.client.responses.get(status, 'Unknown')}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class ForwardProxy:
    """A minimal HTTP forward proxy on loopback: absolute-URI GETs, relayed and recorded."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        proxy = self

        class _Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                proxy.seen.append(self.path)
                target = urlsplit(self.path)
                if target.hostname not in (LOOPBACK, "localhost") or target.port is None:
                    self.send_error(403, "this proxy only reaches loopback")
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                path = target.path + (f"?{target.query}" if target.query else "")
                upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=5)
                try:
                    upstream.request("GET", path or "/", headers=headers)
                    reply = upstream.getresponse()
                    body = reply.read()
                    self.send_response(reply.status)
                    for name, value in reply.getheaders():
                        if name.lower() not in _HOP_BY_HOP | {"content-length"}:
                            self.send_header(name, value)
                    self.send_header("Via", "1.1 test-proxy")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                finally:
                    upstream.close()

            def log_message(self, format: str, *args: object) -> None:
                pass  # keep test output clean

        self._server = http.server.ThreadingHTTPServer((LOOPBACK, 0), _Handler)
        self.url = f"http://{LOOPBACK}:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self) -> ForwardProxy:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=2)


class Socks5Proxy:
    """A minimal SOCKS5 proxy (no auth, CONNECT only) that only reaches loopback.

    Records the destination as the client named it, so a test can tell a hostname
    resolved by the proxy (socks5h) from an address resolved locally (socks5).
    """

    def __init__(self) -> None:
        self.destinations: list[tuple[str, int]] = []
        self._server = RawServer(self._handle)
        self.url = f"socks5h://{LOOPBACK}:{self._server.port}"

    def __enter__(self) -> Socks5Proxy:
        self._server.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.__exit__(exc_type, exc, tb)

    def _handle(self, conn: socket.socket, stopping: threading.Event) -> None:
        _version, n_methods = _recv_exact(conn, 2)
        _recv_exact(conn, n_methods)
        conn.sendall(b"\x05\x00")  # no authentication
        _version, _command, _reserved, address_type = _recv_exact(conn, 4)
        if address_type == 1:
            host = socket.inet_ntoa(_recv_exact(conn, 4))
        elif address_type == 3:
            host = _recv_exact(conn, _recv_exact(conn, 1)[0]).decode("idna")
        else:
            conn.sendall(b"\x05\x08\x00\x01" + bytes(6))  # address type not supported
            return
        (port,) = struct.unpack("!H", _recv_exact(conn, 2))
        self.destinations.append((host, port))
        if host not in (LOOPBACK, "localhost"):
            conn.sendall(b"\x05\x02\x00\x01" + bytes(6))  # not allowed by ruleset
            return
        with socket.create_connection((LOOPBACK, port), timeout=5) as upstream:
            conn.sendall(b"\x05\x00\x00\x01" + socket.inet_aton(LOOPBACK) + struct.pack("!H", 0))
            _relay(conn, upstream, stopping)


def _recv_exact(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise ConnectionError("peer closed during SOCKS handshake")
        data += chunk
    return data


def _relay(a: socket.socket, b: socket.socket, stopping: threading.Event) -> None:
    peers = {a: b, b: a}
    while not stopping.is_set():
        readable, _, _ = select.select(list(peers), [], [], 0.05)
        for sock in readable:
            data = sock.recv(65536)
            if not data:
                return
            peers[sock].sendall(data)


def make_self_signed_cert(directory: Path) -> tuple[Path, Path] | None:
    """Write a self-signed certificate for 127.0.0.1; None when openssl is missing."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key
