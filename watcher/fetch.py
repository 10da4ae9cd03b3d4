"""Fetch one page over HTTP and return what the server said (edge, I/O).

A 404/410/451 or a redirect is data in ``FetchResult``; ``FetchError`` is raised
only when no usable response arrived (DNS, connect, TLS, timeout, deadline, body cap).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import requests

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Hop:
    """One redirect hop: the URL asked, the status it answered, where it pointed."""

    url: str
    status: int
    location: str


@dataclass(frozen=True, slots=True)
class FetchOptions:
    """How to fetch one watch; defaults suit news sites."""

    user_agent: str = "watcher/0.1"
    connect_timeout_seconds: float = 10.0
    read_timeout_seconds: float = 20.0
    deadline_seconds: float = 60.0
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 10
    headers: Mapping[str, str] = field(default_factory=dict)
    cookies: Mapping[str, str] = field(default_factory=dict)
    proxy: str | None = None  # http://, https://, socks5://, socks5h://
    verify_tls: bool = True


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What the server answered, final hop included; ``text`` is the decoded body."""

    url: str  # as requested
    final_url: str
    status: int  # 304 means not modified: body is empty
    headers: Mapping[str, str]  # final response headers (lower-cased names)
    body: bytes  # decompressed body bytes, at most FetchOptions.max_bytes
    text: str  # body decoded with ``encoding`` ("" for 304 and empty bodies)
    encoding: str  # codec used to decode ``body`` (e.g. "utf-8", "gb18030")
    redirects: tuple[Hop, ...]
    fetched_at: datetime  # timezone-aware UTC
    elapsed_seconds: float

    @property
    def is_not_modified(self) -> bool:
        return self.status == 304


def fetch_page(
    session: requests.Session,
    url: str,
    options: FetchOptions,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
) -> FetchResult:
    """Fetch ``url`` following redirects hop by hop, bounded in time and size."""
    raise NotImplementedError
