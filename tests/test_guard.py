"""The network guard: no fetch goes to loopback, private, link-local or reserved addresses,
other schemes or unusual ports unless allowed, judged by the address actually connected to.

Every server here listens in 127.0.0.0/8: the page that is allowed listens on 127.0.0.2
(opened with ``allowed_networks``), everything behind it on 127.0.0.1. Names are answered
by a resolver hook on ``socket.getaddrinfo``; no test contacts any other address.
"""

from __future__ import annotations

import http.server
import ipaddress
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer

from tests.loopback import LOOPBACK
from watcher.config import parse_watchlist
from watcher.errors import BlockedError, FetchError
from watcher.fetch import FetchOptions, FetchResult, fetch_page, vet_url
from watcher.guard import NetworkPolicy, blocking_rule, check_url

NAT64 = ipaddress.ip_network("64:ff9b::/96")
PUBLIC = "93.184.215.14"  # a public address the resolver hook names; never connected to


@pytest.fixture(scope="module")
def inside() -> Iterator[HTTPServer]:
    """What the guard protects: a server on 127.0.0.1 that must never see a request."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def allowed() -> Iterator[HTTPServer]:
    """A page the guard lets through (127.0.0.2, opened by the policy) that redirects."""
    server = HTTPServer(host="127.0.0.2", port=0)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        s.trust_env = False
        yield s


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Names under .test answer from this table, one answer per lookup (the last repeats)."""
    answers: dict[str, list[str]] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host.endswith(".test"):
            queue = answers[host]
            address = queue.pop(0) if len(queue) > 1 else queue[0]
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            return [(family, socket.SOCK_STREAM, 6, "", (address, port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


def policy(*servers: HTTPServer) -> NetworkPolicy:
    """Strict, with the test servers' ports and 127.0.0.2 (the allowed page) opened."""
    return NetworkPolicy(
        ports=frozenset({80, 443, *(s.port for s in servers)}),
        allowed_networks=(ipaddress.ip_network("127.0.0.2/32"),),
    )


def fetch(session: requests.Session, url: str, network: NetworkPolicy) -> FetchResult:
    return fetch_page(session, url, FetchOptions(deadline_seconds=5, network=network))


def blocked_targets(inside: HTTPServer) -> dict[str, str]:
    """URL -> the rule that must refuse it."""
    port = inside.port
    return {
        f"http://127.0.0.1:{port}/": "loopback",
        f"http://[::1]:{port}/": "loopback",
        "http://10.0.0.1/": "private",
        "http://169.254.169.254/latest/meta-data/": "link-local",
        f"http://[::ffff:127.0.0.1]:{port}/": "loopback (IPv4-mapped)",
        f"http://0.0.0.0:{port}/": "unspecified",
        f"http://localhost:{port}/": "loopback",  # a name that resolves to loopback
        "http://100.64.0.1/": "shared (CGNAT)",
        "http://[64:ff9b::a00:1]/": "private (NAT64)",
    }


TARGET_IDS = [
    "127.0.0.1",
    "::1",
    "10.0.0.1",
    "metadata",
    "mapped",
    "0.0.0.0",
    "localhost",
    "cgnat",
    "nat64",
]


@pytest.mark.parametrize("index", range(len(TARGET_IDS)), ids=TARGET_IDS)
def test_internal_address_is_refused_naming_the_rule(
    session: requests.Session, inside: HTTPServer, index: int
) -> None:
    """Each internal address, literal or by name, is refused with its rule; nothing is sent."""
    url, rule = list(blocked_targets(inside).items())[index]
    inside.clear_log()
    with pytest.raises(BlockedError, match="blocked by the network guard") as caught:
        fetch(session, url, policy(inside))
    assert caught.value.rule == rule
    assert f"{rule} address" in str(caught.value)
    assert "allow_private" in str(caught.value)
    assert inside.log == []


@pytest.mark.parametrize("index", range(len(TARGET_IDS)), ids=TARGET_IDS)
def test_redirect_from_an_allowed_page_to_an_internal_address_is_refused(
    session: requests.Session, allowed: HTTPServer, inside: HTTPServer, index: int
) -> None:
    """An allowed page cannot send the fetch inside: every hop is judged, not the first."""
    url, rule = list(blocked_targets(inside).items())[index]
    allowed.clear()
    inside.clear_log()
    allowed.expect_request("/story").respond_with_data("", 302, {"Location": url})
    with pytest.raises(BlockedError) as caught:
        fetch(session, allowed.url_for("/story"), policy(allowed, inside))
    assert caught.value.rule == rule
    assert f"(at {url}" in str(caught.value)
    assert len(allowed.log) == 1
    assert inside.log == []


def test_the_allowed_page_itself_is_fetched(session: requests.Session, allowed: HTTPServer) -> None:
    """The control: the same policy lets the allowed page through."""
    allowed.clear()
    allowed.expect_request("/ok").respond_with_data("fine")
    assert fetch(session, allowed.url_for("/ok"), policy(allowed)).text == "fine"


def test_rebinding_name_is_refused_at_connect(
    session: requests.Session, inside: HTTPServer, resolver: dict[str, list[str]]
) -> None:
    """A name that looked public when it was vetted and answers loopback when fetched is
    refused: the fetch judges the address its own connection resolved and uses."""
    resolver["rebind.test"] = [PUBLIC, "127.0.0.1"]
    url = f"http://rebind.test:{inside.port}/"
    inside.clear_log()
    vet_url(url, FetchOptions(network=policy(inside)))  # first answer: public
    with pytest.raises(BlockedError) as caught:
        fetch(session, url, policy(inside))  # second answer: loopback
    assert caught.value.rule == "loopback"
    assert "127.0.0.1 is a loopback address" in str(caught.value)
    assert resolver["rebind.test"] == ["127.0.0.1"]  # the vetting took the public answer
    assert inside.log == []


def test_redirect_to_a_rebinding_name_is_refused(
    session: requests.Session,
    allowed: HTTPServer,
    inside: HTTPServer,
    resolver: dict[str, list[str]],
) -> None:
    """A redirect to a name that now answers loopback is refused at that hop."""
    resolver["rebind.test"] = ["127.0.0.1"]
    allowed.clear()
    inside.clear_log()
    allowed.expect_request("/r").respond_with_data(
        "", 302, {"Location": f"http://rebind.test:{inside.port}/"}
    )
    with pytest.raises(BlockedError, match="loopback"):
        fetch(session, allowed.url_for("/r"), policy(allowed, inside))
    assert inside.log == []


def test_kept_alive_connection_is_rechecked_under_a_stricter_policy(
    session: requests.Session, inside: HTTPServer, resolver: dict[str, list[str]]
) -> None:
    """A pooled connection opened for an intranet watch is not reused by a strict one:
    its peer is checked before a request is sent on it."""
    resolver["intranet.test"] = ["127.0.0.1"]
    with _KeepAliveServer() as server:
        url = f"http://intranet.test:{server.port}/a"
        assert fetch(session, url, LOOPBACK).text == "intranet"
        strict = NetworkPolicy(ports=frozenset({server.port}))
        with pytest.raises(BlockedError, match=r"127\.0\.0\.1 is a loopback address"):
            fetch(session, url, strict)
        assert server.requests == 1


class _KeepAliveServer:
    """An HTTP/1.1 server on 127.0.0.1 that keeps connections open and counts requests."""

    def __init__(self) -> None:
        counter = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                counter.requests += 1
                self.send_response(200)
                self.send_header("Content-Length", "8")
                self.end_headers()
                self.wfile.write(b"intranet")

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.requests = 0
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> _KeepAliveServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "gopher://127.0.0.1:70/_x", "ftp://example.org/"]
)
def test_other_schemes_are_refused(session: requests.Session, url: str) -> None:
    """Only http and https are fetched, even with allow_private."""
    for network in (NetworkPolicy(), LOOPBACK):
        with pytest.raises(BlockedError, match="scheme") as caught:
            fetch(session, url, network)
        assert caught.value.rule == "scheme"


def test_redirect_to_another_scheme_is_refused(
    session: requests.Session, allowed: HTTPServer
) -> None:
    """A redirect to file:// or gopher:// is never followed."""
    for target in ("file:///etc/passwd", "gopher://127.0.0.1:70/_x"):
        allowed.clear()
        allowed.expect_request("/s").respond_with_data("", 302, {"Location": target})
        with pytest.raises(BlockedError, match="scheme") as caught:
            fetch(session, allowed.url_for("/s"), policy(allowed))
        assert caught.value.rule == "scheme"


def test_unusual_port_is_refused(session: requests.Session) -> None:
    """A port outside the allowed set is refused before any lookup."""
    with pytest.raises(BlockedError, match="port 6379 is not allowed") as caught:
        fetch(session, "http://cache.example.org:6379/", NetworkPolicy())
    assert caught.value.rule == "port"


def test_allow_private_lets_a_loopback_page_through(
    session: requests.Session, inside: HTTPServer
) -> None:
    """allow_private = true watches an intranet page on purpose, on any port."""
    inside.clear()
    inside.expect_request("/intranet").respond_with_data("staff notice")
    assert fetch(session, inside.url_for("/intranet"), LOOPBACK).text == "staff notice"


def test_proxy_resolves_names_so_only_the_url_is_judged(
    session: requests.Session, inside: HTTPServer
) -> None:
    """Through a proxy the proxy connects: a literal internal address is still refused,
    and the proxy itself (on loopback, as Tor usually is) may be reached."""
    options = FetchOptions(deadline_seconds=5, proxy=f"http://127.0.0.1:{inside.port}")
    with pytest.raises(BlockedError, match="private"):
        fetch_page(session, "http://10.1.2.3/", options)
    inside.clear()
    inside.expect_request("/a").respond_with_data("via proxy")
    assert fetch_page(session, "http://news.example.org/a", options).text == "via proxy"


def test_settings_and_watch_set_the_policy() -> None:
    """allow_private on a watch or in settings, allowed_ports and allow_networks reach the
    fetcher; the default is strict."""
    from watcher.check.reading import fetch_options

    watchlist = parse_watchlist(
        "[settings]\nallowed_ports = [80, 443, 8000]\nallow_networks = ['10.20.0.0/16']\n"
        '[[watch]]\nurl = "https://a.example/"\n'
        '[[watch]]\nurl = "http://intranet.local/"\nallow_private = true\n'
    )
    strict, open_ = (fetch_options(watchlist.settings, w).network for w in watchlist.watch)
    assert not strict.allow_private
    assert strict.ports == {80, 443, 8000}
    assert strict.allowed_networks == (ipaddress.ip_network("10.20.0.0/16"),)
    assert open_.allow_private
    everyone = parse_watchlist('[settings]\nallow_private = true\n[[watch]]\nurl = "http://a/"\n')
    assert fetch_options(everyone.settings, everyone.watch[0]).network.allow_private


def test_bad_network_is_a_located_config_error() -> None:
    """A typo in allow_networks is reported with file:line like every watchlist error."""
    with pytest.raises(Exception, match=r"w.toml:2: settings.allow_networks: '10.0.0.0/33'"):
        parse_watchlist("[settings]\nallow_networks = ['10.0.0.0/33']\n", "w.toml")


def test_vet_url_refuses_a_name_that_resolves_inside(resolver: dict[str, list[str]]) -> None:
    """Vetting a URL about to be watched resolves it once and names the rule."""
    resolver["intranet.test"] = ["192.168.1.20"]
    with pytest.raises(BlockedError, match=r"192\.168\.1\.20 is a private address"):
        vet_url("http://intranet.test/", FetchOptions())
    resolver["news.test"] = [PUBLIC]
    vet_url("http://news.test/", FetchOptions())
    with pytest.raises(FetchError, match="cannot resolve"):
        vet_url("http://no-such-host.invalid/", FetchOptions())


# --- the rules, pure -------------------------------------------------------------------

_V4_BLOCKED = [
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("10.0.0.1", "private"),
    ("172.16.0.1", "private"),
    ("192.168.0.1", "private"),
    ("169.254.169.254", "link-local"),
    ("100.64.0.1", "shared (CGNAT)"),
    ("224.0.0.251", "multicast"),
    ("0.0.0.0", "unspecified"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "reserved"),
    ("192.0.2.10", "reserved"),
    ("198.18.0.1", "reserved"),
]
_V6_BLOCKED = [
    ("::1", "loopback"),
    ("::", "unspecified"),
    ("fe80::1", "link-local"),
    ("fc00::1", "private"),
    ("fd12:3456::1", "private"),
    ("ff02::1", "multicast"),
    ("2001:db8::1", "reserved"),
    ("fec0::1", "reserved"),
    ("::ffff:10.0.0.1", "private (IPv4-mapped)"),
    ("64:ff9b::169.254.169.254", "link-local (NAT64)"),
    ("64:ff9b:1::1", "private (local NAT64)"),
    ("2002:a00:1::", "private (6to4)"),
]


@pytest.mark.parametrize(("address", "rule"), _V4_BLOCKED + _V6_BLOCKED)
def test_blocking_rule_table(address: str, rule: str) -> None:
    """Every special-purpose range is refused under the rule that names it."""
    assert blocking_rule(ipaddress.ip_address(address)) == rule


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "93.184.215.14", "2606:4700::1111", "64:ff9b::808:808", "1.1.1.1"]
)
def test_public_addresses_pass(address: str) -> None:
    """Public unicast addresses, including NAT64 of a public IPv4 address, are allowed."""
    assert blocking_rule(ipaddress.ip_address(address)) is None


