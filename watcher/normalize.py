"""Canonical text for comparison (pure): NFC, whitespace, invisible characters, ignore rules.

Never drops a character of article text except what an ignore rule explicitly matches.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from watcher.extract import Article


@dataclass(frozen=True, slots=True)
class Normalized:
    """A normalised article and the ignore patterns that removed something from it."""

    article: Article
    fired: tuple[str, ...]


def normalize_text(text: str) -> str:
    """NFC, drop zero-width/format characters, collapse runs of spaces; keep paragraph breaks."""
    raise NotImplementedError


def normalize_article(article: Article, ignore: Sequence[re.Pattern[str]] = ()) -> Normalized:
    """Normalise every field of ``article`` and drop what ``ignore`` patterns match."""
    raise NotImplementedError
