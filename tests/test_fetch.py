"""fetch_page against real loopback servers: statuses, redirects, charsets, caps, deadlines."""

from __future__ import annotations

import gzip
import ipaddress
import os
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC
from pathlib import Path
from typing import Any

import brotli  # type: ignore[import-untyped]  # ships no type information
import pytest
import requests
from pytest_httpserver import HTTPServer
from urllib3.exceptions import InsecureRequestWarning
from werkzeug import Request

from tests.fetch_support import (
    ForwardProxy,
    RawServer,
    Socks5Proxy,
    make_self_signed_cert,
    read_request,
    response_head,
)
from tests.loopback import LOOPBACK
from watcher.errors import BlockedError, FetchError
from watcher.fetch import (
    _ALARMS,
    FetchOptions,
    FetchResult,
    Hop,
    _environment_routes,
    fetch_page,
    open_session,
)
from watcher.guard import NetworkPolicy

CORPUS = Path(
    os.environ.get("WATCHER_CORPUS", Path(__file__).resolve().parents[2] / "shared" / "corpus")
)

# Deadlines in these tests are 1 s and the configured read timeout is 30 s, so what stops
# a hostile server is the deadline machinery (clamped timeouts, read loop, watchdog).
DEADLINE = 1.0
BOUNDED = FetchOptions(
    connect_timeout_seconds=1, read_timeout_seconds=30, deadline_seconds=DEADLINE, network=LOOPBACK
)
# Returning within this long after the deadline counts as "bounded by the deadline".
SLACK = 1.0

ARTICLE_ZH = (
    "国务院新闻办公室今天上午举行新闻发布会，介绍前三季度国民经济运行情况。"
    "发言人表示，经济运行总体平稳，就业形势基本稳定，居民收入继续增长。"
    "另据报道，澳门赌王何鸿燊的传奇经历再次引发关注——专家称其影响深远。"
)


@pytest.fixture(scope="module")
def web_server() -> Iterator[HTTPServer]:
    """One pytest-httpserver bound to 127.0.0.1 (the plugin's default binds "localhost")."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    yield server
    server.clear()
    server.stop()


@pytest.fixture
def web(web_server: HTTPServer) -> Iterator[HTTPServer]:
    """pytest-httpserver on 127.0.0.1, cleared for each test."""
    web_server.clear()
    yield web_server
    web_server.clear()


@pytest.fixture
def session() -> Iterator[requests.Session]:
    """A session that ignores this machine's proxy variables and .netrc (hermetic)."""
    with requests.Session() as s:
        s.trust_env = False
        yield s


def fetch(session: requests.Session, url: str, **options: Any) -> FetchResult:
    return fetch_page(session, url, FetchOptions(**{"network": LOOPBACK, **options}))


def last_request(web: HTTPServer) -> Request:
    return web.log[-1][0]


# --- plain responses -------------------------------------------------------------------


def test_utf8_page_is_returned_with_metadata(session: requests.Session, web: HTTPServer) -> None:
    """A 200 UTF-8 page comes back decoded, with lower-cased headers and aware UTC time."""
    web.expect_request("/news").respond_with_data(
        "<p>Grüße — 你好</p>", content_type="text/html; charset=utf-8", headers={"X-Edit": "1"}
    )
    result = fetch(session, web.url_for("/news"))
    assert result.status == 200
    assert result.text == "<p>Grüße — 你好</p>"
    assert result.body == "<p>Grüße — 你好</p>".encode()
    assert result.encoding == "utf-8"
    assert result.headers["x-edit"] == "1"
    assert type(result.headers) is dict
    assert all(name == name.lower() for name in result.headers)
    assert result.final_url == result.url == web.url_for("/news")
    assert result.redirects == ()
    assert result.fetched_at.tzinfo is UTC
    assert 0 < result.elapsed_seconds < DEADLINE
    assert not result.is_not_modified


@pytest.mark.parametrize("status", [404, 410, 451, 503])
def test_error_statuses_are_data_not_exceptions(
    session: requests.Session, web: HTTPServer, status: int
) -> None:
    """404/410/451/5xx are evidence of removal or trouble, returned with their body."""
    web.expect_request("/gone").respond_with_data(
        f"<h1>{status} 页面不存在</h1>", status=status, content_type="text/html; charset=utf-8"
    )
    result = fetch(session, web.url_for("/gone"))
    assert result.status == status
    assert result.text == f"<h1>{status} 页面不存在</h1>"


