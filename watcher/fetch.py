"""Fetch one page over HTTP and return what the server said (edge, I/O).

A 404/410/451 or a redirect is data in ``FetchResult``; ``FetchError`` is raised
only when no usable response arrived (DNS, connect, TLS, timeout, deadline, body cap).
Every fetch is bounded in time and decoded size, however slowly a server drips bytes,
and goes only where the network guard allows: each hop's URL, and the address each
connection is actually made to (``watcher.guard``).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import heapq
import itertools
import logging
import os
import re
import socket
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, cast
from urllib.parse import urljoin, urlsplit

import requests
import urllib3.exceptions
from requests.adapters import BaseAdapter, HTTPAdapter
from requests.cookies import extract_cookies_to_jar
from requests.utils import requote_uri, select_proxy
from urllib3.connection import HTTPConnection
from urllib3.connectionpool import HTTPConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util.connection import create_connection

from watcher.errors import BlockedError, FetchError
from watcher.guard import NetworkPolicy, check_address, check_url
from watcher.read.decode import decode_body
from watcher.read.refresh import refresh_target, script_target

logger = logging.getLogger(__name__)

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_READ_CHUNK_BYTES = 64 * 1024
# Credentials set for one watch must not follow a redirect to someone else's server.
_CREDENTIAL_HEADERS = frozenset({"authorization", "cookie"})
# The longest rest a server's Retry-After can impose on a page.
RETRY_AFTER_CAP = timedelta(hours=6)


@dataclass(frozen=True, slots=True)
class Hop:
    """One redirect hop: the URL asked, the status it answered, where it pointed."""

    url: str
    status: int
    location: str  # absolute URL, resolved against ``url``


@dataclass(frozen=True, slots=True)
class FetchOptions:
    """How to fetch one watch; defaults suit news sites."""

    user_agent: str = "watcher/0.1"
    connect_timeout_seconds: float = 10.0
    read_timeout_seconds: float = 20.0
    deadline_seconds: float = 60.0
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 10
    headers: Mapping[str, str] = field(default_factory=dict)  # may override User-Agent
    cookies: Mapping[str, str] = field(default_factory=dict)
    proxy: str | None = None  # http://, https://, socks5://, socks5h://
    verify_tls: bool = True  # True defers to session.verify (default: certifi's CAs)
    network: NetworkPolicy = field(default_factory=NetworkPolicy)  # where it may go (guard)


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
    fetched_at: datetime  # timezone-aware UTC, when the final response's headers arrived
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
    """Fetch ``url`` following redirects hop by hop, bounded in time and size.

    Redirects are followed here rather than by requests so that every hop is
    recorded as evidence and counted against the same deadline. The session supplies
    adapters, pools, default headers and its cookie jar (which keeps the cookies
    servers set); its response hooks are not run.
    """
    started = time.monotonic()
    _check_url(url, url, options)
    hop, hops = _follow(
        session,
        url,
        options,
        started + options.deadline_seconds,
        _conditional_headers(etag, last_modified),
    )
    text, encoding = decode_body(hop.body, hop.headers.get("content-type"))
    elapsed = time.monotonic() - started
    logger.debug(
        "fetched url=%s final_url=%s status=%s bytes=%d encoding=%s elapsed=%.3f",
        url,
        hop.url,
        hop.status,
        len(hop.body),
        encoding,
        elapsed,
    )
    return FetchResult(
        url=url,
        final_url=hop.url,
        status=hop.status,
        headers=hop.headers,
        body=hop.body,
        text=text,
        encoding=encoding,
        redirects=tuple(hops),
        fetched_at=hop.received_at,
        elapsed_seconds=elapsed,
    )


def _follow(
    session: requests.Session,
    url: str,
    options: FetchOptions,
    deadline: float,
    conditional: dict[str, str],
) -> tuple[_HopResult, list[Hop]]:
    """Every hop from ``url`` to the final response; credentials go only to the same site."""
    hops: list[Hop] = []
    current = url
    is_same_site = True
    while True:
        hop = _fetch_hop(
            session,
            url,
            current,
            options,
            deadline,
            conditional=conditional,
            with_credentials=is_same_site,
        )
        if hop.location is None:
            return hop, hops
        hops.append(Hop(hop.url, hop.status, hop.location))
        logger.debug("redirect url=%s status=%s location=%s", hop.url, hop.status, hop.location)
        if len(hops) > options.max_redirects:
            looped = len({h.url for h in hops}) < len(hops)
            reason = "redirect loop" if looped else "too many redirects"
            raise _error(url, current, f"{reason} (more than {options.max_redirects})")
        is_same_site = is_same_site and _is_same_site(url, hop.location)
        current = hop.location


def vet_url(url: str, options: FetchOptions) -> None:
    """Refuse ``url`` now if the guard would refuse it: its scheme, port, or any address its
    host resolves to today. An early, clear answer for a URL about to be watched; each
    fetch still judges the address it connects to, whatever the name says then."""
    _check_url(url, url, options)
    policy = options.network
    if options.proxy or policy.allow_private:
        return  # a proxy resolves names itself
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
        resolve_checked(parts.hostname or "", port, policy)
    except BlockedError as exc:
        raise _blocked(url, url, exc) from None
    except OSError as exc:
        raise _error(url, url, f"cannot resolve {parts.hostname}: {exc}") from exc


def resolve_checked(host: str, port: int, policy: NetworkPolicy) -> list[str]:
    """The addresses ``host`` resolves to, once; ``BlockedError`` if any is not allowed
    (one internal address among public ones is refused too)."""
    found = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
    addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
    for address in addresses:
        check_address(address, policy)
    return addresses


def open_session(user_agent: str) -> requests.Session:
    """A session for fetching pages, sent as ``user_agent``.

    With ``trust_env``, requests looks through the whole environment for proxy variables,
    CA bundles and a .netrc on every request: a large share of the checking process's
    time per check. None of them can change under a running process, so the session
    trusts the environment only for proxies or a .netrc (whose use depends on each URL);
    a CA bundle named by the environment is set on the session once.
    """
    session = requests.Session()
    session.headers["User-Agent"] = user_agent
    session.trust_env = _environment_routes()
    bundle = _environment_ca_bundle()
    if bundle and not session.trust_env:
        session.verify = bundle
    return session


@functools.cache
def _environment_routes() -> bool:
    """Whether the environment sets proxies or a .netrc, which requests applies per URL."""
    if urllib.request.getproxies():
        return True
    named = os.environ.get("NETRC")
    for place in [named] if named else ["~/.netrc", "~/_netrc"]:
        if os.path.exists(os.path.expanduser(place)):
            return True
    return False


def _environment_ca_bundle() -> str | None:
    """The CA bundle requests would take from the environment, in its order."""
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or None


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date), capped; None if bad."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if text.isdigit():
        seconds = float(text)
    else:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # RFC 9110 dates are GMT; a naive result means "-0000"
            when = when.replace(tzinfo=UTC)
        seconds = (when - now).total_seconds()
    return min(max(seconds, 0.0), RETRY_AFTER_CAP.total_seconds())


@dataclass(frozen=True, slots=True)
class _HopResult:
    url: str  # as sent, after requests' normalisation
    status: int
    headers: dict[str, str]
    location: str | None  # resolved redirect target, None for a final response
    body: bytes
    received_at: datetime


def _fetch_hop(
    session: requests.Session,
    url: str,
    current: str,
    options: FetchOptions,
    deadline: float,
    *,
    conditional: dict[str, str],
    with_credentials: bool,
) -> _HopResult:
    """One request/response exchange, with a watchdog armed for all of it."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise _deadline_error(url, current, options)
    prepared, settings = _prepare(session, url, current, options, conditional, with_credentials)
    with _Watchdog(remaining) as watchdog:
        try:
            response = _send(session, prepared, settings, options, remaining, watchdog)
            try:
                watchdog.attach(_socket_of(response))
                received_at = datetime.now(UTC)
                headers = {name.lower(): value for name, value in response.headers.items()}
                asked = prepared.url or current
                location = _redirect_target(url, asked, response, options)
                body = b"" if location else _read_body(url, current, response, options, deadline)
                if location is None:
                    location = _refresh_target(url, asked, response, body, options)
                    body = b"" if location else body
            finally:
                response.close()
        except BlockedError as exc:
            raise _blocked(url, current, exc) from None
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            # Timeouts are clamped to the time left, so one at the deadline is the deadline.
            if watchdog.has_fired or time.monotonic() >= deadline:
                raise _deadline_error(url, current, options) from exc
            raise _error(url, current, _describe(exc, options)) from exc
        if watchdog.has_fired:
            # The shut-down socket reads as a clean end of body: never mistake that for a page.
            raise _deadline_error(url, current, options)
    return _HopResult(
        url=prepared.url or current,
        status=response.status_code,
        headers=headers,
        location=location,
        body=body,
        received_at=received_at,
    )


