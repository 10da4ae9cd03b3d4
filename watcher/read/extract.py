"""Read the article out of a page's HTML (pure: no I/O).

Three modes: ``article`` (title, byline, date, main-text paragraphs via trafilatura),
``selector`` (text of the elements a CSS selector picks) and ``page`` (all visible text).
Never raises for any ``str`` input: garbage in gives an empty ``Article``, not an exception.
"""

from __future__ import annotations

import itertools
import logging
import re
import threading
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import lxml.html
from cssselect import HTMLTranslator, SelectorError
from lxml import etree

from watcher.read.blocks import BLOCK_TAGS
from watcher.read.parts import DATE_KEYS, is_credit_or_date, read_parts, stated_parts

logger = logging.getLogger(__name__)

MODES = ("article", "selector", "page")


@dataclass(frozen=True, slots=True)
class Article:
    """What a reader sees of one page: the parts watcher compares."""

    title: str
    byline: str
    published: str  # as the page states it; ISO 8601 when it can be parsed
    paragraphs: tuple[str, ...]
    page_title: str = ""  # the document's <title>, kept for removal detection
    # article mode found no article and fell back to the visible page text: a soft-404,
    # a removal notice or a redesign; the classifier weighs it, extraction only reports it
    is_fallback: bool = False
    # The other parts, as a reader sees them (watcher.read.parts): the headline as shown,
    # credits and dates shown near it, picture captions and the lines of the article block
    # the extractor left out; and what the metadata states ("author: …", "headline: …").
    headlines: tuple[str, ...] = ()
    bylines: tuple[str, ...] = ()
    datelines: tuple[str, ...] = ()
    captions: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    stated: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)


_EMPTY = Article(title="", byline="", published="", paragraphs=())
# The parts that are lines of their own, besides the body's paragraphs.
LINE_PARTS = ("headlines", "bylines", "datelines", "captions", "notes", "stated")


def with_lines(article: Article, lines: Mapping[str, tuple[str, ...]]) -> Article:
    """``article`` with the ``LINE_PARTS`` named in ``lines`` replaced."""
    return replace(
        article,
        headlines=lines.get("headlines", article.headlines),
        bylines=lines.get("bylines", article.bylines),
        datelines=lines.get("datelines", article.datelines),
        captions=lines.get("captions", article.captions),
        notes=lines.get("notes", article.notes),
        stated=lines.get("stated", article.stated),
    )


def extract_article(
    html: str,
    *,
    mode: str = "article",
    selector: str | None = None,
    exclude: Sequence[str] = (),
    url: str | None = None,
) -> Article:
    """Extract an ``Article`` from ``html``; ``exclude`` CSS selectors are removed first.

    A bad ``mode`` or selector is a configuration error and raises ``ValueError``;
    the HTML itself never makes this raise.
    """
    if mode not in MODES:
        raise ValueError(f"unknown extraction mode {mode!r}; expected one of {MODES}")
    if mode == "selector" and not selector:
        raise ValueError("mode 'selector' needs a CSS selector")
    for css in exclude:
        _compile(css)  # a bad selector is a configuration error even on an empty page
    picks = _compile(selector) if mode == "selector" and selector else None
    root = _parse(html)
    if root is None:
        return _EMPTY
    page_title = _page_title(root)
    _drop_unread(root, exclude)

    if picks is not None:
        matched = _outermost(picks(root))
        paragraphs = [p for el in matched for p in _visible_paragraphs(el)]
        return Article(
            title=page_title or _first_text(root, "//h1"),
            byline="",
            published="",
            paragraphs=tuple(paragraphs),
            page_title=page_title,
        )
    if mode == "page":
        return Article(
            title=page_title or _first_text(root, "//h1"),
            byline="",
            published="",
            paragraphs=tuple(_visible_paragraphs(root)),
            page_title=page_title,
        )
    _drop_link_teasers(root)
    _drop_hidden_menus(root)
    return _extract_main(root, url, page_title)


def prepare_page(html: str, exclude: Sequence[str] = ()) -> lxml.html.HtmlElement | None:
    """The parsed page minus what is never read (``exclude`` selectors, consent banners):
    the tree the quick re-read and locating start from. None when nothing parseable is
    there. (Lines that only link to other stories are left in: looking for them costs about
    a parse, and a block whose teaser rotates is read in full, where they are dropped.)"""
    root = _parse(html)
    if root is not None:
        _drop_unread(root, exclude)
    return root


