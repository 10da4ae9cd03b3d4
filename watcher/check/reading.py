"""How a watch is fetched and read: fetch options, the stored text of a page and of a version.

Shared by the check pipeline, its second looks, the CLI and the benchmarks, so that
every one of them reads a page exactly the same way. The functions that parse HTML
(``read_article``, ``page_lines``, ``visible_lines``, ``locate_article``,
``reads_as_before``) are run in reader processes (``watcher.check.readers``), never in a
checking thread: they take and return plain data.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from watcher.check.readers import PRELOAD, ReaderPool
from watcher.config import Settings, Watch
from watcher.fetch import FetchOptions
from watcher.guard import NetworkPolicy
from watcher.read.diff import fewer_words_than
from watcher.read.extract import (
    LINE_PARTS,
    Article,
    extract_article,
    prepare_page,
    stated_date,
    with_lines,
)
from watcher.read.glance import glance
from watcher.read.locate import Locator, find_locator, reads_the_same
from watcher.read.normalize import builtin_ignore, compile_ignore, normalize_article, normalize_text
from watcher.read.shell import SHELL_WORDS

if TYPE_CHECKING:  # the store's models pull in SQLAlchemy, which no reader needs
    from watcher.store.models import Snapshot

# Bump when read_article can give another Article for the same HTML (a change to
# extraction or normalisation): versions read under another reader are read again from
# their raw body before they are compared, so an upgrade never reports an edit.
READER = "8"


def reader_key(watch: Watch) -> str:
    """How a watch's versions are read: this watcher's reader and the watch's own mode,
    selector and exclude selectors (changing those is not an edit of the page either)."""
    setup = json.dumps([watch.mode, watch.selector, list(watch.exclude)])
    return f"{READER}:{hashlib.sha256(setup.encode()).hexdigest()[:16]}"


def start_readers(
    settings: Settings, processes: int | None = None, *, warm: bool = True
) -> ReaderPool:
    """The reader processes for ``settings`` (``processes`` overrides ``settings.readers``),
    started in the background. ``warm`` (the daemon's choice) readies them before the
    first page: the fork server builds every reader's lazy state once
    (``watcher.check.warm``, about 1.5 s), shared by every reader it forks. A one-off
    command skips that: a page that turns out unchanged never needs trafilatura."""
    return ReaderPool(
        processes or settings.readers,
        timeout_seconds=settings.read_timeout.total_seconds(),
        memory_bytes=settings.reader_memory,
        warm_up=started,
        preload=(*PRELOAD, "watcher.check.warm") if warm else PRELOAD,
    )


def started() -> None:
    """Each reader's first task: it only makes the reader start (any warming was done once,
    in the fork server)."""


def warm_up() -> None:
    """Build what reading sets up lazily (``watcher.check.warm`` runs it in the fork
    server): trafilatura's first-page state, and htmldate's date parser in every language,
    by a date no locale reads, which is tried in each of them."""
    read_article(_WARM_UP_PAGE, Watch(url="https://example.org/warm-up"))
    _date_parser().get_date_data(_UNDATABLE)


def _date_parser() -> Any:
    """The date parser htmldate sends the dates it cannot read itself to (lazily made)."""
    from htmldate.extractors import get_external_parser

    return get_external_parser()


# Looks like a date (a number among words) but is one in no language: every locale is tried.
_UNDATABLE = "qqzx 13 vvkq"

_WARM_UP_PAGE = (
    "<html><head><title>Warm-up</title></head><body><article><h1>Warm-up</h1>"
    "<p>Published 2026-01-01 by A. Reader. This paragraph is long enough to be read as "
    "the text of an article, so that every reading step runs once.</p></article></body></html>"
)


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
        network=NetworkPolicy(
            allow_private=watch.allow_private or settings.allow_private,
            ports=frozenset(settings.allowed_ports),
            allowed_networks=tuple(ipaddress.ip_network(n) for n in settings.allow_networks),
        ),
    )


def read_article(html: str, watch: Watch, url: str | None = None) -> Article:
    """Extract and normalise without ignore rules: what is stored as the version's text."""
    article = extract_article(
        html, mode=watch.mode, selector=watch.selector, exclude=tuple(watch.exclude), url=url
    )
    return normalize_article(article).article


def visible_lines(html: str, watch: Watch) -> tuple[str, ...]:
    """The page's whole visible text, one normalised line per block: a short removal
    notice that the article extractor drops still stands here."""
    page = extract_article(html, mode="page", exclude=tuple(watch.exclude))
    return tuple(t for p in page.paragraphs if (t := normalize_text(p)))


def page_lines(html: str, watch: Watch, ignore: Sequence[re.Pattern[str]]) -> tuple[str, ...]:
    """All visible text of a page, one line per block, read like the article is compared."""
    page = extract_article(html, mode="page", exclude=tuple(watch.exclude))
    return normalize_article(page, ignore).article.paragraphs