def test_not_modified_sends_validators_and_returns_empty(
    session: requests.Session, web: HTTPServer
) -> None:
    """etag/last_modified become If-None-Match/If-Modified-Since; a 304 has no body."""
    validators = {"If-None-Match": '"v1"', "If-Modified-Since": "Wed, 21 Oct 2026 07:28:00 GMT"}
    web.expect_request("/page", headers=validators).respond_with_data(
        "", status=304, headers={"ETag": '"v1"'}
    )
    result = fetch_page(
        session,
        web.url_for("/page"),
        FetchOptions(network=LOOPBACK),
        etag='"v1"',
        last_modified="Wed, 21 Oct 2026 07:28:00 GMT",
    )
    assert result.status == 304
    assert result.is_not_modified
    assert result.body == b""
    assert result.text == ""
    assert result.headers["etag"] == '"v1"'


def test_headers_cookies_and_user_agent_reach_the_server(
    session: requests.Session, web: HTTPServer
) -> None:
    """Per-watch headers, cookies and the User-Agent are all sent."""
    web.expect_request("/p").respond_with_data("ok")
    fetch(
        session,
        web.url_for("/p"),
        user_agent="watcher-test/9",
        headers={"Accept-Language": "zh-CN"},
        cookies={"paywall": "subscriber", "region": "hk"},
    )
    sent = last_request(web)
    assert sent.headers["User-Agent"] == "watcher-test/9"
    assert sent.headers["Accept-Language"] == "zh-CN"
    assert sent.cookies.to_dict() == {"paywall": "subscriber", "region": "hk"}
    assert "br" in sent.headers["Accept-Encoding"]


# --- charsets over the wire ------------------------------------------------------------


def test_gbk_page_declaring_gb2312_in_meta_decodes_as_gb18030(
    session: requests.Session, web: HTTPServer
) -> None:
    """A gb2312 meta with GBK-only characters (燊, ——) decodes as gb18030, not mojibake."""
    html = f'<html><head><meta charset="gb2312"></head><body><p>{ARTICLE_ZH}</p></body></html>'
    body = html.encode("gbk")
    with pytest.raises(UnicodeDecodeError):
        body.decode("gb2312")  # the fixture really has characters outside GB2312
    web.expect_request("/zh").respond_with_data(body, content_type="text/html")
    result = fetch(session, web.url_for("/zh"))
    assert result.text == html
    assert result.encoding == "gb18030"


def test_gbk_page_with_charset_only_in_http_header(
    session: requests.Session, web: HTTPServer
) -> None:
    """The HTTP charset is used when the page itself declares nothing."""
    html = f"<html><body><p>{ARTICLE_ZH}</p></body></html>"
    web.expect_request("/zh").respond_with_data(
        html.encode("gbk"), content_type="text/html; charset=GBK"
    )
    result = fetch(session, web.url_for("/zh"))
    assert result.text == html
    assert result.encoding == "gb18030"


def test_big5_page_with_hkscs_characters(session: requests.Session, web: HTTPServer) -> None:
    """A Big5 label decodes with big5hkscs, so Cantonese characters survive."""
    html = "<p>香港立法會今日開會，議員話：「佢哋啲問題未解決嘅。」</p>"
    web.expect_request("/hk").respond_with_data(
        html.encode("big5hkscs"), content_type="text/html; charset=big5"
    )
    result = fetch(session, web.url_for("/hk"))
    assert result.text == html
    assert result.encoding == "big5hkscs"


CORPUS_PAGES = [
    pytest.param("gne-hexun-1", "看赌王何鸿燊的传奇经历", "gb18030", id="hexun-gb2312-meta"),
    pytest.param("gne-people-1", "——（宋）陆游", "gb18030", id="people-gb2312-meta"),
    pytest.param("gne-sina-2-gbk", "中铁总辟谣称消息不实", "gb18030", id="sina-gbk-meta"),
    pytest.param(
        "traf-he-xinhuanet-com-25340717", "铿锵誓言———“兄弟", "gb18030", id="xinhua-real-gb2312"
    ),
    pytest.param("traf-rp", "Sejm zagłosował", "cp1250", id="rp-windows-1250"),
    pytest.param("traf-computerbild-d60cab", "Mönchengladbach", "cp1252", id="computerbild"),
    pytest.param("traf-die-tagespost-de-demut", "„Das Gute darf nicht", "cp1252", id="latin1-meta"),
]


