"""The glance: is this the page's HTML of last time, but for what changes on every load?
(pure: no I/O)

Most checks fetch a page nobody touched. Its HTML differs from last time's only where
the server stamps every response: a render comment, a script's nonce, a clock or a view
counter on a line of its own. The glance hashes the HTML as it stands, minus exactly
those, without parsing it. The same hash as last time means every tag, attribute and
line of text is as it was, so every reading of the page is too; any other difference,
however small, sends the page on to the quick re-read (``watcher.read.locate``) and, if
need be, to full reading. The glance can cost a few regular-expression passes, never an
edit.

What it leaves out, and why that is safe:
- comments with no markup inside, and the bodies of scripts and style sheets (not
  JSON-LD, which states the headline, byline and date): no reading takes text from them,
  except htmldate's date search when the page's metadata states no date. That search
  reads the whole page as text, so for such a page (``dated_text``) one that holds
  anything date-like (a year 19xx or 20xx, a day, month and two-digit year, 19年) is kept;
- ``nonce`` and ``data-nonce`` attributes: no reading looks at them (the same exception);
- a line of text standing alone between two block tags, where the comparison's ignore
  rules change it: it is hashed as those rules leave it, which is how every comparison
  reads that line (``normalize.compared_line``).
"""

from __future__ import annotations

import hashlib
import html as htmllib
import re
from collections.abc import Iterator, Sequence

from watcher.read.blocks import BLOCK_TAGS
from watcher.read.normalize import compared_line

# Bump when what the glance leaves out changes, so stored digests stop matching.
_FORMAT = "2"

# What no reading takes text from: a comment with no markup inside (up to its first
# "-->"), a script or style element (up to its first end tag) unless it is JSON-LD or
# settings JSON. Found by hand from each "<!--", "<script" or "<style": one regular
# expression with a lazy match to the end tag cost a large page three parses.
_OPENER = re.compile(r"<(?:!--|(script|style)\b)", re.IGNORECASE)
_JSON_TYPE = re.compile(r"application/(?:ld|settings)\+json", re.IGNORECASE)
_END_TAG = {name: re.compile(rf"</{name}\s*>", re.IGNORECASE) for name in ("script", "style")}
# A nonce attribute (``nonce``, ``data-nonce``); it is left out only where it stands inside
# a start tag, after white space.
_NONCE = re.compile(r"nonce\s*=\s*(?:\"[^\"<>]*\"|'[^'<>]*'|[^\s\"'<>]*)")
# What htmldate's date search could read a date from: a year 19xx or 20xx (not inside a
# longer number), a day, month and two-digit year, or 19年. Written to start with a digit,
# so the search skips to the next digit at once: a script without a date is scanned
# whole, six times faster than with the leading look-behind.
_DATELIKE = re.compile(
    r"\d(?:(?<=1)(?<!\d\d)9\d\d|(?<=2)(?<!\d\d)0\d\d|\d?[./-]\d{1,2}[./-]\d\d|\d\s*年)"
)
_START_TAG = re.compile(r"<[a-zA-Z][^<>]*\Z")
_TAG_NAME = re.compile(r"</?([a-zA-Z][a-zA-Z0-9]*)[\s/>]")
# A short run of text with what every built-in ignore rule needs (a digit, "ago", "just
# now", 前 or 刚刚): a clock, a counter, "3 minutes ago". Longer runs are prose, hashed as
# they stand.
_RUN = re.compile(r">(?=[^<]{0,120}?(?:\d|ago|just now|前|刚刚))([^<]{1,120})(?=<)", re.IGNORECASE)
_TAG_START = 500  # how far back a tag's "<" is looked for


def glance(html: str, ignore: Sequence[re.Pattern[str]], salt: str, *, dated_text: bool) -> str:
    """The digest of ``html`` with what changes on every load left out (see the module's
    docstring). ``salt`` says how the watch is read; ``dated_text``, that the page's
    metadata states no date, so its date is searched for in all of it."""
    kept = "".join(_read(html, dated_text))
    kept = "".join(_without_nonces(kept, dated_text))
    if ignore:
        kept = "".join(_pieces(kept, ignore))
    material = "\x1e".join((_FORMAT, salt, "dated text" if dated_text else "", kept))
    return hashlib.sha256(material.encode("utf-8", "surrogatepass")).hexdigest()


def _read(html: str, dated_text: bool) -> Iterator[str]:
    """``html`` in pieces, without the comments, scripts and styles no reading takes
    text from (with ``dated_text``, those holding nothing date-like)."""
    done = 0
    for start, end in _unread(html):
        if dated_text and _DATELIKE.search(html, start, end):
            continue
        yield html[done:start]
        done = end
    yield html[done:]


def _unread(html: str) -> Iterator[tuple[int, int]]:
    """Where each comment with no markup inside, and each script or style element but
    JSON-LD and settings JSON, stands in ``html``."""
    at = 0
    while (m := _OPENER.search(html, at)) is not None:
        start, name = m.start(), m.group(1)
        end = -1
        if name is None:
            close = html.find("-->", m.end())
            if close >= 0 and html.find("<", m.end(), close) < 0:
                end = close + 3
        else:
            opened = html.find(">", m.end())
            if opened >= 0 and not _JSON_TYPE.search(html, m.end(), opened):
                closed = _END_TAG[name.lower()].search(html, opened + 1)
                end = closed.end() if closed is not None else -1
        if end < 0:
            at = start + 1
            continue
        yield start, end
        at = end


def _without_nonces(text: str, dated_text: bool) -> Iterator[str]:
    done = 0
    for m in _NONCE.finditer(text):
        if dated_text and _DATELIKE.search(m.group(0)):
            continue
        start = m.start() - 5 if text.endswith("data-", 0, m.start()) else m.start()
        if start == 0 or not text[start - 1].isspace():
            continue
        opened = text.rfind("<", 0, start)
        if opened < 0 or _START_TAG.match(text, opened, start) is None:
            continue
        yield text[done : start - 1]
        done = m.end()
    yield text[done:]


def _pieces(text: str, ignore: Sequence[re.Pattern[str]]) -> Iterator[str]:
    """``text`` in pieces, each short line alone between two block tags as compared."""
    done = 0
    for m in _RUN.finditer(text):
        start, end = m.span(1)
        opened = text.rfind("<", max(0, start - _TAG_START), start)
        if opened < 0 or not (_is_block_tag(text, opened) and _is_block_tag(text, end)):
            continue
        yield text[done:start]
        yield _as_compared(m.group(1), ignore)
        done = end
    yield text[done:]


def _is_block_tag(text: str, at: int) -> bool:
    m = _TAG_NAME.match(text, at)
    return m is not None and m.group(1).lower() in BLOCK_TAGS


def _as_compared(text: str, ignore: Sequence[re.Pattern[str]]) -> str:
    """The line as the comparison reads it: entities decoded, normalised, ignore rules
    applied. A control character marks it, so no line of the page can hash the same."""
    return "\x1d" + compared_line(htmllib.unescape(text), ignore) + "\x1d"
