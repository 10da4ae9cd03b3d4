"""Reading listings: RSS/Atom, news sitemaps (gzipped, indexes) and section pages, and the
watchlist's [[source]] tables. Pure: bytes in, items out."""

from __future__ import annotations

import gzip
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from watcher.cli import main
from watcher.config import Source, parse_watchlist
from watcher.discover.items import Item, canonical_item_url, read_listing
from watcher.discover.poll import select_items
from watcher.errors import ConfigError, SourceError

BASE = "https://news.example.cn/feed.xml"

RSS = b"""<?xml version="1.0" encoding="gb2312"?>
<rss version="2.0"><channel><title>\xd0\xc2\xce\xc5</title>
<item><title>\xb9\xa4\xb3\xa7\xb1\xac\xd5\xa8</title><link>/2026/11/29/a.shtml#top</link>
<pubDate>Sun, 29 Nov 2026 19:30:00 +0800</pubDate></item>
<item><title>No date</title><link>https://NEWS.example.cn/2026/11/29/b.shtml</link></item>
<item><title>No link</title></item>
</channel></rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Desk</title><id>urn:x</id>
<updated>2026-11-29T12:00:00Z</updated>
<entry><title>Linked</title><link rel="alternate" href="https://news.example.cn/c"/>
<id>urn:c</id><published>2026-11-29T10:00:00Z</published></entry>
<entry><title>Id only</title><id>https://news.example.cn/d</id>
<updated>2026-11-29T11:00:00+01:00</updated></entry></feed>"""

NEWS_SITEMAP = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>https://news.example.cn/e</loc><news:news>
  <news:publication><news:name>X</news:name><news:language>zh</news:language></news:publication>
  <news:publication_date>2026-11-29T19:05:00+08:00</news:publication_date>
  <news:title>\xe5\x8c\x96\xe5\xb7\xa5\xe5\x8e\x82</news:title></news:news></url>
<url><loc>https://news.example.cn/f</loc><lastmod>2026-11-28</lastmod></url>
</urlset>"""

INDEX = b"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>https://news.example.cn/news-1.xml</loc></sitemap>
<sitemap><loc>https://news.example.cn/news-2.xml.gz</loc></sitemap>
</sitemapindex>"""


def test_rss_items_with_decoded_titles_absolute_urls_and_utc_dates() -> None:
    """A GB2312 RSS feed: titles decoded, relative links resolved, fragments dropped,
    dates in UTC, an item without a link skipped."""
    listing = read_listing(RSS, BASE)
    assert listing.kind == "feed"
    assert listing.items == (
        Item(
            "https://news.example.cn/2026/11/29/a.shtml",
            "工厂爆炸",
            datetime(2026, 11, 29, 11, 30, tzinfo=UTC),
        ),
        Item("https://news.example.cn/2026/11/29/b.shtml", "No date", None),
    )


def test_atom_entries_use_link_or_an_http_id() -> None:
    """Atom: the alternate link, else an id that is a URL; published before updated."""
    listing = read_listing(ATOM, BASE)
    assert [(i.url, i.published_at) for i in listing.items] == [
        ("https://news.example.cn/c", datetime(2026, 11, 29, 10, 0, tzinfo=UTC)),
        ("https://news.example.cn/d", datetime(2026, 11, 29, 10, 0, tzinfo=UTC)),
    ]


def test_news_sitemap_reads_publication_date_and_title_else_lastmod() -> None:
    """<news:publication_date> and <news:title> win; a plain <lastmod> is the fallback."""
    listing = read_listing(NEWS_SITEMAP, BASE)
    assert listing.kind == "sitemap"
    assert listing.items == (
        Item("https://news.example.cn/e", "化工厂", datetime(2026, 11, 29, 11, 5, tzinfo=UTC)),
        Item("https://news.example.cn/f", "", datetime(2026, 11, 28, tzinfo=UTC)),
    )


def test_sitemap_index_lists_children_and_gzip_is_read() -> None:
    """An index names its child sitemaps; a gzipped body (no Content-Encoding) is read."""
    index = read_listing(INDEX, BASE)
    assert index.items == ()
    assert index.children == (
        "https://news.example.cn/news-1.xml",
        "https://news.example.cn/news-2.xml.gz",
    )
    assert (
        read_listing(gzip.compress(NEWS_SITEMAP), BASE).items
        == read_listing(NEWS_SITEMAP, BASE).items
    )


