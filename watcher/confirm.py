"""Confirm a detected change with a second look before it alerts (pure: no I/O).

Two fetches taken moments apart show what changes on every load: a paragraph that
differs between them is volatile (a clock, a rotating teaser, a counter) and is left
out of the comparison on both sides. A change that survives both fetches is real.
"""

from __future__ import annotations

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
