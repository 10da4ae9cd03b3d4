"""How a watch is fetched and read: fetch options, the stored text of a page and of a version.

Shared by the check pipeline, its second looks, the CLI and the benchmarks, so that
every one of them reads a page exactly the same way.
"""

from __future__ import annotations

import re

from watcher.config import Settings, Watch
from watcher.extract import Article, extract_article
from watcher.fetch import FetchOptions
from watcher.models import Snapshot
from watcher.normalize import builtin_ignore, compile_ignore, normalize_article


def fetch_options(settings: Settings, watch: Watch) -> FetchOptions:
    """The fetcher's view of a watch: its own headers/cookies/proxy plus global limits."""
    timeout = settings.timeout.total_seconds()
    return FetchOptions(
        user_agent=settings.user_agent,
        connect_timeout_seconds=timeout,
        read_timeout_seconds=timeout,
        deadline_seconds=settings.deadline.total_seconds(),
        max_bytes=settings.max_bytes,
        headers=dict(watch.headers),
        cookies=dict(watch.cookies),
        proxy=watch.proxy,
    )


def read_article(html: str, watch: Watch, url: str | None = None) -> Article:
    """Extract and normalise without ignore rules: what is stored as the version's text."""
    article = extract_article(
        html, mode=watch.mode, selector=watch.selector, exclude=tuple(watch.exclude), url=url
    )
    return normalize_article(article).article


def snapshot_article(snapshot: Snapshot) -> Article:
    """The stored text of a version as an ``Article``."""
    paragraphs = tuple(p for p in snapshot.text.split("\n\n") if p) if snapshot.text else ()
    return Article(
        title=snapshot.title,
        byline=snapshot.byline,
        published=snapshot.published,
        paragraphs=paragraphs,
        page_title=snapshot.page_title,
    )


def compare_rules(watch: Watch) -> tuple[re.Pattern[str], ...]:
    """What is dropped before two versions are compared: built-in volatile-text rules
    plus the watch's own. The stored text keeps everything."""
    return (*builtin_ignore(), *compile_ignore(watch.ignore))
