"""Detection accuracy of watcher's real check path on the real pages of ../shared/corpus.

Every page is served from a local HTTP server and put through a seeded sequence of steps:
meaningful edits of the article as it appears in the HTML (expect *changed*), removals
(404/410/451, redirects away by HTTP, by <meta> refresh or by a stub's script, soft-404,
removal notice, emptied; expect *removed* with the right kind, then *restored*), and
noise-only re-fetches (expect no alert). Each step is
checked with ``watcher.check.pipeline.check_page`` against a real SQLite store and a real
``requests.Session``; the same steps go through a naive whole-page text diff for contrast.

    python benchmarks/detection.py [--pages N | --quick] [--only NAME] [--trace] [--verbose]

What each edit changes is chosen from the page as a reader finds it (the shown text of the
block holding most of the page's paragraphs, the heading the page's title names, the lines
under it, the captions, the metadata as stated), never through watcher's own reading: a
benchmark that asked watcher what the article is would only ever edit text watcher reads.

Every load carries fresh noise, the confirming re-fetch included: the server answers the
second request of a step with the same version under another kind of noise. The watch has
no ``ignore`` rules or ``exclude`` selectors of its own: what is measured is what watcher
does on a page nobody has tuned it for.
"""

from __future__ import annotations

import argparse
import gzip
import json
import multiprocessing
import multiprocessing.util
import os
import random
import re
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import lxml.html
import requests

from watcher.check.pipeline import check_page, read_article
from watcher.check.readers import ReaderPool
from watcher.config import Settings, Watch
from watcher.judge.classify import Kind
from watcher.read.decode import decode_body
from watcher.read.normalize import builtin_ignore
from watcher.store.store import Store

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "pages"
T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
STALL_SECONDS = 2.0  # longer than the benchmark's 1 s fetch deadline
# allow_private: the corpus site listens on 127.0.0.1, which the network guard refuses
SETTINGS = Settings(timeout=timedelta(seconds=1), deadline=timedelta(seconds=1), allow_private=True)
ALERTS = frozenset({Kind.CHANGED.value, Kind.REMOVED.value, Kind.RESTORED.value})

# -- the local site ---------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b""
    location: str | None = None
    stall: bool = False
    then: Reply | None = None  # served from the second request on (the confirming fetch)


class Site:
    """A ThreadingHTTPServer on 127.0.0.1 answering from a path -> Reply table."""

    def __init__(self) -> None:
        self.routes: dict[str, Reply] = {}
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                reply = site.routes.get(path, Reply(404, b"not found"))
                if reply.then is not None:
                    site.routes[path] = reply.then  # the next load shows fresh noise
                if reply.stall:
                    time.sleep(STALL_SECONDS)
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "text/html; charset=utf-8")
                    self.send_header("Content-Length", str(len(reply.body)))
                    if reply.location:
                        self.send_header("Location", reply.location)
                    self.end_headers()
                    self.wfile.write(reply.body)
                except OSError:
                    pass  # the client gave up (the timeout scenario)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


# -- reading and writing pages ------------------------------------------------------------

_PARSER = lxml.html.HTMLParser(remove_comments=True, remove_pis=True, huge_tree=True)
_HAN = re.compile(r"[\u4e00-\u9fff]")
_LATIN_WORD = re.compile(r"[^\W\d_]{4,}")
_DIGITS = re.compile(r"\d+")
_SKIP_TEXT = frozenset({"script", "style", "noscript", "template", "title"})
_VOLATILE = builtin_ignore()
_COMMON_HAN = "的一是不了人我在有他这中大来上个国到说们为子和你地出道也时年得就那要下以生会自着去"


def parse(html: str) -> lxml.html.HtmlElement:
    try:
        return lxml.html.document_fromstring(html, parser=_PARSER)
    except ValueError:  # an <?xml encoding=...?> prolog
        return lxml.html.document_fromstring(html.encode("utf-8"), parser=_PARSER)


def serialize(root: lxml.html.HtmlElement) -> str:
    return lxml.html.tostring(root, encoding="unicode", doctype="<!DOCTYPE html>")


def squash(text: str) -> str:
    return " ".join(text.split())


Slot = tuple[lxml.html.HtmlElement, str]  # an element and "text" or "tail"


def text_slots(root: lxml.html.HtmlElement) -> Iterator[Slot]:
    """Every visible text node: an element's text, or the tail that follows it."""
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        if el.tag not in _SKIP_TEXT and el.text and el.text.strip():
            yield el, "text"
        parent = el.getparent()
        if el.tail and el.tail.strip() and parent is not None and parent.tag not in _SKIP_TEXT:
            yield el, "tail"


def get_slot(slot: Slot) -> str:
    el, which = slot
    return (el.text if which == "text" else el.tail) or ""


def set_slot(slot: Slot, value: str) -> None:
    el, which = slot
    if which == "text":
        el.text = value
    else:
        el.tail = value


def owner(slot: Slot) -> lxml.html.HtmlElement:
    el, which = slot
    parent = el.getparent()
    return el if which == "text" or parent is None else parent


# -- the story as a reader finds it -----------------------------------------------------------
#
# Every edit finds what to change by walking the page as a reader sees it: the headline
# (the <h1> that reads as the page's title), the short lines right after it, <figcaption>s,
# the block holding most of the page's paragraphs, and what the metadata states. None of
# them asks watcher how it reads the page: targets chosen through watcher's own reading
# would only ever be text watcher already reads.


def story_slots(root: lxml.html.HtmlElement, *, unique: bool = True) -> list[Slot]:
    """The story's lines as a reader finds them: shown text nodes of the block that holds
    most of the page's paragraphs, outside links and teasers.

    With ``unique``, only text shown once on the page (a line repeated as a teaser is not
    the story's own) and that no built-in volatile rule touches (a counter is not prose).
    """
    block = reader_block(root)
    shown = shown_slots(root)
    seen = Counter(squash(get_slot(slot)) for slot in shown)
    found = []
    for slot in shown:
        el = owner(slot)
        text = squash(get_slot(slot))
        if not _is_in(el, block) or len(text) < (4 if _HAN.search(text) else 12):
            continue
        if _linked(el) or _in_teaser(el, block):
            continue
        if unique and (seen[text] > 1 or any(rule.search(text) for rule in _VOLATILE)):
            continue
        found.append(slot)
    return found


def _linked(el: lxml.html.HtmlElement) -> bool:
    return any(a.tag == "a" for a in (el, *el.iterancestors()))


def story_text(root: lxml.html.HtmlElement) -> str:
    return "\n".join(squash(get_slot(slot)) for slot in story_slots(root, unique=False))


def page_is_cjk(root: lxml.html.HtmlElement) -> bool:
    text = story_text(root)
    return bool(text) and len(_HAN.findall(text)) > 0.3 * len(text)


# -- meaningful edits ---------------------------------------------------------------------


class NotApplicable(Exception):
    """The page has nothing this edit could apply to (e.g. no number in the article)."""


def _vocabulary(root: lxml.html.HtmlElement) -> list[str]:
    return sorted(set(_LATIN_WORD.findall(story_text(root))))


def _other_word(word: str, vocabulary: list[str], rng: random.Random) -> str:
    choices = [w for w in vocabulary if w.lower() != word.lower()] or ["changed"]
    new = rng.choice(choices)
    return new.capitalize() if word[:1].isupper() else new.lower()


def _other_han(char: str, rng: random.Random) -> str:
    return rng.choice([c for c in _COMMON_HAN if c != char])


def _pick(slots: list[Slot], rng: random.Random, test: Callable[[str], bool]) -> Slot:
    usable = [s for s in slots if test(get_slot(s))]
    if not usable:
        raise NotApplicable
    return rng.choice(usable)


def edit_word(root: lxml.html.HtmlElement, rng: random.Random) -> None:
    """One word replaced by another (two Han characters on CJK pages)."""
    slots = story_slots(root)
    if page_is_cjk(root):
        slot = _pick(slots, rng, lambda t: re.search(r"[\u4e00-\u9fff]{2}", t) is not None)
        text = get_slot(slot)
        spots = [m.start() for m in re.finditer(r"(?=[\u4e00-\u9fff]{2})", text)]
        i = rng.choice(spots)
        new = _other_han(text[i], rng) + _other_han(text[i + 1], rng)
        set_slot(slot, text[:i] + new + text[i + 2 :])
        return
    slot = _pick(slots, rng, lambda t: _LATIN_WORD.search(t) is not None)
    text = get_slot(slot)
    m = rng.choice(list(_LATIN_WORD.finditer(text)))
    new = _other_word(m.group(), _vocabulary(root), rng)
    set_slot(slot, text[: m.start()] + new + text[m.end() :])


def edit_number(root: lxml.html.HtmlElement, rng: random.Random) -> None:
    """One figure changed: one digit of a number in the article."""
    slot = _pick(story_slots(root), rng, lambda t: _DIGITS.search(t) is not None)
    text = get_slot(slot)
    m = rng.choice(list(_DIGITS.finditer(text)))
    i = m.start() + rng.randrange(len(m.group()))
    digit = str((int(text[i]) + rng.randrange(1, 10)) % 10)
    set_slot(slot, text[:i] + digit + text[i + 1 :])


_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+|(?<=[。！？])")


def _sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(text) if s.strip()]


def _multi_sentence(text: str) -> bool:
    return len([s for s in _sentences(text) if len(s.strip()) >= 8]) >= 2


def edit_sentence_delete(root: lxml.html.HtmlElement, rng: random.Random) -> None:
    """One sentence deleted from a paragraph that has several."""
    slot = _pick(story_slots(root), rng, _multi_sentence)
    parts = _sentences(get_slot(slot))
    del parts[rng.randrange(len(parts))]
    joiner = "" if page_is_cjk(root) else " "
    set_slot(slot, joiner.join(parts))


def edit_sentence_insert(root: lxml.html.HtmlElement, rng: random.Random) -> None:
    """One new sentence inserted after the end of an existing one."""
    slot = _pick(story_slots(root), rng, lambda t: re.search(r"[.!?。！？]", t) is not None)
    text = get_slot(slot)
    ends = [m.end() for m in re.finditer(r"[.!?。！？]", text)]
    i = rng.choice(ends)
    if page_is_cjk(root):
        sentence = "有关方面随后对这一说法提出了异议。"
    else:
        sentence = " Officials later disputed this account."
    set_slot(slot, text[:i] + sentence + text[i:])


