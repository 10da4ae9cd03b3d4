"""Canonical text for comparison (pure): NFC, whitespace, invisible characters, ignore rules.

Never drops a character of article text except what an ignore rule explicitly matches.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from watcher.extract import Article


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


def normalize_article(article: Article, ignore: Sequence[re.Pattern[str]] = ()) -> Normalized:
    """Normalise every field of ``article`` and drop what ``ignore`` patterns match.

    Patterns apply to the normalised title, byline and each paragraph (not to the date or
    the document title, which are compared on their own); paragraphs left empty are
    dropped. ``fired`` lists, in ``ignore`` order, the patterns that removed anything.
    """
    fired: set[str] = set()
    title = _apply_ignore(normalize_text(article.title), ignore, fired)
    byline = _apply_ignore(normalize_text(article.byline), ignore, fired)
    paragraphs = tuple(
        kept
        for p in article.paragraphs
        if (kept := _apply_ignore(normalize_text(p), ignore, fired))
    )
    result = Article(
        title=title,
        byline=byline,
        published=normalize_text(article.published),
        paragraphs=paragraphs,
        page_title=normalize_text(article.page_title),
        is_fallback=article.is_fallback,
    )
    ordered = tuple(dict.fromkeys(p.pattern for p in ignore if p.pattern in fired))
    return Normalized(article=result, fired=ordered)


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


def _apply_ignore(text: str, ignore: Sequence[re.Pattern[str]], fired: set[str]) -> str:
    """Remove every match of each pattern in turn; re-normalise only if something went."""
    changed = False
    for pattern in ignore:
        stripped = pattern.sub("", text)
        if stripped != text:  # only a non-empty match changes the text
            fired.add(pattern.pattern)
            text, changed = stripped, True
    return normalize_text(text) if changed else text
