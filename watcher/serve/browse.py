"""Read-only queries for the viewer: a page of the pages list, one page's timeline, feeds.

Edge (SQL). Every list is one page of rows fetched in a fixed number of indexed queries,
never one query per row, so the viewer stays fast at 10,000 pages and 100,000 versions.
Never writes: the viewer must not be able to change the evidence it shows.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.orm import defer
from sqlmodel import Session, col, select

from watcher.store.models import Change, Page, Snapshot
from watcher.store.store import Store

PAGE_SIZE = 50


@dataclass(frozen=True, slots=True)
class PageRow:
    """One line of the pages list."""

    page: Page
    state: str  # ok, removed:KIND, error streak N, retired, never checked
    last_change: Change | None
    version_count: int


@dataclass(frozen=True, slots=True)
class PageList:
    """One page of rows and how many rows match in all."""

    rows: tuple[PageRow, ...]
    total: int
    offset: int
    limit: int


@dataclass(frozen=True, slots=True)
class PageFilter:
    """Which pages the list shows: URLs with a tag, pages with a change of a kind since."""

    urls: Collection[str] | None = None  # None: every page
    kind: str | None = None
    since: datetime | None = None


def list_pages(
    store: Store, where: PageFilter, *, offset: int = 0, limit: int = PAGE_SIZE
) -> PageList:
    """Pages with the newest change first (never-changed pages after, by id)."""
    last_change = (
        select(func.max(col(Change.id)))
        .where(col(Change.page_id) == col(Page.id))
        .correlate(Page)
        .scalar_subquery()
    )
    conditions: list[Any] = []
    if where.urls is not None:
        conditions.append(col(Page.url).in_(list(where.urls)))
    if where.kind or where.since:
        # pages with a matching change: one pass over the changes (by date when given),
        # not one probe per page
        changed = select(col(Change.page_id))
        if where.kind:
            changed = changed.where(col(Change.kind) == where.kind)
        if where.since:
            changed = changed.where(col(Change.detected_at) >= where.since)
        conditions.append(col(Page.id).in_(changed))
    with Session(store.engine) as session:
        total = session.exec(select(func.count(col(Page.id))).where(*conditions)).one()
        found = session.exec(
            select(Page, last_change.label("last_change_id"))
            .where(*conditions)
            .order_by(last_change.desc().nulls_last(), col(Page.id))
            .offset(offset)
            .limit(limit)
        ).all()
        page_ids = [page.id for page, _ in found]
        changes = _by_id(session, Change, [cid for _, cid in found if cid is not None])
        latest: dict[int, int] = {}
        counts: dict[int, int] = {}
        for page_id, newest, count in session.exec(
            select(col(Snapshot.page_id), func.max(col(Snapshot.id)), func.count(col(Snapshot.id)))
            .where(col(Snapshot.page_id).in_(page_ids))
            .group_by(col(Snapshot.page_id))
        ).all():
            if newest is not None:
                latest[page_id], counts[page_id] = newest, count
        states = {sid: (state, removal) for sid, state, removal in _states(session, latest)}
    rows = tuple(
        PageRow(
            page,
            page_state(page, states.get(latest.get(page.id or 0, 0))),
            changes.get(change_id) if change_id is not None else None,
            counts.get(page.id or 0, 0),
        )
        for page, change_id in found
    )
    return PageList(rows, total, offset, limit)


def page_state(page: Page, latest: tuple[str, str | None] | None) -> str:
    """ok, removed:KIND, error streak N, retired or never checked: what a reader needs first."""
    if not page.is_active:
        return "retired"
    if page.consecutive_errors:
        return f"error streak {page.consecutive_errors}"
    if latest is not None and latest[0] == "removed":
        return f"removed:{latest[1] or 'unknown'}"
    if page.last_checked_at is None:
        return "never checked"
    return "ok"


@dataclass(frozen=True, slots=True)
class TimelineWindow:
    """Some of a page's versions, newest first, with the changes that produced them."""

    versions: tuple[Snapshot, ...]
    changes: tuple[Change, ...]
    total: int
    offset: int
    older_id: int | None  # the version just before the oldest shown, for its diff link
    latest: tuple[str, str | None] | None  # state and removal of the newest version