def edit_sentence_change(root: lxml.html.HtmlElement, rng: random.Random) -> None:
    """One sentence reworded: a few words (or Han characters) in its middle replaced."""
    slots = story_slots(root)
    if page_is_cjk(root):
        slot = _pick(slots, rng, lambda t: len(_HAN.findall(t)) >= 12)
        text = get_slot(slot)
        spots = [m.start() for m in re.finditer(r"(?=[\u4e00-\u9fff]{3})", text)]
        if not spots:
            raise NotApplicable
        i = rng.choice(spots)
        new = "".join(_other_han(c, rng) for c in text[i : i + 3])
        set_slot(slot, text[:i] + new + text[i + 3 :])
        return
    slot = _pick(slots, rng, lambda t: len(_LATIN_WORD.findall(t)) >= 6)
    text = get_slot(slot)
    words = list(_LATIN_WORD.finditer(text))
    start = rng.randrange(1, len(words) - 3)
    vocabulary = _vocabulary(root)
    for m in reversed(words[start : start + 3]):
        text = text[: m.start()] + _other_word(m.group(), vocabulary, rng) + text[m.end() :]
    set_slot(slot, text)


_BLOCK_TAGS = frozenset({"p", "div", "li", "blockquote", "section", "table", "ul", "ol"})


def edit_paragraph_delete(root: lxml.html.HtmlElement, rng: random.Random) -> None:
    """One whole paragraph element of the story's block removed (a <p>, a list item, a
    quote, or a <div> that holds no other block). The story stays: a paragraph that holds
    most of what the block shows is the story itself, and taking it empties the page."""
    slots = story_slots(root)
    shown = sum(len(squash(get_slot(slot))) for slot in slots)
    candidates = []
    for slot in slots:
        el = owner(slot)
        if el.tag not in ("p", "div", "li", "blockquote"):
            continue
        if any(d.tag in _BLOCK_TAGS for d in el.iterdescendants() if isinstance(d.tag, str)):
            continue
        if len(squash(el.text_content())) >= 40 and el not in candidates:
            candidates.append(el)
    if len(candidates) < 2:
        raise NotApplicable
    candidates = [el for el in candidates if len(squash(el.text_content())) <= shown / 2]
    if not candidates:
        raise NotApplicable
    rng.choice(candidates).drop_tree()


def _values(root: lxml.html.HtmlElement) -> Iterator[tuple[lxml.html.HtmlElement, str | None]]:
    """Every text node (scripts and <title> included) and every content-bearing attribute."""
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        yield el, None
        for name in ("content", "title", "alt", "datetime", "value"):
            if el.get(name):
                yield el, name


def _replace_everywhere(root: lxml.html.HtmlElement, target: str, new: str) -> int:
    """Replace ``target`` by ``new`` wherever the page states it: text, scripts, metadata."""
    variants = {target: new, json.dumps(target)[1:-1]: json.dumps(new)[1:-1]}
    count = 0
    for el, attr in _values(root):
        if attr is None:
            for which in ("text", "tail"):
                value = getattr(el, which)
                if value:
                    replaced = value
                    for old, rep in variants.items():
                        replaced = replaced.replace(old, rep)
                    if replaced != value:
                        setattr(el, which, replaced)
                        count += 1
        else:
            value = el.get(attr) or ""
            replaced = value
            for old, rep in variants.items():
                replaced = replaced.replace(old, rep)
            if replaced != value:
                el.set(attr, replaced)
                count += 1
    return count


def _mutate_field(value: str, rng: random.Random) -> str:
    """``value`` with one word (or one Han character) changed."""
    hans = [m.start() for m in _HAN.finditer(value)]
    words = list(re.finditer(r"[^\W\d_]{3,}", value))
    if words and (not hans or rng.random() < 0.5):
        m = rng.choice(words)
        word = m.group()
        # the rest of the word rotated by one letter: not undone by doing it again, as
        # reversing it would be (a second edit of the same name would bring it back). In
        # a word of three letters that rotation is a swap, which a second one undoes:
        # its last letter is doubled instead.
        rotated = word[0] + word[2:] + word[1] if len(word) > 3 else word + word[-1]
        new = rotated if rotated != word else word + "s"
        return value[: m.start()] + new + value[m.end() :]
    if hans:
        i = rng.choice(hans)
        return value[:i] + _other_han(value[i], rng) + value[i + 1 :]
    raise NotApplicable


def _raw_forms(root: lxml.html.HtmlElement, value: str) -> list[str]:
    """How ``value`` (white space squashed) is actually written in the page's text and
    attributes."""
    forms = []
    for el, attr in _values(root):
        texts = [el.get(attr) or ""] if attr else [el.text or "", el.tail or ""]
        for text in texts:
            if value in text:
                forms.append(value)
            elif squash(text) == value:
                forms.append(text)
    return list(dict.fromkeys(forms))


def _meta(root: lxml.html.HtmlElement, keys: tuple[str, ...]) -> list[lxml.html.HtmlElement]:
    return [
        el
        for el in root.iter("meta")
        if el.get("content")
        and (el.get("property") or el.get("name") or el.get("itemprop") or "").lower() in keys
    ]


def page_headline(root: lxml.html.HtmlElement) -> lxml.html.HtmlElement:
    """The heading a reader takes for the headline: the longest <h1> or <h2> that the
    page's title or og:title repeats (a site's name in an <h1> is repeated too, but is
    shorter), else the first <h1> shown."""
    # the document's own <title> (an inline SVG's <title> names an icon: "menu", "no")
    titles = [squash(el.text_content()) for el in root.xpath("/html/head/title")]
    titles += [squash(el.get("content")) for el in _meta(root, ("og:title", "twitter:title"))]
    titles = [t for t in titles if len(t) >= 4]
    best, size = None, 0
    for el in root.iter("h1", "h2"):
        text = squash(el.text_content())
        if _linked(el):
            continue  # a teaser of the story (a link to it), not its headline
        if len(text) > size and _shown(el) and any(text in t or t in text for t in titles):
            best, size = el, len(text)
    if best is not None and size >= 4:
        return best
    shown = [el for el in root.iter("h1") if _shown(el) and squash(el.text_content())]
    if not shown:
        raise NotApplicable
    return shown[0]


def edit_headline(root: lxml.html.HtmlElement, rng: random.Random) -> None:
    """The headline rewritten by one word (or one Han character) where a reader sees it,
    and wherever else the page states it (its title, og:title, JSON-LD)."""
    h1 = page_headline(root)
    old = squash(h1.text_content())
    slots = [s for s in shown_slots(root) if _is_in(owner(s), h1)]
    slot = _pick(slots, rng, lambda t: re.search(r"[^\W\d_]{3,}|[\u4e00-\u9fff]", t) is not None)
    set_slot(slot, _mutate_field(get_slot(slot), rng))
    new = squash(h1.text_content())
    for form in _raw_forms(root, old):
        _replace_everywhere(root, form, new)


def edit_headline_shown(root: lxml.html.HtmlElement, rng: random.Random) -> None:
    """The headline a reader sees rewritten by one word (or one Han character), and only
    there: the document's title, og:title and JSON-LD still state the old one."""
    h1 = page_headline(root)
    slots = [s for s in shown_slots(root) if _is_in(owner(s), h1)]
    slot = _pick(slots, rng, lambda t: re.search(r"[^\W\d_]{3,}|[\u4e00-\u9fff]", t) is not None)
    set_slot(slot, _mutate_field(get_slot(slot), rng))


_AUTHOR_META = ("author", "article:author", "dc.creator", "byl", "parsely-author")
_TIME_META = ("article:published_time", "og:published_time", "datepublished", "pubdate")
_NAME_SPLIT = re.compile(r"\s*(?:[;,|&/]|\band\b|\bund\b|\bet\b|\by\b|、)\s*")
_BY = re.compile(r"^\s*(?:by|von|par|por)\s+", re.IGNORECASE)


def _ld_authors(root: lxml.html.HtmlElement) -> list[str]:
    names = []
    for el in root.iter("script"):
        if (el.get("type") or "").lower() != "application/ld+json" or not el.text:
            continue
        for m in re.finditer(r'"author"\s*:\s*(\{[^{}]*\}|\[[^\[\]]*\]|"[^"]*")', el.text):
            found = re.findall(r'"name"\s*:\s*"([^"]+)"', m.group(1))
            names += found or [m.group(1).strip('"')]
    return names


def stated_names(root: lxml.html.HtmlElement) -> list[str]:
    """Authors' names as the page states them: author metadata, JSON-LD and the credit
    shown under the headline."""
    raw = [el.get("content") or "" for el in _meta(root, _AUTHOR_META)] + _ld_authors(root)
    raw += [get_slot(slot) for slot in shown_credits(root)]
    names = []
    for value in raw:
        if "://" in value or "{" in value:
            continue
        for name in _NAME_SPLIT.split(_BY.sub("", _CREDIT_CN.sub(" ", value))):
            name = name.strip(" :：-–—·•()")
            if 3 <= len(name) <= 40 and re.search(r"[^\W\d_]{2,}|[\u4e00-\u9fff]", name):
                names.append(name)
    return list(dict.fromkeys(names))


def edit_byline(root: lxml.html.HtmlElement, rng: random.Random) -> None:
    """An author's name changed wherever the page states it (metadata and visible credit)."""
    names = stated_names(root)
    if not names:
        raise NotApplicable
    name = rng.choice(names)
    new = _mutate_field(name, rng)
    if not _replace_everywhere(root, name, new):
        raise NotApplicable


_MONTHS: tuple[str, ...] = ("January", "February", "March", "April", "May", "June", "July")
_MONTHS += ("August", "September", "October", "November", "December")


def _date_forms(day: date) -> list[str]:
    month = _MONTHS[day.month - 1]
    return [
        day.isoformat(),
        day.strftime("%Y/%m/%d"),
        day.strftime("%Y.%m.%d"),
        f"{day.year}年{day.month}月{day.day}日",
        f"{day.year}年{day.month:02d}月{day.day:02d}日",
        f"{month} {day.day}, {day.year}",
        f"{month[:3]} {day.day}, {day.year}",
        f"{day.day} {month} {day.year}",
        f"{day.day:02d}.{day.month:02d}.{day.year}",
        f"{day.day}.{day.month}.{day.year}",
    ]


