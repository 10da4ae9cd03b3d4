"""The parts of an article besides its body, read as shown and as stated (pure: no I/O).

What the reader sees is the article: the byline and dateline shown under the headline, the
captions in the article block and the lines the extractor leaves out of it ("More
information:", an editor's note, a correction) are compared like the body. What the
metadata states (``<meta>``, JSON-LD) is read on its own, so a change in either is seen:
the two can disagree, and a backdated dateline or a swapped byline that leaves the
metadata alone is exactly the quiet edit watcher exists to catch. Never decides anything:
it reads lines and labels them by where they stand and what shape they have.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

import lxml.html
from lxml import etree

from watcher.read.blocks import BLOCK_TAGS
from watcher.read.volatile import RELATIVE_TIME

# A headline's neighbourhood: the lines after it up to the article's first paragraph (a
# byline, a dateline, a standfirst, a lead picture's caption), at most this many.
HEAD_LINES = 20
# Lines before the headline read with it when they stand in the headline's own box
# (a dateline or a kicker above it).
_LINES_ABOVE = 3
# A byline or dateline is a short line; a longer one is prose. A credit is shorter still
# ("By signing up, you agree to our terms…" starts like one).
_MAX_LINE_CHARS = 200
_MAX_CREDIT_CHARS = 100
_MAX_DATELINE_CHARS = 100
# Share of the article's text the article block holds (the rest: stray matches elsewhere).
_BLOCK_SHARE = 0.9
# ... or, when only the whole page holds that much, the share the element the page marks
# as the article must hold.
_MARKED_SHARE = 0.5
# A line this long (without spaces) is prose: the headline's neighbourhood ends there.
_PROSE_CHARS = 150
# A line of the body this long is its text, not a short line the body shares with the page.
_MIN_BODY_CHARS = 40
# A text node this long that occurs in the article places it; shorter ones only when whole.
_MIN_PLACING_CHARS = 12

# Words that introduce a credit at the start of a line, in the languages our users read:
# the writer's, and (as 编辑 and 责任编辑 do in Chinese) the editor's.
_AUTHOR_WORDS = (
    r"by|written by|reporting by|words by|von|par|por|di|da|de|av|af|door|przez|oleh"
    r"|kirjoittanut|autor|autora|autorin|autores|autoras|autorzy|author|authors|auteure?s?"
    r"|autore|autrice|autori|författare|forfatter|tekijä|yazar|penulis|szerző|tác giả"
    r"|συντάκτης|авторы?|текст|автор|بقلم|كتب|نویسنده|מאת|लेखक"
)
_EDITOR_WORDS = (
    r"edited by|editor|editors|editing|edition|édition|rédaction|redaktion|redakteur(?:in)?"
    r"|redacción|redação|edición|edição|redazione|a cura di|propos recueillis par"
    r"|редактор|редакция"
)
_CREDIT_START = re.compile(
    rf"^(?:{_AUTHOR_WORDS}|{_EDITOR_WORDS})\b[\s:：]"
    r"|^(?:文|图|撰文|撰稿|供稿|作者|记者|编辑|责编|责任编辑|来源|本报记者|通讯员|编者)\s*[:：/／|]?"
    r"|^\(?(?:作者|记者|编辑|责任编辑|责编|来源|通讯员)\s*[:：]",
    re.IGNORECASE,
)
# A line that is only the word introducing a credit: the name stands on the next line.
_CREDIT_ONLY = re.compile(
    rf"^(?:{_AUTHOR_WORDS}|{_EDITOR_WORDS}"
    r"|文|作者|记者|编辑|责任编辑|来源)\s*[:：/／]?$",
    re.IGNORECASE,
)
# A credit anywhere in a short line: "2019-11-19 10:23 来源：新华网 作者：张三", "… 기자"
_CREDIT_LABEL = re.compile(r"(?:作者|记者|编辑|责任编辑|责编|来源|出处|通讯员)\s*[:：]|기자\b")
# Class, id, itemprop and rel words of an element that states a credit.
_AUTHORISH = re.compile(
    r"author|byline|\bbyl\b|writer|journalist|reporter|contributor|creator|zuozhe|bianji"
    r"|laiyuan",
    re.IGNORECASE,
)
# A picture's caption is a few sentences at most; a longer text beside a picture is prose.
_MAX_PICTURE_LINE = 600
# A picture's box holds the picture, its caption, perhaps a credit and a button.
_PICTURE_BOX_CHILDREN = 4
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_CAPTIONISH = re.compile(
    r"caption|legend|bildunterschrift|pic-?(?:txt|text|info|desc)|img-?(?:txt|text|desc)"
    r"|photo-?(?:txt|text|desc)|figure-?text|image-?text|tuzhu|picintro",
    re.IGNORECASE,
)
# Elements whose lines are the page's furniture even inside the article block.
_FURNITURE = frozenset({"nav", "aside", "footer", "form"})
# ... and those that hold a few words of a line: a link, a form's label or button.
_INLINE_FURNITURE = frozenset({"a", "button", "select", "label"})
_FURNITUREISH = re.compile(
    r"share|social|related|recommend|newsletter|subscribe|comment|promo|advert|sponsor"
    r"|breadcrumb|\btags?\b|keyword",
    re.IGNORECASE,
)
# Dates and times written out: day, month and year in any order and script, clock times.
# A month name, in any alphabet ("Nov.", "novembre", "ноября", "فيفري", "Νοεμβρίου").
_MONTH = r"[^\W\d_]{3,}\.?"
_DATE = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?"
    r"|\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?"
    r"|\d{1,2}\s*[-/.]\s*\d{1,2}\s*[-/.]\s*\d{2,4}"
    r"|\d{4}\s*년\s*\d{1,2}\s*월\s*\d{1,2}\s*일"
    r"|\d{1,2}\s*月\s*\d{1,2}\s*日"
    rf"|\d{{1,2}}\.?\s+(?:de\s+)?{_MONTH},?\s+(?:de\s+)?\d{{4}}"
    rf"|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"
    r"|\d{1,2}\s*[:：时]\s*\d{2}(?:\s*[:：分]\s*\d{2})?\s*(?:[AaPp]\.?\s?[Mm]\.?)?(?:\s*[A-Z]{2,5}\b)?"
)
# Relative times and the words around them: volatile, as the built-in ignore rules say.
_RELATIVE = re.compile(
    r"(?:(?:last\s+)?(?:updated|posted|published|edited)\s*:?\s*)?(?:about\s+)?"
    r"(?:\d{1,3}|an?|one)\s*(?:seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?|months?)"
    r"\s+ago(?![^\W\d_])"  # "ago28 minutes ago": two of them run together
    r"|\bjust now\b|\bmoments? ago\b"
    r"|(?:(?:更新|发布|编辑)(?:于|时间)?\s*[:：]?\s*)?(?:刚刚|\d{1,3}\s*(?:秒|分钟|小时|天)前)"
    rf"|{RELATIVE_TIME}",
    re.IGNORECASE,
)
_SEPARATORS = " \t|·•,;:：-–—/／()（）[]【】"

# Metadata: where a page states its byline, publication time and headline for machines.
_AUTHOR_KEYS = frozenset(
    {"author", "article:author", "byl", "dc.creator", "parsely-author", "sailthru.author"}
)
# Where pages state their publication date for machines, most trusted first.
DATE_KEYS = (
    "article:published_time",
    "datepublished",
    "og:published_time",
    "published_time",
    "pubdate",
    "publishdate",
    "publish-date",
    "publication_date",
    "dc.date.issued",
    "dcterms.issued",
    "sailthru.date",
    "parsely-pub-date",
)
_PUBLISHED_KEYS = frozenset(DATE_KEYS)
_HEADLINE_KEYS = frozenset({"og:title", "twitter:title", "headline"})
_META = etree.XPath(
    "//meta[@content][@property or @name or @itemprop]"
    " | //time[@datetime][@itemprop='datePublished' or @pubdate]"
)
_JSON_LD = etree.XPath("//script[@type='application/ld+json']")


@dataclass(frozen=True, slots=True)
class Parts:
    """An article's parts besides the extracted headline and body, each a tuple of lines."""

    headlines: tuple[str, ...] = ()  # the headline as shown: the heading a reader takes for it
    bylines: tuple[str, ...] = ()  # credits as shown near the headline or in the block
    datelines: tuple[str, ...] = ()  # dates and times as shown near the headline
    captions: tuple[str, ...] = ()  # picture captions in the article block
    notes: tuple[str, ...] = ()  # other lines of the block the extractor left out
    stated: tuple[str, ...] = ()  # "author: …", "published: …", "headline: …" from metadata


