"""Article links out of a source's body: RSS/Atom, a news sitemap, a section page (pure).

Never fetches: a sitemap index names its child sitemaps and the caller fetches them. A
body that is not what the source should be (an HTML error page instead of a feed, broken
XML) is a ``SourceError``, never an empty listing: an empty listing would read as every
article having been dropped from the source.
"""

from __future__ import annotations

import calendar
import logging
import re
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit, urlunsplit

import feedparser
from lxml import etree, html

from watcher.errors import SourceError

logger = logging.getLogger(__name__)

Kind = Literal["feed", "sitemap", "section"]

# A gzipped sitemap may hold 50,000 URLs (the protocol's limit): about 10 MB of XML.
MAX_UNZIPPED_BYTES = 50 * 1024 * 1024
_FIRST_TAG = re.compile(rb"<\s*([A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)")
_SKIP_PROLOG = re.compile(rb"^(\s|<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>)*", re.DOTALL | re.I)
_FEED_ROOTS = frozenset({b"rss", b"feed", b"RDF", b"rdf"})
_SITEMAP_ROOTS = frozenset({b"urlset", b"sitemapindex"})
_NEWS = "{http://www.google.com/schemas/sitemap-news/0.9}"


@dataclass(frozen=True, slots=True)
class Item:
    """One article a source lists: its URL, and the title and date the source states."""

    url: str
    title: str = ""
    published_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Listing:
    """What one body of a source lists; a sitemap index lists ``children`` to fetch."""

    kind: Kind
    items: tuple[Item, ...] = ()
    children: tuple[str, ...] = ()


def read_listing(body: bytes, base_url: str, *, links: re.Pattern[str] | None = None) -> Listing:
    """The items in ``body``: a section page when ``links`` is given, else a feed or a
    sitemap told apart by the document's root element; raise ``SourceError`` otherwise."""
    body = _gunzipped(body)
    if links is not None:
        return Listing("section", _section_items(body, base_url, links))
    root = _root_name(body)
    if root in _SITEMAP_ROOTS:
        return _sitemap(body, base_url)
    if root in _FEED_ROOTS:
        return Listing("feed", _feed_items(body, base_url))
    if root is not None and root.lower() == b"html":
        raise SourceError(
            "returned an HTML page, not a feed or sitemap "
            "(for a section page, give links = a pattern of article URLs)"
        )
    raise SourceError("is neither RSS/Atom nor a sitemap (no <rss>, <feed> or <urlset>)")


def canonical_item_url(url: str) -> str:
    """The identity of an article URL: lower-case scheme and host, no fragment."""
    parts = urlsplit(url.strip())
    return urlunsplit(
        (parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", parts.query, "")
    )


def _gunzipped(body: bytes) -> bytes:
    """A gzipped sitemap (``.xml.gz``, served without Content-Encoding) as plain bytes."""
    if not body.startswith(b"\x1f\x8b"):
        return body
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, MAX_UNZIPPED_BYTES + 1)
    except zlib.error as exc:
        raise SourceError(f"is gzip that does not decompress: {exc}") from None
    if len(out) > MAX_UNZIPPED_BYTES or inflater.unconsumed_tail:
        raise SourceError(f"decompresses to more than {MAX_UNZIPPED_BYTES} bytes")
    if not inflater.eof:
        raise SourceError("is gzip that does not decompress: cut short or corrupt")
    return out


def _root_name(body: bytes) -> bytes | None:
    head = body[:4096].lstrip(b"\xef\xbb\xbf")
    head = _SKIP_PROLOG.sub(b"", head, count=1)
    match = _FIRST_TAG.match(head)
    return match.group(2) if match else None


def _feed_items(body: bytes, base_url: str) -> tuple[Item, ...]:
    # The root element already says XML, whatever the server's Content-Type claimed.
    headers = {"content-location": base_url, "content-type": "application/xml"}
    parsed: Any = feedparser.parse(body, response_headers=headers)
    if parsed.bozo and not isinstance(parsed.bozo_exception, feedparser.CharacterEncodingOverride):
        raise SourceError(f"is a malformed feed: {parsed.bozo_exception}")
    items: list[Item] = []
    for entry in parsed.entries:
        link = entry.get("link") or ""
        if not link and str(entry.get("id", "")).startswith(("http://", "https://")):
            link = entry["id"]
        if not link:
            continue
        stamp = entry.get("published_parsed") or entry.get("updated_parsed")
        published = datetime.fromtimestamp(calendar.timegm(stamp), UTC) if stamp else None
        url = canonical_item_url(urljoin(base_url, link))
        items.append(Item(url, str(entry.get("title", "")).strip(), published))
    return _unique(items)


def _sitemap(body: bytes, base_url: str) -> Listing:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError as exc:
        raise SourceError(f"is a malformed sitemap: {exc}") from None
    namespace = root.tag.split("}", 1)[0] + "}" if root.tag.startswith("{") else ""
    if root.tag.endswith("sitemapindex"):
        children = [
            urljoin(base_url, (node.text or "").strip())
            for node in root.iter(f"{namespace}loc")
            if (node.text or "").strip()
        ]
        return Listing("sitemap", children=tuple(dict.fromkeys(children)))
    items: list[Item] = []
    for entry in root.iter(f"{namespace}url"):
        loc = (entry.findtext(f"{namespace}loc") or "").strip()
        if not loc:
            continue
        news = entry.find(f"{_NEWS}news")
        title = ""
        stated = None
        if news is not None:
            title = (news.findtext(f"{_NEWS}title") or "").strip()
            stated = news.findtext(f"{_NEWS}publication_date")
        stated = stated or entry.findtext(f"{namespace}lastmod")
        items.append(Item(canonical_item_url(urljoin(base_url, loc)), title, _w3c_date(stated)))
    return Listing("sitemap", _unique(items))


def _section_items(body: bytes, base_url: str, links: re.Pattern[str]) -> tuple[Item, ...]:
    try:
        document = html.document_fromstring(body, parser=html.HTMLParser())
    except (etree.ParserError, ValueError) as exc:
        raise SourceError(f"is not a readable HTML page: {exc}") from None
    items: list[Item] = []
    for anchor in document.iter("a"):
        href = anchor.get("href")
        if not href:
            continue
        url = canonical_item_url(urljoin(base_url, href.strip()))
        if links.fullmatch(url):
            title = " ".join(anchor.text_content().split())
            items.append(Item(url, title))
    return _unique(items)


def _unique(items: list[Item]) -> tuple[Item, ...]:
    """One item per URL, the first stated title and date kept (a front page links twice)."""
    seen: dict[str, Item] = {}
    for item in items:
        if item.url not in seen:
            seen[item.url] = item
        elif not seen[item.url].title and item.title:
            seen[item.url] = Item(item.url, item.title, seen[item.url].published_at)
    return tuple(seen.values())


def _w3c_date(text: str | None) -> datetime | None:
    """A W3C datetime (2026-11-29, 2026-11-29T08:15:00+08:00) as UTC; None if unreadable."""
    if not text:
        return None
    value = text.strip().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