def stated_day(root: lxml.html.HtmlElement) -> date:
    """The publication day the page states: its metadata, JSON-LD, or the first
    <time datetime> of the story."""
    values = [el.get("content") or "" for el in _meta(root, _TIME_META)]
    for el in root.iter("script"):
        if (el.get("type") or "").lower() == "application/ld+json" and el.text:
            values += re.findall(r'"datePublished"\s*:\s*"([^"]+)"', el.text)
    values += [el.get("datetime") or "" for el in root.iter("time")]
    for value in values:
        try:
            stated = date.fromisoformat(value.strip()[:10])
        except ValueError:
            continue
        if stated.year >= 1900:  # not a placeholder such as 0001-01-01
            return stated
    raise NotApplicable


def edit_date(root: lxml.html.HtmlElement, rng: random.Random) -> None:
    """The article backdated by a few days everywhere the date is stated."""
    day = stated_day(root)
    new = day - timedelta(days=rng.randrange(2, 9))
    count = 0
    for old, rep in zip(_date_forms(day), _date_forms(new), strict=True):
        count += _replace_everywhere(root, old, rep)
    if not count:
        raise NotApplicable


def edit_cjk_char(root: lxml.html.HtmlElement, rng: random.Random) -> None:
    """Exactly one Han character of the article body replaced by another."""
    if not page_is_cjk(root):
        raise NotApplicable
    slot = _pick(story_slots(root), rng, lambda t: _HAN.search(t) is not None)
    text = get_slot(slot)
    i = rng.choice([m.start() for m in _HAN.finditer(text)])
    set_slot(slot, text[:i] + _other_han(text[i], rng) + text[i + 1 :])


# -- edits of one part as shown or as stated ---------------------------------------------------
#
# The edits below change only the one thing named: the visible byline and not the author
# metadata, the metadata and not what is shown.

_HIDDEN = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_NOT_SHOWN = frozenset({*_SKIP_TEXT, "head", "meta", "svg", "iframe", "button", "select"})
_CREDIT_WORD = re.compile(
    r"^\s*(?:by|written by|von|par|por|di|av|door|przez|oleh|kirjoittanut|текст|автор)\b",
    re.IGNORECASE,
)
_CREDIT_CN = re.compile(r"(?:作者|记者|编辑|责任编辑|责编|来源|撰稿|撰文)\s*[:：/]?\s*")
_PERSON_CLASS = re.compile(r"author|byline|writer|reporter|journalist", re.IGNORECASE)
_CAPTION_CLASS = re.compile(r"caption|legend|bildunterschrift", re.IGNORECASE)
_ABOVE_SLOTS = 4  # lines above the headline that belong to it
_ZONE_SLOTS = 20  # text nodes after the headline looked at for a byline or a dateline
_PROSE_CHARS = 150  # a text node this long is the story's prose: the header zone ends


def _shown(el: lxml.html.HtmlElement) -> bool:
    for node in (el, *el.iterancestors()):
        if node.tag in _NOT_SHOWN or node.get("hidden") is not None:
            return False
        if _HIDDEN.search(node.get("style") or ""):
            return False
    return True


def shown_slots(root: lxml.html.HtmlElement) -> list[Slot]:
    """Text nodes a reader sees, in document order."""
    return [s for s in text_slots(root) if _shown(owner(s)) and get_slot(s).strip()]


def header_zone(root: lxml.html.HtmlElement) -> list[Slot]:
    """The text nodes around the headline: a few short ones right above it in the
    headline's own box (a dateline or kicker over the title), and those right after it,
    up to the first line of prose."""
    h1 = page_headline(root)
    slots = shown_slots(root)
    inside = [i for i, slot in enumerate(slots) if _is_in(owner(slot), h1)]
    if not inside:
        raise NotApplicable
    zone: list[Slot] = []
    box = h1.getparent()
    for slot in reversed(slots[max(0, inside[0] - _ABOVE_SLOTS) : inside[0]]):
        if box is None or box.tag == "body" or not _is_in(owner(slot), box):
            break
        if len(squash(get_slot(slot))) >= _PROSE_CHARS:
            break
        zone.insert(0, slot)
    for slot in slots[inside[-1] + 1 : inside[-1] + 1 + _ZONE_SLOTS]:
        if len(squash(get_slot(slot))) >= _PROSE_CHARS:
            break
        zone.append(slot)
    return zone


def _is_in(el: lxml.html.HtmlElement, box: lxml.html.HtmlElement) -> bool:
    return el is box or any(a is box for a in el.iterancestors())


def _person_classed(el: lxml.html.HtmlElement) -> bool:
    for node in [el, *el.iterancestors()][:4]:
        words = " ".join(node.get(a) or "" for a in ("class", "id", "itemprop", "rel"))
        if _PERSON_CLASS.search(words):
            return True
    return False


def _name_spots(text: str) -> list[tuple[int, int]]:
    """Where a name can be changed in a credit: capitalised words, or Han after a label."""
    spots = [
        (m.start(), m.end())
        for m in re.finditer(r"[^\W\d_]{3,}", text)
        if m.group()[0].isupper() and not _CREDIT_WORD.match(m.group())
    ]
    for m in _CREDIT_CN.finditer(text):
        rest = text[m.end() :]
        han = re.match(r"[\u4e00-\u9fff]+", rest)
        if han:
            spots.append((m.end(), m.end() + len(han.group())))
    return spots


def _names_only(text: str) -> bool:
    """A line that is names and nothing else, as a credit without a "By" is: a few words,
    most of them capitalised (not "View author archive", nor a teaser's headline inside a
    box classed "author-contact"); in Han script, a short line."""
    if _HAN.search(text):
        return len(squash(text)) <= 12
    words = re.findall(r"[^\W\d_]+", text)
    return 0 < len(words) <= 5 and 2 * sum(w[0].isupper() for w in words) > len(words)


def shown_credits(root: lxml.html.HtmlElement) -> list[Slot]:
    """The lines of the header zone that credit someone and name them."""
    try:
        zone = header_zone(root)
    except NotApplicable:
        return []
    credits: list[Slot] = []
    for i, slot in enumerate(zone):
        text = get_slot(slot)
        marker_only = _CREDIT_WORD.match(text) and not _name_spots(_CREDIT_WORD.sub("", text))
        if marker_only and i + 1 < len(zone):
            credits.append(zone[i + 1])  # "By" then the name in its own element
        elif (
            _CREDIT_WORD.match(text)
            or _CREDIT_CN.search(text)
            or (_person_classed(owner(slot)) and _names_only(text))
        ):
            credits.append(slot)
    return [s for s in credits if _name_spots(get_slot(s))]


def edit_byline_shown(root: lxml.html.HtmlElement, rng: random.Random) -> None:
    """A name in the byline shown under the headline changed; author metadata untouched."""
    credits = shown_credits(root)
    if not credits:
        raise NotApplicable
    slot = rng.choice(credits)
    text = get_slot(slot)
    start, end = rng.choice(_name_spots(text))
    set_slot(slot, text[:start] + _mutate_field(text[start:end], rng) + text[end:])


_MONTH_WORD = r"[^\W\d_]{3,}\.?"
_DAY_FORMS = (
    re.compile(r"(?<!\d)(\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*)(\d{1,2})(?!\d)"),
    re.compile(r"(?<!\d)()(\d{1,2})(\s*[./]\s*\d{1,2}\s*[./]\s*\d{4})(?!\d)"),
    re.compile(rf"({_MONTH_WORD}\s+)(\d{{1,2}})(,?\s+\d{{4}})"),
    re.compile(rf"(?<!\d)()(\d{{1,2}})(\.?\s+{_MONTH_WORD},?\s+\d{{4}})"),
    re.compile(r"(\d{1,2}\s*月\s*)(\d{1,2})(\s*日)"),
)
_TIME_FORM = re.compile(r"(?<![\d:])(\d{1,2})(\s*[:h時时]\s*\d{2})(?!\d)")


def _date_slots(root: lxml.html.HtmlElement) -> list[Slot]:
    return [s for s in header_zone(root) if any(f.search(get_slot(s)) for f in _DAY_FORMS)]


def edit_dateline_day(root: lxml.html.HtmlElement, rng: random.Random) -> None:
    """The day in the dateline shown under the headline moved; date metadata untouched."""
    found = []
    for slot in header_zone(root):
        for form in _DAY_FORMS:
            for m in form.finditer(get_slot(slot)):
                if 1 <= int(m.group(2)) <= 28:
                    found.append((slot, m))
    if not found:
        raise NotApplicable
    slot, m = rng.choice(found)
    text = get_slot(slot)
    day = int(m.group(2))
    new = day + 1 if day < 28 else day - 1
    digits = f"{new:0{len(m.group(2))}d}"
    set_slot(slot, text[: m.start(2)] + digits + text[m.end(2) :])


def edit_dateline_time(root: lxml.html.HtmlElement, rng: random.Random) -> None:
    """The time of day in the dateline shown under the headline moved by an hour. A time
    of publication stands with its date, on its line or the line before; a bare "0:00"
    elsewhere is a player's clock."""
    zone = header_zone(root)
    dated = [any(f.search(get_slot(s)) for f in _DAY_FORMS) for s in zone]
    found = [
        (s, m)
        for i, s in enumerate(zone)
        if dated[i] or (i > 0 and dated[i - 1])
        for m in _TIME_FORM.finditer(get_slot(s))
    ]
    found = [(s, m) for s, m in found if int(m.group(1)) <= 23]
    if not found:
        raise NotApplicable
    slot, m = rng.choice(found)
    text = get_slot(slot)
    hour = int(m.group(1))
    new = (hour + 1) % 24 if hour not in (11, 12, 23) else hour - 1
    set_slot(slot, text[: m.start(1)] + f"{new:0{len(m.group(1))}d}" + text[m.end(1) :])


def reader_block(root: lxml.html.HtmlElement) -> lxml.html.HtmlElement:
    """The element whose own paragraphs hold the most text: where a reader reads the story."""
    best, score = root.body, 0
    for el in root.body.iter():
        if not isinstance(el.tag, str) or el.tag in _NOT_SHOWN or _boilerplate(el):
            continue
        # its paragraphs, and its own text between <br>s (old layouts have no <p>)
        held = sum(len(squash(p.text_content())) for p in el if p.tag == "p" and _shown(p))
        held += len(squash(el.text or "")) + sum(
            len(squash(child.tail or "")) for child in el if isinstance(child.tag, str)
        )
        if held > score and _shown(el):
            best, score = el, held
    return best


_BOILERPLATE_TAGS = frozenset({"nav", "footer", "aside", "form"})
_BOILERPLATE_NAME = re.compile(
    r"cookie|consent|gdpr|privacy|newsletter|subscri|footer|advert|dfp|adslot|ad-slot", re.I
)