@pytest.mark.parametrize(("name", "expected", "codec"), CORPUS_PAGES)
def test_real_legacy_pages_served_without_http_charset(
    session: requests.Session, web: HTTPServer, name: str, expected: str, codec: str
) -> None:
    """Real GBK/GB2312/cp125x news pages decode from their <meta> with no U+FFFD."""
    path = CORPUS / "pages" / f"{name}.html.gz"
    if not path.exists():
        pytest.skip(f"corpus page {path} is not available")
    web.expect_request("/article").respond_with_data(
        gzip.decompress(path.read_bytes()), content_type="text/html"
    )
    result = fetch(session, web.url_for("/article"))
    assert result.encoding == codec
    assert "\ufffd" not in result.text
    assert expected in result.text


# --- content encodings and size caps ---------------------------------------------------


def _deflate(data: bytes) -> bytes:
    return zlib.compress(data)


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [("gzip", gzip.compress), ("deflate", _deflate), ("br", brotli.compress)],
)
def test_compressed_bodies_are_decoded(
    session: requests.Session,
    web: HTTPServer,
    encoding: str,
    compress: Callable[[bytes], bytes],
) -> None:
    """gzip, deflate and brotli bodies arrive decompressed in body and text."""
    html = ("<p>" + ARTICLE_ZH + "</p>\n") * 50
    raw = html.encode("utf-8")
    web.expect_request("/c").respond_with_data(
        compress(raw),
        content_type="text/html; charset=utf-8",
        headers={"Content-Encoding": encoding},
    )
    result = fetch(session, web.url_for("/c"))
    assert result.body == raw
    assert result.text == html


def test_body_of_exactly_max_bytes_is_accepted(session: requests.Session, web: HTTPServer) -> None:
    """The cap is inclusive: a body of exactly max_bytes is a page, not an error."""
    web.expect_request("/p").respond_with_data(b"x" * 1000, content_type="text/plain")
    assert len(fetch(session, web.url_for("/p"), max_bytes=1000).body) == 1000


def test_declared_oversized_body_is_refused(session: requests.Session, web: HTTPServer) -> None:
    """A Content-Length above the cap is refused before the body is read."""
    web.expect_request("/big").respond_with_data(b"x" * 5000, content_type="text/plain")
    with pytest.raises(FetchError, match=r"5000 bytes exceeds 1000"):
        fetch(session, web.url_for("/big"), max_bytes=1000)


def _endless(chunked: bool) -> RawServer:
    def handler(conn: socket.socket, stopping: threading.Event) -> None:
        read_request(conn)
        headers = {"Content-Type": "text/html", "Connection": "close"}
        if chunked:
            headers["Transfer-Encoding"] = "chunked"
        conn.sendall(response_head(200, headers))
        block = b"a" * 65536
        frame = b"%x\r\n%s\r\n" % (len(block), block) if chunked else block
        while not stopping.is_set():
            conn.sendall(frame)

    return RawServer(handler)


@pytest.mark.parametrize("chunked", [False, True], ids=["no-content-length", "chunked"])
def test_undeclared_oversized_body_is_cut_at_the_cap(
    session: requests.Session, chunked: bool
) -> None:
    """A body with no (or no honest) length is refused as soon as it passes max_bytes."""
    with _endless(chunked) as server, pytest.raises(FetchError, match="exceeds 1048576 bytes"):
        fetch(session, server.url("/"), max_bytes=1024 * 1024)


def _bomb(encoding: str) -> bytes:
    block = bytes(1024 * 1024)
    if encoding == "gzip":
        gz = zlib.compressobj(6, zlib.DEFLATED, 31)
        return b"".join(gz.compress(block) for _ in range(32)) + gz.flush()
    br = brotli.Compressor(quality=5)
    return b"".join(br.process(block) for _ in range(32)) + bytes(br.finish())


@pytest.mark.parametrize("encoding", ["gzip", "br"])
def test_decompression_bomb_is_refused(
    session: requests.Session, web: HTTPServer, encoding: str
) -> None:
    """A small compressed body that inflates past the cap (32 MiB of zeros) is an error."""
    bomb = _bomb(encoding)
    assert len(bomb) < 100_000
    web.expect_request("/bomb").respond_with_data(
        bomb, content_type="text/html", headers={"Content-Encoding": encoding}
    )
    with pytest.raises(FetchError, match="decoded body exceeds 1048576 bytes"):
        fetch(session, web.url_for("/bomb"), max_bytes=1024 * 1024)