def read_parts(
    root: lxml.html.HtmlElement,
    lines: Sequence[tuple[str, lxml.html.HtmlElement]],
    title: str,
    paragraphs: Sequence[str],
) -> Parts:
    """The parts of the article whose ``title`` and body ``paragraphs`` were extracted from
    ``root``; ``lines`` are the page's visible lines (``extract.visible_blocks``)."""
    body = [c for p in paragraphs if (c := _compact(p))]
    placing = (set(body), "\n".join(body))
    heading = headline_element(root, title)
    block = _with_headline(_article_block(lines, *placing, heading), heading)
    head = _head(lines, heading, block, placing)
    prose = _prose_boxes(lines, placing)
    bylines: list[str] = []
    datelines: list[str] = []
    captions: list[str] = []
    notes: list[str] = []
    credit_at = last_date = -2  # the indexes of the last credit label and dateline read
    for i, text, relative, owner, scope in _part_lines(lines, block, head, heading, title, placing):
        if _is_caption(owner, scope):
            captions.append(text)
            continue
        if _CREDIT_ONLY.match(text):
            credit_at = i
            continue
        kind = _label(text, owner, scope, near_headline=i in head)
        if kind == "byline" and _is_form(owner, scope) and not _named(owner, scope, _AUTHORISH):
            kind = "note"  # a sign-up form's "By signing up, you agree…" is no credit
        if kind == "byline" and _is_teaser(text, owner):
            kind = "note"  # a story's headline linked from a box of the author's stories
        if kind == "byline" or (credit_at == i - 1 and len(text) <= _MAX_CREDIT_CHARS):
            credit, dates = _split_dates(text)
            if credit:
                bylines.append(credit)
            if dates:
                _add_date(datelines, dates, joined_on=last_date == i - 1 and _is_time_only(dates))
                last_date = i
        elif kind == "dateline":
            # read without its relative time ("Nov 19, 2019 / 12:21 AM / Updated 14
            # hours ago"): the date it states beside one is the article's
            if relative:
                text = text.strip(_SEPARATORS).strip()
            _add_date(datelines, text, joined_on=last_date == i - 1 and _is_time_only(text))
            last_date = i
        elif relative:
            continue  # a note that showed a relative time: volatile, whole
        elif not _is_furniture(text, owner, scope, prose) and (
            scope is not None or not _mostly_links(owner)
        ):
            notes.append(text)  # near the headline, a line of links is a sidebar's
    return Parts(
        headlines=_shown_headline(lines, heading),
        bylines=tuple(bylines),
        datelines=tuple(datelines),
        captions=tuple(captions),
        notes=tuple(notes),
        stated=stated_parts(root),
    )


