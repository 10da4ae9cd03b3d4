"""Canonical text for comparison (pure): NFC, whitespace, invisible characters, ignore rules.

Never drops a character of article text except what an ignore rule explicitly matches.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from watcher.read.extract import Article
from watcher.read.volatile import COUNT_NUMBER, COUNT_WORDS, RELATIVE_TIME


@dataclass(frozen=True, slots=True)
class Normalized:
    """A normalised article and the ignore patterns that removed something from it."""

    article: Article
    fired: tuple[str, ...]


# Invisible characters that CMSs insert and remove at will and that never change what a
# reader sees as text: toggling one of them must not alert. ZWJ/ZWNJ (U+200C/U+200D) are
# kept on purpose: they change Persian and Indic spelling and emoji sequences.
_INVISIBLE = re.compile(
    "["
    "\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f"  # C0/C1 controls that are not whitespace
    "\u00ad"  # soft hyphen: a hyphenation hint, shown only at a line break
    "\u061c\u200e\u200f"  # bidi marks (ALM, LRM, RLM)
    "\u200b"  # zero-width space
    "\u202a-\u202e"  # bidi embeddings and overrides
    "\u2060-\u2064"  # word joiner, invisible math operators
    "\u2066-\u2069"  # bidi isolates
    "\ufeff"  # BOM / zero-width no-break space
    "]+"
)
_SPACES = re.compile(r"\s+")


def normalize_text(text: str) -> str:
    """NFC, drop zero-width/format characters, collapse runs of spaces; keep paragraph breaks.

    Lines are stripped and runs of blank lines become one blank line, so only paragraph
    structure survives. NFKC is not applied: full-width digits and compatibility
    ideographs are what the page says. Idempotent.
    """
    # Invisible characters go before NFC: removing one between a letter and a combining
    # mark makes the pair composable, and a second pass must not find more to do.
    text = unicodedata.normalize("NFC", _INVISIBLE.sub("", text))
    lines: list[str] = []
    for raw in text.splitlines():  # also \r, \v, \f, U+0085, U+2028, U+2029
        line = _SPACES.sub(" ", raw).strip(" ")
        if line or (lines and lines[-1]):
            lines.append(line)
    if lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def compact_text(text: str) -> str:
    """``text`` as normalised, with no white space at all: for finding the same words in
    texts that break lines differently (an extractor's paragraphs, a page's blocks)."""
    return "".join(unicodedata.normalize("NFC", _INVISIBLE.sub("", text)).split())


def compared_line(text: str, ignore: Sequence[re.Pattern[str]]) -> str:
    """One line of text as a comparison reads it: normalised, ``ignore`` applied ("" when
    nothing is left). ``normalize_article`` reads every line of an article so."""
    return _apply_ignore(normalize_text(text), _rules(ignore), set())


def line_dropper(ignore: Sequence[re.Pattern[str]]) -> Callable[[str], bool]:
    """Whether the comparison drops a line whole (a counter or a clock on a line of its
    own). When every rule is built in, a line none of them could touch (no digit, no
    "ago") is told apart at once, without normalising it."""
    if all(pattern in _GUARDS for pattern in ignore):
        return lambda text: _ANY_GUARD.search(text) is not None and not compared_line(text, ignore)
    return lambda text: not compared_line(text, ignore)


def _rules(
    ignore: Sequence[re.Pattern[str]],
) -> tuple[tuple[re.Pattern[str], re.Pattern[str] | None], ...]:
    return tuple((pattern, _GUARDS.get(pattern)) for pattern in ignore)


def normalize_article(article: Article, ignore: Sequence[re.Pattern[str]] = ()) -> Normalized:
    """Normalise every field of ``article`` and drop what ``ignore`` patterns match.

    Patterns apply to the normalised title, byline and each paragraph (not to the date or
    the document title, which are compared on their own); paragraphs left empty are
    dropped. ``fired`` lists, in ``ignore`` order, the patterns that removed anything.
    With ``ignore`` (a comparison, never the stored text), each run of menu items is put
    in one order (``settle_menus``).
    """
    fired: set[str] = set()
    rules = _rules(ignore)
    title = _apply_ignore(normalize_text(article.title), rules, fired)
    byline = _apply_ignore(normalize_text(article.byline), rules, fired)
    paragraphs = tuple(
        kept for p in article.paragraphs if (kept := _apply_ignore(normalize_text(p), rules, fired))
    )

    if ignore:
        paragraphs = settle_menus(paragraphs)

    def lines(values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(
            kept for v in values if (kept := _apply_ignore(normalize_text(v), rules, fired))
        )

    result = Article(
        title=title,
        byline=byline,
        published=normalize_text(article.published),
        paragraphs=paragraphs,
        page_title=normalize_text(article.page_title),
        is_fallback=article.is_fallback,
        headlines=lines(article.headlines),
        bylines=lines(article.bylines),
        datelines=lines(article.datelines),
        captions=lines(article.captions),
        notes=lines(article.notes),
        stated=tuple(t for v in article.stated if (t := normalize_text(v))),
    )
    ordered = tuple(dict.fromkeys(p.pattern for p in ignore if p.pattern in fired))
    return Normalized(article=result, fired=ordered)


# A menu item: a list item of a few words, as the extractor writes list items.
_MENU_ITEM = re.compile(r"[-*•] (?:\S+(?: \S+){0,3})")
_MENU_ITEM_CHARS = 24
_MENU_RUN = 3  # fewer items than this are a short list in the story, kept as they are


def settle_menus(paragraphs: tuple[str, ...]) -> tuple[str, ...]:
    """``paragraphs`` with each run of three or more menu items (list items of at most
    four words) in sorted order.

    Sites rotate the order of their section menus and tag lists on every load; when the
    article's reading takes one in, only the order moves. Sorting the run on both sides of
    a comparison keeps that quiet, while an item added, removed or reworded still shows.
    """
    settled: list[str] = []
    run: list[str] = []
    for paragraph in (*paragraphs, None):
        if (
            paragraph is not None
            and len(paragraph) <= _MENU_ITEM_CHARS
            and _MENU_ITEM.fullmatch(paragraph)
        ):
            run.append(paragraph)
            continue
        settled.extend(sorted(run) if len(run) >= _MENU_RUN else run)
        run = []
        if paragraph is not None:
            settled.append(paragraph)
    return tuple(settled)


def compile_ignore(patterns: Sequence[str]) -> tuple[re.Pattern[str], ...]:
    """Compile ignore rules, failing early with the pattern in the message.

    A rule that matches the empty string is rejected too: it removes nothing yet reads
    like it does (usually an ``x*`` that should have been ``x+``).
    """
    compiled: list[re.Pattern[str]] = []
    for source in patterns:
        try:
            pattern = re.compile(source)
        except re.error as err:
            raise ValueError(f"invalid ignore pattern {source!r}: {err}") from err
        if pattern.match("") is not None:
            raise ValueError(f"invalid ignore pattern {source!r}: matches the empty string")
        compiled.append(pattern)
    return tuple(compiled)


# Built-in ignore rules: fragments that news pages put inside or next to the article text
# and that change on every load. Each one is anchored so that real prose survives: a
# relative time needs "ago"/"前" *and* an "updated"-style label or a paragraph to itself,
# a counter needs to stand apart from the sentence (a separator, brackets or a paragraph
# of its own). "The blast lasted 3 minutes", "he left 3 days ago", "阅读3本书" and
# "1,234 views in a day" stay. Sources carry their flags inline so that the strings can
# be passed anywhere a user ignore rule can (``Watch.ignore``).
_UNIT_EN = r"(?:seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?|months?)"
_COUNT_EN = r"(?:views?|comments?|shares?|likes?|reads?|reactions?|replies)"
_COUNT_ZH = r"(?:阅读|浏览|评论|点赞|转发|分享|收藏|跟帖|回复)"
_NOT_WORD = r"[\w\u3400-\u9fff]"  # a letter, digit or Han character
_NUMBER_ZH = r"\d[\d,.]{0,20}\s*[万千亿wWkK]?\+?"
_SEPARATOR = r"(?:\s*[·•|/]\s*)?"
_BAR = r"[·•|・]"
# A count and its noun in another language, either way round ("1.234 Aufrufe", "조회 1234").
_COUNTED = rf"{COUNT_NUMBER}\s{{0,3}}{COUNT_WORDS}(?!\w)"
_LABELLED = (
    rf"(?<!\w){COUNT_WORDS}\s{{0,3}}[:：]?\s{{0,3}}[(（]?\s{{0,3}}{COUNT_NUMBER}\s{{0,3}}[)）]?"
)
BUILTIN_IGNORE: tuple[str, ...] = (
    # "Updated 14 hours ago", "Last updated: 3 minutes ago", "Posted an hour ago"
    rf"(?i)\b(?:last\s+)?(?:updated|posted|published|edited|modified)\s*:?\s*"
    rf"(?:about\s+)?(?:\d{{1,3}}|an?|one)\s*{_UNIT_EN}\s+ago\b{_SEPARATOR}",
    # a paragraph that is only a relative time: "3 minutes ago", "just now"
    rf"(?i)^(?:about\s+)?(?:\d{{1,3}}|an?)\s*{_UNIT_EN}\s+ago\.?$",
    r"(?i)^(?:just now|moments? ago)$",
    # 更新于 3分钟前, 发布于 刚刚, or a paragraph that is only "3小时前"
    r"(?:更新|发布|编辑)(?:于|时间)\s*[:：]?\s*(?:\d{1,3}\s*(?:秒|分钟|小时|天)前|刚刚)",
    r"^(?:\d{1,3}\s*(?:秒|分钟|小时|天)前|刚刚)$",
    # 阅读 1.2万, 评论(12), 点赞：35 -- standing apart from the sentence (a page's clock
    # may run straight into it: "15:14:21阅读 1.2万")
    rf"(?<![A-Za-z\u3400-\u9fff]){_COUNT_ZH}(?:数|量|次数)?\s*[:：]?\s*"
    rf"(?:[(（\[]\s*{_NUMBER_ZH}\s*[)）\]]|{_NUMBER_ZH}\s*(?:次|人|条)?(?!{_NOT_WORD})){_SEPARATOR}",
    # 1.2万阅读, 35 评论 -- but not "21阅读 1.2万", where 阅读 labels the number after it
    rf"(?<![\w\u3400-\u9fff.,:]){_NUMBER_ZH}\s*(?:次)?{_COUNT_ZH}(?!{_NOT_WORD}|\s*[:：]?\s*\d)"
    rf"{_SEPARATOR}",
    # a bar of two or more counters anywhere: "1,234 views · 56 comments", also when the
    # extractor glued two bars into one line ("… 56 comments14,765 views · 8 comments")
    rf"(?i)(?:\s*[·•|]\s*)?(?<![\d.,])\d[\d,.]{{0,20}}\s*[km]?\s+{_COUNT_EN}(?:\s*[·•|]\s*\d[\d,.]{{0,20}}\s*[km]?\s+{_COUNT_EN}(?![^\W\d_]))+",
    # a paragraph of counters only: "1,234 views · 56 comments", "Comments (12)"
    rf"(?i)^(?:\d[\d,.]{{0,20}}\s*[km]?\s+{_COUNT_EN}{_SEPARATOR})+$",
    rf"(?i)^(?:{_COUNT_EN}\s*[:(]?\s*\d[\d,.]{{0,20}}[km]?\s*\)?{_SEPARATOR})+$",
    # a count of commenters in brackets beside a dateline: "我有话说(1307人参与)"
    r"[(（]\s*\d[\d,.]{0,20}\s*[万千]?\s*人参与\s*[)）]",
    # a counter set off by a separator at the end of a byline or dateline: "Jane Doe | 56 comments"
    rf"(?i)\s*[·•|]\s*\d[\d,.]{{0,20}}\s*[km]?\s+{_COUNT_EN}\b",
    # a live clock on a line of its own: "14:32", "2:05 PM EST"
    r"^\d{1,2}:\d{2}(?::\d{2})?(?:\s*[AaPp]\.?[Mm]\.?)?(?:\s+[A-Z]{2,5})?$",
    # a relative time in another language on a line of its own, after at most three words
    # of label: "vor 5 Minuten", "Mis à jour il y a 3 heures", "Обновлено 5 минут назад"
    rf"(?i)^(?:[^\W\d_]+[\s:：.,]+){{0,3}}{RELATIVE_TIME}\.?$",
    # ... or set off by a separator in a line: "Hans Müller · vor 5 Minuten"
    rf"(?i)\s*[·•|]\s*{RELATIVE_TIME}(?=\s*(?:[·•|]|$))",
    rf"(?i)^{RELATIVE_TIME}\s*[·•|]\s*",
    # counters in the other languages, anchored as the English ones are: two or more in a
    # bar, "1.234 Aufrufe · 5 Kommentare", "閲覧数 1,234・コメント 12件" ...
    rf"(?i)(?:\s{{0,3}}{_BAR}\s{{0,3}})?(?<![\w.,])"
    rf"(?:{_COUNTED}(?:\s{{0,3}}{_BAR}\s{{0,3}}{_COUNTED}){{1,5}}"
    rf"|{_LABELLED}(?:\s{{0,3}}{_BAR}\s{{0,3}}{_LABELLED}){{1,5}})(?!\w)",
    # ... a line that is only counters ...
    rf"(?i)^(?:(?:{_COUNTED}|{_LABELLED})\s{{0,3}}{_BAR}?\s{{0,3}}){{1,6}}$",
    # ... or one set off by a separator at the end of a byline or dateline
    rf"(?i)\s{{0,3}}{_BAR}\s{{0,3}}(?:{_COUNTED}|{_LABELLED})$",
)


def builtin_ignore() -> tuple[re.Pattern[str], ...]:
    """The built-in volatile-text rules, compiled; apply them with the watch's own rules.

    Not part of ``normalize_article``'s default: the stored text of a version keeps
    everything, and the rules apply only when two versions are compared.
    """
    return _BUILTIN


def _apply_ignore(
    text: str, ignore: Sequence[tuple[re.Pattern[str], re.Pattern[str] | None]], fired: set[str]
) -> str:
    """Remove every match of each pattern in turn; re-normalise only if something went.

    A pattern with a guard (``_GUARDS``) is tried only where its guard finds something.
    """
    changed = False
    passed: dict[re.Pattern[str], bool] = {}  # several rules share a guard
    for pattern, guard in ignore:
        if guard is not None:
            if guard not in passed:
                passed[guard] = guard.search(text) is not None
            if not passed[guard]:
                continue
        stripped = pattern.sub("", text)
        if stripped != text:  # only a non-empty match changes the text
            fired.add(pattern.pattern)
            text, changed = stripped, True
            passed.clear()  # a removal may join what a guard looks for
    return normalize_text(text) if changed else text


_BUILTIN = compile_ignore(BUILTIN_IGNORE)

# What each built-in rule cannot match without: a relative time says "ago" (or "just
# now"), a Chinese one 前 or 刚刚, and every counter or clock has a digit; a counter in
# another language set in a line has a separator beside it (looking for its nouns in every
# paragraph cost more than all the other rules). One quick search for that spares most
# paragraphs the rule itself: applying every rule to every paragraph on both sides of a
# comparison was a large part of a noisy check's cost.
_AGO = re.compile(r"(?i:ago|just now)")
_AGO_ZH = re.compile("前|刚刚")
_DIGIT = re.compile(r"\d")
_ANY_GUARD = re.compile(r"(?i:ago|just now)|前|刚刚|\d")

_BAR_GUARD = re.compile(_BAR)
# The last rules, counters in other languages: in a bar, a line of their own, at a line's end.
_COUNTER_GUARDS = (_BAR_GUARD, _DIGIT, _BAR_GUARD)
_GUARDS: dict[re.Pattern[str], re.Pattern[str]] = {
    pattern: _AGO if index < 3 else _AGO_ZH if index < 5 else _DIGIT
    for index, pattern in enumerate(_BUILTIN[: -len(_COUNTER_GUARDS)])
} | dict(zip(_BUILTIN[-len(_COUNTER_GUARDS) :], _COUNTER_GUARDS, strict=True))
