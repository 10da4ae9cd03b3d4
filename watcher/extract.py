"""Read the article out of a page's HTML (pure: no I/O).

Three modes: ``article`` (title, byline, date, main-text paragraphs via trafilatura),
``selector`` (text of the elements a CSS selector picks) and ``page`` (all visible text).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Article:
    """What a reader sees of one page: the parts watcher compares."""

    title: str
    byline: str
    published: str  # as the page states it; ISO 8601 when it can be parsed
    paragraphs: tuple[str, ...]
    page_title: str = ""  # the document's <title>, kept for removal detection

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)


def extract_article(
    html: str,
    *,
    mode: str = "article",
    selector: str | None = None,
    exclude: Sequence[str] = (),
    url: str | None = None,
) -> Article:
    """Extract an ``Article`` from ``html``; ``exclude`` CSS selectors are removed first."""
    raise NotImplementedError