def snapshot_article(snapshot: Snapshot) -> Article:
    """The stored text of a version as an ``Article``."""
    paragraphs = tuple(p for p in snapshot.text.split("\n\n") if p) if snapshot.text else ()
    article = Article(
        title=snapshot.title,
        byline=snapshot.byline,
        published=snapshot.published,
        paragraphs=paragraphs,
        page_title=snapshot.page_title,
    )
    return with_parts(article, snapshot.parts)


def parts_json(article: Article) -> str:
    """The parts of ``article`` kept beside its body (``Snapshot.parts``), as JSON."""
    data: dict[str, object] = {
        name: list(values) for name in LINE_PARTS if (values := getattr(article, name))
    }
    if article.is_fallback:
        data["is_fallback"] = True
    return json.dumps(data, ensure_ascii=False, sort_keys=True) if data else ""


def with_parts(article: Article, stored: str) -> Article:
    """``article`` with the parts ``parts_json`` kept; "" or anything unreadable adds none
    (a version stored by an older watcher: it is read again from its body to compare)."""
    try:
        data = json.loads(stored) if stored else {}
    except ValueError:
        return article
    if not isinstance(data, dict):
        return article
    found = {
        name: tuple(str(v) for v in values)
        for name in LINE_PARTS
        if isinstance(values := data.get(name), list)
    }
    return with_lines(replace(article, is_fallback=data.get("is_fallback") is True), found)


def compare_rules(watch: Watch) -> tuple[re.Pattern[str], ...]:
    """What is dropped before two versions are compared: built-in volatile-text rules
    plus the watch's own. The stored text keeps everything."""
    return (*builtin_ignore(), *compile_ignore(watch.ignore))


def _salt(watch: Watch, ignore: Sequence[re.Pattern[str]]) -> str:
    """How the watch is read: a stored locator only holds for the same reading."""
    setup = [watch.mode, watch.selector, list(watch.exclude), [p.pattern for p in ignore]]
    return hashlib.sha256(json.dumps(setup).encode()).hexdigest()


def locate_article(
    html: str,
    watch: Watch,
    article: Article,
    ignore: Sequence[re.Pattern[str]],
    url: str | None = None,
) -> str | None:
    """Where ``article`` (read from ``html`` fetched from ``url``) stands in the page, and
    the page's glance, stored for the next check's quick re-read; None when the watch is
    not in article mode or the page has no body.

    A page with almost no text gets no glance: an app shell's article is in its scripts,
    which the glance leaves out.
    """
    if watch.mode != "article" or not html:
        return None
    root = prepare_page(html, watch.exclude)
    if root is None:
        return None
    salt = _salt(watch, ignore)
    searched = not stated_date(root)
    locator = find_locator(root, article, ignore, salt, url)
    if locator is None:
        return None
    if not fewer_words_than(article.text, SHELL_WORDS):
        digest = glance(html, ignore, salt, dated_text=searched)
        locator = replace(locator, glance=digest, searched=searched)
    return locator.dumps()


def reads_as_before(
    html: str,
    watch: Watch,
    stored: str | None,
    ignore: Sequence[re.Pattern[str]],
    url: str | None = None,
) -> bool:
    """True when the page reads as it did where its article was found last time
    (``quick_read``): the article is unchanged."""
    return quick_read(html, watch, stored, ignore, url) is not False


def quick_read(
    html: str,
    watch: Watch,
    stored: str | None,
    ignore: Sequence[re.Pattern[str]],
    url: str | None = None,
) -> bool | str:
    """Whether the page reads as it did where its article was found last time: True, or
    the stored locator to keep in its place (a str), when it does; False when the article
    must be read in full. ``url`` is where the page was fetched from, as it was given to
    ``locate_article``.

    The glance is tried first. When it differs but the block that held the article and
    every statement of its headline, byline and date read as they did (the related links
    moved), this load's glance is kept for the next check. A page whose glance differed
    ``GLANCE_TRIES`` times in a row, each time for furniture only, is not glanced at again
    until its article is next placed: its furniture changes on every load.
    """
    locator = Locator.loads(stored)
    if locator is None or watch.mode != "article" or not html:
        return False
    salt = _salt(watch, ignore)
    glancing = bool(locator.glance) and locator.misses < GLANCE_TRIES
    digest = glance(html, ignore, salt, dated_text=locator.searched) if glancing else ""
    if digest and digest == locator.glance:
        return True if locator.misses == 0 else replace(locator, misses=0).dumps()
    root = prepare_page(html, watch.exclude)
    if root is None or not reads_the_same(root, locator, ignore, salt, url):
        return False
    if not digest:
        return True
    return replace(locator, glance=digest, misses=locator.misses + 1).dumps()


# Glances in a row that differ while the article reads the same, after which a page is read
# without one: a glance costs about a parse, wasted on a page that rotates its furniture.
GLANCE_TRIES = 3
