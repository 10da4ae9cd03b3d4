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

from watcher.extract import Article


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
    keep_base: list[str] = []
    keep_current: list[str] = []
    matcher = SequenceMatcher(None, baseline.paragraphs, second.paragraphs, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        old, new = baseline.paragraphs[i1:i2], second.paragraphs[j1:j2]
        if op == "equal":
            keep_base.extend(old)
            keep_current.extend(new)
        elif new and all(p in volatile for p in new):
            continue  # a volatile slot: whatever stood there before was noise as well
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
    return Masked(masked_base, masked_current, tuple(shown))


def same_content(first: Article | None, second: Article | None) -> bool:
    """True when two reads of a page agree on everything watcher compares."""
    if first is None or second is None:
        return first is second
    return (
        first.title == second.title
        and first.byline == second.byline
        and first.published == second.published
        and first.paragraphs == second.paragraphs
    )


def is_extraction_shift(
    old: Article, new: Article, old_page: Sequence[str], new_page: Sequence[str]
) -> bool:
    """True when a body change is only the extractor drawing the article's edges elsewhere.

    Every paragraph that left the article must still stand, verbatim, in the new page's
    visible text, and every paragraph that joined it must already have stood in the old
    page's: the page's words did not change, only which of them were read as the
    article. An edited, added or deleted paragraph fails this test, so it stays a change.
    Headline, byline and date changes are never explained away.
    """
    if (old.title, old.byline, old.published) != (new.title, new.byline, new.published):
        return False
    before, after = set(old.paragraphs), set(new.paragraphs)
    gone = [p for p in old.paragraphs if p not in after]
    joined = [p for p in new.paragraphs if p not in before]
    if not gone and not joined:
        return False  # the same paragraphs in another order: an editorial change
    # Whole lines only: a paragraph that merely starts another line (one that gained a
    # sentence) is not the same paragraph.
    old_lines, new_lines = _lines(old_page), _lines(new_page)
    return all(f"\n{_flat(p)}\n" in new_lines for p in gone) and all(
        f"\n{_flat(p)}\n" in old_lines for p in joined
    )


def _lines(page: Sequence[str]) -> str:
    return "\n" + "\n".join(_flat(line) for line in page) + "\n"


_LIST_MARK = re.compile(r"^(?:[-*•]\s+|\|\s*)|\s*\|$")


def _flat(text: str) -> str:
    """Text with white space collapsed and list/table markers of the extractor removed."""
    return " ".join(_LIST_MARK.sub("", " ".join(text.split())).split())