def _boilerplate(el: lxml.html.HtmlElement) -> bool:
    """Inside what every reader takes for the site's furniture, not a story: navigation,
    a footer, a sidebar, a form, a cookie or newsletter notice, an ad slot (its
    "Advertisement" label is no caption of the story's)."""
    for node in (el, *el.iterancestors()):
        if node.tag in ("body", "html"):
            return False  # a page's own classes ("cookies-not-set") say nothing of a block
        if node.tag in _BOILERPLATE_TAGS and not _page_form(node):
            return True
        if _BOILERPLATE_NAME.search(f"{node.get('class') or ''} {node.get('id') or ''}"):
            return True
    return False


def _page_form(node: lxml.html.HtmlElement) -> bool:
    """A form around the whole page, headline included (ASP.NET wraps every page in one):
    the page itself, not a sign-up or search form."""
    return node.tag == "form" and node.find(".//h1") is not None


def story_container(root: lxml.html.HtmlElement) -> lxml.html.HtmlElement:
    """The element holding the whole story: the story's block, or the nearest element
    around it that holds most of the prose a reader sees outside the site's furniture
    (a story split over several blocks, as some sites lay it out)."""
    block = reader_block(root)
    prose = [
        (owner(slot), len(text))
        for slot in shown_slots(root)
        if len(text := squash(get_slot(slot))) >= (20 if _HAN.search(text) else 60)
        and not _boilerplate(owner(slot))
        and not _linked(owner(slot))
    ]
    total = sum(size for _, size in prose)
    for box in (block, *block.iterancestors()):
        if box.tag in ("body", "html"):
            return block
        held = sum(size for el, size in prose if _is_in(el, box))
        if held >= 0.8 * total:
            return box
    return block


def _article_region(root: lxml.html.HtmlElement) -> lxml.html.HtmlElement:
    """The headline and the story's block together (the block alone if only <body> holds both)."""
    block = reader_block(root)
    h1 = page_headline(root)
    for el in (block, *block.iterancestors()):
        if _is_in(h1, el):
            return block if el.tag in ("body", "html") else el
    return block


def _spots(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in re.finditer(r"[^\W\d_]{4,}|[\u4e00-\u9fff]|\d+", text)]


def _mutate_spot(slot: Slot, rng: random.Random) -> None:
    text = get_slot(slot)
    start, end = rng.choice(_spots(text))
    word = text[start:end]
    if word.isdigit():
        new = str((int(word) + 1) % (10 ** len(word))).zfill(len(word))
    elif _HAN.fullmatch(word):
        new = _other_han(word, rng)
    else:
        new = _mutate_field(word, rng)
    set_slot(slot, text[:start] + new + text[end:])


def edit_caption(root: lxml.html.HtmlElement, rng: random.Random) -> None:
    """A name, word or number in a picture caption of the article changed."""
    region = _article_region(root)
    captions = [
        el
        for el in region.iter()
        if isinstance(el.tag, str)
        and (el.tag == "figcaption" or _CAPTION_CLASS.search(f"{el.get('class')} {el.get('id')}"))
    ]
    slots = [
        s
        for s in shown_slots(root)
        if any(_is_in(owner(s), c) for c in captions)
        and len(_spots(get_slot(s))) > 0
        and len(squash(get_slot(s))) >= 8
        and not _in_teaser(owner(s), region)  # a related video's caption is its teaser
    ]
    if not slots:
        raise NotApplicable
    _mutate_spot(rng.choice(slots), rng)


def edit_notes(root: lxml.html.HtmlElement, rng: random.Random) -> None:
    """A line in the story's block that the extractor leaves out of the text it extracts
    (a reference list, an editor's note, a credit line) changed."""
    import trafilatura  # the extractor itself, called directly: which lines it leaves out

    extracted = squash(trafilatura.extract(serialize(root), include_tables=True) or "")
    if not extracted:
        raise NotApplicable
    block = reader_block(root)
    slots = [
        s
        for s in shown_slots(root)
        if _is_in(owner(s), block)
        and len(text := squash(get_slot(s))) >= 15
        and re.search(r"[^\W\d_]{3,}|[\u4e00-\u9fff]{3,}", text)
        and text not in extracted
        and not any(a.tag == "a" for a in (owner(s), *owner(s).iterancestors()))
        and not _in_teaser(owner(s), block)
    ]
    if not slots:
        raise NotApplicable
    _mutate_spot(rng.choice(slots), rng)


def edit_block_word(root: lxml.html.HtmlElement, rng: random.Random) -> None:
    """One word (one Han character) of a line of prose in the story's block changed, the
    block found as a reader finds it (where most of the paragraphs are), not as watcher
    extracts it."""
    block = reader_block(root)
    slots = [
        s
        for s in shown_slots(root)
        if _is_in(owner(s), block)
        and len(squash(get_slot(s))) >= 40
        and re.search(r"[^\W\d_]{4,}|[\u4e00-\u9fff]", get_slot(s))
        and not any(a.tag == "a" for a in (owner(s), *owner(s).iterancestors()))
        and not _in_teaser(owner(s), block)
    ]
    if not slots:
        raise NotApplicable
    slot = rng.choice(slots)
    text = get_slot(slot)
    spots = [(m.start(), m.end()) for m in re.finditer(r"[^\W\d_]{4,}|[\u4e00-\u9fff]", text)]
    start, end = rng.choice(spots)
    word = text[start:end]
    new = _other_han(word, rng) if _HAN.fullmatch(word) else _mutate_field(word, rng)
    set_slot(slot, text[:start] + new + text[end:])


def _in_teaser(el: lxml.html.HtmlElement, block: lxml.html.HtmlElement) -> bool:
    """A line a reader does not take for the story's own, though it stands in its block:
    furniture (a download form, a sign-up box), or a teaser of another story."""
    return _boilerplate(el) or _teaser_box(el, block) or _headed_media(el, block)


def _teaser_box(el: lxml.html.HtmlElement, block: lxml.html.HtmlElement) -> bool:
    """One or two levels up from the line, a headline link (a link of some length) that is
    not part of the line itself."""
    for box in [el, *el.iterancestors()][1:3]:
        if box is block:
            return False
        for link in box.iter("a"):
            if not _is_in(link, el) and len(squash(link.text_content())) >= 15:
                return True
    return False


def _headed_media(el: lxml.html.HtmlElement, block: lxml.html.HtmlElement) -> bool:
    """A box of its own heading and a picture or player but no prose ("VIDEO RECOMMENDED"
    over another story's clip): what it shows is not the story's."""
    for box in [el, *el.iterancestors()][1:4]:
        if box is block:
            return False
        headed = any(not _is_in(h, el) for h in box.iter("h2", "h3", "h4", "h5", "h6"))
        media = any(True for _ in box.iter("img", "picture", "video", "iframe"))
        prose = any(
            not _is_in(p, el) and len(squash(p.text_content())) >= 60 for p in box.iter("p")
        )
        if headed and media and not prose:
            return True
    return False


_AUTHOR_META = ("author", "article:author", "dc.creator", "byl", "parsely-author")
_TIME_META = ("article:published_time", "og:published_time", "datepublished", "pubdate")


def _shift_time(value: str) -> str:
    """An ISO-like timestamp an hour later (the day earlier when it states no time)."""
    m = re.search(r"(T|\s)(\d{2}):(\d{2})", value)
    if m:
        hour = (int(m.group(2)) + 1) % 24
        return f"{value[: m.start(2)]}{hour:02d}{value[m.end(2) :]}"
    m = re.match(r"(\d{4}-\d{2}-)(\d{2})", value)
    if not m:
        raise NotApplicable
    day = int(m.group(2))
    return f"{m.group(1)}{day - 1 if day > 1 else day + 1:02d}{value[m.end() :]}"


def edit_metadata(root: lxml.html.HtmlElement, rng: random.Random) -> None:
    """Only what the page states for machines changed: its author or its publication time
    in <meta> and JSON-LD. Nothing a reader sees moves."""
    options: list[Callable[[], int]] = []
    metas = [el for el in root.iter("meta") if el.get("content")]

    def key(el: lxml.html.HtmlElement) -> str:
        return (el.get("property") or el.get("name") or el.get("itemprop") or "").lower()

    times = [el for el in metas if key(el) in _TIME_META]
    authors = [el for el in metas if key(el) in _AUTHOR_META and _name_spots(el.get("content"))]
    scripts = [
        el
        for el in root.iter("script")
        if (el.get("type") or "").lower() == "application/ld+json" and el.text
    ]
    stamps = [s for s in scripts if re.search(r'"datePublished"\s*:\s*"[^"]+"', s.text)]

    def move_time() -> int:
        for el in times:
            el.set("content", _shift_time(el.get("content")))
        for el in stamps:
            el.text = re.sub(
                r'("datePublished"\s*:\s*")([^"]+)"',
                lambda m: f'{m.group(1)}{_shift_time(m.group(2))}"',
                el.text,
            )
        return len(times) + len(stamps)

    def rename() -> int:
        el = rng.choice(authors)
        value = el.get("content")
        start, end = rng.choice(_name_spots(value))
        old = value[start:end]
        new = _mutate_field(old, rng)
        for other in authors:
            other.set("content", (other.get("content") or "").replace(old, new))
        for script in scripts:
            script.text = script.text.replace(f'"{old}', f'"{new}').replace(f" {old}", f" {new}")
        return 1

    if times or stamps:
        options.append(move_time)
    if authors:
        options.append(rename)
    if not options:
        raise NotApplicable
    if not rng.choice(options)():
        raise NotApplicable


def furniture_page(page: Page) -> str | None:
    """The story gone from its page: headline, block and pictures removed, the site's
    navigation, teasers and footer left. None when the longest lines a reader sees on
    the page (the story's prose) are not all gone that way: no such step is made."""
    root = parse(page.html)
    longest = sorted((squash(get_slot(s)) for s in shown_slots(root)), key=len)[-5:]
    story = [line for line in longest if len(line) >= 80]
    _strip_structured_data(root)
    try:
        region = _article_region(root)
    except NotApplicable:
        region = reader_block(root)
    block = reader_block(root)
    for el in {region, block}:
        if el.tag not in ("body", "html") and el.getparent() is not None:
            el.drop_tree()
    for el in list(root.iter("h1", "figure", "article")):
        if el.getparent() is not None:
            el.drop_tree()
    left = {squash(get_slot(s)) for s in shown_slots(root)}
    if not story or any(line in left for line in story):
        return None
    if sum(map(len, left)) < _FURNITURE_CHARS and any(
        not squash(el.text_content()) for el in root.xpath(_MOUNT_POINTS)
    ):
        # nothing of the site is left either (its whole page sat in the story's box) and
        # its front-end's mount point stands empty: a blank app shell, which no reader
        # can tell from a page their browser has not rendered yet
        return None
    return serialize(root)