def visible_paragraphs(top: lxml.html.HtmlElement) -> list[str]:
    """Visible text under ``top``, one paragraph per block, as page mode reads it."""
    return _visible_paragraphs(top)


def _drop_unread(root: lxml.html.HtmlElement, exclude: Sequence[str]) -> None:
    for css in exclude:
        _drop_all(_compile(css)(root))
    names = [v for v in _CLASS_AND_ID(root) if isinstance(v, str)]  # one scan for both
    _drop_consent_banners(root, names)
    _drop_ad_slots(root, names)


def check_selector(css: str) -> None:
    """Raise ``ValueError`` if ``css`` is not a usable CSS selector (for config validation)."""
    _compile(css)


# -- article mode -------------------------------------------------------------------------


def _extract_main(root: lxml.html.HtmlElement, url: str | None, page_title: str) -> Article:
    """Run trafilatura on the parsed tree; fall back to the visible text when it finds nothing."""
    published = published_date(root, url)  # before trafilatura's clean-up touches root
    doc = _run_trafilatura(root, url)
    title = _attr(doc, "title") or _meta_title(root) or _first_text(root, "//h1") or page_title
    byline = _attr(doc, "author")
    text = getattr(doc, "text", None)
    paragraphs = _split_lines(text) if isinstance(text, str) else ()
    paragraphs = _without_title_lines(paragraphs, title, page_title)
    lines = visible_blocks(root)
    if paragraphs:
        parts = read_parts(root, lines, title, paragraphs)
        return Article(
            title,
            byline,
            published,
            # the headline as shown too, when it no longer reads as the stated one
            _without_title_lines(paragraphs, *parts.headlines),
            page_title,
            headlines=parts.headlines,
            bylines=parts.bylines,
            datelines=parts.datelines,
            captions=parts.captions,
            notes=parts.notes,
            stated=parts.stated,
        )
    # no article found: the whole page is read, so only the metadata is a part of its own
    return Article(
        title=title,
        byline=byline,
        published=published,
        paragraphs=tuple(text for text, _ in lines),
        page_title=page_title,
        is_fallback=True,
        stated=stated_parts(root),
    )


_META_DATES = etree.XPath(
    "//meta[@content][@property or @name or @itemprop]"
    " | //*[@itemprop='datePublished'][@datetime or @content]"
)
_ISO_DAY = re.compile(r"\s*(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)")
_JSON_LD_DATE = re.compile(r'"datePublished"\s*:\s*"([^"]{8,40})"')


def stated_date(root: lxml.html.HtmlElement) -> str:
    """The publication day the page's metadata states (``YYYY-MM-DD``), or "".

    Metadata is written once by the CMS and does not move with the layout, and it is
    where a backdated article is backdated: trafilatura may prefer a date in the URL
    or the first ``<time>`` on the page and so not see the change.
    """
    stated: dict[str, str] = {}
    for el in _META_DATES(root):
        key = (el.get("property") or el.get("name") or el.get("itemprop") or "").lower()
        value = el.get("content") or el.get("datetime") or ""
        if key in DATE_KEYS and key not in stated and (day := _iso_day(value)):
            stated[key] = day
    for key in DATE_KEYS:
        if key in stated:
            return stated[key]
    for script in _JSON_LD(root):
        if (m := _JSON_LD_DATE.search(script.text or "")) and (day := _iso_day(m.group(1))):
            return day
    return ""


def published_date(root: lxml.html.HtmlElement, url: str | None) -> str:
    """The article's publication date: the one its metadata states, else the one htmldate
    finds on the page (in its URL, a ``<time>``, a dated line of text), unless only some
    ``<time>`` states it (``_stable_date``).

    Full reading and the quick re-read both call this on the same prepared tree, so a
    page dated only in its text can be re-read quickly, and a date changed anywhere
    htmldate looks still sends it to full reading.
    """
    return stated_date(root) or _stable_date(root, url, _found_date(root, url))


