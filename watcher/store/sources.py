"""Sources and the articles they list (edge, I/O): poll leases, new pages, dropped items.

A discovered article is a page like a hand-written one, with ``source_id`` set; its first
check is due at once and ahead of routine checks, because the earliest version is the most
valuable evidence. Only a listing that was read is recorded: a failed poll leaves the last
good item set as it was, so nothing reads as dropped because a feed broke.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from watcher.store import outbox
from watcher.store.lease import claim_with_lease
from watcher.store.models import Change, Page, Snapshot, SourceItem, SourceRecord

logger = logging.getLogger(__name__)

# A new article's first check is due this far in the past: claimed before routine checks
# that are overdue by less (claims go most overdue first).
FIRST_CHECK_HEAD_START = timedelta(days=1)
_CHUNK = 500

Transaction = Callable[..., AbstractContextManager[Session]]


@dataclass(frozen=True, slots=True)
class Found:
    """One article in a listing, as plain values."""

    url: str
    title: str = ""
    published_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Dropped:
    """An article that left its source soon after it came, while its page was online."""

    page_id: int
    url: str
    change_id: int


@dataclass(frozen=True, slots=True)
class PollRecord:
    """What one read listing changed: new pages, known pages it now lists, dropped items."""

    new_pages: tuple[int, ...]
    linked: int
    dropped: tuple[Dropped, ...]


class Sources:
    """The source tables, reached through the store's transactions."""

    def __init__(self, transaction: Transaction) -> None:
        self._transaction = transaction

    def sync(
        self, sources: Iterable[tuple[str, str]], now: datetime, *, hand_written: Iterable[str]
    ) -> dict[str, int]:
        """Make ``(url, name)`` the active sources (new ones due at once); url -> id.

        A source that left the watchlist is deactivated, and so are the pages only it
        listed: their history stays, and they come back if the source does.
        """
        wanted = dict(sources)
        kept_urls = set(hand_written)
        with self._transaction(writes=True) as session:
            rows = {row.url: row for row in session.exec(select(SourceRecord))}
            ids: dict[str, int] = {}
            for url, name in wanted.items():
                row = rows.get(url)
                if row is None:
                    # another daemon starting at the same moment may add it first: one row
                    session.exec(_insert_new(session, url=url, name=name, now=now))
                    row = session.exec(
                        select(SourceRecord).where(col(SourceRecord.url) == url)
                    ).one()
                else:
                    row.name, row.is_active = name, True
                    row.next_poll_at = row.next_poll_at or now
                    session.add(row)
                ids[url] = _id(row.id)
            gone = [_id(row.id) for url, row in rows.items() if url not in wanted and row.is_active]
            if gone:
                session.exec(
                    update(SourceRecord)
                    .where(col(SourceRecord.id).in_(gone))
                    .values(is_active=False)
                )
            # pages whose only reason to be watched was a source that is gone (or a hand-written
            # entry that is gone while their source is not: those stay active)
            listed_by_active = select(col(SourceItem.page_id)).where(
                col(SourceItem.source_id).in_(list(ids.values()) or [-1])
            )
            orphans = [
                _id(page.id)
                for page in session.exec(
                    select(Page).where(
                        col(Page.is_active),
                        col(Page.source_id).is_not(None),
                        col(Page.id).not_in(listed_by_active),
                    )
                )
                if page.url not in kept_urls
            ]
            for start in range(0, len(orphans), _CHUNK):
                session.exec(
                    update(Page)
                    .where(col(Page.id).in_(orphans[start : start + _CHUNK]))
                    .values(is_active=False)
                )
            # pages of a source that came back
            session.exec(
                update(Page)
                .where(
                    col(Page.is_active).is_(False),
                    col(Page.id).in_(
                        select(col(SourceItem.page_id)).where(
                            col(SourceItem.source_id).in_(list(ids.values()) or [-1]),
                            col(SourceItem.is_listed),
                        )
                    ),
                )
                .values(is_active=True)
            )
        return ids

    def claim_due(
        self, now: datetime, limit: int, lease_seconds: float, owner: str
    ) -> list[SourceRecord]:
        """Lease up to ``limit`` sources due for a poll, most overdue first."""
        with self._transaction(writes=True) as session:
            rows = claim_with_lease(
                session,
                SourceRecord,
                where=(col(SourceRecord.is_active), col(SourceRecord.next_poll_at) <= now),
                order_by=(col(SourceRecord.next_poll_at), col(SourceRecord.id)),
                limit=limit,
                now=now,
                lease_seconds=lease_seconds,
                owner=owner,
            )
        rows.sort(key=lambda row: (row.next_poll_at or now, row.id or 0))
        return rows

    def record_failure(
        self, source_id: int, now: datetime, error: str, *, next_poll_at: datetime
    ) -> None:
        """A poll that read no listing: the error is kept, the item set is not touched."""
        with self._transaction(writes=True) as session:
            session.exec(
                update(SourceRecord)
                .where(col(SourceRecord.id) == source_id)
                .values(
                    last_polled_at=now,
                    last_error=error,
                    next_poll_at=next_poll_at,
                    lease_until=None,
                    leased_by=None,
                )
            )

    def record_unchanged(self, source_id: int, now: datetime, *, next_poll_at: datetime) -> None:
        """A 304: the listing is as it was, so every listed item is still listed."""
        with self._transaction(writes=True) as session:
            session.exec(
                update(SourceItem)
                .where(col(SourceItem.source_id) == source_id, col(SourceItem.is_listed))
                .values(last_seen_at=now)
            )
            session.exec(
                update(SourceRecord)
                .where(col(SourceRecord.id) == source_id)
                .values(
                    last_polled_at=now,
                    last_ok_at=now,
                    last_error=None,
                    next_poll_at=next_poll_at,
                    lease_until=None,
                    leased_by=None,
                )
            )

    def record_listing(
        self,
        source_id: int,
        found: Sequence[Found],
        now: datetime,
        *,
        next_poll_at: datetime,
        etag: str | None,
        last_modified: str | None,
        dropped_within: timedelta,
        dropped_routes: Sequence[str],
        source_label: str,
    ) -> PollRecord:
        """Record a listing that was read: new articles become pages due at once, known
        ones are linked, and an item that left within ``dropped_within`` while its page is
        online is a ``dropped`` change (with an outbox row per route in ``dropped_routes``).
        """
        listing = {item.url: item for item in found}
        with self._transaction(writes=True) as session:
            items = {
                item.url: item
                for item in session.exec(
                    select(SourceItem).where(col(SourceItem.source_id) == source_id)
                )
            }
            pages = dict(_pages_by_url(session, [u for u in listing if u not in items]))
            new_pages: list[int] = []
            linked = 0
            for url, entry in listing.items():
                item = items.get(url)
                if item is not None:
                    item.last_seen_at = now
                    item.is_listed, item.dropped_at = True, None
                    session.add(item)
                    continue
                page = pages.get(url)
                if page is None:
                    page = Page(
                        url=url,
                        name=entry.title[:300],
                        created_at=now,
                        next_check_at=now - FIRST_CHECK_HEAD_START,
                        source_id=source_id,
                        discovered_at=now,
                        published_at=entry.published_at,
                    )
                    session.add(page)
                    session.flush()
                    new_pages.append(_id(page.id))
                else:
                    linked += 1
                    if page.published_at is None and entry.published_at is not None:
                        page.published_at = entry.published_at
                        session.add(page)
                session.add(
                    SourceItem(
                        source_id=source_id,
                        page_id=_id(page.id),
                        url=url,
                        title=entry.title,
                        published_at=entry.published_at,
                        first_seen_at=now,
                        last_seen_at=now,
                    )
                )
            dropped = [
                _drop(session, item, now, dropped_within, dropped_routes, source_label)
                for url, item in items.items()
                if url not in listing and item.is_listed
            ]
            session.exec(
                update(SourceRecord)
                .where(col(SourceRecord.id) == source_id)
                .values(
                    last_polled_at=now,
                    last_ok_at=now,
                    last_error=None,
                    etag=etag,
                    last_modified=last_modified,
                    next_poll_at=next_poll_at,
                    lease_until=None,
                    leased_by=None,
                )
            )
        return PollRecord(tuple(new_pages), linked, tuple(d for d in dropped if d is not None))

    def merge_redirects(self, source_id: int, since: datetime) -> int:
        """Fold a page the source discovered after ``since`` whose check was redirected to a
        page already watched into that page (one article, one page); returns how many.

        Only recent discoveries are looked at: a redirect shows at the first check, and a
        poll must not cost a query per page the source ever listed.
        """
        merged = 0
        with self._transaction(writes=True) as session:
            candidates = session.exec(
                select(Page).where(
                    col(Page.source_id) == source_id,
                    col(Page.is_active),
                    col(Page.discovered_at) >= since,
                )
            ).all()
            for page in candidates:
                final_url = session.exec(
                    select(col(Snapshot.final_url))
                    .where(col(Snapshot.page_id) == page.id)
                    .order_by(col(Snapshot.id).desc())
                    .limit(1)
                ).first()
                if final_url is None or final_url == page.url:
                    continue
                target = session.exec(
                    select(Page).where(col(Page.url) == final_url, col(Page.id) != page.id)
                ).first()
                if target is None:
                    continue
                session.exec(
                    update(SourceItem)
                    .where(col(SourceItem.page_id) == page.id)
                    .values(page_id=target.id)
                )
                page.is_active = False
                session.add(page)
                if not target.is_active:
                    target.is_active = True
                    session.add(target)
                merged += 1
                logger.info("discovered url=%s redirects to watched url=%s", page.url, final_url)
        return merged

    def record_tier(
        self,
        page_id: int,
        *,
        every_seconds: int | None,
        fast_until: datetime | None,
        retired_at: datetime | None,
        owner: str,
    ) -> None:
        """Where a page stands on its age schedule; a retired page is checked no more (its
        lease is given back and it has no next check), its history stays."""
        values: dict[str, Any] = {"tier_every_seconds": every_seconds, "fast_until": fast_until}
        if retired_at is not None:
            values.update(retired_at=retired_at, next_check_at=None)
            values.update(lease_until=None, leased_by=None)
        with self._transaction(writes=True) as session:
            session.exec(
                update(Page)
                .where(col(Page.id) == page_id, col(Page.leased_by) == owner)
                .values(**values)
            )

    def tier_counts(self) -> dict[int | None, int]:
        """Active pages per age tier (its interval in seconds; None: retired)."""
        query = (
            select(col(Page.tier_every_seconds), col(Page.retired_at).is_(None), func.count())
            .where(
                col(Page.is_active),
                col(Page.tier_every_seconds).is_not(None) | col(Page.retired_at).is_not(None),
            )
            .group_by(col(Page.tier_every_seconds), col(Page.retired_at).is_(None))
        )
        counts: dict[int | None, int] = {}
        with self._transaction() as session:
            for every, is_live, count in session.exec(query):
                key = every if is_live else None
                counts[key] = counts.get(key, 0) + count
        return counts

    def sources(self) -> Sequence[SourceRecord]:
        with self._transaction() as session:
            return session.exec(select(SourceRecord).order_by(col(SourceRecord.id))).all()

    def items(self, source_id: int | None = None) -> Sequence[SourceItem]:
        query = select(SourceItem).order_by(col(SourceItem.id))
        if source_id is not None:
            query = query.where(col(SourceItem.source_id) == source_id)
        with self._transaction() as session:
            return session.exec(query).all()

    def sources_by_page(self) -> dict[int, list[str]]:
        """page id -> the sources (name or URL) that list or listed it, for ``watcher list``."""
        query = (
            select(col(SourceItem.page_id), col(SourceRecord.name), col(SourceRecord.url))
            .join(SourceRecord, col(SourceRecord.id) == col(SourceItem.source_id))
            .order_by(col(SourceItem.id))
        )
        out: dict[int, list[str]] = {}
        with self._transaction() as session:
            for page_id, name, url in session.exec(query):
                labels = out.setdefault(page_id, [])
                if (name or url) not in labels:
                    labels.append(name or url)
        return out