def test_section_page_keeps_links_matching_the_whole_pattern() -> None:
    """Only links whose whole absolute URL matches; one item per article, titled."""
    page = b"""<html><body><a href="/2026/11/29/x.html">Minister <b>resigns</b></a>
    <a href="/2026/11/29/x.html#comments">12 comments</a>
    <a href="https://news.example.cn/2026/11/29/y.html?from=home">Query kept</a>
    <a href="/2026/11/29/x.html.bak">not an article</a><a href="/about">About</a></body></html>"""
    links = re.compile(r"https://news\.example\.cn/\d{4}/\d{2}/\d{2}/\w+\.html(\?.*)?")
    listing = read_listing(page, "https://news.example.cn/world/", links=links)
    assert listing.items == (
        Item("https://news.example.cn/2026/11/29/x.html", "Minister resigns"),
        Item("https://news.example.cn/2026/11/29/y.html?from=home", "Query kept"),
    )


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<!DOCTYPE html><html><body>Log in</body></html>", "returned an HTML page"),
        (b'<?xml version="1.0"?>\n<rss version="2.0"><channel><item>', "malformed feed"),
        (b'<?xml version="1.0"?><urlset><url><loc>x</loc></urlset>', "malformed sitemap"),
        (b'{"items": []}', "neither RSS/Atom nor a sitemap"),
        (b"\x1f\x8b\x08\x00broken", "gzip that does not decompress"),
    ],
    ids=["html", "broken-feed", "broken-sitemap", "json", "bad-gzip"],
)
def test_unusable_body_is_an_error_never_an_empty_listing(body: bytes, reason: str) -> None:
    """An empty listing would read as every article dropped: these raise instead."""
    with pytest.raises(SourceError, match=reason):
        read_listing(body, BASE)


def test_sitemap_entities_are_not_expanded() -> None:
    """An external entity in a sitemap is never resolved (no local file read)."""
    body = (
        b'<?xml version="1.0"?><!DOCTYPE u [<!ENTITY x SYSTEM "file:///etc/hostname">]>'
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b"<url><loc>https://news.example.cn/&x;</loc></url></urlset>"
    )
    try:
        items = read_listing(body, BASE).items
    except SourceError:
        return
    assert all("etc" not in item.url for item in items)
    with open("/etc/hostname", encoding="utf-8") as hostname:
        assert all(hostname.read().strip() not in item.url for item in items)


URLS = r"https?://[A-Za-z.]{1,12}(/[A-Za-z0-9/._-]{0,12})?(\?[a-z=&]{0,6})?(#\w*)?"


@given(st.from_regex(URLS, fullmatch=True))
def test_canonical_item_url_is_idempotent(url: str) -> None:
    """Canonicalising twice changes nothing, and a fragment never survives."""
    once = canonical_item_url(url)
    assert canonical_item_url(once) == once
    assert "#" not in once


def test_match_and_since_select_items() -> None:
    """match searches URL and title; since drops items dated before now - since."""
    now = datetime(2026, 11, 29, 12, tzinfo=UTC)
    items = [
        Item("https://a.example/politics/1", "Vote", now - timedelta(hours=1)),
        Item("https://a.example/sport/2", "Politics of football", now - timedelta(days=3)),
        Item("https://a.example/sport/3", "Match report", None),
    ]
    source = Source(url="https://a.example/feed", match="(?i)politics")
    assert [i.url for i in select_items(items, source, now)] == [items[0].url, items[1].url]
    source = Source(url="https://a.example/feed", since="1d")
    assert [i.url for i in select_items(items, source, now)] == [items[0].url, items[2].url]


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ("links = 'a(b'", "w.toml:5: source[0].links: 'a(b' is not a regular expression"),
        ("kind = 'section'", 'w.toml:4: source[0]: kind = "section" needs links'),
        ("notify = ['nobody']", "w.toml:5: source[0].notify[0]: no route named 'nobody'"),
        ("poll = 'often'", "w.toml:5: source[0].poll: 'often' is not a duration"),
        ("kind = 'podcast'", "w.toml:5: source[0].kind: Input should be 'feed'"),
    ],
)
def test_source_errors_name_file_line_and_key(table: str, expected: str) -> None:
    """A [[source]] mistake is reported like every watchlist error."""
    text = f"[settings]\nevery = '1h'\n\n[[source]]\n{table}\nurl = 'https://a.example/feed'\n"
    with pytest.raises(ConfigError) as caught:
        parse_watchlist(text, "w.toml")
    assert str(caught.value).startswith(expected)


def test_a_source_listed_twice_is_refused() -> None:
    """Two [[source]] tables for one URL: the second is named."""
    text = (
        "[[source]]\nurl = 'https://a.example/feed'\n[[source]]\nurl = 'https://A.example/feed'\n"
    )
    with pytest.raises(
        ConfigError, match=r"w.toml:4: source\[1\].url: .* already read by source\[0\]"
    ):
        parse_watchlist(text, "w.toml")


def test_validate_counts_sources(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """watcher validate reports the sources it accepted."""
    config = tmp_path / "w.toml"
    config.write_text("[[source]]\nurl = 'https://a.example/feed'\n", encoding="utf-8")
    assert main(["-c", str(config), "validate"]) == 0
    assert capsys.readouterr().out == f"{config}: OK, 0 watches, 0 routes, 1 source\n"