# --- redirects -------------------------------------------------------------------------


def test_redirect_chain_is_recorded_hop_by_hop(session: requests.Session, web: HTTPServer) -> None:
    """301 -> 302 -> 200 is followed, each hop recorded with relative Locations resolved."""
    web.expect_request("/a/start").respond_with_data("", status=301, headers={"Location": "b"})
    web.expect_request("/a/b").respond_with_data(
        "", status=302, headers={"Location": "../final?id=7"}
    )
    web.expect_request("/final", query_string="id=7").respond_with_data(
        "<p>终稿</p>", content_type="text/html; charset=utf-8"
    )
    result = fetch(session, web.url_for("/a/start"))
    assert result.redirects == (
        Hop(web.url_for("/a/start"), 301, web.url_for("/a/b")),
        Hop(web.url_for("/a/b"), 302, web.url_for("/final?id=7")),
    )
    assert result.url == web.url_for("/a/start")
    assert result.final_url == web.url_for("/final?id=7")
    assert result.status == 200
    assert result.text == "<p>终稿</p>"


def test_redirect_loop_is_a_fetch_error(session: requests.Session, web: HTTPServer) -> None:
    """A redirect loop fails with a message naming the loop and the URL."""
    web.expect_request("/x").respond_with_data("", status=302, headers={"Location": "/y"})
    web.expect_request("/y").respond_with_data("", status=302, headers={"Location": "/x"})
    with pytest.raises(FetchError, match="redirect loop") as caught:
        fetch(session, web.url_for("/x"))
    assert web.url_for("/x") in str(caught.value)


def test_max_redirects_is_a_limit_not_an_off_by_one(
    session: requests.Session, web: HTTPServer
) -> None:
    """Exactly max_redirects hops are followed; one more is too many."""
    web.expect_request("/1").respond_with_data("", status=307, headers={"Location": "/2"})
    web.expect_request("/2").respond_with_data("", status=308, headers={"Location": "/3"})
    web.expect_request("/3").respond_with_data("", status=303, headers={"Location": "/end"})
    web.expect_request("/end").respond_with_data("done")
    assert len(fetch(session, web.url_for("/1"), max_redirects=3).redirects) == 3
    with pytest.raises(FetchError, match="too many redirects"):
        fetch(session, web.url_for("/1"), max_redirects=2)


def test_redirect_to_another_host_drops_watch_credentials(
    session: requests.Session, web: HTTPServer
) -> None:
    """Cookies and Authorization set for a watch do not follow it to another host."""
    web.expect_request("/login-wall").respond_with_data(
        "",
        status=302,
        headers={"Location": web.url_for("/elsewhere").replace("127.0.0.1", "localhost")},
    )
    web.expect_request("/elsewhere").respond_with_data("moved")
    result = fetch(
        session,
        web.url_for("/login-wall"),
        cookies={"sid": "secret"},
        headers={"Authorization": "Bearer secret", "Accept-Language": "zh-TW"},
    )
    assert result.text == "moved"
    first, second = (entry[0] for entry in web.log)
    assert first.cookies.get("sid") == "secret"
    assert first.headers.get("Authorization") == "Bearer secret"
    assert second.host.startswith("localhost")
    assert "sid" not in second.cookies
    assert "Authorization" not in second.headers
    assert second.headers["Accept-Language"] == "zh-TW"


def _redirecting(location: bytes, requests_seen: list[bytes]) -> RawServer:
    """Answers the first request with a 302 to the raw ``location``, the rest with 200."""

    def handler(conn: socket.socket, stopping: threading.Event) -> None:
        head = read_request(conn)
        requests_seen.append(head.split(b"\r\n", 1)[0])
        if len(requests_seen) == 1:
            conn.sendall(
                b"HTTP/1.1 302 Found\r\nLocation: " + location + b"\r\nContent-Length: 0\r\n"
                b"Connection: close\r\n\r\n"
            )
        else:
            conn.sendall(response_head(200, {"Content-Length": "2", "Connection": "close"}) + b"ok")

    return RawServer(handler)


