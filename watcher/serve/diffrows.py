"""A diff laid out for reading: paragraph rows side by side, or one inline run (pure).

Takes the edits of ``watcher.diff`` and only regroups them; it never drops, merges or
re-diffs text, so both columns together still hold exactly the old and the new text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from watcher.read.diff import Edit, Op

_BREAK = "\n\n"


@dataclass(frozen=True, slots=True)
class Row:
    """One paragraph: the old side (equal and deleted runs), the new side (equal and
    inserted runs); ``is_changed`` when either side has an edit."""

    old: tuple[Edit, ...]
    new: tuple[Edit, ...]

    @property
    def is_changed(self) -> bool:
        return any(e.op is not Op.EQUAL for e in (*self.old, *self.new))


def side_by_side(edits: Sequence[Edit]) -> list[Row]:
    """Rows aligned on the paragraph breaks both versions share."""
    rows: list[Row] = []
    old: list[Edit] = []
    new: list[Edit] = []
    for edit in edits:
        if edit.op is not Op.EQUAL:
            (old if edit.op is Op.DELETE else new).append(edit)
            continue
        pieces = edit.text.split(_BREAK)
        for index, piece in enumerate(pieces):
            if index:  # a shared paragraph break closes the row
                rows.append(Row(tuple(old), tuple(new)))
                old, new = [], []
            if piece:
                old.append(Edit(Op.EQUAL, piece))
                new.append(Edit(Op.EQUAL, piece))
    if old or new:
        rows.append(Row(tuple(old), tuple(new)))
    return [row for row in rows if row.old or row.new]


def collapse_unchanged(rows: Sequence[Row], *, context: int = 1) -> list[Row | int]:
    """Changed rows with ``context`` rows around them; each elided run becomes its length."""
    keep = {
        near
        for index, row in enumerate(rows)
        if row.is_changed
        for near in range(index - context, index + context + 1)
    }
    out: list[Row | int] = []
    skipped = 0
    for index, row in enumerate(rows):
        if index in keep:
            if skipped:
                out.append(skipped)
                skipped = 0
            out.append(row)
        else:
            skipped += 1
    if skipped:
        out.append(skipped)
    return out
