"""Re-read the article where it was found last time (pure: no I/O).

Nearly every check fetches a page whose article did not change while its furniture did
(ads, clocks, counters, nonces). Full extraction of such a page costs tens of parses;
this reads only the block that held the article last time, together with its siblings
(so a paragraph added next to the article's text is seen), plus every place a headline,
byline or date is stated, and hashes what it read. The same hash as last time means the
article reads as it did; any difference, or a block that cannot be found, sends the
check through full extraction. So the shortcut can cost a little CPU, never an edit.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import lxml.html
from lxml import etree

from watcher.read.extract import (
    Article,
    elements_named,
    iter_visible_blocks,
    published_date,
    visible_blocks,
    visible_paragraphs,
)
from watcher.read.normalize import compact_text, line_dropper, normalize_article, normalize_text
from watcher.read.parts import (
    DATE_KEYS,
    HEAD_LINES,
    article_element,
    head_indexes,
    headline_element,
    stated_parts,
)

# Bump when what the quick read covers changes, so stored digests stop matching.
_FORMAT = "4"
# A text node this long that occurs in the article places the article in the page; shorter
# ones ("Home", "Reuters") occur anywhere and only count when they are a whole paragraph.
_MIN_PLACING_CHARS = 12
_DIGIT = re.compile(r"\d")


@dataclass(frozen=True, slots=True)
class Locator:
    """Where the article's block is, and what reading it gave last time."""

    anchor: str  # id of the nearest ancestor with a stable id; "" for the document root
    # below it, one step per level: (tag, class, position among same-tag siblings counted
    # from the first, the same counted from the last)
    steps: tuple[tuple[str, str, int, int], ...]
    digest: str  # of what was read, with the watch's ignore rules applied
    verbatim: str = ""  # of the same, before the ignore rules: when it matches, so does that
    glance: str = ""  # of the whole HTML, before any parse (watcher.read.glance); "" for none
    searched: bool = False  # the metadata states no date: the glance keeps what is date-like
    misses: int = 0  # glances in a row that differed while the block read the same

    def dumps(self) -> str:
        return json.dumps(
            {
                "anchor": self.anchor,
                "steps": self.steps,
                "digest": self.digest,
                "verbatim": self.verbatim,
                "glance": self.glance,
                "searched": self.searched,
                "misses": self.misses,
            }
        )

    @classmethod
    def loads(cls, text: str | None) -> Locator | None:
        """The stored locator, or None for nothing or anything unreadable."""
        if not text:
            return None
        try:
            data = json.loads(text)
            steps = tuple(
                (str(tag), str(cls_), int(first), int(last))
                for tag, cls_, first, last in data["steps"]
            )
            return cls(
                str(data["anchor"]),
                steps,
                str(data["digest"]),
                str(data.get("verbatim", "")),
                str(data.get("glance", "")),
                data.get("searched") is True,
                int(data.get("misses", 0)),
            )
        except (ValueError, TypeError, KeyError):
            return None


def find_locator(
    root: lxml.html.HtmlElement,
    article: Article,
    ignore: Sequence[re.Pattern[str]],
    salt: str,
    url: str | None = None,
) -> Locator | None:
    """Where ``article`` stands in ``root`` (prepared as for extraction), and its digest.

    The block is the lowest element holding all the article's text. When no element
    short of the page's body holds it (the article is the whole body, or its text is
    split into fragments too short to place), the block is the body: every line a
    reader sees is then read, through the same rules. None only for a page without a
    body.
    """
    region = _region(root, article)
    box = region.getparent() if region is not None else None
    if box is None or box.tag in ("html", "body"):
        box = root.find("body")
    if box is None:
        return None
    anchor, steps = _path(root, box)
    reading = _Reading(box, _statements(root, ignore, url), salt)
    return Locator(anchor, steps, reading.digest(ignore), reading.verbatim())


def reads_the_same(
    root: lxml.html.HtmlElement,
    locator: Locator,
    ignore: Sequence[re.Pattern[str]],
    salt: str,
    url: str | None = None,
) -> bool:
    """True when the block ``locator`` points at, and every statement of headline, byline
    and date, read in ``root`` exactly as they did when ``locator`` was made.

    The block is looked for by its position counted from the first sibling, from the
    last, and by class: a banner inserted above it or a box appended below it moves one
    count but not the other. Whichever is found must read exactly as the block did.
    """
    boxes = _resolve(root, locator)
    if not boxes:
        return False
    statements = _statements(root, ignore, url)  # before any block's scripts are stripped
    readings = [_Reading(box, statements, salt) for box in boxes]
    # Reading lines and applying the ignore rules is most of the cost; a block whose
    # whole text is as it was reads as it did, so try that first.
    if locator.verbatim and any(r.verbatim() == locator.verbatim for r in readings):
        return True
    return any(r.digest(ignore) == locator.digest for r in readings)


# -- placing the article -------------------------------------------------------------------