@pytest.mark.parametrize("location", ["ftp://example.invalid/file", "http://[::1/unclosed"])
def test_unusable_redirect_target_is_refused(session: requests.Session, location: str) -> None:
    """A Location that is not an http(s) URL is not followed, and the error quotes it."""
    seen: list[bytes] = []
    with (
        _redirecting(location.encode(), seen) as server,
        pytest.raises(FetchError, match="invalid") as caught,
    ):
        fetch(session, server.url("/r"))
    assert location in str(caught.value)
    assert len(seen) == 1


def test_utf8_location_is_followed_percent_encoded(session: requests.Session) -> None:
    """A raw UTF-8 Location (common on Chinese sites) is requested percent-encoded."""
    seen: list[bytes] = []
    with _redirecting("/新闻/2026?标题=改".encode(), seen) as server:
        result = fetch(session, server.url("/r"))
    target = server.url("/%E6%96%B0%E9%97%BB/2026?%E6%A0%87%E9%A2%98=%E6%94%B9")
    assert result.redirects == (Hop(server.url("/r"), 302, target),)
    assert result.final_url == target
    assert seen[1] == b"GET /%E6%96%B0%E9%97%BB/2026?%E6%A0%87%E9%A2%98=%E6%94%B9 HTTP/1.1"


def test_redirect_body_is_never_read(session: requests.Session) -> None:
    """A 302 with an endless body is followed at once: its body escapes neither cap nor clock."""

    def endless_redirect(conn: socket.socket, stopping: threading.Event) -> None:
        if read_request(conn).startswith(b"GET /final"):
            conn.sendall(
                response_head(200, {"Content-Length": "4", "Connection": "close"}) + b"done"
            )
            return
        conn.sendall(response_head(302, {"Location": "/final", "Connection": "close"}))
        while not stopping.is_set():
            conn.sendall(b"x" * 65536)

    with RawServer(endless_redirect) as server:
        started = time.monotonic()
        result = fetch_page(session, server.url("/start"), BOUNDED)
        assert time.monotonic() - started < DEADLINE / 2
    assert result.text == "done"
    assert [hop.status for hop in result.redirects] == [302]


@pytest.mark.parametrize(
    "stub",
    [
        '<html><head><meta http-equiv="refresh" content="0; url=/"></head></html>',
        "<html><head><script>window.location.replace('/');</script></head><body></body></html>",
    ],
    ids=["meta-refresh", "script"],
)
def test_a_stub_that_sends_its_reader_away_is_followed_like_a_redirect(
    session: requests.Session, web: HTTPServer, stub: str
) -> None:
    """A 200 stub that sends its reader to the home page at once is recorded as a hop of
    its own, with its status; a 404 page that does the same stays the 404 it answered."""
    web.expect_request("/story").respond_with_data(stub, content_type="text/html")
    web.expect_request("/gone").respond_with_data(stub, status=404, content_type="text/html")
    web.expect_request("/").respond_with_data("<h1>Front page</h1>", content_type="text/html")
    result = fetch(session, web.url_for("/story"))
    assert result.redirects == (Hop(web.url_for("/story"), 200, web.url_for("/")),)
    assert (result.status, result.final_url, result.text) == (
        200,
        web.url_for("/"),
        "<h1>Front page</h1>",
    )
    gone = fetch(session, web.url_for("/gone"))
    assert (gone.status, gone.final_url, gone.redirects) == (404, web.url_for("/gone"), ())


def test_a_meta_refresh_goes_only_where_the_guard_allows(session: requests.Session) -> None:
    """A refresh to an address the guard refuses is refused like a Location header: the
    site's own port is open, the metadata service is not."""
    stub = b'<meta http-equiv="refresh" content="0; url=http://169.254.169.254/latest/">'

    def serve(conn: socket.socket, stopping: threading.Event) -> None:
        read_request(conn)
        head = {"Content-Type": "text/html", "Content-Length": str(len(stub))}
        conn.sendall(response_head(200, {**head, "Connection": "close"}) + stub)

    with RawServer(serve) as server:
        policy = NetworkPolicy(
            ports=frozenset({80, 443, server.port}),
            allowed_networks=(ipaddress.ip_network("127.0.0.1/32"),),
        )
        options = FetchOptions(network=policy)
        with pytest.raises(BlockedError, match="blocked by the network guard"):
            fetch_page(session, server.url("/story"), options)