def _prepare(
    session: requests.Session,
    url: str,
    current: str,
    options: FetchOptions,
    conditional: dict[str, str],
    with_credentials: bool,
) -> tuple[requests.PreparedRequest, dict[str, Any]]:
    headers = {"User-Agent": options.user_agent, **options.headers, **conditional}
    if not with_credentials:
        headers = {k: v for k, v in headers.items() if k.lower() not in _CREDENTIAL_HEADERS}
    request = requests.Request(
        "GET",
        current,
        headers=headers,
        cookies=dict(options.cookies) if with_credentials else None,
    )
    proxies = {"http": options.proxy, "https": options.proxy} if options.proxy else {}
    try:
        prepared = session.prepare_request(request)
        # None lets a session-wide CA bundle (session.verify) apply; False opts out.
        settings = session.merge_environment_settings(
            prepared.url or current, proxies, True, None if options.verify_tls else False, None
        )
    except (requests.RequestException, ValueError) as exc:
        raise _error(url, current, f"invalid URL: {exc}") from exc
    return prepared, dict(settings)


def _send(
    session: requests.Session,
    prepared: requests.PreparedRequest,
    settings: dict[str, Any],
    options: FetchOptions,
    remaining: float,
    watchdog: _Watchdog,
) -> requests.Response:
    """Send through the session's adapter, returning once the headers are in.

    ``Session.send`` is bypassed on purpose: even with ``allow_redirects=False`` it
    reads a redirect's whole body into memory (to offer ``Response.next``), past
    both the size cap and the read loop. Only its cookie bookkeeping is kept.
    """
    adapter = session.get_adapter(prepared.url or "")
    _watch_pool(adapter, prepared, settings)
    timeout = (
        min(options.connect_timeout_seconds, remaining),
        min(options.read_timeout_seconds, remaining),
    )
    # Through a proxy, the proxy resolves names and connects: its own policy applies there.
    proxied = select_proxy(prepared.url or "", settings["proxies"]) is not None
    token = _active_watchdog.set(watchdog)
    policy_token = _active_policy.set(None if proxied else options.network)
    try:
        response = adapter.send(
            prepared,
            stream=True,
            timeout=timeout,
            verify=settings["verify"],
            cert=settings["cert"],
            proxies=settings["proxies"],
        )
    finally:
        _active_policy.reset(policy_token)
        _active_watchdog.reset(token)
    extract_cookies_to_jar(session.cookies, prepared, response.raw)  # type: ignore[no-untyped-call]
    return response


