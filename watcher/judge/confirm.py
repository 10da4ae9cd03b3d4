"""Confirm a detected change with a second look before it alerts (pure: no I/O).

Two fetches taken moments apart show what changes on every load: a paragraph that
differs between them is volatile (a clock, a rotating teaser, a counter) and is left
out of the comparison on both sides. A change that survives both fetches is real.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from difflib import SequenceMatcher

from watcher.judge.classify import ARTICLE_WORDS
from watcher.read.diff import diff_texts, summarize_edits
from watcher.read.extract import LINE_PARTS, Article, with_lines


@dataclass(frozen=True, slots=True)
class Masked:
    """Baseline and current article with the volatile parts taken out of both."""

    baseline: Article
    current: Article
    volatile: tuple[str, ...]  # the paragraphs (and fields) that differed between loads


def mask_volatile(baseline: Article, first: Article, second: Article) -> Masked:
    """Drop from ``baseline`` and ``second`` what differs between ``first`` and ``second``.

    Paragraphs of ``second`` absent from ``first`` are volatile; where the baseline's
    paragraphs were replaced only by volatile ones, those baseline paragraphs were the
    same slot's older content and go too. Real insertions, deletions and edits present
    in both loads are kept, so they still show as changes.
    """
    in_first = set(first.paragraphs)
    volatile = {p for p in second.paragraphs if p not in in_first}
    deleted = _deleted_by_both(baseline.paragraphs, first.paragraphs, second.paragraphs)
    keep_base: list[str] = []
    keep_current: list[str] = []
    matcher = SequenceMatcher(None, baseline.paragraphs, second.paragraphs, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        old, new = baseline.paragraphs[i1:i2], second.paragraphs[j1:j2]
        if op == "equal":
            keep_base.extend(old)
            keep_current.extend(new)
        elif new and all(p in volatile for p in new):
            # a volatile slot: whatever stood there before was noise as well, except a
            # paragraph both loads deleted outright (beside a tweet the loads split
            # into lines differently)
            keep_base.extend(p for p in old if p in deleted)
        else:
            keep_base.extend(old)
            keep_current.extend(p for p in new if p not in volatile)
    shown: list[str] = sorted(volatile)
    masked_base = replace(baseline, paragraphs=tuple(keep_base))
    masked_current = replace(second, paragraphs=tuple(keep_current))
    # A headline, byline or date that differs between the two loads is volatile too.
    if first.title != second.title:
        masked_base, masked_current = (
            replace(masked_base, title=""),
            replace(masked_current, title=""),
        )
        shown.append("<title>")
    if first.byline != second.byline:
        masked_base = replace(masked_base, byline="")
        masked_current = replace(masked_current, byline="")
        shown.append("<byline>")
    if first.published != second.published:
        masked_base = replace(masked_base, published="")
        masked_current = replace(masked_current, published="")
        shown.append("<published>")
    # So are lines of the other parts that differ between them (a teaser in the article
    # block, a dateline that reads "3 minutes ago" on one load): the part's other lines
    # are still compared.
    for name in LINE_PARTS:
        one, other = getattr(first, name), getattr(second, name)
        if one == other:
            continue
        changing = set(one) ^ set(other)
        kept = tuple(t for t in getattr(masked_base, name) if t not in changing)
        masked_base = with_lines(masked_base, {name: kept})
        masked_current = with_lines(masked_current, {name: tuple(t for t in other if t in one)})
        shown.append(f"<{name}>")
    return Masked(masked_base, masked_current, tuple(shown))


def _deleted_by_both(
    baseline: tuple[str, ...], first: tuple[str, ...], second: tuple[str, ...]
) -> set[str]:
    """The baseline's paragraphs that ``first`` deleted with nothing in their place and
    ``second`` does not show either."""
    matcher = SequenceMatcher(None, baseline, first, autojunk=False)
    shown = set(second)
    return {
        p
        for op, i1, i2, _, _ in matcher.get_opcodes()
        if op == "delete"
        for p in baseline[i1:i2]
        if p not in shown
    }


def corroborated(
    reference: Article, first: Article, second: Article | None, second_page: Sequence[str]
) -> Masked:
    """``first``'s changes from ``reference`` that the confirming load bears out, when its
    extractor read that load another way (the article nearly all gone, say, while the page
    still shows it): a changed run of lines counts when the second page shows its new
    wording and no longer shows the old; a headline, byline or date read from the
    metadata, when the second load read the same. What is not borne out is put back as
    ``reference`` had it, so only what both loads show can alert.
    """
    page = _PageText.of(second_page)
    kept, shown = _borne_out(reference.paragraphs, first.paragraphs, page)
    current = replace(first, paragraphs=kept)
    volatile = list(shown)
    for name in ("title", "byline", "published"):
        value = getattr(first, name)
        if value != getattr(reference, name) and (second is None or getattr(second, name) != value):
            current = replace(current, **{name: getattr(reference, name)})
            volatile.append(f"<{name}>")
    for name in LINE_PARTS:
        old, new = getattr(reference, name), getattr(first, name)
        if old == new or (second is not None and getattr(second, name) == new):
            continue
        back: tuple[str, ...]
        if name == "stated":  # the metadata is not on the page to look at
            lines, back = old, (f"<{name}>",)
        else:
            lines, back = _borne_out(old, new, page)
        current = with_lines(current, {name: lines})
        volatile.extend(back)
    return Masked(reference, current, tuple(volatile))


def shown_share(reference: Article, page_lines: Sequence[str]) -> float:
    """The share of ``reference``'s body (by characters) that ``page_lines`` still show."""
    page = _PageText.of(page_lines)
    sizes = [(len(_compact(p)), page.holds(p)) for p in reference.paragraphs]
    total = sum(size for size, _ in sizes)
    return sum(size for size, held in sizes if held) / total if total else 0.0