# --- deadlines against hostile servers -------------------------------------------------


def _assert_bounded(started: float) -> None:
    elapsed = time.monotonic() - started
    assert DEADLINE * 0.9 <= elapsed < DEADLINE + SLACK, f"took {elapsed:.2f} s"


def test_slow_drip_body_is_cut_at_the_deadline(session: requests.Session) -> None:
    """A body dripped a byte at a time (40 s in all) fails at the 1 s deadline."""

    def drip(conn: socket.socket, stopping: threading.Event) -> None:
        read_request(conn)
        conn.sendall(response_head(200, {"Content-Type": "text/html", "Content-Length": "2000"}))
        for _ in range(2000):  # 2000 bytes * 20 ms = 40 s if nobody stops it
            conn.sendall(b"x")
            if stopping.wait(0.02):
                return

    with RawServer(drip) as server:
        started = time.monotonic()
        with pytest.raises(FetchError, match="deadline of 1 s exceeded"):
            fetch_page(session, server.url("/"), BOUNDED)
        _assert_bounded(started)


def test_headers_that_never_arrive_are_bounded(session: requests.Session) -> None:
    """A server that accepts and then says nothing fails at the deadline, not the read timeout."""

    def silent(conn: socket.socket, stopping: threading.Event) -> None:
        read_request(conn)
        stopping.wait(30)

    with RawServer(silent) as server:
        started = time.monotonic()
        with pytest.raises(FetchError, match="deadline"):
            fetch_page(session, server.url("/"), BOUNDED)
        _assert_bounded(started)


def test_headers_dripped_byte_by_byte_are_bounded(session: requests.Session) -> None:
    """Headers trickling in forever defeat socket timeouts; the watchdog still stops them."""

    def trickle(conn: socket.socket, stopping: threading.Event) -> None:
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\n")
        while True:
            for byte in b"X-Padding: 0\r\n":
                conn.sendall(bytes([byte]))
                if stopping.wait(0.02):
                    return

    with RawServer(trickle) as server:
        started = time.monotonic()
        with pytest.raises(FetchError, match="deadline"):
            fetch_page(session, server.url("/"), BOUNDED)
        _assert_bounded(started)


def test_stalled_body_without_length_is_not_a_truncated_200(session: requests.Session) -> None:
    """When the watchdog cuts a close-delimited body, the result is an error, not a short page."""

    def stall(conn: socket.socket, stopping: threading.Event) -> None:
        read_request(conn)
        conn.sendall(response_head(200, {"Content-Type": "text/html", "Connection": "close"}))
        conn.sendall(b"<html><body><p>first paragraph only")
        stopping.wait(30)

    with RawServer(stall) as server:
        started = time.monotonic()
        with pytest.raises(FetchError, match="deadline"):
            fetch_page(session, server.url("/"), BOUNDED)
        _assert_bounded(started)


def test_read_timeout_is_reported_as_such(session: requests.Session) -> None:
    """A silent server with a short read timeout fails fast with 'read timeout' in the message."""

    def silent(conn: socket.socket, stopping: threading.Event) -> None:
        read_request(conn)
        stopping.wait(30)

    with RawServer(silent) as server:
        started = time.monotonic()
        with pytest.raises(FetchError, match="read timeout"):
            fetch(session, server.url("/"), read_timeout_seconds=0.2, deadline_seconds=10)
        assert time.monotonic() - started < 1.0


def test_session_still_works_after_a_deadline_failure(session: requests.Session) -> None:
    """A socket shut down by the watchdog is not handed back out by the connection pool."""

    def by_path(conn: socket.socket, stopping: threading.Event) -> None:
        while not stopping.is_set():
            head = read_request(conn)
            if not head:
                return
            if head.startswith(b"GET /stall"):
                stopping.wait(30)
                return
            body = b"fine"
            conn.sendall(response_head(200, {"Content-Length": "4"}) + body)

    with RawServer(by_path) as server:
        assert fetch_page(session, server.url("/ok"), BOUNDED).text == "fine"
        with pytest.raises(FetchError, match="deadline"):
            fetch_page(session, server.url("/stall"), BOUNDED)
        assert fetch_page(session, server.url("/ok"), BOUNDED).text == "fine"


# --- transport failures ----------------------------------------------------------------