def _pages_by_url(session: Session, urls: list[str]) -> Iterator[tuple[str, Page]]:
    for start in range(0, len(urls), _CHUNK):
        for page in session.exec(
            select(Page).where(col(Page.url).in_(urls[start : start + _CHUNK]))
        ):
            yield page.url, page


def _drop(
    session: Session,
    item: SourceItem,
    now: datetime,
    within: timedelta,
    routes: Sequence[str],
    source_label: str,
) -> Dropped | None:
    """Mark ``item`` unlisted; a ``dropped`` change if it left soon and its page is online."""
    item.is_listed = False
    session.add(item)
    listed_for = now - item.first_seen_at
    if listed_for > within:
        return None
    latest = session.exec(
        select(Snapshot)
        .where(col(Snapshot.page_id) == item.page_id)
        .order_by(col(Snapshot.id).desc())
        .limit(1)
    ).first()
    if latest is None or latest.state != "ok" or latest.id is None:
        return None  # never captured, or already removed (reported as such): not a drop
    item.dropped_at = now
    summary = f"Left {source_label} {_span(listed_for)} after it appeared; the page is still online"
    change = Change(
        page_id=item.page_id,
        snapshot_id=latest.id,
        kind="dropped",
        summary=summary,
        detected_at=now,
    )
    session.add(change)
    session.flush()
    change_id = _id(change.id)
    event: dict[str, Any] = {"summary": summary, "source": source_label, "final_url": item.url}
    outbox.add_alerts(
        session,
        routes,
        page_id=item.page_id,
        change_id=change_id,
        kind="dropped",
        event=event,
        detected_at=now,
    )
    logger.info("dropped from source=%s url=%s after %s", source_label, item.url, listed_for)
    return Dropped(item.page_id, item.url, change_id)


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h" if minutes < 48 * 60 else f"{minutes // 1440} days"


def _id(value: int | None) -> int:
    if value is None:
        raise AssertionError("row has no id after flush")
    return value


def _insert_new(session: Session, *, url: str, name: str, now: datetime) -> Any:
    """A new source's row, or nothing when a concurrent sync has just added it."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    values = {"url": url, "name": name, "created_at": now, "next_poll_at": now, "is_active": True}
    return insert(SourceRecord).values(values).on_conflict_do_nothing(index_elements=["url"])