_SKIP = frozenset({"script", "style", "noscript", "template", "head", "title"})


def _text_nodes(root: lxml.html.HtmlElement) -> Iterable[tuple[str, lxml.html.HtmlElement]]:
    """(compact text, element it renders in) for every text node of the body."""
    body = root.find("body")
    for el in (body if body is not None else root).iter():
        if not isinstance(el.tag, str):
            continue
        if el.tag not in _SKIP and el.text and not el.text.isspace():
            yield _compact(el.text), el
        parent = el.getparent()
        if el.tail and not el.tail.isspace() and parent is not None and parent.tag not in _SKIP:
            yield _compact(el.tail), parent


def _lines_to_headlines(
    root: lxml.html.HtmlElement,
    headings: list[lxml.html.HtmlElement],
    ignore: Sequence[re.Pattern[str]],
) -> list[tuple[str, lxml.html.HtmlElement]]:
    """The page's visible lines up to the last headline's neighbourhood: the walk stops
    there, so a quick re-read does not read the whole page to cover it.

    A line the comparison drops whole (a view counter, "3 minutes ago") takes no place:
    a counter that appears under the headline does not push a dateline out of reach.
    """
    body = root.find("body")
    walk = iter_visible_blocks(body if body is not None else root)
    if not headings:
        return []
    last = headings[-1]
    dropped = line_dropper(ignore)
    lines: list[tuple[str, lxml.html.HtmlElement]] = []
    after = -1  # lines read since the last headline's own lines
    for line in walk:
        if dropped(line[0]):
            continue
        lines.append(line)
        owner = line[1]
        if owner is last or any(a is last for a in owner.iterancestors()):
            after = 0
        elif after >= 0:
            after += 1
            if after > HEAD_LINES:
                break
    return lines


def _region(root: lxml.html.HtmlElement, article: Article) -> lxml.html.HtmlElement | None:
    """The lowest element holding every text node that places the article's paragraphs."""
    paragraphs = [c for p in article.paragraphs if (c := _compact(p))]
    if not paragraphs:
        return None
    whole = set(paragraphs)
    joined = "\n".join(paragraphs)
    placed: list[tuple[str, lxml.html.HtmlElement]] = [
        (text, el)
        for text, el in _text_nodes(root)
        if text in whole or (len(text) >= _MIN_PLACING_CHARS and text in joined)
    ]
    if not all(any(text in p for text, _ in placed) for p in paragraphs):
        return None  # some paragraph is nowhere in the page's text: no safe shortcut
    common: list[lxml.html.HtmlElement] | None = None
    for _, el in placed:
        chain = [el, *el.iterancestors()]
        if common is None:
            common = chain
        else:
            members = set(chain)
            common = [a for a in common if a in members]
    return common[0] if common else None


def _path(
    root: lxml.html.HtmlElement, box: lxml.html.HtmlElement
) -> tuple[str, tuple[tuple[str, str, int, int], ...]]:
    """The nearest ancestor-or-self with a stable, unique id, and the steps down from it.

    Ids with digits are often generated per load; positions from the document root shift
    when a banner is inserted above the article, so an id anchors the path where it can.
    """
    steps: list[tuple[str, str, int, int]] = []
    el: lxml.html.HtmlElement | None = box
    while el is not None and el is not root:
        ident = el.get("id") or ""
        if ident and not _DIGIT.search(ident) and len(_by_id(root, ident)) == 1:
            return ident, tuple(reversed(steps))
        parent = el.getparent()
        if parent is None:
            break
        same = [c for c in parent if c.tag == el.tag]
        index = same.index(el)
        steps.append((str(el.tag), el.get("class") or "", index, len(same) - 1 - index))
        el = parent
    return "", tuple(reversed(steps))


def _resolve(root: lxml.html.HtmlElement, locator: Locator) -> list[lxml.html.HtmlElement]:
    """The candidate blocks: followed by position from the first, from the last, by class."""
    start: lxml.html.HtmlElement = root
    if locator.anchor:
        found = _by_id(root, locator.anchor)
        if len(found) != 1:
            return []
        start = found[0]
    boxes: list[lxml.html.HtmlElement] = []
    for way in ("first", "last", "class"):
        el: lxml.html.HtmlElement | None = start
        for tag, classes, first, last in locator.steps:
            el = _step(el, tag, classes, first, last, way) if el is not None else None
        if el is not None and all(el is not box for box in boxes):
            boxes.append(el)
    return boxes


def _step(
    el: lxml.html.HtmlElement, tag: str, classes: str, first: int, last: int, way: str
) -> lxml.html.HtmlElement | None:
    same = [c for c in el if c.tag == tag]
    if way == "class":
        same = [c for c in same if (c.get("class") or "") == classes]
        return same[0] if len(same) == 1 else None
    index = first if way == "first" else len(same) - 1 - last
    return same[index] if 0 <= index < len(same) else None


_BY_ID = etree.XPath("//*[@id=$ident]")