def _found_date(root: lxml.html.HtmlElement, url: str | None) -> str:
    """htmldate's answer, searched as trafilatura searches (every pattern, the original
    date rather than an update), with the article's own URL when the page names it."""
    from htmldate import find_date  # readers only: it comes with trafilatura

    try:
        found = find_date(
            root, extensive_search=True, original_date=True, url=_article_url(root, url)
        )
    except Exception:  # third-party heuristics on hostile input: no date is the safe answer
        logger.warning("the date search failed url=%s", url, exc_info=True)
        return ""
    return found if isinstance(found, str) else ""


_OG_URL = etree.XPath("//meta[@property='og:url']/@content")
_CANONICAL = etree.XPath("//link[@rel='canonical']/@href")


def _article_url(root: lxml.html.HtmlElement, url: str | None) -> str | None:
    """The URL the page gives itself (``og:url``, the canonical link), else ``url``: a date
    in the article's address counts wherever the page was fetched from."""
    for found in (*_OG_URL(root), *_CANONICAL(root)):
        named = str(found).strip()
        if named.startswith("//"):
            named = f"https:{named}"
        if named.startswith(("http://", "https://")):
            return named
    return url


def _iso_day(value: str) -> str:
    m = _ISO_DAY.match(value)
    if m is None:
        return ""
    year, month, day = (int(g) for g in m.groups())
    if not (1990 <= year <= 2200 and 1 <= month <= 12 and 1 <= day <= 31):
        return ""
    return f"{year:04d}-{month:02d}-{day:02d}"


def _stable_date(root: lxml.html.HtmlElement, url: str | None, found: str) -> str:
    """``found``, unless the only place that states it is some ``<time>`` element.

    When metadata gives no date it can parse, trafilatura (htmldate) takes the first
    plausible ``<time>`` anywhere on the page: a sidebar teaser's or a clock's, which
    changes as the sidebar rotates and would report a date edit on every load. A date
    the URL or the metadata also states is the article's; one that only a ``<time>``
    states cannot be told apart from page furniture, so it is left out.
    """
    if not found:
        return ""
    day = found[:10]
    forms = (day, day.replace("-", "/"), day.replace("-", ""))
    if url and day.replace("-", "") in re.sub(r"[/_.-]", "", urlsplit(url).path):
        return found
    stated = [str(value) for value in _METADATA_DATES(root)]
    stated += [script.text or "" for script in _JSON_LD(root)]
    if any(form in text for text in stated for form in forms):
        return found
    for el in _TIME(root):
        text = f"{el.get('datetime') or ''} {el.text_content()}"
        if any(form in text for form in forms):
            return ""
    return found


_METADATA_DATES = etree.XPath("//meta/@content")
_JSON_LD = etree.XPath("//script[@type='application/ld+json']")
_TIME = etree.XPath("//time")


def _without_title_lines(paragraphs: tuple[str, ...], *titles: str) -> tuple[str, ...]:
    """Drop the headline (and the document's ``<title>``, and the headline as shown)
    wherever trafilatura repeats it as a line of the text.

    The headline is compared on its own; counting it in the body too would report a
    headline edit as a body edit as well. Whether trafilatura repeats it, and where
    (first line, or after a standfirst or a counter), varies with the markup around
    the article, so every repetition goes, not only a leading one.
    """
    dropped = {" ".join(t.split()) for t in titles if t}
    if not dropped:
        return paragraphs
    return tuple(p for p in paragraphs if " ".join(p.split()) not in dropped)


def _run_trafilatura(root: lxml.html.HtmlElement, url: str | None) -> object | None:
    """Call trafilatura with the settings measured on the corpus (see tests/test_extract.py).

    Balanced mode (neither ``fast`` nor a precision/recall bias): ``fast`` pulled whole
    navigation menus into two corpus pages, ``favor_precision`` dropped article paragraphs
    on 25 pages, and ``favor_recall`` added tickers and "updated 3 hours ago" lines that
    would alert on every check. Comments are never article text; tables often are.
    trafilatura copies the tree it is given, so ``root`` stays intact for the fallback.
    """
    # Imported here, not at the top: only reader processes extract, and the daemon and the
    # command line then start without trafilatura's 80 ms and 20 MB (readers preload it).
    from trafilatura import bare_extraction

    _collapse_source_spaces(root)
    try:
        return bare_extraction(
            root,
            url=url,
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            deduplicate=False,  # its cache is process-wide: output would depend on history
            # its date is not used (published_date is): the quick search is enough
            date_extraction_params={"extensive_search": False, "original_date": True},
        )
    except Exception:  # third-party heuristics on hostile input; page text is the safe answer
        logger.warning("trafilatura failed, using the page text url=%s", url, exc_info=True)
        return None


