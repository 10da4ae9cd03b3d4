"""The cap on a page's text (``settings.max_text``): a page that reads as more text than any
article (a text bomb: a small compressed body that decodes to megabytes) is refused.

The cap is applied in the reader process, so a text over it never crosses back to the
checking process, and never reaches the judge or the store.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from watcher.check.reading import read_article
from watcher.config import Watch
from watcher.errors import ReaderError
from watcher.read.extract import Article


@dataclass(frozen=True, slots=True)
class TooLarge:
    """A reading refused for its size: only its length comes back from the reader."""

    length: int


# What is never visible text: tags, comments, scripts and styles (a cheap upper bound of
# the text any reading of the page can give, taken before the costly parse).
_NOT_TEXT = re.compile(r"<(script|style)\b.*?</\1\s*>|<!--.*?-->|<[^>]*>", re.S | re.I)


def read_article_within(
    html: str, watch: Watch, url: str | None, max_text: int
) -> Article | TooLarge:
    """``read_article``, or ``TooLarge`` when its text is longer than ``max_text``.

    A page whose text outside markup alone is over the cap is refused before the parse,
    which would cost hundreds of megabytes on a ten-megabyte text bomb.
    """
    if len(html) > max_text:
        outside = len(_NOT_TEXT.sub("", html))
        if outside > max_text:
            return TooLarge(outside)
    article = read_article(html, watch, url)
    length = len(article.text) + len(article.title) + len(article.byline)
    return TooLarge(length) if length > max_text else article


def within_cap(reading: Article | TooLarge, max_text: int) -> Article:
    """The article, or ``ReaderError("page text too large …")`` for a refused reading."""
    if isinstance(reading, TooLarge):
        raise ReaderError(
            f"page text too large: {reading.length:,} characters, more than max_text "
            f"({max_text:,})",
            cause="page text too large",
        )
    return reading