def test_connection_refused_is_a_fetch_error(session: requests.Session) -> None:
    """Nothing listening: FetchError naming the URL and the refusal."""
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/"
    with pytest.raises(FetchError, match="connection failed") as caught:
        fetch(session, url)
    assert url in str(caught.value)
    assert "refused" in str(caught.value).lower()


@pytest.mark.parametrize(
    "url", ["not a url", "ftp://example.invalid/", "http://", "mailto:desk@example.invalid", ""]
)
def test_invalid_urls_are_fetch_errors(session: requests.Session, url: str) -> None:
    """Malformed or non-HTTP URLs fail with 'invalid URL' before any network use."""
    with pytest.raises(FetchError, match="invalid URL"):
        fetch(session, url)


# --- proxies ---------------------------------------------------------------------------


def test_http_forward_proxy_carries_the_request(session: requests.Session, web: HTTPServer) -> None:
    """With proxy set, the request goes through it as an absolute-URI GET."""
    web.expect_request("/via").respond_with_data(
        "<p>经代理</p>", content_type="text/html; charset=utf-8"
    )
    with ForwardProxy() as proxy:
        result = fetch(session, web.url_for("/via"), proxy=proxy.url)
    assert proxy.seen == [web.url_for("/via")]
    assert result.text == "<p>经代理</p>"
    assert result.headers["via"] == "1.1 test-proxy"


def test_socks5h_proxy_resolves_names_remotely(session: requests.Session, web: HTTPServer) -> None:
    """socks5h:// sends the hostname to the proxy (as Tor needs) and the page comes back."""
    web.expect_request("/tor").respond_with_data("hidden", content_type="text/plain")
    url = web.url_for("/tor").replace("127.0.0.1", "localhost")
    with Socks5Proxy() as proxy:
        result = fetch(session, url, proxy=proxy.url)
    assert result.text == "hidden"
    assert proxy.destinations == [("localhost", web.port)]


# --- TLS -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RawServer, Path]]:
    """An HTTPS server on loopback with a self-signed certificate for 127.0.0.1."""
    made = make_self_signed_cert(tmp_path_factory.mktemp("tls"))
    if made is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = made
    context = ssl_server_context(cert, key)

    def handler(conn: socket.socket, stopping: threading.Event) -> None:
        while not stopping.is_set():
            if not read_request(conn):
                return
            conn.sendall(response_head(200, {"Content-Length": "6"}) + b"secure")

    with RawServer(handler, ssl_context=context) as server:
        yield server, cert


def ssl_server_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def test_tls_is_verified_by_default(
    session: requests.Session, tls_server: tuple[RawServer, Path]
) -> None:
    """An untrusted certificate is a FetchError naming TLS, not a silently accepted page."""
    server, _ = tls_server
    with pytest.raises(FetchError, match="TLS error"):
        fetch(session, server.url("/"))


def test_tls_trusts_the_session_ca_bundle(
    session: requests.Session, tls_server: tuple[RawServer, Path]
) -> None:
    """verify_tls=True defers to session.verify, so a private CA (e.g. a proxy's) works."""
    server, cert = tls_server
    session.verify = str(cert)
    assert fetch(session, server.url("/")).text == "secure"


def test_tls_verification_can_be_switched_off_per_watch(
    session: requests.Session, tls_server: tuple[RawServer, Path]
) -> None:
    """verify_tls=False fetches the page, and urllib3 still warns about it."""
    server, _ = tls_server
    with pytest.warns(InsecureRequestWarning):
        result = fetch(session, server.url("/"), verify_tls=False)
    assert result.text == "secure"


def test_headers_dripped_over_tls_are_bounded(session: requests.Session, tmp_path: Path) -> None:
    """The watchdog also unblocks a TLS socket whose server trickles its headers."""
    made = make_self_signed_cert(tmp_path)
    if made is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = made

    def trickle(conn: socket.socket, stopping: threading.Event) -> None:
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\n")
        while True:
            for byte in b"X-Padding: 0\r\n":
                conn.sendall(bytes([byte]))
                if stopping.wait(0.02):
                    return

    with RawServer(trickle, ssl_context=ssl_server_context(cert, key)) as server:
        session.verify = str(cert)
        started = time.monotonic()
        with pytest.raises(FetchError, match="deadline"):
            fetch_page(session, server.url("/"), BOUNDED)
        _assert_bounded(started)