# Text nodes with words and a run of white space inside, outside preformatted elements:
# libxml2 finds the few that need rewriting, so Python never walks the whole tree. (A
# form feed cannot be an XPath variable; a text node whose only run is one is left be.)
_SPACED_TEXT = etree.XPath(
    "//text()[normalize-space(.)]"
    "[contains(., $nl) or contains(., $tab) or contains(., $cr) or contains(., '  ')]"
    "[not(ancestor::pre or ancestor::textarea or ancestor::code"
    " or ancestor::script or ancestor::style)]"
)


def _collapse_source_spaces(root: lxml.html.HtmlElement) -> None:
    """Collapse white space between words in every text node, as a browser renders it.

    trafilatura keeps the line breaks of the HTML *source* inside a paragraph, so a
    page whose template re-wraps its source text would split paragraphs differently
    on every deploy. White space at the edges of a text node stays (it separates
    inline elements); preformatted text keeps all of it.
    """
    for text in _SPACED_TEXT(root, nl="\n", tab="\t", cr="\r"):
        el = text.getparent()
        collapsed = _INNER_SPACES.sub(" ", text)
        if el is None or collapsed == text:
            continue
        # control characters libxml2 parsed but will not take back: leave that node be
        with suppress(ValueError):
            if text.is_tail:
                el.tail = collapsed
            else:
                el.text = collapsed


def _attr(doc: object | None, name: str) -> str:
    value = getattr(doc, name, None)
    return _clean(value) if isinstance(value, str) else ""


def _split_lines(text: str) -> tuple[str, ...]:
    return tuple(line for line in (part.strip() for part in text.split("\n")) if line)


def _meta_title(root: lxml.html.HtmlElement) -> str:
    for key in ("og:title", "twitter:title"):
        for content in root.xpath("//meta[@property=$key or @name=$key]/@content", key=key):
            if text := _clean(str(content)):
                return text
    return ""


# -- parsing and selectors ----------------------------------------------------------------

# huge_tree lifts libxml2's nesting limit of 256: past it the parser silently drops the
# rest of the page, and unclosed <font>/<b> soup on old CMS pages gets there.
_PARSER_OPTIONS: dict[str, Any] = {
    "collect_ids": False,
    "default_doctype": False,
    "remove_comments": True,
    "remove_pis": True,
    "huge_tree": True,
}
# One parser per thread: one module-level parser shared by threads crashed the process
# (SIGSEGV, double free) when trafilatura copied trees that another thread's parse was
# building (benchmarks/thread_crash.py). Pages are read in reader processes anyway.
_PARSERS = threading.local()


def _parsers() -> tuple[lxml.html.HTMLParser, lxml.html.HTMLParser]:
    """This thread's parsers: for text, and for UTF-8 bytes."""
    parsers: tuple[lxml.html.HTMLParser, lxml.html.HTMLParser] | None = getattr(
        _PARSERS, "pair", None
    )
    if parsers is None:
        parsers = (
            lxml.html.HTMLParser(**_PARSER_OPTIONS),
            lxml.html.HTMLParser(**_PARSER_OPTIONS, encoding="utf-8"),
        )
        _PARSERS.pair = parsers
    return parsers


_SURROGATES = re.compile("[\ud800-\udfff]")
# <html .../> in the first lines makes libxml2 close the document before the body starts
_SELF_CLOSED_HTML = re.compile(r"(<html\b[^>]*?)\s*/>", re.IGNORECASE)


