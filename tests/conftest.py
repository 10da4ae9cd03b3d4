"""Shared fixtures: ``db`` is a migrated ``Store`` on SQLite and on PostgreSQL.

Each PostgreSQL test gets its own schema (dropped afterwards) in the server on
127.0.0.1:5432, or ``WATCHER_TEST_POSTGRES_URL``. Without the server the postgres cases
skip locally and fail under CI, so a broken service never passes as green.
"""

from __future__ import annotations

import email.policy
import json
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import hypothesis
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from watcher.check.readers import ReaderPool
from watcher.store.store import Store

POSTGRES_URL = os.environ.get(
    "WATCHER_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


# No per-example deadline: it is a timing assertion, and on a busy 2-core machine an
# example that takes 1 ms once took 343 ms. Speed is measured in benchmarks/.
hypothesis.settings.register_profile("watcher", deadline=None)
hypothesis.settings.load_profile("watcher")

_SHARED_READERS: list[ReaderPool] = []


def shared_readers() -> ReaderPool:
    """Real reader processes, one pool for the whole test session (closed at its end);
    a test whose daemon killed them on shutdown gets a new pool for the next test."""
    if not _SHARED_READERS or _SHARED_READERS[-1].is_closed:
        _SHARED_READERS.append(ReaderPool(2, timeout_seconds=60))
    return _SHARED_READERS[-1]


@pytest.fixture(scope="session", autouse=True)
def _close_shared_readers() -> Iterator[None]:
    yield
    for pool in _SHARED_READERS:
        pool.close(kill=True)


@pytest.fixture
def readers() -> ReaderPool:
    """The test session's reader processes, for tests that check pages."""
    return shared_readers()


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Engine]:
    """An autocommit engine on the test server that creates and drops test schemas."""
    engine = create_engine(
        POSTGRES_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5}
    )
    try:
        with engine.connect():
            pass
    except SQLAlchemyError as exc:
        engine.dispose()
        shown = make_url(POSTGRES_URL).render_as_string(hide_password=True)
        reason = f"PostgreSQL at {shown} is unreachable: {exc.__cause__ or exc}"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI must run the postgres tests)", pytrace=False)
        pytest.skip(reason)
    yield engine
    engine.dispose()


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'db' / 'watcher.db'}"
        return
    admin: Engine = request.getfixturevalue("postgres_admin")
    schema = f"test_{uuid.uuid4().hex[:16]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in POSTGRES_URL else "?"
    # libpq's "options" sets search_path for every connection of the engine under test
    yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    with admin.connect() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture
def db(db_url: str) -> Iterator[Store]:
    """A migrated store; afterwards every connection must be back in the pool."""
    store = Store(db_url)
    try:
        store.migrate()
        yield store
        checked_out = store.engine.pool.checkedout()  # type: ignore[attr-defined]
        assert checked_out == 0, f"{checked_out} database connections leaked"
    finally:
        store.close()


# --- notification endpoints: a real SMTP server and a stand-in for Slack's webhook ---


@dataclass
class SmtpServer:
    """aiosmtpd on loopback; ``messages`` are the parsed emails as they arrived."""

    port: int
    messages: list[EmailMessage] = field(default_factory=list)

    def url(self, to: str = "desk@example.org") -> str:
        return f"mailto://127.0.0.1:{self.port}?from=watcher@example.org&to={to}"


class _SmtpHandler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_DATA(self, _server: object, _session: object, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        parsed = BytesParser(policy=email.policy.default).parsebytes(raw)
        assert isinstance(parsed, EmailMessage)
        self.server.messages.append(parsed)
        return "250 OK"


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    """A real SMTP server on 127.0.0.1 (free port); apprise's email throttle is off."""
    from apprise.plugins.email import NotifyEmail

    monkeypatch.setattr(NotifyEmail, "request_rate_per_sec", 0)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = SmtpServer(port)
    controller = Controller(_SmtpHandler(server), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


@dataclass
class SlackEndpoint:
    """Stands in for hooks.slack.com: records JSON payloads, can be told to fail."""

    port: int
    payloads: list[dict[str, Any]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    failures: int = 0  # the next N posts get a 500
    refused: int = 0  # how many posts got a 500
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, tokens: str = "T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX") -> str:
        return f"slack://{tokens}"

    @property
    def texts(self) -> list[str]:
        return [p["attachments"][0]["text"] for p in self.payloads]


@pytest.fixture
def slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlackEndpoint]:
    """A local HTTP endpoint answering ``ok``; apprise's real Slack plugin posts to it."""
    from apprise.plugins.slack import NotifySlack

    endpoint = SlackEndpoint(0)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with endpoint.lock:
                failing = endpoint.failures > 0
                if failing:
                    endpoint.failures -= 1
                    endpoint.refused += 1
                else:
                    endpoint.payloads.append(json.loads(body))
                    endpoint.paths.append(self.path)
            reply = b"internal_error" if failing else b"ok"
            self.send_response(500 if failing else 200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    endpoint.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setattr(NotifySlack, "webhook_url", f"http://127.0.0.1:{endpoint.port}/services")
    monkeypatch.setattr(NotifySlack, "request_rate_per_sec", 0)
    try:
        yield endpoint
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# --- several processes on one PostgreSQL database ---


@pytest.fixture
def postgres_url(postgres_admin: Engine) -> Iterator[str]:
    """A fresh PostgreSQL schema for tests that start several daemons (no SQLite variant)."""
    schema = f"test_{uuid.uuid4().hex[:16]}"
    with postgres_admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in POSTGRES_URL else "?"
    yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    with postgres_admin.connect() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