def test_tls_handshake_dripped_byte_by_byte_is_bounded(session: requests.Session) -> None:
    """A server stretching the TLS handshake one byte at a time is stopped at the deadline."""

    def drip_handshake(conn: socket.socket, stopping: threading.Event) -> None:
        conn.recv(4096)  # the ClientHello
        conn.sendall(b"\x16\x03\x03\x40\x00")  # a 16 KiB handshake record, then a trickle
        while not stopping.wait(0.02):
            conn.sendall(b"\x00")

    with RawServer(drip_handshake) as server:
        started = time.monotonic()
        with pytest.raises(FetchError, match="deadline"):
            fetch_page(session, server.url("/").replace("http:", "https:"), BOUNDED)
        _assert_bounded(started)


def test_connection_refused_message_is_readable() -> None:
    """The reason names what failed, not urllib3's connection object."""
    with requests.Session() as session, pytest.raises(FetchError) as info:
        fetch_page(
            session, "http://127.0.0.1:9/x", FetchOptions(deadline_seconds=5, network=LOOPBACK)
        )
    message = str(info.value)
    assert "Connection refused" in message
    assert "object at 0x" not in message
    assert "HTTPConnection" not in message


def test_deadlines_fire_in_time_order_and_cancelled_ones_never() -> None:
    """The one deadline thread serves every fetch: the soonest first, whatever the order
    they were set in, and a fetch that ended in time is never interrupted."""
    fired: list[str] = []
    done = threading.Event()
    now = time.monotonic()
    _ALARMS.schedule(now + 0.3, lambda: (fired.append("late"), done.set()))
    cancelled = _ALARMS.schedule(now + 0.1, lambda: fired.append("cancelled"))
    _ALARMS.schedule(now + 0.2, lambda: fired.append("soon"))
    _ALARMS.schedule(now + 0.15, lambda: 1 / 0)  # a broken callback stops nothing
    _ALARMS.cancel(cancelled)
    assert done.wait(5)
    assert fired == ["soon", "late"]


# --- sessions --------------------------------------------------------------------------


@pytest.fixture
def bare_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No proxy variables, CA bundles or .netrc: what a systemd service usually has."""
    for name in list(os.environ):
        if name.lower().endswith("_proxy") or name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
            monkeypatch.delenv(name)
    monkeypatch.delenv("NETRC", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    _environment_routes.cache_clear()
    yield
    _environment_routes.cache_clear()


@pytest.mark.usefixtures("bare_environment")
def test_session_skips_the_environment_when_it_sets_nothing() -> None:
    """Nothing for requests to find in the environment: it is not searched on every fetch."""
    with open_session("watcher-test") as session:
        assert session.trust_env is False
        assert session.headers["User-Agent"] == "watcher-test"


@pytest.mark.usefixtures("bare_environment")
def test_session_verifies_with_the_environments_ca_bundle(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """REQUESTS_CA_BUNDLE is honoured without searching the environment on every fetch:
    requests verifies with the bundle it names, as it would with ``trust_env``."""
    bundle = tmp_path / "ca.pem"
    bundle.write_text("")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    with open_session("watcher-test") as session:
        assert session.trust_env is False
        settings = session.merge_environment_settings("https://example.org/", {}, True, None, None)
        assert settings["verify"] == str(bundle)
        # A watch that opts out of verification still does (verify_tls = false).
        settings = session.merge_environment_settings("https://example.org/", {}, True, False, None)
        assert settings["verify"] is False


@pytest.mark.usefixtures("bare_environment")
def test_session_reads_a_netrc_when_there_is_one(tmp_path: Path) -> None:
    """A .netrc in the home folder keeps requests' environment handling on."""
    (tmp_path / ".netrc").write_text("machine example.org login a password b\n")
    with open_session("watcher-test") as session:
        assert session.trust_env is True


@pytest.mark.usefixtures("bare_environment")
def test_proxy_variable_still_carries_the_request(
    monkeypatch: pytest.MonkeyPatch, web: HTTPServer
) -> None:
    """An operator's HTTP_PROXY is honoured as before: the fetch goes through it."""
    web.expect_request("/env").respond_with_data("<p>via env</p>", content_type="text/html")
    with ForwardProxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        _environment_routes.cache_clear()
        with open_session("watcher-test") as session:
            assert session.trust_env is True
            result = fetch(session, web.url_for("/env"))
    assert proxy.seen == [web.url_for("/env")]
    assert result.text == "<p>via env</p>"
