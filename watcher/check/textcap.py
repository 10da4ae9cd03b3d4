"""The cap on a page's text (``settings.max_text``): a page that reads as more text than any
article (a text bomb: a small compressed body that decodes to megabytes) is refused.

The cap is applied in the reader process, so a text over it never crosses back to the
checking process, and never reaches the judge or the store.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from watcher.check.reading import quick_read, read_article
from watcher.config import Watch
from watcher.errors import ReaderError
from watcher.read.extract import Article
from watcher.read.normalize import normalize_article


@dataclass(frozen=True, slots=True)
class Reading:
    """A page's article as stored (no ignore rules) and as the checks compare it (with
    them), both made in the reader: applying the rules to every paragraph is a large part
    of a noisy check, and the checking process reads every page's in turn."""

    article: Article
    compared: Article
    # stored versions sent along with the page, compared with the same rules
    versions: tuple[Article, ...] = ()


@dataclass(frozen=True, slots=True)
class TooLarge:
    """A reading refused for its size: only its length comes back from the reader."""

    length: int


# What is never visible text: tags, comments, scripts and styles (a cheap upper bound of
# the text any reading of the page can give, taken before the costly parse).
_NOT_TEXT = re.compile(r"<(script|style)\b.*?</\1\s*>|<!--.*?-->|<[^>]*>", re.S | re.I)


def read_article_within(
    html: str,
    watch: Watch,
    url: str | None,
    max_text: int,
    ignore: tuple[re.Pattern[str], ...] = (),
    versions: tuple[Article, ...] = (),
) -> Reading | TooLarge:
    """``read_article`` and its text compared with ``ignore`` applied, or ``TooLarge`` when
    its text is longer than ``max_text``; ``versions`` (stored versions' texts) come back
    compared with ``ignore`` too, so the check compares without applying a rule itself.

    A page whose text outside markup alone is over the cap is refused before the parse,
    which would cost hundreds of megabytes on a ten-megabyte text bomb.
    """
    if len(html) > max_text:
        outside = len(_NOT_TEXT.sub("", html))
        if outside > max_text:
            return TooLarge(outside)
    article = read_article(html, watch, url)
    length = len(article.text) + len(article.title) + len(article.byline)
    if length > max_text:
        return TooLarge(length)
    compared = tuple(normalize_article(a, ignore).article for a in (article, *versions))
    return Reading(article, compared[0], compared[1:])


def read_unless_as_before(
    html: str,
    watch: Watch,
    url: str | None,
    max_text: int,
    locator: str,
    ignore: tuple[re.Pattern[str], ...],
) -> bool | str | Reading | TooLarge:
    """What ``quick_read`` says when the page reads as before where its article was found
    last time (True, or the locator to keep); otherwise its reading
    (``read_article_within``), in the same round trip.

    A failed quick re-read is always followed by the full reading, so asking for both at
    once spares the page a second trip to a reader.
    """
    found = quick_read(html, watch, locator, ignore, url)
    if found is not False:
        return found
    if not html:
        return False
    return read_article_within(html, watch, url, max_text, ignore)


def within_cap(reading: Reading | TooLarge, max_text: int) -> Reading:
    """The reading, or ``ReaderError("page text too large …")`` for a refused one."""
    if isinstance(reading, TooLarge):
        raise ReaderError(
            f"page text too large: {reading.length:,} characters, more than max_text "
            f"({max_text:,})",
            cause="page text too large",
        )
    return reading