def _read_body(
    url: str,
    current: str,
    response: requests.Response,
    options: FetchOptions,
    deadline: float,
) -> bytes:
    """Read the decoded body in small steps, so neither a drip nor a bomb can outlast the caps.

    ``iter_content`` cannot be used: it blocks inside urllib3 until a whole chunk arrives,
    so a deadline check between chunks never runs against a byte-by-byte drip.
    """
    if "content-encoding" not in response.headers:
        declared = response.headers.get("content-length", "")
        if declared.isascii() and declared.isdigit() and int(declared) > options.max_bytes:
            raise _error(url, current, f"body of {declared} bytes exceeds {options.max_bytes}")
    raw = response.raw
    chunks: list[bytes] = []
    total = 0
    while True:
        if time.monotonic() >= deadline:
            raise _deadline_error(url, current, options)
        want = min(_READ_CHUNK_BYTES, options.max_bytes - total + 1)
        chunk = raw.read1(want, decode_content=True)
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > options.max_bytes:
            raise _error(url, current, f"decoded body exceeds {options.max_bytes} bytes")
        chunks.append(chunk)


class _Watchdog:
    """Shut the socket down when the deadline passes, whatever call is blocked on it.

    Socket timeouts bound each recv, not the exchange: a server sending one header
    byte per second keeps ``getresponse`` waiting for as long as it likes. The
    watchdog holds a duplicate descriptor because TLS wrapping detaches the original
    socket object, and shutting down the duplicate ends the connection for both.
    """

    def __init__(self, seconds: float) -> None:
        self._lock = threading.Lock()
        self._handle: socket.socket | None = None
        self._has_fired = False
        self._seconds = seconds
        self._alarm: list[Any] | None = None

    @property
    def has_fired(self) -> bool:
        with self._lock:
            return self._has_fired

    def attach(self, sock: object) -> None:
        """Watch the connection behind ``sock`` (a socket, TLS socket or TLS transport)."""
        handle = _duplicate(sock)
        if handle is None:
            return
        with self._lock:
            previous, self._handle = self._handle, handle
            if self._has_fired:
                _shutdown(handle)
        if previous is not None:
            previous.close()

    def __enter__(self) -> _Watchdog:
        self._alarm = _ALARMS.schedule(time.monotonic() + self._seconds, self._fire)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._alarm is not None:
            _ALARMS.cancel(self._alarm)
        with self._lock:
            handle, self._handle = self._handle, None
        if handle is not None:
            handle.close()

    def _fire(self) -> None:
        with self._lock:
            self._has_fired = True
            if self._handle is not None:
                _shutdown(self._handle)