def _by_id(root: lxml.html.HtmlElement, ident: str) -> list[lxml.html.HtmlElement]:
    found = _BY_ID(root, ident=ident)
    return found if isinstance(found, list) else []


# -- what the quick read covers --------------------------------------------------------------

_TITLE_KEYS = frozenset({"og:title", "twitter:title", "title", "headline"})
_AUTHOR_KEYS = frozenset({"author", "article:author", "byl", "dc.creator", "parsely-author"})
_META = etree.XPath("//meta[@content][@property or @name or @itemprop]")
_STATEMENTS = etree.XPath(
    "//title | //h1 | //author | //script[@type='application/ld+json']"
    " | //*[@rel='author' or @rel='me' or contains(@itemprop, 'author')]"
    " | //*[contains(@data-component, 'Byline') or contains(@data-testid, 'Author')]"
)
# Class and id words the extractor takes a byline from (trafilatura's author XPaths).
_AUTHORISH = re.compile(
    r"author|byline|\bbyl\b|\bbbl\b|username|screenname|writer|journalist|zuozhe|bianji"
    r"|xiaobian|channel-name|submitted-by|posted-by",
    re.IGNORECASE,
)
# An element classed "author" holding more than this is a layout block (a body classed
# "single-author"), not where a byline is stated.
_MAX_STATEMENT_CHARS = 2000


def _statements(
    root: lxml.html.HtmlElement, ignore: Sequence[re.Pattern[str]], url: str | None
) -> str:
    """Everywhere the headline, byline or date may be read from, anywhere on the page: the
    metadata, the date full reading gives the article (wherever on the page it found
    it), and the lines a reader sees with each headline (``parts.head_indexes``)."""
    found = [f"published={published_date(root, url)}", *stated_parts(root)]
    headings = _headings(root)
    lines = _lines_to_headlines(root, headings, ignore)
    near = [lines[i][0] for h1 in headings for i in head_indexes(lines, h1)]
    # the article element around a headline: its captions and notes are compared too
    boxes = {id(box): box for h1 in headings if (box := article_element(h1)) is not None}
    near += [text for box in boxes.values() for text, _ in visible_blocks(box)]
    found += normalize_article(Article("", "", "", tuple(near)), ignore).article.paragraphs
    for el in _META(root):
        key = (el.get("property") or el.get("name") or el.get("itemprop") or "").lower()
        if key in _TITLE_KEYS or key in _AUTHOR_KEYS or key in DATE_KEYS:
            found.append(f"{key}={el.get('content')}")
    elements = [*_STATEMENTS(root), *elements_named(root, _AUTHORISH)]
    found += [text for el in elements if len(text := el.text_content()) <= _MAX_STATEMENT_CHARS]
    return "\x1f".join(normalize_text(text) for text in found)


def _headings(root: lxml.html.HtmlElement) -> list[lxml.html.HtmlElement]:
    """Every ``<h1>``, and the ``<h2>`` the page's title names when a template puts its
    headline there (``parts.headline_element``), in document order."""
    titles = root.xpath("//title | //meta[@property='og:title']")
    title = " ".join(t.get("content") or t.text_content() for t in titles)
    headline = headline_element(root, title)
    return [el for el in root.iter("h1", "h2") if el.tag == "h1" or el is headline]


class _Reading:
    """What the quick read covers: the page's statements of headline, byline and date,
    and the block's text, hashed two ways.

    ``verbatim`` hashes all the block's text as it stands (scripts and styles aside),
    which is cheap; ``digest`` hashes its visible lines after the watch's ignore rules,
    which is what has to match when a counter or "3 minutes ago" sits inside the block.
    """

    def __init__(self, box: lxml.html.HtmlElement, statements: str, salt: str):
        self.box = box
        self.statements = statements
        self.salt = salt

    def verbatim(self) -> str:
        box = self.box
        # visible_paragraphs skips these too, so the other digest is the same either way
        etree.strip_elements(box, *_NOT_TEXT, with_tail=False)
        # white space collapsed only: any other difference just means the slower read
        return self._hash("verbatim", " ".join(" ".join(box.itertext()).split()))

    def digest(self, ignore: Sequence[re.Pattern[str]]) -> str:
        block = Article("", "", "", tuple(visible_paragraphs(self.box)))
        lines = normalize_article(block, ignore).article.paragraphs
        return self._hash("lines", "\x1f".join(lines))

    def _hash(self, kind: str, text: str) -> str:
        material = "\x1e".join((_FORMAT, kind, self.salt, text, self.statements))
        return hashlib.sha256(material.encode("utf-8", "surrogatepass")).hexdigest()


_NOT_TEXT = ("script", "style", "noscript", "template")
_MARKS = re.compile(r"^\s*[-*•]\s+|\|")


def _compact(text: str) -> str:
    """Text without white space or the extractor's list and table marks."""
    return compact_text(_MARKS.sub("", text))