def _head(
    lines: Sequence[tuple[str, lxml.html.HtmlElement]],
    heading: lxml.html.HtmlElement | None,
    block: lxml.html.HtmlElement | None,
    placing: tuple[set[str], str],
) -> set[int]:
    """The indexes of the lines read with the headline (``head_indexes``)."""
    passed_body: list[bool] = []

    def ends_head(i: int) -> bool:
        """A line of prose (not a picture's caption, however long), or the first line
        outside the article block once two lines of the body went by: the neighbourhood
        never runs on into a sidebar or a footer."""
        text, owner = lines[i]
        if _is_prose(text) and not _is_caption(owner, None) and not _mostly_links(owner):
            # a lead picture's long caption is no prose, nor is a sidebar's list of
            # teasers beside the headline ("Most read: 1 … 2 …"): the head goes on; so
            # does a standfirst in the headline's own box that the body does not hold:
            # the byline and dateline under it are still the headline's
            return not (_beside(owner, heading) and not _placed(text, *placing))
        if len(passed_body) >= 2 and block is not None and not _within(owner, block):
            return True
        if len(_compact(text)) >= _MIN_BODY_CHARS and _placed(text, *placing):
            passed_body.append(True)
        return False

    return set(head_indexes(lines, heading, stop=ends_head))


def _beside(owner: lxml.html.HtmlElement, heading: lxml.html.HtmlElement | None) -> bool:
    """Whether ``owner`` stands in the headline's own box (its parent element)."""
    box = heading.getparent() if heading is not None else None
    return box is not None and box.tag not in ("body", "html") and _within(owner, box)


