"""Word-level diff of two texts via diff-match-patch (pure).

Paragraphs first, then words for spaced scripts and one token per CJK character inside
changed paragraphs; always time-bounded. The edits always reproduce both texts exactly.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from diff_match_patch import diff_match_patch


class Op(StrEnum):
    EQUAL = "="
    INSERT = "+"
    DELETE = "-"


@dataclass(frozen=True, slots=True)
class Edit:
    op: Op
    text: str


# Scripts written without spaces between words: one token per character, so a one-character
# edit shows as that character and not as the whole clause (Han, kana, Bopomofo, Yi, and
# Thai, Lao, Khmer and Myanmar). Hangul is spaced, so Korean words stay words.
_UNSPACED = (
    "\u0e00-\u0eff"  # Thai, Lao
    "\u1000-\u109f"  # Myanmar
    "\u1780-\u17ff"  # Khmer
    "\u2e80-\u2fdf"  # CJK and Kangxi radicals
    "\u3005-\u3007\u3021-\u3029\u3038-\u303c"  # 々〆〇, Suzhou numerals, 〻
    "\u3040-\u30ff"  # Hiragana, Katakana
    "\u3100-\u312f\u3190-\u31ff"  # Bopomofo, Kanbun, strokes, Katakana extension
    "\u3400-\u4dbf\u4e00-\u9fff"  # Han, extension A, unified
    "\ua000-\ua4cf"  # Yi
    "\uf900-\ufaff"  # compatibility ideographs
    "\uff66-\uff9f"  # half-width Katakana
    "\U00016fe0-\U00016fff\U0001b000-\U0001b16f"  # ideographic symbols, kana supplements
    "\U00020000-\U0003ffff"  # Han extensions B and later
)
# Characters that belong to the letter before them (Python's \w leaves combining marks
# out, which would cut Hindi or decomposed Latin words apart at every vowel sign).
_MARKS = (
    "\u0300-\u036f\u0483-\u0489\u0591-\u05bd\u05bf\u05c1\u05c2\u05c4\u05c5\u05c7"
    "\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e4\u06e7\u06e8\u06ea-\u06ed"
    "\u0900-\u0963\u0966-\u0dff"  # Indic blocks (letters, signs, digits; not the dandas)
    "\u0e31\u0e34-\u0e3a\u0e47-\u0e4e\u0eb1\u0eb4-\u0ebc\u0ec8-\u0ecd"  # Thai, Lao vowels, tones
    "\u102b-\u103e\u1056-\u1059\u105e-\u1060\u1062-\u1064\u1067-\u106d\u1071-\u1074"
    "\u1082-\u108d\u108f\u109a-\u109d\u17b4-\u17d3\u17dd"  # Myanmar, Khmer signs
    "\u1ab0-\u1aff\u1dc0-\u1dff\u200c\u200d\u20d0-\u20ff"  # more diacritics, ZWNJ, ZWJ
    "\ufe00-\ufe0f\ufe20-\ufe2f\U000e0100-\U000e01ef"  # variation selectors
)
_LETTER = rf"[^\W{_UNSPACED}]"
_WORD = rf"{_LETTER}(?:{_LETTER}|[{_MARKS}])*"
_TOKEN = re.compile(
    rf"[{_UNSPACED}][{_MARKS}]*"  # one unspaced-script character
    rf"|{_WORD}(?:['’]{_WORD})*"  # a word; "don't" is one word
    r"|\s+"  # a run of whitespace, newlines included
    rf"|.[{_MARKS}]*",  # anything else: punctuation, symbols, emoji, one by one
    re.DOTALL,
)
_COUNTED = re.compile(rf"[{_UNSPACED}]|{_LETTER}")
# A paragraph-level unit: one line with the newlines after it (or leading newlines).
_LINE = re.compile(r"[^\n]+\n*|\n+")

_DELETE, _EQUAL, _INSERT = -1, 0, 1  # diff-match-patch's operation codes
_OPS = {_DELETE: Op.DELETE, _EQUAL: Op.EQUAL, _INSERT: Op.INSERT}

# Units are encoded as one code point each; surrogates are skipped so encoded strings stay
# valid Unicode. Past this many distinct units a region falls back to a character diff.
_MAX_UNITS = 0x110000 - 0x800
# Past this length, a change region whose two sides share few token trigrams is reported
# as one replacement: diffing a rewrite token by token costs the whole time limit and
# yields chance matches ("the", commas) that read worse than a plain before/after.
_REWRITE_MIN_TOKENS = 200
_REWRITE_MAX_SHARED = 0.2
# diff_commonOverlap is quadratic on repetitive text; an overlap only counts when it is
# half an edit, so on longer edits skipping it costs nothing a reader would miss.
_OVERLAP_MAX_UNITS = 2000
# The half-match speedup is skipped when its seed occurs this often (repetitive text).
_HALF_MATCH_MAX_SEEDS = 8


def diff_texts(old: str, new: str, *, timeout_seconds: float = 0.5) -> tuple[Edit, ...]:
    """Edits turning ``old`` into ``new``; adjacent edits of one op are merged.

    Paragraphs are matched first; only regions that changed are diffed token by token.
    Identical texts give one EQUAL edit (none for two empty strings). When the time limit
    is hit the edits get coarser, never wrong. Between two EQUAL edits there is at most one
    DELETE followed by at most one INSERT.
    """
    if not timeout_seconds > 0:
        raise ValueError(f"timeout_seconds must be positive, got {timeout_seconds!r}")
    if old == new:
        return (Edit(Op.EQUAL, old),) if old else ()
    deadline = time.time() + timeout_seconds  # diff-match-patch's clock is time.time()
    dmp = _Differ(timeout_seconds)
    regions = dmp.diff_units(_LINE.findall(old), _LINE.findall(new), deadline, semantic=False)
    diffs: list[tuple[int, str]] = []
    deleted: list[str] = []
    inserted: list[str] = []
    for op, text in [*regions, (_EQUAL, "")]:
        if op == _DELETE:
            deleted.append(text)
        elif op == _INSERT:
            inserted.append(text)
        else:
            if deleted and inserted:  # a changed region: look inside it
                diffs.extend(_diff_region("".join(deleted), "".join(inserted), dmp, deadline))
            else:
                diffs += [(_DELETE, "".join(deleted)), (_INSERT, "".join(inserted))]
            diffs.append((_EQUAL, text))
            deleted.clear()
            inserted.clear()
    return _edits(diffs)


def old_text(edits: tuple[Edit, ...]) -> str:
    """The text the edits start from (equal + delete)."""
    return "".join(e.text for e in edits if e.op is not Op.INSERT)


def new_text(edits: tuple[Edit, ...]) -> str:
    """The text the edits produce (equal + insert)."""
    return "".join(e.text for e in edits if e.op is not Op.DELETE)


def count_words(text: str) -> int:
    """Words in spaced scripts plus one per CJK character: the unit of change counts."""
    return sum(1 for token in _TOKEN.findall(text) if _COUNTED.match(token))


def fewer_words_than(text: str, limit: int) -> bool:
    """``count_words(text) < limit``, reading no further into ``text`` than it must (a
    check asks this of every page it reads, almost always of a long article)."""
    seen = 0
    for match in _TOKEN.finditer(text):
        if seen >= limit:
            return False
        if _COUNTED.match(match.group()):
            seen += 1
    return seen < limit


def summarize_edits(edits: Iterable[Edit]) -> tuple[int, int]:
    """``(words_added, words_removed)``: the size of a change in reader terms."""
    added = removed = 0
    for edit in edits:
        if edit.op is Op.INSERT:
            added += count_words(edit.text)
        elif edit.op is Op.DELETE:
            removed += count_words(edit.text)
    return added, removed


class _Differ(diff_match_patch):  # type: ignore[misc]  # untyped dependency
    """diff-match-patch over sequences of units (lines, tokens) encoded as characters."""

    def __init__(self, timeout_seconds: float) -> None:
        super().__init__()
        self.Diff_Timeout = timeout_seconds  # also enables the half-match speedup

    def diff_units(
        self, old: Sequence[str], new: Sequence[str], deadline: float, *, semantic: bool
    ) -> list[tuple[int, str]]:
        """Diff two unit sequences; each diff's text is whole units, joined."""
        encoded = _encode(old, new)
        if encoded is None:  # too many distinct units: diff characters instead
            diffs: list[tuple[int, str]] = self.diff_main(
                "".join(old), "".join(new), False, deadline
            )
            return diffs
        old_codes, new_codes, vocabulary = encoded
        diffs = self.diff_main(old_codes, new_codes, False, deadline)
        if semantic:
            self.diff_cleanupSemantic(diffs)
        return [(op, "".join(map(vocabulary.__getitem__, codes))) for op, codes in diffs]

    def diff_cleanupSemanticLossless(self, diffs: list[tuple[int, str]]) -> None:
        """Skipped: it slides edits to word boundaries judged by character classes.

        Encoded units have meaningless classes, and unit edits sit on token boundaries.
        """

    def diff_halfMatch(self, text1: str, text2: str) -> tuple[str, str, str, str, str] | None:
        """The parent's speedup, skipped where its seed search would go quadratic.

        The parent tries every place a quarter of the longer text occurs in the shorter
        one, copying both texts each time; only repetitive text has many such places.
        """
        longer, shorter = (text1, text2) if len(text1) > len(text2) else (text2, text1)
        size = len(longer) // 4
        if size and any(
            _occurs_often(longer[start : start + size], shorter)
            for start in ((len(longer) + 3) // 4, (len(longer) + 1) // 2)
        ):
            return None
        half: tuple[str, str, str, str, str] | None = super().diff_halfMatch(text1, text2)
        return half

    def diff_commonOverlap(self, text1: str, text2: str) -> int:
        """The parent's overlap search, skipped where it could go quadratic (see above)."""
        if min(len(text1), len(text2)) > _OVERLAP_MAX_UNITS:
            return 0
        overlap: int = super().diff_commonOverlap(text1, text2)
        return overlap


def _occurs_often(needle: str, haystack: str) -> bool:
    """Whether ``needle`` occurs at least ``_HALF_MATCH_MAX_SEEDS`` times, overlaps counted."""
    found = -1
    for _ in range(_HALF_MATCH_MAX_SEEDS):
        found = haystack.find(needle, found + 1)
        if found < 0:
            return False
    return True


def _diff_region(old: str, new: str, dmp: _Differ, deadline: float) -> list[tuple[int, str]]:
    """Token diff of a changed region, or one replacement if the region was rewritten."""
    if time.time() >= deadline:  # out of time: the coarsest correct answer, at no cost
        return [(_DELETE, old), (_INSERT, new)]
    old_tokens, new_tokens = _TOKEN.findall(old), _TOKEN.findall(new)
    head = _common_prefix(old_tokens, new_tokens)
    tail = _common_suffix(old_tokens[head:], new_tokens[head:])
    old_mid = old_tokens[head : len(old_tokens) - tail]
    new_mid = new_tokens[head : len(new_tokens) - tail]
    if _is_rewrite(old_mid, new_mid):
        middle = [(_DELETE, "".join(old_mid)), (_INSERT, "".join(new_mid))]
    else:
        middle = dmp.diff_units(old_mid, new_mid, deadline, semantic=True)
    return [
        (_EQUAL, "".join(old_tokens[:head])),
        *middle,
        (_EQUAL, "".join(old_tokens[len(old_tokens) - tail :])),
    ]


def _common_prefix(a: Sequence[str], b: Sequence[str]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def _common_suffix(a: Sequence[str], b: Sequence[str]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[-1 - i] == b[-1 - i]:
        i += 1
    return i


def _is_rewrite(old: Sequence[str], new: Sequence[str]) -> bool:
    """True when two long token runs share too few trigrams to be an edit of one another."""
    if min(len(old), len(new)) < _REWRITE_MIN_TOKENS:
        return False
    old_grams = set(zip(old, old[1:], old[2:], strict=False))
    new_grams = set(zip(new, new[1:], new[2:], strict=False))
    shared = len(old_grams & new_grams)
    return shared < _REWRITE_MAX_SHARED * min(len(old_grams), len(new_grams))


def _encode(old: Sequence[str], new: Sequence[str]) -> tuple[str, str, dict[str, str]] | None:
    """Map each distinct unit to one character so diff-match-patch diffs units, not letters."""
    codes: dict[str, str] = {}
    for unit in (*old, *new):
        if unit not in codes:
            n = len(codes)
            if n >= _MAX_UNITS:
                return None
            codes[unit] = chr(n if n < 0xD800 else n + 0x800)
    vocabulary = {code: unit for unit, code in codes.items()}
    return "".join(map(codes.__getitem__, old)), "".join(map(codes.__getitem__, new)), vocabulary


def _edits(diffs: Iterable[tuple[int, str]]) -> tuple[Edit, ...]:
    """Canonical edits: empty ones dropped, deletes and inserts between equalities merged."""
    edits: list[Edit] = []
    pieces: dict[int, list[str]] = {_DELETE: [], _EQUAL: [], _INSERT: []}

    def flush(*ops: int) -> None:
        for op in ops:
            if text := "".join(pieces[op]):
                edits.append(Edit(_OPS[op], text))
            pieces[op].clear()

    for op, text in diffs:
        if op == _EQUAL and text:
            flush(_DELETE, _INSERT)
        elif op != _EQUAL and text:
            flush(_EQUAL)
        pieces[op].append(text)
    flush(_EQUAL, _DELETE, _INSERT)
    return tuple(edits)
