"""Word-level diff of two texts via diff-match-patch (pure).

Words for spaced scripts, one token per CJK character; always time-bounded.
The edits always reproduce both texts exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Op(StrEnum):
    EQUAL = "="
    INSERT = "+"
    DELETE = "-"


@dataclass(frozen=True, slots=True)
class Edit:
    op: Op
    text: str


def diff_texts(old: str, new: str, *, timeout_seconds: float = 0.5) -> tuple[Edit, ...]:
    """Edits turning ``old`` into ``new``; adjacent edits of one op are merged."""
    raise NotImplementedError


def old_text(edits: tuple[Edit, ...]) -> str:
    """The text the edits start from (equal + delete)."""
    return "".join(e.text for e in edits if e.op is not Op.INSERT)


def new_text(edits: tuple[Edit, ...]) -> str:
    """The text the edits produce (equal + insert)."""
    return "".join(e.text for e in edits if e.op is not Op.DELETE)


def count_words(text: str) -> int:
    """Words in spaced scripts plus one per CJK character: the unit of change counts."""
    raise NotImplementedError