def _part_lines(
    lines: Sequence[tuple[str, lxml.html.HtmlElement]],
    block: lxml.html.HtmlElement | None,
    head: set[int],
    heading: lxml.html.HtmlElement | None,
    title: str,
    placing: tuple[set[str], str],
) -> Iterator[tuple[int, str, bool, lxml.html.HtmlElement, lxml.html.HtmlElement | None]]:
    """The lines that may be a part: in the article block or read with the headline, and
    neither the headline nor the body's own. Each with its index, its text without any
    relative time, whether it had one, the element it renders in, and the block it is
    in (None near the headline, outside the block)."""
    title_compact = _compact(title)
    for i, (shown, owner) in enumerate(lines):
        in_block = block is not None and _within(owner, block)
        if not (in_block or i in head):
            continue
        # a relative time ("3 minutes ago") or a live clock's reading is volatile: the
        # line is read without it, and a line that was only that is no line at all
        text = " ".join(_RELATIVE.sub(" ", shown).split())
        if not text or _DATE_LABEL.fullmatch(text.strip(_SEPARATORS)):
            continue  # nothing left, or only the label of a date ("Updated", "Dodano:")
        if heading is not None and _within(owner, heading):
            continue
        if _compact(text) == title_compact:
            continue
        if _placed(text, *placing) and not (i in head and _is_credit(text, owner)):
            # the body's own line; a credit near the headline stays a credit when the
            # extractor takes it into the body on some loads and not on others
            continue
        relative = text != " ".join(shown.split())
        yield i, text, relative, owner, block if in_block else None


def _shown_headline(
    lines: Sequence[tuple[str, lxml.html.HtmlElement]], heading: lxml.html.HtmlElement | None
) -> tuple[str, ...]:
    """The headline as a reader sees it: the visible text of the heading taken for it
    (ruby readings and hidden parts left out, as everywhere). The metadata and the
    document's title may still state the old one when only the heading is rewritten."""
    if heading is None:
        return ()
    text = " ".join(shown for shown, owner in lines if _within(owner, heading))
    text = " ".join(_RELATIVE.sub(" ", text).split())
    if not text:
        return ()
    readings = _with_readings(heading)
    return (text, readings) if readings else (text,)


def _with_readings(heading: lxml.html.HtmlElement) -> str:
    """The heading with its ruby readings in brackets after the words they annotate
    ("禁止(きんし)"), when it has any: a reader sees them above the words, and the plain
    headline leaves them out so that no word is split by them."""
    if next(heading.iter("rt"), None) is None:
        return ""
    pieces: list[str] = []
    walker = etree.iterwalk(heading, events=("start", "end", "comment", "pi"))
    for event, el in walker:
        if event in ("comment", "pi"):
            pieces.append(el.tail or "")
        elif event == "start":
            if el.tag == "rt":
                pieces.append(f"({_compact(el.text_content())})")
                walker.skip_subtree()
            elif el.tag in ("rp", "script", "style"):
                walker.skip_subtree()
            else:
                pieces.append(el.text or "")
        elif el is not heading:
            pieces.append(el.tail or "")
    return " ".join("".join(pieces).split())


