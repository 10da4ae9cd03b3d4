"""Read the sources that are due and record what they list (edge): fetch, parse, store.

Every fetch goes through ``fetch_page`` and so through the network guard with the
source's policy; an item URL the guard refuses outright (another scheme, a literal
internal address, an odd port) never becomes a page. A poll that reads no listing (an
error status, HTML, broken XML, or an empty listing where there were items) is logged,
recorded on the source, and leaves the last good item set as it was.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests

from watcher.check.reading import fetch_options
from watcher.config import Source, Watchlist
from watcher.discover.items import Item, Listing, read_listing
from watcher.errors import BlockedError, FetchError, SourceError, StoreError
from watcher.fetch import FetchOptions, fetch_page
from watcher.guard import check_url
from watcher.store.models import SourceRecord
from watcher.store.sources import Found, PollRecord
from watcher.store.store import Store

logger = logging.getLogger(__name__)

MAX_CHILD_SITEMAPS = 50  # a news sitemap index names a handful; more is a runaway index
SOURCE_RETRY_CAP = timedelta(hours=1)
REDIRECT_GRACE = timedelta(hours=1)  # first checks held up by a busy daemon or a failing host


@dataclass(frozen=True, slots=True)
class PollOutcome:
    """One poll: what was recorded, or the error that kept the last item set."""

    source_url: str
    record: PollRecord | None = None
    error: str | None = None


def sync_sources(store: Store, watchlist: Watchlist, now: datetime) -> dict[int, Source]:
    """Put the watchlist's sources in the database; source id -> its options."""
    ids = store.sources.sync(
        ((s.url, s.name) for s in watchlist.source),
        now,
        hand_written=(w.url for w in watchlist.watch),
    )
    return {ids[s.url]: s for s in watchlist.source}


def poll_due_sources(
    store: Store,
    session: requests.Session,
    watchlist: Watchlist,
    by_id: dict[int, Source],
    now: datetime,
    *,
    owner: str,
    lease_seconds: float,
    limit: int = 8,
) -> list[PollOutcome]:
    """Lease the sources that are due and poll each once, in turn."""
    outcomes = []
    for record in store.sources.claim_due(now, limit, lease_seconds, owner):
        source = by_id.get(record.id or -1)
        if source is None:
            continue  # another daemon's watchlist has it; its lease runs out
        outcomes.append(poll_source(store, session, watchlist, source, record, now))
    return outcomes


def poll_source(
    store: Store,
    session: requests.Session,
    watchlist: Watchlist,
    source: Source,
    record: SourceRecord,
    now: datetime,
) -> PollOutcome:
    """Fetch ``source`` (and a sitemap index's children), record its listing."""
    source_id = record.id or -1
    next_poll_at = now + source.poll
    options = fetch_options(watchlist.settings, source.watch_for(source.url))
    try:
        fetched = fetch_page(
            session, source.url, options, etag=record.etag, last_modified=record.last_modified
        )
        if fetched.is_not_modified:
            store.sources.record_unchanged(source_id, now, next_poll_at=next_poll_at)
            return PollOutcome(source.url, PollRecord((), 0, ()))
        if fetched.status != 200:
            raise SourceError(f"answered HTTP {fetched.status}")
        listing = read_listing(fetched.body, fetched.final_url, links=_links(source))
        items = _with_children(session, source, listing, options)
        if source.kind is not None and listing.kind != source.kind:
            raise SourceError(f"is a {listing.kind}, not a {source.kind} as configured")
        chosen = select_items(items, source, now)
        if not chosen and not items and _was_listing(store, source_id):
            raise SourceError("lists no articles at all (it listed some before)")
        found = [Found(i.url, i.title, i.published_at) for i in _allowed(chosen, options)]
        outcome = store.sources.record_listing(
            source_id,
            found,
            now,
            next_poll_at=next_poll_at,
            etag=fetched.headers.get("etag"),
            last_modified=fetched.headers.get("last-modified"),
            dropped_within=source.dropped_within,
            dropped_routes=watchlist.dropped_routes(source),
            source_label=source.label,
        )
        # a redirect shows at a page's first check, due at once: two polls back is plenty
        store.sources.merge_redirects(source_id, now - 2 * source.poll - REDIRECT_GRACE)
    except (FetchError, SourceError) as exc:
        reason = str(exc) if isinstance(exc, FetchError) else f"{source.url} {exc}"
        logger.error("source not read, keeping its last item set: %s", reason)
        retry = min(source.poll, SOURCE_RETRY_CAP)
        try:
            store.sources.record_failure(source_id, now, reason, next_poll_at=now + retry)
        except StoreError as store_exc:
            logger.warning("could not record the failure of source=%s: %s", source.url, store_exc)
        return PollOutcome(source.url, error=reason)
    if outcome.new_pages or outcome.dropped:
        logger.info(
            "source=%s: %d new, %d already watched, %d dropped",
            source.url,
            len(outcome.new_pages),
            outcome.linked,
            len(outcome.dropped),
        )
    return PollOutcome(source.url, outcome)


def select_items(items: Sequence[Item], source: Source, now: datetime) -> list[Item]:
    """The items the source's ``match`` and ``since`` let through."""
    pattern = re.compile(source.match) if source.match else None
    oldest = now - source.since if source.since is not None else None
    chosen = []
    for item in items:
        if pattern is not None and not (pattern.search(item.url) or pattern.search(item.title)):
            continue
        if oldest is not None and item.published_at is not None and item.published_at < oldest:
            continue
        chosen.append(item)
    return chosen


def _with_children(
    session: requests.Session, source: Source, listing: Listing, options: FetchOptions
) -> list[Item]:
    """A sitemap index's child sitemaps, each fetched (gzipped or not) and read."""
    items = list(listing.items)
    if not listing.children:
        return items
    if len(listing.children) > MAX_CHILD_SITEMAPS:
        raise SourceError(f"names {len(listing.children)} sitemaps (at most {MAX_CHILD_SITEMAPS})")
    for child_url in listing.children:
        child = fetch_page(session, child_url, options)
        if child.status != 200:
            raise SourceError(f"child sitemap {child_url} answered HTTP {child.status}")
        try:
            read = read_listing(child.body, child.final_url)
        except SourceError as exc:
            raise SourceError(f"child sitemap {child_url} {exc}") from None
        if read.children:
            raise SourceError(f"child sitemap {child_url} is itself an index (one level only)")
        items.extend(read.items)
    return items


def _allowed(items: Sequence[Item], options: FetchOptions) -> list[Item]:
    """Items whose URL the guard would fetch; the rest are logged and never watched."""
    kept = []
    for item in items:
        try:
            check_url(item.url, options.network)
        except BlockedError as exc:
            logger.warning("source item not watched url=%s: %s", item.url, exc)
            continue
        kept.append(item)
    return kept


def _links(source: Source) -> re.Pattern[str] | None:
    return re.compile(source.links) if source.links else None


def _was_listing(store: Store, source_id: int) -> bool:
    return any(item.is_listed for item in store.sources.items(source_id))