def as_shown(reference: tuple[str, ...], page_lines: Sequence[str]) -> tuple[str, ...]:
    """``reference``'s paragraphs as ``page_lines`` show them: each one the page holds, as
    it is; one it does not, as the line that most resembles it where it stood (between
    the lines of the paragraphs around it), or left out when no line does. For a page
    whose extractor misread it: what a reader sees of the article, read without it."""
    lines = [_compact(line) for line in page_lines]
    at: list[int | None] = []
    start = 0
    for paragraph in reference:
        needle = _compact(paragraph)
        found = next((i for i in range(start, len(lines)) if needle in lines[i]), None)
        at.append(found)
        start = found + 1 if found is not None else start
    shown: list[str] = []
    for k, paragraph in enumerate(reference):
        if at[k] is not None:
            shown.append(paragraph)
            continue
        low = max((i for i in at[:k] if i is not None), default=-1) + 1
        high = min((i for i in at[k + 1 :] if i is not None), default=len(lines))
        best = _likest(_compact(paragraph), [(i, lines[i]) for i in range(low, high)])
        if best is not None:
            shown.append(page_lines[best])
    return tuple(shown)


def _likest(needle: str, candidates: Sequence[tuple[int, str]]) -> int | None:
    """The index of the candidate most like ``needle``, if any is much like it."""
    best, score = None, _ALIKE
    for i, text in candidates:
        matcher = SequenceMatcher(None, needle, text, autojunk=False)
        if (
            matcher.real_quick_ratio() > score
            and matcher.quick_ratio() > score
            and (ratio := matcher.ratio()) > score
        ):
            best, score = i, ratio
    return best


# A line this much like a paragraph (difflib's ratio) is that paragraph, edited.
_ALIKE = 0.6