def article_element(heading: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
    """The element the page marks as the article around ``heading`` (``<article>``,
    ``role="article"``, an Article itemtype), if any."""
    for el in heading.iterancestors():
        if el.tag in ("body", "html"):
            return None
        if el.tag == "article" or "article" in f"{el.get('role')} {el.get('itemtype')}".lower():
            return el
    return None


def _is_time_only(text: str) -> bool:
    """A time of day with no date ("5:53 PM"): the rest of the dateline above it."""
    return bool(_TIME.search(text)) and not _DIGIT.search(_TIME.sub("", text))


_TIME = re.compile(r"\d{1,2}\s*[:：时h]\s*\d{2}(?:\s*[:：分]\s*\d{2})?")
_DIGIT = re.compile(r"\d")


def _add_date(datelines: list[str], text: str, *, joined_on: bool) -> None:
    """Add a dateline, or continue the last one when it stood on the line before: one
    dateline the markup splits ("Nov. 19, 2019" / "5:53 PM") is read as one, so its time
    is not taken for a clock on a line of its own."""
    if joined_on and datelines:
        datelines[-1] = f"{datelines[-1]} {text}"
    else:
        datelines.append(text)


def headline_element(root: lxml.html.HtmlElement, title: str) -> lxml.html.HtmlElement | None:
    """The heading a reader takes for the headline: of the ``<h1>`` and ``<h2>`` that read
    as ``title`` (as part of it, or much like it), the longest, else the first visible
    ``<h1>``. Among those about as long as the longest, an ``<h1>`` before an ``<h2>``,
    then the first.

    The longest, because a site's name often stands in an ``<h1>`` (its logo) and in the
    page's title too; some templates put the story's headline in an ``<h2>``, and many
    repeat it in an ``<h2>`` teaser. Much like it, because a heading rewritten while the
    title still states the old headline is the same heading: the headline, bylines and
    datelines are read from it all the same.
    """
    wanted = _compact(title)
    first = None
    found: list[tuple[lxml.html.HtmlElement, int]] = []
    for el in root.iter("h1", "h2"):
        text = _compact(el.text_content())
        if not text:
            continue
        if el.tag == "h1" and first is None:
            first = el
        if wanted and (
            text == wanted
            or (len(text) >= 4 and (text in wanted or wanted in text))
            or _likeness(text, wanted) > _ALIKE
        ):
            found.append((el, len(text)))
    if not found:
        return first
    longest = max(size for _, size in found)
    near = [el for el, size in found if size >= _ABOUT_AS_LONG * longest]
    return next((el for el in near if el.tag == "h1"), near[0])


# A heading at least this share of the longest one's length is about as long.
_ABOUT_AS_LONG = 0.8
# A heading this much like the title (difflib's ratio) is the headline, rewritten.
_ALIKE = 0.75


def _likeness(text: str, wanted: str) -> float:
    matcher = SequenceMatcher(None, text, wanted, autojunk=False)
    if matcher.real_quick_ratio() <= _ALIKE or matcher.quick_ratio() <= _ALIKE:
        return 0.0
    return matcher.ratio()


def head_indexes(
    lines: Sequence[tuple[str, lxml.html.HtmlElement]],
    heading: lxml.html.HtmlElement | None,
    stop: Callable[[int], bool] | None = None,
) -> list[int]:
    """Indexes of the lines read with the headline: a few above it in its own box, and
    those after it up to the article's first paragraph (``stop(i)``) or ``HEAD_LINES``."""
    if heading is None:
        return []
    inside = set(heading.iter())  # a set, not a walk up from every line of the page
    starts = [i for i, (_, owner) in enumerate(lines) if owner in inside]
    if not starts:
        return []
    found: list[int] = []
    box = heading.getparent()
    if box is not None and box.tag not in ("body", "html"):
        above: list[int] = []
        for i in range(starts[0] - 1, -1, -1):
            if len(above) == _LINES_ABOVE:
                break
            if _within(lines[i][1], box):
                above.append(i)
        found += reversed(above)
    end = min(len(lines), starts[-1] + 1 + HEAD_LINES)
    for i in range(starts[-1] + 1, end):
        if stop is not None and stop(i):
            break
        found.append(i)
    return found


def stated_parts(root: lxml.html.HtmlElement) -> tuple[str, ...]:
    """What the metadata states of byline, publication time and headline, as lines."""
    found: list[str] = []
    for el in _META(root):
        if el.get("itemprop") and not _of_the_article(el):
            continue  # microdata of another item on the page (a teaser's date)
        if el.tag == "time":
            found.append(f"published: {el.get('datetime')}")
            continue
        key = (el.get("property") or el.get("name") or el.get("itemprop") or "").lower()
        value = el.get("content") or ""
        if key in _AUTHOR_KEYS and not value.startswith(("http://", "https://")):
            found.append(f"author: {value}")
        elif key in _PUBLISHED_KEYS:
            found.append(f"published: {value}")
        elif key in _HEADLINE_KEYS:
            found.append(f"headline: {value}")
    for script in _JSON_LD(root):
        try:
            data = json.loads(script.text or "")
        except (ValueError, RecursionError):
            # not valid JSON (a trailing comma, a comment): what it states is still read
            found += [
                f"{_LD_KEYS[m[1]]}: {m[2]}" for m in _LD_STATEMENT.finditer(script.text or "")
            ]
            continue
        found += _from_json_ld(data)
    # every statement, repeated ones too: a date stated by two tags, one of them rewritten,
    # is then one old and one new statement, which the judge tells from a statement added
    lines = (" ".join(line.split()) for line in found)
    return tuple(line for line in lines if not line.endswith(":"))


_LD_KEYS = {"headline": "headline", "datePublished": "published"}
# JSON-LD objects that state the article's own parts, and keys that hold other items.
_LD_ARTICLE = re.compile(r"Article|Posting|Report|WebPage|Graph", re.IGNORECASE)
_LD_OTHER_ITEMS = frozenset(
    {
        "author",
        "publisher",
        "itemListElement",
        "hasPart",
        "isPartOf",
        "relatedLink",
        "significantLink",
        "mentions",
        "about",
        "citation",
        "comment",
        "breadcrumb",
        "video",
        "image",
        "associatedMedia",
    }
)
_LD_STATEMENT = re.compile(r'"(headline|datePublished)"\s*:\s*"((?:[^"\\]|\\.){1,300})"')


def _of_the_article(el: lxml.html.HtmlElement) -> bool:
    """Whether microdata on ``el`` describes the article: the item it belongs to (its
    nearest ``itemscope``) is an Article or a Posting, or it belongs to no item."""
    if el.get("property") or el.get("name"):
        return True
    for item in el.iterancestors():
        if item.get("itemscope") is not None or item.get("itemtype"):
            return bool(_ARTICLE_TYPE.search(item.get("itemtype") or ""))
    return el.getparent() is None or el.getparent().tag == "head"


_ARTICLE_TYPE = re.compile(r"Article|Posting|Report", re.IGNORECASE)


def _from_json_ld(data: object, depth: int = 0) -> Iterable[str]:
    """Author names, ``datePublished`` and ``headline`` of the objects in a JSON-LD block."""
    if depth > 6:
        return
    if isinstance(data, list):
        for item in data:
            yield from _from_json_ld(item, depth + 1)
        return
    if not isinstance(data, dict):
        return
    kind = data.get("@type")
    kinds = " ".join(kind) if isinstance(kind, list) else str(kind or "")
    if kinds and not _LD_ARTICLE.search(kinds):
        return  # a list of other stories, a breadcrumb, a video: not what the article states
    if isinstance(headline := data.get("headline"), str):
        yield f"headline: {headline}"
    if isinstance(published := data.get("datePublished"), str):
        yield f"published: {published}"
    for name in _names(data.get("author"), depth):
        yield f"author: {name}"
    for key, value in data.items():
        if key not in _LD_OTHER_ITEMS and isinstance(value, (dict, list)):
            # the article may stand under @graph, mainEntity or any other key
            yield from _from_json_ld(value, depth + 1)


def _names(author: object, depth: int) -> Iterable[str]:
    if depth > 6:
        return
    if isinstance(author, str):
        yield author
    elif isinstance(author, dict) and isinstance(name := author.get("name"), str):
        yield name
    elif isinstance(author, list):
        for item in author:
            yield from _names(item, depth + 1)


def _label(
    text: str,
    owner: lxml.html.HtmlElement,
    block: lxml.html.HtmlElement | None,
    *,
    near_headline: bool,
) -> str:
    """ "byline", "dateline" or "note": what a short line near the headline shows."""
    if len(text) > _MAX_LINE_CHARS:
        return "note"
    if len(text) <= _MAX_CREDIT_CHARS and (
        _CREDIT_START.search(text) or _CREDIT_LABEL.search(text)
    ):
        return "byline"
    if _named(owner, block, _AUTHORISH):
        return "byline"
    if near_headline and len(text) <= _MAX_DATELINE_CHARS and _DATE.search(text):
        return "dateline"
    return "note"


def _is_credit(text: str, owner: lxml.html.HtmlElement) -> bool:
    return len(text) <= _MAX_CREDIT_CHARS and (
        bool(_CREDIT_START.search(text) or _CREDIT_LABEL.search(text))
        or _named(owner, None, _AUTHORISH)
    )


def is_credit_or_date(text: str) -> bool:
    """Whether a line names who wrote or edited the article, or states a date or time: a
    part of the article even when it is all links."""
    return bool(_CREDIT_START.match(text) or _CREDIT_LABEL.search(text) or _DATE.search(text))


def _split_dates(text: str) -> tuple[str, str]:
    """A credit line's name part and its date part ("By A | Updated Nov 19, 2019 13:43"):
    the words that only introduce the date ("Updated", "publiziert am") go with it."""
    dates = [m.group() for m in _DATE.finditer(text)]
    credit = " ".join((_DATE.sub(" ", text) if dates else text).split()).strip(_SEPARATORS)
    while (shorter := _DATE_LABEL.sub("", credit).strip(_SEPARATORS)) != credit:
        credit = shorter
    return credit, " ".join(dates)


# Words that introduce a date at the end of a credit line, once the date is taken out.
_DATE_LABEL = re.compile(
    r"(?:(?<!\w)(?:updated|published|posted|modified|publiziert|aktualisiert|am|on|at|le|el"
    r"|em|publicado|actualizado|atualizado|postado|publié|mis à jour|aggiornato|pubblicato"
    r"|aktualizacja|publikacja|dodano|päivitetty|julkaistu|oppdatert|publisert|обновлено"
    r"|опубликовано)|更新于?|发布于?|发表于?|时间)$",
    re.IGNORECASE,
)


def _article_block(
    lines: Sequence[tuple[str, lxml.html.HtmlElement]],
    whole: set[str],
    joined: str,
    heading: lxml.html.HtmlElement | None = None,
) -> lxml.html.HtmlElement | None:
    """The deepest element holding nearly all the article's text (None: the whole page).

    Each line of the text counts once: the story's first lines repeated as a teaser
    elsewhere on the page do not pull the block up to the whole page. When only the
    page holds nearly all of it (the extractor also took a widget's lines from a
    sidebar), the element the page marks as the article around the headline is the
    block, if it holds most of the text.
    """
    held: dict[lxml.html.HtmlElement, set[str]] = {}
    texts: set[str] = set()
    for text, owner in lines:
        if not _placed(text, whole, joined):
            continue
        compact = _compact(text)
        texts.add(compact)
        for el in (owner, *owner.iterancestors()):
            held.setdefault(el, set()).add(compact)
    total = sum(len(t) for t in texts)
    if not total:
        return None
    best, depth = None, -1
    for el, found in held.items():
        if sum(len(t) for t in found) >= _BLOCK_SHARE * total:
            level = sum(1 for _ in el.iterancestors())
            if level > depth:
                best, depth = el, level
    if best is None or best.tag in ("html", "body"):
        marked = article_element(heading) if heading is not None else None
        inside = held.get(marked, set()) if marked is not None else set()
        if inside and sum(len(t) for t in inside) >= _MARKED_SHARE * total:
            return marked
        return None
    if best.tag in ("p", "span", "font", "b", "strong", "em", "i"):
        parent = best.getparent()  # one paragraph holds it all: its block is the parent
        best = parent if parent is not None and parent.tag not in ("html", "body") else best
    return best


def _with_headline(
    block: lxml.html.HtmlElement | None, heading: lxml.html.HtmlElement | None
) -> lxml.html.HtmlElement | None:
    """The article's own element when the page marks one holding both headline and body
    (``article_element``): a correction or a reference list after the body's block is
    still inside the article. Else the body's block."""
    if block is None or heading is None:
        return block
    marked = article_element(heading)
    return marked if marked is not None and _within(block, marked) else block


def _is_teaser(text: str, owner: lxml.html.HtmlElement) -> bool:
    """A link longer than a name: another story's headline ("More from this author")."""
    if not any(el.tag == "a" for el in (owner, *owner.iterancestors())):
        return False
    if _HAN.search(text):
        return len(_compact(text)) > _MAX_HAN_NAME_CHARS
    return len(text.split()) > _MAX_NAME_WORDS


# A credit's names, linked each on its own, are shorter than a headline.
_MAX_NAME_WORDS = 6
_MAX_HAN_NAME_CHARS = 15
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def _mostly_links(owner: lxml.html.HtmlElement, tags: Iterable[str] = ("a",)) -> bool:
    """Whether most of the text of the box a line stands in (the nearest element that
    starts a line) is the text of links (or of the other ``tags``)."""
    box = next((el for el in (owner, *owner.iterancestors()) if el.tag in BLOCK_TAGS), owner)
    whole = len(_compact(box.text_content()))
    linked = sum(len(_compact(el.text_content())) for el in _outermost_of(box, tags))
    return whole > 0 and linked >= _LINKED_SHARE * whole


def _outermost_of(
    box: lxml.html.HtmlElement, tags: Iterable[str]
) -> Iterator[lxml.html.HtmlElement]:
    """The elements named ``tags`` in ``box``, none inside another (so none counted twice)."""
    wanted = set(tags)
    for el in box.iter(*wanted):
        if el is box:
            yield el
            return
        above = el.getparent()
        while above is not None and above is not box and above.tag not in wanted:
            above = above.getparent()
        if above is None or above is box:
            yield el


# A line whose element's text is at least this much link text is a list of links.
_LINKED_SHARE = 0.5


def _is_prose(text: str) -> bool:
    """A line of prose: where the headline's neighbourhood ends. Judged by the line alone,
    not by what the extractor took for the body, so the same credits and datelines are
    read however the extractor draws the body on this load."""
    return len(_compact(text)) >= _PROSE_CHARS


def _placed(text: str, whole: set[str], joined: str) -> bool:
    compact = _compact(text)
    return compact in whole or (len(compact) >= _MIN_PLACING_CHARS and compact in joined)


def _within(el: lxml.html.HtmlElement, box: lxml.html.HtmlElement) -> bool:
    return el is box or any(a is box for a in el.iterancestors())


def _ancestry(
    owner: lxml.html.HtmlElement, block: lxml.html.HtmlElement | None
) -> Iterable[lxml.html.HtmlElement]:
    """``owner`` and its ancestors below ``block`` (at most a few levels near a headline)."""
    limit = 64 if block is not None else 4
    for count, el in enumerate((owner, *owner.iterancestors())):
        if el is block or count >= limit or el.tag in ("body", "html"):
            return
        yield el


def _named(
    owner: lxml.html.HtmlElement, block: lxml.html.HtmlElement | None, pattern: re.Pattern[str]
) -> bool:
    return any(pattern.search(_named_by(el)) for el in _ancestry(owner, block))


def _named_by(el: lxml.html.HtmlElement) -> str:
    """The words a page names an element by: its class, id, itemprop, rel and test id."""
    return " ".join(
        el.get(name) or "" for name in ("class", "id", "itemprop", "rel", "data-testid")
    )


def _is_caption(owner: lxml.html.HtmlElement, block: lxml.html.HtmlElement | None) -> bool:
    """A picture's caption or credit: a figcaption, a table's caption, a box named so, or
    a figure's own footer (where its credit stands; never the page's footer)."""
    tags = [el.tag for el in _ancestry(owner, block)]
    if "figcaption" in tags or "caption" in tags:
        return True
    if "footer" in tags and "figure" in tags[tags.index("footer") :]:
        return True
    return _named(owner, block, _CAPTIONISH) or _is_picture_line(owner)


def _is_picture_line(owner: lxml.html.HtmlElement) -> bool:
    """The one line of a box that holds a picture: a lead picture's caption that no class
    names as one (``<div><img><p>In this file photo, …</p></div>``). Not a linked teaser's
    thumbnail and title, nor a box the page names as furniture (an ad's picture and line)."""
    box = owner.getparent()
    if box is None or len(box) > _PICTURE_BOX_CHILDREN or box.tag in ("body", "html"):
        return False  # a box of many children is a body, not a picture's (and cheap to tell)
    line = _compact(owner.text_content())
    if not line or len(line) > _MAX_PICTURE_LINE or owner.tag in _HEADINGS:
        return False
    if _compact(box.text_content()) != line:
        return False
    pictures = [el for el in box.iter("img", "picture", "video") if not _within(el, owner)]
    if not pictures or any(a.tag == "a" for p in pictures for a in p.iterancestors()):
        return False
    return not _mostly_links(owner) and not _named(owner, None, _FURNITUREISH)


def _is_form(owner: lxml.html.HtmlElement, block: lxml.html.HtmlElement | None) -> bool:
    """Whether the line stands in a form: a newsletter sign-up, a comment box, a login."""
    return any(el.tag in _FORM for el in _ancestry(owner, block)) or _named(owner, block, _FORMISH)


_FORM = frozenset({"form", "button", "select", "label"})
_FORMISH = re.compile(r"newsletter|subscribe|sign-?up|login|comment", re.IGNORECASE)


def _is_furniture(
    text: str,
    owner: lxml.html.HtmlElement,
    block: lxml.html.HtmlElement | None,
    prose: frozenset[lxml.html.HtmlElement],
) -> bool:
    """Whether the line ``text``, rendered in ``owner``, stands in the page's furniture (a
    form, a share bar, a menu, a link): not a note of the article. An element holding
    the article's ``prose`` is the article's, whatever its name says (a share plugin's
    hook class on the body's box). A line that starts in a link or a label is furniture
    unless most of it runs on past it into what is not (a player's "Autoplay" label,
    then the video's title)."""
    for el in _ancestry(owner, block):
        if el in prose:
            continue
        if el.tag in _INLINE_FURNITURE:
            held = len(_compact(el.text_content()))
            if 2 * held >= len(_compact(text)) or _mostly_links(owner, _INLINE_FURNITURE):
                return True
        elif el.tag in _FURNITURE or _FURNITUREISH.search(_named_by(el)):
            return True
    return False


def _prose_boxes(
    lines: Sequence[tuple[str, lxml.html.HtmlElement]], placing: tuple[set[str], str]
) -> frozenset[lxml.html.HtmlElement]:
    """The elements that hold a line of the article's prose, and their ancestors."""
    boxes: set[lxml.html.HtmlElement] = set()
    for text, owner in lines:
        if len(_compact(text)) >= _MIN_BODY_CHARS and _placed(text, *placing):
            boxes.update((owner, *owner.iterancestors()))
    return frozenset(boxes)


_MARKS = re.compile(r"^\s*[-*•]\s+|\|")


def _compact(text: str) -> str:
    """Text without white space or the extractor's list and table marks."""
    return "".join(_MARKS.sub("", text).split())