_FURNITURE_CHARS = 40  # less text than this left of the site is a blank page
_MOUNT_POINTS = "//*[@id='root' or @id='app' or @id='__next' or @id='__nuxt']"


Edit = Callable[[lxml.html.HtmlElement, random.Random], None]
EDITS: dict[str, Edit] = {
    "one word": edit_word,
    "one number": edit_number,
    "sentence deleted": edit_sentence_delete,
    "sentence inserted": edit_sentence_insert,
    "sentence changed": edit_sentence_change,
    "paragraph deleted": edit_paragraph_delete,
    "headline": edit_headline,
    "byline": edit_byline,
    "date": edit_date,
    "one CJK char": edit_cjk_char,
    "byline shown only": edit_byline_shown,
    "dateline day shown only": edit_dateline_day,
    "dateline time shown only": edit_dateline_time,
    "caption": edit_caption,
    "metadata only": edit_metadata,
    "notes paragraph": edit_notes,
    "one word in the story's block": edit_block_word,
    "headline shown only": edit_headline_shown,
}
# The kinds the issue of bylines, datelines, captions and notes added: each must be caught.
NEW_EDITS = (
    "byline shown only",
    "dateline day shown only",
    "dateline time shown only",
    "caption",
    "metadata only",
    "notes paragraph",
    "one word in the story's block",
    "headline shown only",
)

# -- noise --------------------------------------------------------------------------------

ADS = ("Cheap flights to Rome", "Buy SuperWidget today", "Learn piano in 30 days", "New phone")
HEADLINES_EN = (
    "Parliament debates the budget",
    "Storm closes the airport",
    "Football club sold to investors",
    "Rail strike called off",
    "Museum reopens after fire",
    "Markets rally on rate hopes",
    "City unveils new cycling plan",
)
HEADLINES_ZH = (
    "国务院常务会议部署稳经济措施",
    "多地迎来强降雨天气",
    "新能源汽车销量再创新高",
    "教育部发布最新招生政策",
    "央行宣布下调存款准备金率",
    "高铁新线路正式开通运营",
)


@dataclass
class Page:
    """One corpus page and what the benchmark knows about it."""

    name: str
    html: str  # the current version, re-serialised
    cjk: bool
    lang: str
    container_path: str
    rng: random.Random
    site: str = ""


def _fragment(html: str) -> lxml.html.HtmlElement:
    return lxml.html.fragment_fromstring(html)


def _container(root: lxml.html.HtmlElement, page: Page) -> lxml.html.HtmlElement:
    found = root.xpath(page.container_path)
    return found[0] if found else root.body


def _inside(el: lxml.html.HtmlElement, box: lxml.html.HtmlElement) -> bool:
    return el is box or any(a is box for a in el.iterancestors())