def _parse(html: str) -> lxml.html.HtmlElement | None:
    """Parse ``html`` into a document tree; ``None`` when nothing parseable is there."""
    if not isinstance(html, str) or not html or html.isspace():
        return None
    if not html.isascii() and _SURROGATES.search(html):
        # lone surrogates cannot come from decoding; libxml2 silently stops at the first one
        html = _SURROGATES.sub("\ufffd", html)
    if m := _SELF_CLOSED_HTML.search(html, 0, 2048):
        html = f"{html[: m.start()]}{m.group(1)}>{html[m.end() :]}"
    parser, parser_utf8 = _parsers()
    try:
        return lxml.html.document_fromstring(html, parser=parser)
    except ValueError:
        # "Unicode strings with encoding declaration are not supported": an <?xml
        # encoding=...?> prolog; the text is already decoded, so hand libxml2 UTF-8 bytes
        pass
    except etree.LxmlError:
        return None  # "Document is empty": only markup that produces no nodes
    try:
        return lxml.html.document_fromstring(html.encode("utf-8"), parser=parser_utf8)
    except (ValueError, etree.LxmlError):
        return None


@lru_cache(maxsize=256)
def _compile(css: str) -> etree.XPath:
    """Translate a CSS selector to a compiled XPath; ``ValueError`` names the bad selector."""
    try:
        return etree.XPath(HTMLTranslator().css_to_xpath(css))
    except (SelectorError, etree.XPathError) as err:
        raise ValueError(f"invalid CSS selector {css!r}: {err}") from err


def _drop_all(elements: Iterable[lxml.html.HtmlElement]) -> None:
    """Remove ``elements`` but keep the text that follows each one (its tail)."""
    for el in elements:
        if el.getparent() is None:
            el.clear()  # the root itself was excluded: nothing is left to read
        else:
            el.drop_tree()


# Every class and id value as a plain string: one pass in libxml2 and no element proxy
# per value (XPath string functions, EXSLT regexes or smart strings cost far more).
_CLASS_AND_ID = etree.XPath("//@class | //@id", smart_strings=False)
_NAMED = etree.XPath("//*[@class=$value or @id=$value]")


def elements_named(
    root: lxml.html.HtmlElement, pattern: re.Pattern[str], names: Iterable[str] | None = None
) -> list[Any]:
    """Elements whose class or id attribute ``pattern`` finds something in, name by name
    in sorted order; ``names`` are the page's class and id values when already listed. A
    page with many such names (an id per ad slot) is walked once, not once per name."""
    if names is None:
        names = (v for v in _CLASS_AND_ID(root) if isinstance(v, str))
    values = {v for v in names if pattern.search(v)}
    by_value: dict[str, list[Any]] = {}
    if len(values) > _NAMES_LOOKED_UP:
        for el in root.iter():
            for value in (el.get("class"), el.get("id")):
                if value in values:
                    by_value.setdefault(value, []).append(el)
    found: dict[int, Any] = {}
    for value in sorted(values):
        named = by_value.get(value, []) if by_value else _NAMED(root, value=value)
        for el in named:
            found.setdefault(id(el), el)
    return list(found.values())


_NAMES_LOOKED_UP = 3  # up to this many names, one XPath lookup each
# Where a word of a class or id name starts and ends: at its ends, at "-", "_" or a space,
# or where a capital starts a word in camelCase ("newsletterSignup", "adSlot",
# "CybotCookiebotDialog"; not inside a run of capitals: "myADDRESS"). The capitals are
# told apart even in a case-blind pattern.
_WORD_START = r"(?:^|[\s_-]|(?-i:(?<=[a-z0-9])(?=[A-Z])))"
_WORD_END = r"(?=$|[\s_-]|(?-i:[A-Z][a-z]))"


# A class or id word (or a part of one after - or _, or a capital) that starts with cookie,
# consent or gdpr, or with the name of a consent platform news sites embed (they name
# their banners after themselves), names a consent banner. It shows on every load for a
# client that keeps no cookies, and extractors take it for a paragraph of the article on
# some loads only.
_CONSENT = re.compile(
    _WORD_START + r"(?:cookie|consent|gdpr|onetrust|didomi|usercentrics|trustarc|iubenda"
    r"|osano|qc-cmp)",
    re.IGNORECASE,
)
_BANNER_MAX_CHARS = 2000  # a consent notice is a few sentences; an article is longer


def _drop_consent_banners(root: lxml.html.HtmlElement, names: Sequence[str]) -> None:
    named = [
        el
        for el in elements_named(root, _CONSENT, names)
        if el.tag not in ("html", "body", "main", "article")
    ]
    banners = [el for el in _outermost(named) if isinstance(el.tag, str)]
    _drop_all(el for el in banners if len(el.text_content()) <= _BANNER_MAX_CHARS)