def timeline_window(
    store: Store, page_id: int, *, offset: int = 0, limit: int = 100
) -> TimelineWindow:
    """One screen of a page's history: a page of 1,000 versions renders a hundred at a time."""
    of_page = col(Snapshot.page_id) == page_id
    with Session(store.engine) as session:
        total = session.exec(select(func.count(col(Snapshot.id))).where(of_page)).one()
        versions = session.exec(
            select(Snapshot)
            .options(defer(Snapshot.text))  # type: ignore[arg-type]
            .where(of_page)
            .order_by(col(Snapshot.id).desc())
            .offset(offset)
            .limit(limit)
        ).all()
        newest = session.exec(
            select(col(Snapshot.state), col(Snapshot.removal))
            .where(of_page)
            .order_by(col(Snapshot.id).desc())
            .limit(1)
        ).first()
        changes: Sequence[Change] = ()
        older_id = None
        if versions:
            low, high = versions[-1].id or 0, versions[0].id or 0
            changes = session.exec(
                select(Change)
                .where(
                    col(Change.page_id) == page_id,
                    col(Change.snapshot_id) >= low,
                    col(Change.snapshot_id) <= high,
                )
                .order_by(col(Change.id).desc())
            ).all()
            older_id = session.exec(
                select(func.max(col(Snapshot.id))).where(of_page, col(Snapshot.id) < low)
            ).one()
    latest = (newest[0], newest[1]) if newest else None
    return TimelineWindow(tuple(versions), tuple(changes), total, offset, older_id, latest)


def versions_by_id(store: Store, ids: Collection[int]) -> dict[int, Snapshot]:
    """Versions by id in one query (a feed needs two per entry)."""
    if not ids:
        return {}
    with Session(store.engine) as session:
        rows = session.exec(select(Snapshot).where(col(Snapshot.id).in_(list(ids)))).all()
        return {row.id: row for row in rows if row.id is not None}


def version_before(store: Store, page_id: int, version_id: int) -> int | None:
    """The id of the version stored just before ``version_id``, if any."""
    with Session(store.engine) as session:
        return session.exec(
            select(func.max(col(Snapshot.id))).where(
                col(Snapshot.page_id) == page_id, col(Snapshot.id) < version_id
            )
        ).one()


def latest_good_before(store: Store, page_id: int, version_id: int) -> Snapshot | None:
    """The newest ``ok`` version before ``version_id``: what a restoration is compared with."""
    with Session(store.engine) as session:
        return session.exec(
            select(Snapshot)
            .where(
                col(Snapshot.page_id) == page_id,
                col(Snapshot.id) < version_id,
                col(Snapshot.state) == "ok",
            )
            .order_by(col(Snapshot.id).desc())
            .limit(1)
        ).first()


def recent_changes(
    store: Store,
    *,
    kinds: Collection[str],
    page_ids: Collection[int] | None = None,
    urls: Collection[str] | None = None,
    limit: int = 50,
) -> list[tuple[Change, Page]]:
    """The newest changes of the given kinds (of some pages), newest first, with pages."""
    query = select(Change, Page).join(Page, col(Page.id) == col(Change.page_id))
    query = query.where(col(Change.kind).in_(list(kinds)))
    if page_ids is not None:
        query = query.where(col(Change.page_id).in_(list(page_ids)))
    if urls is not None:
        query = query.where(col(Page.url).in_(list(urls)))
    with Session(store.engine) as session:
        rows = session.exec(query.order_by(col(Change.id).desc()).limit(limit)).all()
        return [(change, page) for change, page in rows]


def _states(session: Session, latest: dict[int, int]) -> list[tuple[int, str, str | None]]:
    if not latest:
        return []
    rows = session.exec(
        select(col(Snapshot.id), col(Snapshot.state), col(Snapshot.removal)).where(
            col(Snapshot.id).in_(list(latest.values()))
        )
    ).all()
    return [(sid, state, removal) for sid, state, removal in rows if sid is not None]


def _by_id(session: Session, model: type[Change], ids: list[int]) -> dict[int, Change]:
    if not ids:
        return {}
    rows = session.exec(select(model).where(col(model.id).in_(ids))).all()
    return {row.id: row for row in rows if row.id is not None}