def _borne_out(
    old: tuple[str, ...], new: tuple[str, ...], page: _PageText
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``new``, with each run that differs from ``old`` put back as ``old`` had it unless
    ``page`` bears it out: it shows all of the new wording and none of the old, except
    old wording that stands inside the new (a sentence added to a paragraph). Also
    returns the runs put back."""
    kept: list[str] = []
    back: list[str] = []
    matcher = SequenceMatcher(None, old, new, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        was, now = old[i1:i2], new[j1:j2]
        inside = [_compact(p) for p in now]
        if op == "equal" or (
            all(page.holds(p) for p in now)
            and not any(page.holds(p) and not _within(p, inside) for p in was)
        ):
            kept.extend(now)
        else:
            kept.extend(was)
            back.extend(now)
    return tuple(kept), tuple(back)


def _within(line: str, lines: Sequence[str]) -> bool:
    """Whether ``line`` stands inside one of the compact ``lines``."""
    needle = _compact(line)
    return any(needle in other for other in lines)


def same_content(first: Article | None, second: Article | None) -> bool:
    """True when two reads of a page agree on everything watcher compares."""
    if first is None or second is None:
        return first is second
    return (
        first.title == second.title
        and first.byline == second.byline
        and first.published == second.published
        and first.paragraphs == second.paragraphs
        and all(getattr(first, name) == getattr(second, name) for name in LINE_PARTS)
    )


def units_apart(one: Article, other: Article) -> int:
    """How many of the units a check compares (paragraphs, the lines of each part, title,
    byline and date) one article has that the other lacks, either way round."""
    count = len(set(one.paragraphs) ^ set(other.paragraphs))
    count += (one.title != other.title) + (one.byline != other.byline)
    count += one.published != other.published
    for name in LINE_PARTS:
        lines: tuple[str, ...] = getattr(one, name)
        count += len(set(lines) ^ set(getattr(other, name)))
    return count


def is_extraction_shift(
    old: Article, new: Article, old_page: Sequence[str], new_page: Sequence[str]
) -> bool:
    """True when a change is only the extractor drawing the article's edges elsewhere.

    Every paragraph that left the article must still stand in the new page's visible
    text, and every paragraph that joined it must already have stood in the old page's:
    the page's words did not change, only which of them were read as the article. Any
    real edit leaves the old wording missing from the new page or the new wording
    missing from the old one, so it fails this test and stays a change. A byline counts
    as moved when each of its names is visible on both pages (the extractor took the
    credit from another line). Headline and date changes are never explained away.

    Text is compared without white space and without the extractor's list and table
    markers: the extractor and the page reader break lines differently (one paragraph
    of the article can be several lines of the page, and the reverse).
    """
    if old.title != new.title or _dates_differ(old.published, new.published):
        return False
    if old.headlines != new.headlines:
        return False  # the heading a reader takes for the headline: never the extractor's edge
    if _stated(old) != _stated(new):
        return False  # the metadata changed: no edge the extractor draws moves that
    # the body, and the lines the extractor may draw in or out of it with the same move
    old_lines = (*old.paragraphs, *old.notes, *old.captions)
    new_lines = (*new.paragraphs, *new.notes, *new.captions)
    before, after = set(old_lines), set(new_lines)
    gone = [p for p in old_lines if p not in after]
    joined = [p for p in new_lines if p not in before]
    # credits shown are read out of longer lines ("By A · Nov 19"): found anywhere
    credits_gone = [b for b in old.bylines if b not in new.bylines]
    credits_joined = [b for b in new.bylines if b not in old.bylines]
    byline_moved = old.byline != new.byline
    if not (gone or joined or credits_gone or credits_joined or byline_moved):
        # the same lines: moved between the body and its notes or captions (the
        # extractor's edge again), or put in another order (an editorial change)
        body_in_order = _same_order(old.paragraphs, new.paragraphs) or _edge_moved(
            old.paragraphs, new.paragraphs
        )
        return body_in_order and _same_order(
            (*old.notes, *old.captions), (*new.notes, *new.captions)
        )
    old_text, new_text = _PageText.of(old_page), _PageText.of(new_page)
    if not (all(new_text.holds(p) for p in gone) and all(old_text.holds(p) for p in joined)):
        return False
    # A credit the extractor took from another line stands as often on both pages. A
    # credit edited on the page leaves one fewer of the old name, even when the new
    # name was already shown elsewhere (a photo credit, a copyright line).
    if not all(
        _shown_alike(_compact(b), old_text.text, new_text.text)
        for b in (*credits_gone, *credits_joined)
    ):
        return False
    if not byline_moved:
        return True
    # case-blind: extractors capitalise the credit they find ("вера" -> "Вера")
    old_folded, new_folded = old_text.text.casefold(), new_text.text.casefold()
    names = [n.casefold() for byline in (old.byline, new.byline) for n in _names(byline)]
    return bool(names) and all(_shown_alike(n, old_folded, new_folded) for n in names)


def _shown_alike(name: str, old_text: str, new_text: str) -> bool:
    """Whether ``name`` stands on both pages, and as many times on each."""
    count = old_text.count(name)
    return count > 0 and new_text.count(name) == count


def _stated(article: Article) -> tuple[str, ...]:
    """What the metadata states of headline, byline and date (``Article.stated``)."""
    return tuple(sorted(article.stated))


def _same_order(old: Sequence[str], new: Sequence[str]) -> bool:
    """Whether the lines both sequences hold stand in the same order in each."""
    before, after = set(old), set(new)
    return [p for p in old if p in after] == [p for p in new if p in before]


def _edge_moved(old: Sequence[str], new: Sequence[str]) -> bool:
    """The same lines, but a few short ones that ended the article now open it, or the
    reverse: a sidebar's heading or a stray bullet the extractor took in at its other
    edge. No editor moves a line from the end of a story to its top and changes nothing
    else; a moved sentence is longer than these, and stays a change."""
    for k in range(1, min(_EDGE_LINES, len(old) - 1) + 1):
        for moved, rotated in (
            (old[-k:], (*old[-k:], *old[:-k])),
            (old[:k], (*old[k:], *old[:k])),
        ):
            if tuple(new) == rotated and all(_is_stray(line) for line in moved):
                return True
    return False


def _is_stray(line: str) -> bool:
    """A line too short to be a sentence of the story (a heading of a few words)."""
    return len(_compact(line)) <= _STRAY_CHARS and not _SENTENCE_END.search(line)


_EDGE_LINES = 3  # short lines at an edge that may move to the other one
_STRAY_CHARS = 16
_SENTENCE_END = re.compile(r"[.!?。！？]\s*$")


def _dates_differ(old: str, new: str) -> bool:
    """Two stated dates that name another day. A date one load could not read (its only
    source turned into "3 minutes ago") is not another date: the classifier does not
    count it as a change either, so it must not keep a shifted body from being one."""
    return bool(old and new) and old.strip()[:10] != new.strip()[:10]


def only_furniture(
    old: Article, new: Article, old_page: Sequence[str], new_page: Sequence[str] = ()
) -> bool:
    """True when every paragraph read now that the old article did not have stood on the
    old page already: the article is gone and what is read in its place is the page's
    furniture (navigation, teasers, a footer), not a rewrite, which brings new text. Text
    a reader does not see on ``new_page`` (a hidden menu the extractor read) brings none.
    """
    before = set(old.paragraphs)
    # A paragraph with no word in it (a list's bullet left behind, a separator) brings no
    # text at all, so neither counts for nor against furniture.
    joined = [_compact(p) for p in new.paragraphs if p not in before and not _WORDLESS.match(p)]
    # Anywhere on the old page, short ones too: the extractor gives each link of a menu
    # a line ("News", "Markets"), where the page shows the menu as one line.
    old_text = _PageText.of(old_page).text
    new_text = _PageText.of(new_page).text if new_page else None
    return bool(joined) and all(
        p in old_text or (new_text is not None and p not in new_text) for p in joined
    )


def nothing_came_back(
    emptied: Article,
    new: Article,
    last_good: Article,
    old_page: Sequence[str],
    new_page: Sequence[str] = (),
) -> bool:
    """True when an emptied page (``emptied`` as read from ``old_page``) has not got its
    article back: text of ``last_good`` went missing from the page, none of it is read
    now, and what else is read now that the emptied page did not show adds too few words
    to be an article (an edited date line, a word of its credits). Such a page may be
    read another way from one load to the next (its menus one time, its credit lines the
    next). When the emptied page still showed all of the article somewhere, nothing
    tells, and this is never said."""
    shown = _PageText.of(old_page).text
    missing = {
        compact
        for p in last_good.paragraphs
        if (compact := _compact(p)) and not _WORDLESS.match(p) and compact not in shown
    }
    before = set(emptied.paragraphs)
    read = [p for p in new.paragraphs if p not in before and not _WORDLESS.match(p)]
    if not missing or not missing.isdisjoint(_compact(p) for p in read):
        return False
    new_text = _PageText.of(new_page).text if new_page else None
    fresh = [
        p
        for p in read
        if (compact := _compact(p)) not in shown and (new_text is None or compact in new_text)
    ]
    if not fresh:
        return True
    # the words that are new, not the lines: a line of the page with one word edited
    added, _removed = summarize_edits(diff_texts("\n".join(old_page), "\n".join(fresh)))
    return added < ARTICLE_WORDS


def _names(byline: str) -> list[str]:
    """The names of a byline as the extractor joins them ("A; B")."""
    return [name for part in byline.split(";") if (name := _compact(part))]


# Shorter than this (without spaces), a paragraph must match whole lines of the page:
# a short line ("Update:", a name, one CJK phrase) can stand inside any longer text.
_LOOSE_MIN_CHARS = 40


@dataclass(frozen=True, slots=True)
class _PageText:
    """A page's visible text as one compact stream, with the offsets where lines start."""

    text: str
    edges: frozenset[int]

    @classmethod
    def of(cls, lines: Sequence[str]) -> _PageText:
        parts = [_compact(line) for line in lines]
        edges, offset = {0}, 0
        for part in parts:
            offset += len(part)
            edges.add(offset)
        return cls("".join(parts), frozenset(edges))

    def holds(self, paragraph: str) -> bool:
        """Whether ``paragraph`` stands on the page: anywhere if it is long, as a run of
        whole lines if it is short."""
        needle = _compact(paragraph)
        if len(needle) >= _LOOSE_MIN_CHARS:
            return needle in self.text
        start = self.text.find(needle)
        while start != -1:
            if start in self.edges and start + len(needle) in self.edges:
                return True
            start = self.text.find(needle, start + 1)
        return False


_LIST_MARK = re.compile(r"^\s*[-*•]\s+")
_WORDLESS = re.compile(r"\W*\Z")
_SPACE_OR_CELL = re.compile(r"[\s|]+")


def _compact(text: str) -> str:
    """Text without white space, list bullets or table-cell bars (the extractor's marks)."""
    return _SPACE_OR_CELL.sub("", _LIST_MARK.sub("", text))