@given(st.ip_addresses(v=4))
def test_ipv4_mapped_and_nat64_forms_are_judged_like_the_ipv4_address(
    ip: ipaddress.IPv4Address,
) -> None:
    """An IPv4 address hidden in an IPv6 form gets the IPv4 address's verdict."""
    rule = blocking_rule(ip)
    mapped = ipaddress.IPv6Address(f"::ffff:{ip}")
    nat64 = ipaddress.IPv6Address(int(ipaddress.IPv6Address("64:ff9b::")) | int(ip))
    assert (blocking_rule(mapped) is None) == (rule is None)
    assert (blocking_rule(nat64) is None) == (rule is None)


@given(st.ip_addresses())
def test_every_non_global_address_is_refused(
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> None:
    """Nothing Python's registry calls non-global slips through; an IPv6 form that carries
    an IPv4 address is judged by that address (tested above)."""
    carries_ipv4 = isinstance(ip, ipaddress.IPv6Address) and (
        ip.ipv4_mapped is not None or ip.sixtofour is not None or ip in NAT64
    )
    if not ip.is_global and not carries_ipv4:
        assert blocking_rule(ip) is not None


def test_check_url_reads_brackets_and_default_ports() -> None:
    """Literal IPv6 in brackets is judged; http and https default to 80 and 443."""
    with pytest.raises(BlockedError, match="loopback"):
        check_url("https://[::1]/", NetworkPolicy())
    check_url("https://news.example.org/", NetworkPolicy())
    check_url("http://news.example.org:8080/", NetworkPolicy())