# A class or id word (a part of one between -, _ or a camelCase capital: "adSlot") that is
# "ad" or "ads", or starts with "advert", names an ad slot. Its text rotates on every load;
# when the page's article cannot be found and the whole page is read, it would be read as
# part of it. A slot is small: a wrapper that happens to be named so ("ad_body" around a
# whole page) is not one, even on a page whose article was emptied, so size is counted in
# elements as well as text.
# A sign-up box ("newsletter-promo", "subscribe-box", "signup-form") set between the
# article's paragraphs is dropped the same way: its offer changes from load to load, and
# it is never the article's. ("promo" alone also names article headers and lead pictures,
# so it is not enough.) One pattern for both: the page's names are searched once.
_AD_SLOT = re.compile(
    _WORD_START + r"(?:ads?|advert\w*|newsletters?|subscri\w*|sign-?up)" + _WORD_END,
    re.IGNORECASE,
)
_SLOT_MAX_CHARS = 300
_SLOT_MAX_ELEMENTS = 12


def _drop_ad_slots(root: lxml.html.HtmlElement, names: Sequence[str]) -> None:
    """Drop the small boxes that hold an ad or a sign-up offer."""
    named = [
        el
        for el in elements_named(root, _AD_SLOT, names)
        if el.tag not in ("html", "body", "main", "article")
    ]
    _drop_all(
        el
        for el in named
        if isinstance(el.tag, str)
        and len(el.text_content()) <= _SLOT_MAX_CHARS
        and sum(1 for _ in itertools.islice(el.iterdescendants(), _SLOT_MAX_ELEMENTS + 1))
        <= _SLOT_MAX_ELEMENTS
    )


# Lines that may be another story's headline linked under a label of a few words ("Read
# more: <a>…</a>", "相关阅读：<a>…</a>"), or an item of a list of such links.
_TEASER_LINES = etree.XPath(
    "//p[.//a] | //li[.//a] | //dd[.//a]"
    " | //div[a][not(.//p or .//div or .//li or .//table or .//h1 or .//h2 or .//h3)]"
)
# Where a linked line is the article's own: its headline, a caption, a credit's box.
_TEASER_KEEP = frozenset({"h1", "h2", "h3", "h4", "h5", "h6", "figcaption", "caption", "time"})
_TEASER_MAX_CHARS = 300  # longer than any headline and its label
_TEASER_LABEL_CHARS = 30  # the text beside the links, spaces left out
_TEASER_LINKED_SHARE = 0.6
_TEASER_WORDS = 3  # a name ("By <a>Jane Doe</a>") is shorter than a headline
_TEASER_CJK_CHARS = 8
_TEASER_LIST_ITEMS = 3  # dated teasers that make a list of related stories
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af]")


def _drop_link_teasers(root: lxml.html.HtmlElement) -> None:
    """Drop, in article mode, the lines that only link to other stories: a "read more"
    line set between the article's paragraphs, an item of a list of related stories. The
    story each links to rotates from one load to the next, and it is never the article's
    own text, yet the extractor takes such a line into the body. A credit ("By <a>Jane
    Doe</a> and <a>John Roe</a>"), a dated line, a heading and a caption stay, linked or
    not, except the dated items of a list of at least three such teasers (another
    story's headline and its time, one under the other)."""
    teasers = []
    dated: dict[lxml.html.HtmlElement, list[lxml.html.HtmlElement]] = {}
    for el in _TEASER_LINES(root):
        kind = _teaser_kind(el)
        if kind is None or el.tag in _TEASER_KEEP:
            continue
        if any(a.tag in _TEASER_KEEP for a in el.iterancestors()):
            continue
        if kind == "dated":
            parent = el.getparent()
            if el.tag == "li" and parent is not None:
                dated.setdefault(parent, []).append(el)
            continue
        teasers.append(_card(el, _chars(el)))
    for items in dated.values():
        if len(items) >= _TEASER_LIST_ITEMS:
            teasers += items
    _drop_all(_outermost(teasers))