class _Alarms:
    """One thread that fires every fetch's deadline: a thread started per fetch cost the
    daemon more CPU than the rest of the fetch's bookkeeping.

    Entries are ``[when, sequence, callback]``; a cancelled one keeps its place in the heap
    with no callback until its time comes (cheaper than removing it).
    """

    def __init__(self) -> None:
        self._ready = threading.Condition()
        self._heap: list[list[Any]] = []
        self._sequence = itertools.count()
        self._thread: threading.Thread | None = None
        os.register_at_fork(after_in_child=self._forget)

    def schedule(self, when: float, callback: Callable[[], None]) -> list[Any]:
        entry: list[Any] = [when, next(self._sequence), callback]
        with self._ready:
            heapq.heappush(self._heap, entry)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="fetch-deadlines")
                self._thread.daemon = True
                self._thread.start()
            elif self._heap[0] is entry:
                self._ready.notify()
        return entry

    def cancel(self, entry: list[Any]) -> None:
        with self._ready:
            entry[2] = None

    def _run(self) -> None:
        while True:
            with self._ready:
                while self._heap and self._heap[0][2] is None:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._ready.wait()
                    continue
                delay = self._heap[0][0] - time.monotonic()
                if delay > 0:
                    self._ready.wait(delay)
                    continue
                callback = heapq.heappop(self._heap)[2]
            try:
                callback()
            except Exception:  # one broken callback must not end every later deadline
                logger.exception("fetch deadline callback failed")

    def _forget(self) -> None:
        """A forked child has no alarm thread: start afresh on its first fetch."""
        self._ready = threading.Condition()
        self._heap = []
        self._thread = None


_ALARMS = _Alarms()


_active_watchdog: contextvars.ContextVar[_Watchdog | None] = contextvars.ContextVar(
    "watcher_fetch_watchdog", default=None
)


# The network guard's policy for the connection being made, None through a proxy.
_active_policy: contextvars.ContextVar[NetworkPolicy | None] = contextvars.ContextVar(
    "watcher_fetch_policy", default=None
)