def _first_block(box: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
    """The first paragraph of ``box`` that is not a picture's caption (a <p> beside the
    picture in its own box, or inside a <figure>): where the story's text starts."""
    for el in box.iter("p"):
        parent = el.getparent()
        beside_picture = parent is not None and any(
            True for _ in parent.iter("img", "picture", "video")
        )
        if not beside_picture and not any(a.tag == "figure" for a in el.iterancestors()):
            return el
    return None


def _above_text(box: lxml.html.HtmlElement, line: lxml.html.HtmlElement) -> None:
    """``line`` just above the first paragraph of ``box`` (at its top when it has none)."""
    first = _first_block(box)
    if first is not None:
        first.addprevious(line)
    else:
        box.insert(0, line)


def _dateline_times(root: lxml.html.HtmlElement) -> list[lxml.html.HtmlElement]:
    """The <time> elements that show the article's own dateline, under its headline."""
    try:
        zone = [owner(slot) for slot in header_zone(root)]
    except NotApplicable:
        return []
    return [el for el in root.iter("time") if any(_is_in(o, el) for o in zone)]


def noise_timestamps(root: lxml.html.HtmlElement, page: Page, rng: random.Random) -> None:
    """Relative times tick, a sidebar of timestamped teasers rotates, a header clock runs.

    The article's own dateline under its headline is left as it is: a site shows it the
    same way on every load (a plain fetch gets the server's rendering), never as a date on
    one load and as "5 minutes ago" on the next."""
    box = _container(root, page)
    dateline = _dateline_times(root)
    for el in list(root.iter("time")):
        if not _inside(el, box) and not any(el is d for d in dateline):
            for child in list(el):
                el.remove(child)
            el.text = f"{rng.randrange(2, 59)} minutes ago"  # its datetime stays: it is data
    items = "".join(
        f'<li><a href="/news/{rng.randrange(10**6)}.html">{h}</a> '
        f'<time datetime="{(T0 - timedelta(hours=rng.randrange(1, 120))).isoformat()}">'
        f"{rng.randrange(1, 23)} hours ago</time></li>"
        for h in rng.sample(HEADLINES_ZH if page.cjk else HEADLINES_EN, 4)
    )
    root.body.append(_fragment(f'<aside class="latest"><ul>{items}</ul></aside>'))
    clock = f"{rng.randrange(24):02d}:{rng.randrange(60):02d}"
    root.body.insert(0, _fragment(f'<div class="clock"><span>{clock}</span></div>'))
    n = rng.randrange(1, 59)
    label = f"更新于 {n}分钟前" if page.cjk else f"Updated {n} minutes ago"
    _above_text(box, _fragment(f'<p class="updated">{label}</p>'))


def noise_counters(root: lxml.html.HtmlElement, page: Page, rng: random.Random) -> None:
    """View, comment and share counts inside the article header change on every load."""
    box = _container(root, page)
    views, comments = rng.randrange(100, 99999), rng.randrange(0, 999)
    if page.cjk:
        stats = f"阅读 {views / 10000:.1f}万 · 评论({comments})"
    else:
        stats = f"{views:,} views · {comments} comments"
    _above_text(box, _fragment(f'<div class="stats">{stats}</div>'))
    root.body.insert(0, _fragment(f'<a class="comment-count" href="#c">{comments}</a>'))


def noise_ads(root: lxml.html.HtmlElement, page: Page, rng: random.Random) -> None:
    """A rotating banner ad above the page and an ad slot between paragraphs."""
    tag = f"{rng.getrandbits(32):08x}"
    banner = (
        f'<div class="ad-banner" id="ad-{tag}"><a href="https://ads.example/c?id={tag}">'
        f'<img src="https://ads.example/{tag}.jpg" alt="ad"></a>'
        f"<span>{rng.choice(ADS)}</span></div>"
    )
    root.body.insert(0, _fragment(banner))
    box = _container(root, page)
    paragraphs = list(box.iter("p"))
    if len(paragraphs) >= 3:
        slot = _fragment(
            f'<div class="advertisement" data-slot="{tag}">'
            f'<iframe src="https://ads.example/frame/{tag}"></iframe></div>'
        )
        paragraphs[len(paragraphs) // 2].addnext(slot)


def noise_related(root: lxml.html.HtmlElement, page: Page, rng: random.Random) -> None:
    """Related links rotate after the article, and link lists elsewhere are reshuffled."""
    box = _container(root, page)
    pool = list(HEADLINES_ZH if page.cjk else HEADLINES_EN)
    rng.shuffle(pool)
    items = "".join(
        f'<li><a href="/news/{rng.randrange(10**6)}.html">{h}</a></li>' for h in pool[:4]
    )
    title = "相关阅读" if page.cjk else "Related"
    aside = _fragment(f'<aside class="related"><h3>{title}</h3><ul>{items}</ul></aside>')
    if box is root.body:
        box.append(aside)
    else:
        box.addnext(aside)
    for ul in root.iter("ul"):
        if _inside(ul, box):
            continue
        items_ = list(ul)
        if 2 <= len(items_) <= 50:
            rng.shuffle(items_)
            tail = items_[-1].tail
            for item in items_:
                ul.remove(item)
            for item in items_:
                ul.append(item)
            items_[-1].tail = tail


def noise_nonces(root: lxml.html.HtmlElement, page: Page, rng: random.Random) -> None:
    """Script nonces, cache-busting query strings and CSRF tokens change on every load."""
    tag = f"{rng.getrandbits(64):016x}"
    for el in root.iter("script", "link", "img"):
        for attr in ("src", "href"):
            value = el.get(attr)
            if value and not value.startswith("data:"):
                base = value.split("?v=")[0]
                joiner = "&" if "?" in base else "?"
                el.set(attr, f"{base}{joiner}v={tag[:8]}")
        if el.tag == "script" and el.get("src") is None and el.text:
            el.set("nonce", tag)
    head = root.find("head")
    if head is not None:
        head.append(_fragment(f'<script nonce="{tag}">window.__NONCE__="{tag}";</script>'))
        head.append(_fragment(f'<meta name="csrf-token" content="{tag}">'))


def noise_ids(root: lxml.html.HtmlElement, page: Page, rng: random.Random) -> None:
    """Generated class names and ids (CSS-in-JS hashes) differ between deploys."""
    for el in root.iter("div", "span", "section", "article", "p", "a", "li"):
        suffix = f"{rng.getrandbits(24):06x}"
        classes = el.get("class")
        el.set("class", f"{classes} css-{suffix}" if classes else f"css-{suffix}")
        if el.get("id") and re.search(r"\d", el.get("id") or ""):
            el.set("id", re.sub(r"\d+", lambda m: str(rng.randrange(10**6)), el.get("id") or ""))


def noise_reflow(root: lxml.html.HtmlElement, page: Page, rng: random.Random) -> None:
    """The same text laid out differently: whitespace, indentation, an extra inline <span>."""
    for slot in list(text_slots(root)):
        el = owner(slot)
        if el.tag == "pre" or any(a.tag == "pre" for a in el.iterancestors()):
            continue
        text = get_slot(slot)
        if " " in text and rng.random() < 0.3:
            set_slot(slot, re.sub(" ", lambda m: rng.choice((" ", "  ", "\n    ")), text))
    for el in root.body.iter("p", "div", "li"):
        if el.tail is None or not el.tail.strip():
            el.tail = rng.choice(("\n", "\n  ", "\n\n      ", " "))
    for slot in story_slots(root, unique=False)[:5]:
        el, which = slot
        text = get_slot(slot)
        m = _LATIN_WORD.search(text) or _HAN.search(text)
        if which != "text" or m is None:
            continue
        span = lxml.html.Element("span")
        span.text, span.tail = m.group(), text[m.end() :]
        el.text = text[: m.start()]
        el.insert(0, span)


def noise_cookie_banner(root: lxml.html.HtmlElement, page: Page, rng: random.Random) -> None:
    """A consent banner appears (and vanishes again on the next load)."""
    text = (
        "本网站使用Cookie以改善您的浏览体验。继续浏览即表示您同意我们的Cookie政策。"
        if page.cjk
        else "We use cookies to improve your experience. By continuing to browse you accept "
        "our cookie policy."
    )
    banner = (
        f'<div id="cookie-consent" class="cookie-banner"><p>{text}</p>'
        '<button type="button">Accept all</button></div>'
    )
    (root.body.append if rng.random() < 0.5 else lambda e: root.body.insert(0, e))(
        _fragment(banner)
    )


# Noise as a reader sees it inside the article: a line linking to another story, a counter
# bar in the page's own language, a sign-up offer between the paragraphs. Written from
# what news sites show, not from how watcher reads them.
READ_ALSO = {
    "en": "Read more:",
    "zh": "相关阅读：",
    "ja": "あわせて読みたい：",
    "de": "Lesen Sie auch:",
    "fr": "À lire aussi :",
    "es": "Lea también:",
    "pt": "Leia também:",
    "it": "Leggi anche:",
    "ru": "Читайте также:",
    "ar": "اقرأ أيضا:",
    "tr": "Ayrıca okuyun:",
    "nl": "Lees ook:",
}
COUNTS = {
    "en": "{v:,} views · {c} comments",
    "de": "{v} Aufrufe · {c} Kommentare",
    "fr": "{v} vues · {c} commentaires",
    "es": "{v} visitas · {c} comentarios",
    "pt": "{v} visualizações · {c} comentários",
    "it": "{v} visualizzazioni · {c} commenti",
    "ru": "{v} просмотров · {c} комментариев",
    "ja": "閲覧数 {v}・コメント {c}件",
    "ar": "{v} مشاهدة · {c} تعليق",
    "tr": "{v} görüntülenme · {c} yorum",
    "nl": "{v} keer bekeken · {c} reacties",
    "zh": "浏览量：{v} 评论：{c}",
}
PROMOS_EN = (
    "Sign up for our morning newsletter",
    "Get the best stories in your inbox every day",
    "Download our app for breaking news alerts",
)
PROMOS_ZH = ("订阅我们的早间新闻简报", "下载客户端，获取最新消息推送", "关注我们的公众号")


def _page_lang(page: Page) -> str:
    return "zh" if page.cjk and not page.lang.startswith("ja") else page.lang[:2]


def noise_read_also(root: lxml.html.HtmlElement, page: Page, rng: random.Random) -> None:
    """A "read more" line linking another story, set between the article's paragraphs."""
    box = _container(root, page)
    paragraphs = list(box.iter("p"))
    label = READ_ALSO.get(_page_lang(page), READ_ALSO["en"])
    headline = rng.choice(HEADLINES_ZH if page.cjk else HEADLINES_EN)
    line = _fragment(
        f'<p class="read-also"><strong>{label}</strong> '
        f'<a href="/news/{rng.randrange(10**6)}.html">{headline}</a></p>'
    )
    if paragraphs:
        paragraphs[len(paragraphs) // 2].addnext(line)
    else:
        box.append(line)


def noise_local_counters(root: lxml.html.HtmlElement, page: Page, rng: random.Random) -> None:
    """View and comment counts in the page's own language, above the article's text."""
    box = _container(root, page)
    form = COUNTS.get(_page_lang(page), COUNTS["en"])
    stats = form.format(v=rng.randrange(100, 99999), c=rng.randrange(0, 999))
    _above_text(box, _fragment(f'<div class="meta-stats"><span>{stats}</span></div>'))


def noise_signup(root: lxml.html.HtmlElement, page: Page, rng: random.Random) -> None:
    """A newsletter or app offer after the first paragraph; its wording rotates."""
    box = _container(root, page)
    offer = rng.choice(PROMOS_ZH if page.cjk else PROMOS_EN)
    first = _first_block(box)
    el = _fragment(
        f'<div class="newsletter-promo"><p>{offer}</p><a href="/newsletter">OK</a></div>'
    )
    if first is not None:
        first.addnext(el)
    else:
        box.append(el)


NoiseFn = Callable[[lxml.html.HtmlElement, Page, random.Random], None]
NOISES: dict[str, NoiseFn] = {
    "timestamps": noise_timestamps,
    "counters": noise_counters,
    "ad rotation": noise_ads,
    "related links": noise_related,
    "nonces, cache-busters": noise_nonces,
    "random ids/classes": noise_ids,
    "whitespace/markup reflow": noise_reflow,
    "cookie banner": noise_cookie_banner,
    "read-also line": noise_read_also,
    "counters, page's language": noise_local_counters,
    "sign-up offer": noise_signup,
}


def with_noise(page: Page, kinds: list[str], rng: random.Random, html: str | None = None) -> str:
    root = parse(html or page.html)
    for kind in kinds:
        NOISES[kind](root, page, rng)
    return serialize(root)


# -- removal pages ------------------------------------------------------------------------

NOT_FOUND = {
    "en": ("Page not found", "Sorry, the page you are looking for does not exist or has moved."),
    "zh": ("404 页面不存在", "抱歉，您访问的页面不存在或已被删除。"),
    "de": ("Seite nicht gefunden", "Die angeforderte Seite konnte leider nicht gefunden werden."),
    "fr": ("Page introuvable", "Désolé, la page que vous recherchez n'existe pas."),
    "es": ("Página no encontrada", "Lo sentimos, la página que busca no existe."),
}
NOTICES = {
    "en": (
        "This content has been removed.",
        "This article is no longer available.",
        "This story has been removed at the request of the publisher.",
    ),
    "zh": (
        "该内容已被删除",
        "根据相关法律法规和政策，该内容无法显示。",
        "此文章已被作者删除",
        "抱歉，该文章已被删除。",
    ),
    "de": ("Dieser Artikel ist nicht mehr verfügbar.",),
    "fr": ("Cet article n'est plus disponible.",),
    "es": ("Este contenido ya no está disponible.",),
}


def _lang(page: Page) -> str:
    if page.cjk and not page.lang.startswith("ja"):
        return "zh"
    lang = page.lang[:2]
    return lang if lang in NOT_FOUND else "en"


def _strip_structured_data(root: lxml.html.HtmlElement) -> None:
    """JSON-LD carries the article body too; a page rendered without the article lacks it."""
    for el in list(root.iter("script")):
        if (el.get("type") or "").lower() == "application/ld+json":
            el.drop_tree()


def _strip_article_metadata(root: lxml.html.HtmlElement) -> None:
    """What a CMS error template lacks: the article's og/article metadata and JSON-LD."""
    for el in list(root.iter("meta")):
        key = (el.get("property") or el.get("name") or "").lower()
        if key.startswith(("og:", "article:", "twitter:")) or key in ("author", "description"):
            el.drop_tree()
    _strip_structured_data(root)
    for el in list(root.iter("h1")):
        el.drop_tree()


def _replace_body(box: lxml.html.HtmlElement, html: str) -> None:
    for child in list(box):
        box.remove(child)
    box.text = None
    if html:
        box.append(_fragment(html))


def not_found_page(page: Page) -> str:
    """The host's own 404 template: its chrome with a not-found message where the article was."""
    root = parse(page.html)
    heading, message = NOT_FOUND[_lang(page)]
    box = _container(root, page)
    _strip_article_metadata(root)
    _replace_body(box, f'<div class="error-page"><h1>{heading}</h1><p>{message}</p></div>')
    title = root.find(".//title")
    if title is not None:
        title.text = f"{heading} | {page.site}"
    return serialize(root)


def notice_page(page: Page, rng: random.Random) -> str:
    """The article body replaced by a removal notice; title, metadata and chrome remain."""
    root = parse(page.html)
    _strip_structured_data(root)
    _replace_body(
        _container(root, page),
        f'<div class="notice"><p>{rng.choice(NOTICES[_lang(page)])}</p></div>',
    )
    return serialize(root)


def emptied_page(page: Page) -> str:
    """The article body is gone; the page around it still loads."""
    root = parse(page.html)
    _strip_structured_data(root)
    _replace_body(_container(root, page), "")
    return serialize(root)


def front_page(title: str, cjk: bool) -> str:
    items = "".join(
        f'<li><a href="/news/{i}.html">{h}</a></li>'
        for i, h in enumerate(HEADLINES_ZH if cjk else HEADLINES_EN)
    )
    head = f"<head><title>{title}</title></head>"
    return f"<html>{head}<body><h1>{title}</h1><ul>{items}</ul></body></html>"


# -- the scenario ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One check: what the server answers and what a good watcher should say."""

    group: str  # edit | removal | restore | noise | error | flip | mixed
    name: str
    reply: Reply
    expect: str  # changed | removed | restored | unchanged | error | any
    removal: str | None = None


@dataclass
class Outcome:
    group: str
    name: str
    expect: str
    removal: str | None
    kind: str
    got_removal: str | None
    cpu: float
    naive_alert: bool
    naive_kind: str
    naive_cpu: float
    page: str
    summary: str


def load_page(path: Path) -> Page:
    raw = gzip.decompress(path.read_bytes())
    text, _codec = decode_body(raw, "text/html")
    root = parse(text)
    html = serialize(root)
    root = parse(html)
    box = story_container(root)
    name = path.name.removesuffix(".html.gz")
    seed = sum(name.encode())
    return Page(
        name=name,
        html=html,
        cjk=page_is_cjk(root),
        lang=(root.get("lang") or "").lower(),
        container_path=root.getroottree().getpath(box),
        rng=random.Random(seed),
        site=name.split("-")[1] if "-" in name else name,
    )


def ok(html: str) -> Reply:
    return Reply(200, html.encode("utf-8"))


def scenario(page: Page, paths: dict[str, str]) -> Iterator[Step]:
    """The steps for one page; edits accumulate, noise is applied to the current version."""
    yield from _noise_steps(page)
    yield from _edit_steps(page)
    yield from _removal_steps(page, paths)


def _apply_edit(page: Page, name: str) -> str | None:
    """The page's current version with edit ``name`` made, if it applies."""
    root = parse(page.html)
    try:
        EDITS[name](root, page.rng)
    except NotApplicable:
        return None
    html = serialize(root)
    if html == page.html:
        return None
    return html


def _noise_steps(page: Page) -> Iterator[Step]:
    """The first version, then each kind of noise alone, transient errors, all at once."""
    rng = page.rng
    noise_kinds = list(NOISES)
    yield Step(
        "first", "first version", ok(with_noise(page, ["nonces, cache-busters"], rng)), "any"
    )
    for kind in noise_kinds:
        yield Step("noise", kind, ok(with_noise(page, [kind], rng)), "unchanged")
    for status in (500, 502, 503):
        yield Step(
            "error", f"transient {status}", Reply(status, b"<h1>Service unavailable</h1>"), "error"
        )
        yield Step(
            "noise",
            "after a 5xx",
            ok(with_noise(page, ["nonces, cache-busters"], rng)),
            "unchanged",
        )
    yield Step("error", "timeout", Reply(200, page.html.encode(), stall=True), "error")
    yield Step("noise", "after a timeout", ok(with_noise(page, ["ad rotation"], rng)), "unchanged")
    yield Step("noise", "all noise at once", ok(with_noise(page, noise_kinds, rng)), "unchanged")


def _edit_steps(page: Page) -> Iterator[Step]:
    """Each edit, then a noise-only step; an edit under all noise; an A/B headline test."""
    rng = page.rng
    noise_kinds = list(NOISES)
    for name in EDITS:
        edited = _apply_edit(page, name)
        if edited is None:
            continue
        page.html = edited
        yield Step("edit", name, ok(with_noise(page, ["nonces, cache-busters"], rng)), "changed")
        kind = rng.choice(noise_kinds)
        yield Step("noise", kind, ok(with_noise(page, [kind], rng)), "unchanged")

    edited = _apply_edit(page, "one word")
    if edited is not None:
        page.html = edited
        yield Step(
            "mixed", "noise + one-word edit", ok(with_noise(page, noise_kinds, rng)), "changed"
        )

    # A/B headline test: the page alternates between two headlines
    a_html = page.html
    b_html = _apply_edit(page, "headline")
    if b_html is not None:
        for i, html in enumerate((b_html, a_html, b_html)):
            yield Step(
                "flip",
                f"flip {i}",
                ok(with_noise(page, ["nonces, cache-busters"], rng, html)),
                "any",
            )
        page.html = b_html


def refresh_stub(target: str) -> str:
    """A 200 page left in place of the article that a browser leaves at once."""
    return (
        f'<html><head><meta http-equiv="refresh" content="0; url={target}">'
        "<title>Redirecting</title></head><body></body></html>"
    )


def script_stub(target: str) -> str:
    """A 200 page whose one script sends the reader elsewhere."""
    return (
        "<html><head><title></title>"
        f"<script>window.location.replace('{target}');</script></head><body></body></html>"
    )


def _removal_steps(page: Page, paths: dict[str, str]) -> Iterator[Step]:
    """Each removal, checked again while it stays removed, then the page restored."""
    rng = page.rng
    removals: list[tuple[str, Reply, str]] = [
        ("404", Reply(404, not_found_page(page).encode()), "gone"),
        ("410", Reply(410, not_found_page(page).encode()), "gone"),
        ("451", Reply(451, not_found_page(page).encode()), "legal"),
        ("redirect to home page", Reply(302, b"", location=paths["home"]), "redirected"),
        ("redirect to section front", Reply(301, b"", location=paths["section"]), "redirected"),
        ("redirect to another site", Reply(302, b"", location=paths["offsite"]), "redirected"),
        ("<meta> refresh to home page", ok(refresh_stub(paths["home"])), "redirected"),
        ("script redirect to home page", ok(script_stub(paths["home"])), "redirected"),
        ("soft-404", ok(not_found_page(page)), "soft_404"),
        ("removal notice", ok(notice_page(page, rng)), "notice"),
        ("emptied", ok(emptied_page(page)), "emptied"),
        ("404, old page still served", Reply(404, page.html.encode()), "gone"),
        ("410, old page still served", Reply(410, page.html.encode()), "gone"),
        ("451, old page still served", Reply(451, page.html.encode()), "legal"),
    ]
    if (furniture := furniture_page(page)) is not None:
        removals.insert(-3, ("emptied to furniture", ok(furniture), "emptied"))
    for name, reply, removal in removals:
        yield Step("removal", name, reply, "removed", removal)
        if reply.body:
            # checked again while it stays removed: nothing new to report
            again = parse(reply.body.decode())
            noise_nonces(again, page, rng)
            body = serialize(again).encode()
            yield Step("removed", f"still removed ({name})", replace(reply, body=body), "unchanged")
        yield Step(
            "restore", f"after {name}", ok(with_noise(page, ["ad rotation"], rng)), "restored"
        )


# -- the naive whole-page differ -------------------------------------------------------------


class Naive:
    """Alert whenever the whole page's text differs; 404/410/451 are removals, 5xx errors."""

    def __init__(self, routes: dict[str, Reply]) -> None:
        self.routes = routes
        self.previous: str | None = None
        self.removed = False

    def check(self, reply: Reply) -> tuple[bool, str]:
        hops = 0
        while reply.location and hops < 5:
            reply = self.routes.get(urlsplit(reply.location).path, Reply(404))
            hops += 1
        if reply.stall or reply.status >= 500 or reply.status in (403, 429):
            return False, "error"
        if reply.status in (404, 410, 451):
            if self.removed:
                return False, "unchanged"
            self.removed = True
            return True, "legal" if reply.status == 451 else "gone"
        text = parse(reply.body.decode("utf-8")).text_content() if reply.body else ""
        if self.removed:
            self.removed, self.previous = False, text
            return True, "restored"
        changed = self.previous is not None and text != self.previous
        self.previous = text
        return changed, "changed" if changed else "unchanged"


# -- running ---------------------------------------------------------------------------------

_WORKER: dict[str, object] = {}


def _init_worker(tmp: str) -> None:
    store = Store(f"sqlite:///{tmp}/bench-{multiprocessing.current_process().pid}.db")
    store.migrate()
    reader = ReaderPool(1, max_tasks=0)
    # A worker joins its child processes when it exits: end the reader first.
    multiprocessing.util.Finalize(reader, reader.close, kwargs={"kill": True}, exitpriority=10)
    warm = "<html><body><p>warm up</p></body></html>"
    read_article(warm, Watch(url="http://127.0.0.1/"))
    reader.run(read_article, warm, Watch(url="http://127.0.0.1/"))
    _WORKER.update(
        store=store,
        site=Site(),
        session=requests.Session(),
        reader=reader,
        reader_pid=reader.run(os.getpid),
    )


def _cpu_ns(reader_pid: int) -> int:
    """CPU nanoseconds of this process and its reader: the check's whole reading cost."""
    own = time.process_time_ns()
    return own + int(Path(f"/proc/{reader_pid}/schedstat").read_text().split()[0])


def _serve_site(site: Site, page: Page) -> tuple[str, dict[str, str]]:
    """The article's path on ``site``, and the pages a removal redirects to, served."""
    base = f"/{page.name}"
    article_path = f"{base}/world/story-{page.rng.randrange(10**6)}.html"
    paths = {
        "home": "/",
        "section": f"{base}/world/",
        "offsite": site.url(f"/elsewhere/{page.name}/", host="localhost"),
    }
    site.routes["/"] = ok(front_page(page.site, page.cjk))
    site.routes[f"{base}/world/"] = ok(front_page(f"{page.site} world", page.cjk))
    site.routes[f"/elsewhere/{page.name}/"] = ok(front_page("elsewhere", page.cjk))
    return article_path, paths


def run_page(path: Path) -> list[Outcome]:
    """All steps of one page through check_page and the naive differ."""
    store = _WORKER["store"]
    site = _WORKER["site"]
    session = _WORKER["session"]
    reader = _WORKER["reader"]
    reader_pid = _WORKER["reader_pid"]
    assert isinstance(reader, ReaderPool)
    assert isinstance(reader_pid, int)
    assert isinstance(store, Store)
    assert isinstance(site, Site)
    assert isinstance(session, requests.Session)
    page = load_page(path)
    article_path, paths = _serve_site(site, page)
    watch = Watch(url=site.url(article_path), name=page.name)
    page_id = store.sync_pages([(watch.url, watch.label)], T0)[watch.url]
    naive = Naive(site.routes)
    recheck = random.Random(page.name)
    outcomes = []
    now = T0
    for step in scenario(page, paths):
        reply = step.reply
        if reply.status == 200 and step.group in ("noise", "edit", "mixed", "restore"):
            # Every load of a real page carries fresh noise, the confirming one included.
            again = with_noise(page, [recheck.choice(list(NOISES))], recheck, reply.body.decode())
            reply = replace(reply, then=Reply(200, again.encode("utf-8")))
        site.routes[article_path] = reply
        now += timedelta(minutes=15)
        started_ns = _cpu_ns(reader_pid)
        result = check_page(
            store, session, watch, SETTINGS, page_id=page_id, now=now, reader=reader
        )
        cpu = (_cpu_ns(reader_pid) - started_ns) / 1e9
        started = time.process_time()
        naive_alert, naive_kind = naive.check(step.reply)
        naive_cpu = time.process_time() - started
        verdict = result.verdict
        outcomes.append(
            Outcome(
                group=step.group,
                name=step.name,
                expect=step.expect,
                removal=step.removal,
                # a return to a version already reported is stored without an alert
                kind="repeat" if result.repeat_of is not None else verdict.kind.value,
                got_removal=verdict.removal.value if verdict.removal else None,
                cpu=cpu,
                naive_alert=naive_alert,
                naive_kind=naive_kind,
                naive_cpu=naive_cpu,
                page=page.name,
                summary=verdict.summary[:160],
            )
        )
    del site.routes[article_path]
    return outcomes


# -- reporting -------------------------------------------------------------------------------


@dataclass
class Row:
    label: str
    outcomes: list[Outcome] = field(default_factory=list)


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:6.1f}%" if whole else "     -"


def _ms(values: list[float]) -> str:
    return f"{1000 * statistics.median(values):6.1f}" if values else "     -"


def alerted(o: Outcome) -> bool:
    return o.kind in ALERTS


def rate(rows: list[Outcome], test: Callable[[Outcome], bool]) -> float:
    return sum(test(o) for o in rows) / len(rows) if rows else 1.0


def report(outcomes: list[Outcome], verbose: bool) -> bool:
    """Print the tables; True when every target is met."""
    by: dict[tuple[str, str], list[Outcome]] = defaultdict(list)
    for o in outcomes:
        group = o.group
        name = o.name
        if group == "noise" and name.startswith("still removed"):
            name = "still removed (same notice)"
        by[(group, name)].append(o)
    print(f"\npages: {len({o.page for o in outcomes})}, checks: {len(outcomes)}")
    edits_all = _report_edits(by)
    _report_removals(outcomes, by)
    _report_noise(outcomes, by)
    met = _report_targets(outcomes, edits_all)
    if verbose:
        _report_misses(outcomes)
    return met


HEAD = f"{'':34} {'n':>5}  {'watcher':>9} {'naive':>9}   {'cpu ms watcher':>14} {'naive':>6}"


def _report_edits(by: dict[tuple[str, str], list[Outcome]]) -> list[Outcome]:
    """The table of meaningful edits; returns every edit step."""
    print("\nMEANINGFUL EDITS (alert rate)")
    print(HEAD)
    edits_all: list[Outcome] = []
    for name in [*EDITS, "noise + one-word edit"]:
        group = "mixed" if name.startswith("noise +") else "edit"
        rows = by.get((group, name), [])
        edits_all += rows
        if rows:
            w = sum(alerted(o) for o in rows)
            n = sum(o.naive_alert for o in rows)
            print(
                f"  {name:32} {len(rows):5}  {_pct(w, len(rows)):>9} {_pct(n, len(rows)):>9}"
                f"   {_ms([o.cpu for o in rows]):>14} {_ms([o.naive_cpu for o in rows]):>6}"
            )
    return edits_all


def _report_removals(outcomes: list[Outcome], by: dict[tuple[str, str], list[Outcome]]) -> None:
    """The table of removals and of the restorations after them."""
    print("\nREMOVALS (alerted / alerted with the right kind)")
    print(f"{'':34} {'n':>5}  {'watcher':>17} {'naive':>17}   {'cpu ms watcher':>14} {'naive':>6}")
    removals = [o for o in outcomes if o.group == "removal"]
    for name in dict.fromkeys(o.name for o in removals):
        rows = by[("removal", name)]
        w = sum(alerted(o) for o in rows)
        wk = sum(o.kind == "removed" and o.got_removal == o.removal for o in rows)
        n = sum(o.naive_alert for o in rows)
        nk = sum(o.naive_kind == o.removal for o in rows)
        print(
            f"  {name:32} {len(rows):5}  {_pct(w, len(rows))} {_pct(wk, len(rows))}"
            f" {_pct(n, len(rows))} {_pct(nk, len(rows))}"
            f"   {_ms([o.cpu for o in rows]):>14} {_ms([o.naive_cpu for o in rows]):>6}"
        )
    restores = [o for o in outcomes if o.group == "restore"]
    w = sum(o.kind == "restored" for o in restores)
    n = sum(o.naive_kind == "restored" for o in restores)
    print(
        f"  {'restored afterwards':32} {len(restores):5}  {_pct(w, len(restores)):>9}"
        f"         {_pct(n, len(restores)):>9}"
        f"           {_ms([o.cpu for o in restores]):>14} {_ms([o.naive_cpu for o in restores]):>6}"
    )


def _report_noise(outcomes: list[Outcome], by: dict[tuple[str, str], list[Outcome]]) -> None:
    """The table of noise-only steps, repeat reports, flip-flops and CPU per check."""
    print("\nNOISE ONLY (false alert rate; transient errors must be 'error')")
    print(HEAD)
    noise = [o for o in outcomes if o.group in ("noise", "error")]
    for key in dict.fromkeys((o.group, by_key(o)) for o in noise):
        rows = by[key]
        w = sum(alerted(o) for o in rows)
        n = sum(o.naive_alert for o in rows)
        extra = ""
        if key[0] == "error":
            extra = f"  (error verdicts: {_pct(sum(o.kind == 'error' for o in rows), len(rows))})"
        print(
            f"  {key[1]:32} {len(rows):5}  {_pct(w, len(rows)):>9} {_pct(n, len(rows)):>9}"
            f"   {_ms([o.cpu for o in rows]):>14} {_ms([o.naive_cpu for o in rows]):>6}{extra}"
        )

    still = [o for o in outcomes if o.group == "removed"]
    if still:
        w = sum(alerted(o) for o in still)
        n = sum(o.naive_alert for o in still)
        print(
            f"\n  {'repeat reports while removed':34} {len(still):5}  {w:9d} {n:9d}"
            f"   (a later check of a page that stays removed; 0 is right)"
        )

    flips = [o for o in outcomes if o.group == "flip"]
    flip_pages = len({o.page for o in flips})
    if flip_pages:
        w = sum(alerted(o) for o in flips)
        n = sum(o.naive_alert for o in flips)
        print(
            f"\n  {'flip-flop: alerts per real version':34}  {w / flip_pages:9.2f}"
            f" {n / flip_pages:9.2f}   (A->B->A->B on {flip_pages} pages; 1.00 is right)"
        )

    all_cpu = [o.cpu for o in outcomes if o.group != "error"]
    print(
        f"\nCPU per check (median, all but errors): watcher {_ms(all_cpu)} ms, naive "
        f"{_ms([o.naive_cpu for o in outcomes if o.group != 'error'])} ms"
    )


def _report_targets(outcomes: list[Outcome], edits_all: list[Outcome]) -> bool:
    """The targets, each against its goal; True when all are met."""
    removals = [o for o in outcomes if o.group == "removal"]
    restores = [o for o in outcomes if o.group == "restore"]
    still = [o for o in outcomes if o.group == "removed"]
    headline = [o for o in edits_all if o.name in ("headline", "one CJK char")]
    noise_only = [o for o in outcomes if o.group in ("noise", "error")]
    new_kinds = [[o for o in edits_all if o.name == name] for name in NEW_EDITS]
    targets = [
        ("meaningful edits alerted >= 99.5%", rate(edits_all, alerted), 0.995),
        ("headline and one-CJK-char alerted = 100%", rate(headline, alerted), 1.0),
        *(
            (f"{name} alerted >= 99%", rate(rows, alerted), 0.99)
            for name, rows in zip(NEW_EDITS, new_kinds, strict=True)
        ),
        (
            "removals alerted with the right kind >= 99.5%",
            rate(removals, lambda o: o.kind == "removed" and o.got_removal == o.removal),
            0.995,
        ),
        ("restorations alerted = 100%", rate(restores, lambda o: o.kind == "restored"), 1.0),
        ("no repeat report while removed (= 100%)", rate(still, lambda o: not alerted(o)), 1.0),
    ]
    print("\nTARGETS (watcher; naive in brackets)")
    naive_rates = [
        rate(edits_all, lambda o: o.naive_alert),
        rate(headline, lambda o: o.naive_alert),
        *(rate(rows, lambda o: o.naive_alert) for rows in new_kinds),
        rate(removals, lambda o: o.naive_kind == o.removal),
        rate(restores, lambda o: o.naive_kind == "restored"),
        rate(still, lambda o: not o.naive_alert),
    ]
    met = True
    for (label, value, goal), naive in zip(targets, naive_rates, strict=True):
        ok_ = value >= goal
        met &= ok_
        print(
            f"  {'PASS' if ok_ else 'FAIL'}  {label:46} {100 * value:6.2f}%  [{100 * naive:6.2f}%]"
        )
    false_rate = rate(noise_only, alerted)
    naive_false = rate(noise_only, lambda o: o.naive_alert)
    ok_ = false_rate <= 0.002
    met &= ok_
    errors_ok = rate([o for o in noise_only if o.group == "error"], lambda o: o.kind == "error")
    met &= errors_ok == 1.0
    print(
        f"  {'PASS' if ok_ else 'FAIL'}  {'noise-only steps alerted <= 0.2%':46} "
        f"{100 * false_rate:6.2f}%  [{100 * naive_false:6.2f}%]"
    )
    print(
        f"  {'PASS' if errors_ok == 1.0 else 'FAIL'}  {'transient 5xx/timeouts are errors':46} "
        f"{100 * errors_ok:6.2f}%"
    )
    return met


def _report_misses(outcomes: list[Outcome]) -> None:
    """Every step that went wrong, one line each."""
    print("\nMISSES AND FALSE ALERTS")
    for o in outcomes:
        wrong = (
            (o.group in ("edit", "mixed") and not alerted(o))
            or (o.group == "removal" and (o.kind != "removed" or o.got_removal != o.removal))
            or (o.group == "restore" and o.kind != "restored")
            or (o.group in ("noise", "error", "removed") and alerted(o))
            or (o.group == "error" and o.kind != "error")
        )
        if wrong:
            print(
                f"  {o.page:36} {o.group:8} {o.name:28} -> {o.kind} {o.got_removal or ''}"
                f"  {o.summary}"
            )


def by_key(o: Outcome) -> str:
    return "still removed (same notice)" if o.name.startswith("still removed") else o.name


def choose(pages: list[Path], count: int) -> list[Path]:
    """``count`` pages spread evenly over the sorted corpus (so every source is represented)."""
    if count >= len(pages):
        return pages
    step = len(pages) / count
    return [pages[int(i * step)] for i in range(count)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--pages", type=int, default=0, help="a spread subset of N pages")
    parser.add_argument("--quick", action="store_true", help="same as --pages 12")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--verbose", action="store_true", help="list every miss and false alert")
    parser.add_argument(
        "--only", action="append", default=[], metavar="NAME", help="pages whose name contains NAME"
    )
    parser.add_argument("--trace", action="store_true", help="print every step of every page")
    args = parser.parse_args(argv)
    pages = sorted(args.corpus.glob("*.html.gz"))
    if args.only:
        pages = [p for p in pages if any(name in p.name for name in args.only)]
    if not pages:
        print(f"no pages in {args.corpus}", file=sys.stderr)
        return 2
    count = 12 if args.quick else args.pages or len(pages)
    chosen = choose(pages, count)
    started = time.monotonic()
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory() as tmp:
        # Not multiprocessing.Pool: its workers are daemonic and may not start readers.
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(
            args.workers, mp_context=context, initializer=_init_worker, initargs=(tmp,)
        ) as pool:
            for result in as_completed([pool.submit(run_page, page) for page in chosen]):
                outcomes += result.result()
                print(".", end="", file=sys.stderr, flush=True)
    print(f" {time.monotonic() - started:.0f} s", file=sys.stderr)
    if args.trace:
        for o in outcomes:
            kind = f"{o.kind} {o.got_removal or ''}"
            print(f"{o.page:36} {o.group:8} {o.name:28} -> {kind}  {o.summary}")
    met = report(outcomes, args.verbose)
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