def _teaser_kind(el: lxml.html.HtmlElement) -> str | None:
    """ "teaser" when ``el`` is a line that only links to another story under a label,
    "dated" when it is a list item that links one and states its date or credit, None
    otherwise. The cheap tests run first: most linked lines are a menu's short links."""
    length = _chars(el)
    if not length or length > _TEASER_MAX_CHARS:
        return None
    links = [" ".join(a.text_content().split()) for a in el.iter("a")]
    linked = sum(len(link) - link.count(" ") for link in links)
    if length - linked > _TEASER_LABEL_CHARS:
        return None
    # one link holds a headline: a breadcrumb's or a footer's many short links do not
    if not any(
        len(_CJK.findall(link)) >= _TEASER_CJK_CHARS
        if _CJK.search(link)
        else len(link.split()) >= _TEASER_WORDS
        for link in links
    ):
        return None
    whole = " ".join(el.text_content().split())
    label = _label(whole, links)
    if label is None:
        return None
    # the label's own words do not count against the links ("Lesen Sie auch: <a>Rail
    # strike called off</a>" is all link after its label); a list item's time may be as
    # long as a short headline, so a dated item is not asked for that share
    mostly_links = linked >= _TEASER_LINKED_SHARE * (length - label)
    if not mostly_links and el.tag != "li":
        return None
    if is_credit_or_date(whole):
        return "dated"
    return "teaser" if mostly_links else None


def _chars(el: lxml.html.HtmlElement) -> int:
    """The length of ``el``'s text, spaces left out."""
    return sum(map(len, el.text_content().split()))


_MAYBE_HIDDEN = etree.XPath("//*[@style or @hidden or @aria-hidden]")


def _drop_hidden_menus(root: lxml.html.HtmlElement) -> None:
    """Drop, in article mode, a hidden box of links: a menu the page opens on demand (an
    account menu's "消息 通知 公告"). No reader sees it, yet the extractor reads it on some
    loads and not on others. Hidden prose (a collapsed rest of the story) is kept."""
    menus = []
    for el in _MAYBE_HIDDEN(root):
        if not _is_hidden(el) or next(el.iter("a"), None) is None:
            continue
        length = _chars(el)
        if length and sum(map(_chars, el.iter("a"))) >= _TEASER_LINKED_SHARE * length:
            menus.append(el)
    _drop_all(_outermost(menus))


# How a label ends before the link it introduces: "Read more:", "相关阅读：", "More »".
_LABEL_ENDS = frozenset(":：»›→|–—-([（【")


def _label(whole: str, links: list[str]) -> int | None:
    """The length (spaces left out) of the label before the line's first link ("Read
    more:", a bullet, nothing), or None when that text is the start of a sentence that
    goes on in the link ("Assange faces <a>a charge of …</a>.")."""
    first = next((link for link in links if link), "")
    lead = whole[: whole.find(first)].strip() if first else whole
    if not lead or lead[-1] in _LABEL_ENDS or not any(c.isalnum() for c in lead):
        return len(lead) - lead.count(" ")
    return None


# What a teaser's card may hold besides it: a summary, a time, a picture's credit.
_CARD_REST_CHARS = 200


def _card(teaser: lxml.html.HtmlElement, length: int) -> lxml.html.HtmlElement:
    """The list item or definition list ``teaser`` heads, when what else it holds is short
    (another story's summary and time): dropped whole, or the summary left behind would
    read as text, and the extractor takes a list of them into the article."""
    for parent in itertools.islice(teaser.iterancestors(), 3):
        if parent.tag in ("li", "dl"):
            rest = len("".join(parent.text_content().split())) - length
            return parent if rest <= _CARD_REST_CHARS else teaser
    return teaser


def _outermost(elements: list[lxml.html.HtmlElement]) -> list[lxml.html.HtmlElement]:
    """Matched elements minus those inside another match, so no text is read twice."""
    chosen = set(elements)
    return [el for el in elements if not any(a in chosen for a in el.iterancestors())]


# -- visible text -------------------------------------------------------------------------

# fmt: off
# Never rendered as text. <title> is only read through page_title. Ruby readings (rt, rp)
# annotate the base text; inline they would split every annotated word ("子こども").
_SKIP = frozenset({
    "script", "style", "noscript", "template", "svg", "head", "title", "meta", "link",
    "iframe", "object", "embed", "canvas", "audio", "video", "datalist", "rt", "rp",
})
# fmt: on
# What makes an element marked aria-hidden a menu rather than a label drawn for the eye.
_CONTROLS = ("a", "button", "input", "select", "textarea")
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_SPACES = re.compile(r"[ \t\n\r\f]+")  # HTML collapses ASCII whitespace only
_INNER_SPACES = re.compile(r"(?<=[^ \t\n\r\f])[ \t\n\r\f]+(?=[^ \t\n\r\f])")