class _WatchedConnection(HTTPConnection):
    """Connects only to addresses the guard allows, and hands its socket to the active
    watchdog before waiting for response headers.

    The connect timeout needs no watchdog: it is clamped to the time left, and CPython
    bounds a whole TLS handshake by the socket timeout, not each recv.
    """

    def _new_conn(self) -> socket.socket:
        """Resolve once, check every address, then connect to those checked addresses only:
        a name that answers differently the next time (DNS rebinding) is never asked again."""
        policy = _active_policy.get()
        if policy is None or policy.allow_private:
            return super()._new_conn()
        try:
            addresses = resolve_checked(self._dns_host, self.port, policy)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc
        last: OSError | None = None
        for address in addresses:
            try:
                return create_connection(
                    (address, self.port),
                    self.timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except TimeoutError as exc:
                raise ConnectTimeoutError(
                    self, f"Connection to {self.host} timed out. (connect timeout={self.timeout})"
                ) from exc
            except OSError as exc:
                last = exc
        raise NewConnectionError(self, f"Failed to establish a new connection: {last}")

    def request(self, *args: Any, **kwargs: Any) -> None:
        """A kept-alive connection may have been opened under another watch's policy:
        check the peer it is connected to before sending anything on it."""
        policy = _active_policy.get()
        if self.sock is not None and policy is not None and not policy.allow_private:
            check_address(str(self.sock.getpeername()[0]), policy)
        super().request(*args, **kwargs)

    def getresponse(self) -> urllib3.response.HTTPResponse:  # type: ignore[override]
        watchdog = _active_watchdog.get()
        if watchdog is not None:
            watchdog.attach(self.sock)
        return super().getresponse()


_watched_classes: dict[type[HTTPConnection], type[HTTPConnection]] = {}


def _watched_class(base: type[HTTPConnection]) -> type[HTTPConnection]:
    """``base`` (plain, TLS or SOCKS) with the watchdog hook mixed in, made once."""
    watched = _watched_classes.get(base)
    if watched is None:
        made = type(f"Watched{base.__name__}", (_WatchedConnection, base), {})
        watched = _watched_classes.setdefault(base, cast(type[HTTPConnection], made))
    return watched


def _watch_pool(
    adapter: BaseAdapter, prepared: requests.PreparedRequest, settings: dict[str, Any]
) -> None:
    """Make the pool that will carry ``prepared`` build watched connections.

    The session's adapters (and their pools, proxies and retries) are kept as the
    caller configured them; only the connection class of the pool in use is swapped.
    """
    if not isinstance(adapter, HTTPAdapter):
        logger.debug("adapter %r is not an HTTPAdapter; headers are unwatched", adapter)
        return
    pool = adapter.get_connection_with_tls_context(
        prepared, settings["verify"], proxies=settings["proxies"], cert=settings["cert"]
    )
    if not isinstance(pool, HTTPConnectionPool):
        return
    base = pool.ConnectionCls
    if issubclass(base, HTTPConnection) and not issubclass(base, _WatchedConnection):
        pool.ConnectionCls = _watched_class(base)


def _socket_of(response: requests.Response) -> object:
    connection = getattr(response.raw, "connection", None)
    return getattr(connection, "sock", None)


def _duplicate(sock: object) -> socket.socket | None:
    """A socket object on a duplicate of ``sock``'s descriptor, or None if it has none."""
    try:
        fileno = sock.fileno() if hasattr(sock, "fileno") else -1
        if not isinstance(fileno, int) or fileno < 0:
            return None
        duplicate = os.dup(fileno)
    except OSError:
        return None
    try:
        return socket.socket(fileno=duplicate)
    except OSError:
        os.close(duplicate)
        return None


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed: nothing left to unblock
        sock.shutdown(socket.SHUT_RDWR)


def _redirect_target(
    url: str, asked: str, response: requests.Response, options: FetchOptions
) -> str | None:
    if response.status_code not in _REDIRECT_STATUSES:
        return None
    location = response.headers.get("location")
    if not location:
        return None  # a redirect status without a target is the final answer
    # http.client decodes header bytes as latin-1; servers send UTF-8 paths.
    with contextlib.suppress(UnicodeError):
        location = location.encode("latin-1").decode("utf-8")
    try:
        target = requote_uri(urljoin(asked, location.strip()))
    except ValueError as exc:  # e.g. an unclosed IPv6 bracket
        raise _error(url, asked, f"invalid redirect Location {location!r}: {exc}") from exc
    _check_url(url, target, options)
    return target


def _refresh_target(
    url: str, asked: str, response: requests.Response, body: bytes, options: FetchOptions
) -> str | None:
    """Where a page answered with success sends its reader at once (a
    ``<meta http-equiv="refresh">``, or a stub's one script setting ``location``): followed
    like a redirect, so a stub left in place of an article reads as the redirect a reader
    meets. A 404 that does the same stays a 404."""
    if not 200 <= response.status_code < 300:
        return None
    kind = response.headers.get("content-type", "text/html").split(";")[0].strip().lower()
    if kind not in ("text/html", "application/xhtml+xml", ""):
        return None
    target = refresh_target(body, asked) or script_target(body, asked)
    if target is not None:
        _check_url(url, target, options)
    return target


def _check_url(url: str, target: str, options: FetchOptions) -> None:
    """The guard's URL rules for one hop (scheme, port, a literal address), before any I/O."""
    try:
        check_url(target, options.network)
    except BlockedError as exc:
        raise _blocked(url, target, exc) from None


def _blocked(url: str, current: str, exc: BlockedError) -> BlockedError:
    """``exc`` with the watch's URL and the hop it was refused at, like every fetch error."""
    where = f" (at {current})" if current != url else ""
    prefix = "" if exc.rule in ("url", "scheme") else "blocked by the network guard: "
    logger.debug("fetch blocked url=%s rule=%s reason=%s", url, exc.rule, exc)
    return BlockedError(f"{url}: {prefix}{exc}{where}", rule=exc.rule)


def _is_same_site(first: str, target: str) -> bool:
    """True when ``target`` may receive the credentials configured for ``first``.

    Same host or a parent/child of it (example.com <-> www.example.com), and no
    downgrade from https to http, which would expose them on the wire.
    """
    a, b = urlsplit(first), urlsplit(target)
    host_a, host_b = (a.hostname or "").lower(), (b.hostname or "").lower()
    if a.scheme == "https" and b.scheme != "https":
        return False
    return host_a == host_b or host_a.endswith("." + host_b) or host_b.endswith("." + host_a)


def _conditional_headers(etag: str | None, last_modified: str | None) -> dict[str, str]:
    headers: dict[str, str] = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


def _describe(exc: BaseException, options: FetchOptions) -> str:
    """A short reason for a failed exchange, naming the layer that failed."""
    if isinstance(exc, requests.exceptions.SSLError):
        return f"TLS error: {_innermost(exc)}"
    if isinstance(exc, requests.exceptions.ProxyError):
        return f"proxy error: {_innermost(exc)}"
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return f"connect timeout ({options.connect_timeout_seconds:g} s)"
    if isinstance(exc, requests.exceptions.ReadTimeout | urllib3.exceptions.ReadTimeoutError):
        return f"read timeout ({options.read_timeout_seconds:g} s)"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return f"connection failed: {_connection_reason(_innermost(exc))}"
    if isinstance(exc, urllib3.exceptions.DecodeError):
        return f"undecodable Content-Encoding: {exc}"
    if isinstance(exc, urllib3.exceptions.ProtocolError):
        return f"connection broken mid-body: {_innermost(exc)}"
    if isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.InvalidSchema):
        return f"invalid URL: {exc}"
    return f"{type(exc).__name__}: {exc}"


def _innermost(exc: BaseException) -> str:
    """The most specific reason in requests' and urllib3's layers of wrapping."""
    reason: object = exc
    while True:
        if isinstance(reason, urllib3.exceptions.MaxRetryError) and reason.reason is not None:
            reason = reason.reason
        elif isinstance(reason, BaseException) and reason.args and _is_wrapper(reason):
            reason = reason.args[0]
        else:
            return str(reason)


def _connection_reason(reason: str) -> str:
    """Drop urllib3's connection-object prefix: "Failed to resolve 'host' (…)" is the news."""
    return re.sub(r"^<?[\w.]*(?:Connection|ConnectionPool)\b[^:]*:\s*", "", reason)


def _is_wrapper(exc: BaseException) -> bool:
    return isinstance(exc, requests.RequestException) and isinstance(exc.args[0], BaseException)


def _deadline_error(url: str, current: str, options: FetchOptions) -> FetchError:
    return _error(url, current, f"deadline of {options.deadline_seconds:g} s exceeded")


def _error(url: str, current: str, reason: str) -> FetchError:
    where = f" (at {current})" if current != url else ""
    # debug only: the pipeline logs the FetchError itself, with the page it belongs to
    logger.debug("fetch failed url=%s reason=%s", url, reason + where)
    return FetchError(f"{url}: {reason}{where}")