def _is_hidden(el: lxml.html.HtmlElement) -> bool:
    if el.get("hidden") is not None:
        return True
    if (el.get("aria-hidden") or "").strip().lower() == "true":
        # Hidden from screen readers, not from the eye: a picture's credit or a dateline
        # drawn for sighted readers is seen. Marked so, a menu or a share bar is one that
        # the page opens on demand.
        return el.tag == "nav" or next(el.iter(*_CONTROLS), None) is not None
    style = el.get("style")
    return bool(style) and _HIDDEN_STYLE.search(style) is not None


def _visible_paragraphs(top: lxml.html.HtmlElement) -> list[str]:
    """Visible text under ``top``, one paragraph per block; iterative, so depth is no limit."""
    return [text for text, _ in visible_blocks(top)]


def visible_blocks(top: lxml.html.HtmlElement) -> list[tuple[str, lxml.html.HtmlElement]]:
    """Visible text under ``top``, one line per block, each with the element its first
    text node renders in (where a reader sees the line stand)."""
    return list(iter_visible_blocks(top))


def iter_visible_blocks(
    top: lxml.html.HtmlElement,
) -> Iterator[tuple[str, lxml.html.HtmlElement]]:
    """``visible_blocks``, line by line: a caller that needs only the first lines stops
    the walk there."""
    lines = _Lines(top)
    walker = etree.iterwalk(top, events=("start", "end"))
    skipped: object = None
    for event, el in walker:
        tag = el.tag if isinstance(el.tag, str) else ""  # comments, PIs: only their tail counts
        if event == "start":
            if tag in _SKIP or (tag and _is_hidden(el)):
                skipped = el
                walker.skip_subtree()
                continue
            if tag in BLOCK_TAGS:
                lines.flush()
            if tag == "pre":
                lines.pre_depth += 1
            if tag:
                lines.add(el.text, el)
            continue
        if el is skipped:
            skipped = None  # no box, so no line break either: text around it runs on
        elif tag in BLOCK_TAGS:
            lines.flush()
            if tag == "pre":
                lines.pre_depth -= 1
        if el is not top:
            parent = el.getparent()
            lines.add(el.tail, parent if parent is not None else el)
        while lines.done:
            yield lines.done.popleft()
    lines.flush()
    yield from lines.done


class _Lines:
    """The text of the walk so far: the line being gathered, the element it renders in,
    and the finished lines not yet handed out."""

    def __init__(self, top: lxml.html.HtmlElement) -> None:
        self.top = top
        self.done: deque[tuple[str, lxml.html.HtmlElement]] = deque()
        self.buffer: list[str] = []
        self.owner: list[lxml.html.HtmlElement] = []
        self.pre_depth = 0

    def flush(self) -> None:
        if self.buffer:
            text = _clean("".join(self.buffer))
            self.buffer.clear()
            if text:
                self.done.append((text, self.owner[0] if self.owner else self.top))
        self.owner.clear()

    def add(self, text: str | None, where: lxml.html.HtmlElement) -> None:
        if not text:
            return
        if not self.owner and text.strip():
            self.owner.append(where)
        if self.pre_depth:
            # preformatted lines are the paragraphs there; HTML keeps their line breaks
            first, *rest = text.split("\n")
            self.buffer.append(first)
            for line in rest:
                self.flush()
                self.owner.append(where)
                self.buffer.append(line)
        else:
            self.buffer.append(text)


def _page_title(root: lxml.html.HtmlElement) -> str:
    for el in root.xpath("//title[not(ancestor::svg)]"):
        if text := _clean(el.text_content()):
            return text
    return ""


def _first_text(root: lxml.html.HtmlElement, xpath: str) -> str:
    """Visible text of the first element ``xpath`` finds that has any."""
    for el in root.xpath(xpath):
        if text := " ".join(_visible_paragraphs(el)):
            return text
    return ""


def _clean(text: str) -> str:
    return _SPACES.sub(" ", text).strip()
