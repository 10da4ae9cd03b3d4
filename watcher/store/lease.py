"""Claiming rows with a lease (edge, I/O): the one statement pages and alerts are taken by.

A lease is ``lease_until`` and ``leased_by`` on the row. Claiming is one
``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING`` statement: a SELECT
followed by a separate UPDATE double-claims on SQLite, which drops ``FOR UPDATE``. An
expired lease makes the row claimable again, and so does the lease of a holder the caller
knows to be dead (``takeover``, from ``takeover_holders``). Never commits: the caller's
transaction does.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from watcher.store import workers
from watcher.store.models import Alert, Page, SourceRecord

Leased = TypeVar("Leased", Page, Alert, SourceRecord)


def claim_with_lease(
    session: Session,
    table: type[Leased],
    *,
    where: tuple[Any, ...],  # SQL conditions on ``table``
    order_by: tuple[Any, ...],
    limit: int,
    now: datetime,
    lease_seconds: float,
    owner: str,
    takeover: Sequence[str] = (),
    skip_locked: bool = True,
) -> list[Leased]:
    """Lease up to ``limit`` rows of ``table`` matching ``where`` and not leased now, or
    leased by one of ``takeover``.

    Rows come back in no particular order (RETURNING keeps none): the caller sorts them.
    Without ``skip_locked`` (PostgreSQL), a row another transaction has locked is waited
    for instead of passed over: a caller that must not take a later row before an earlier
    one (alerts, in order) needs that, and serializes its claims itself.
    """
    if limit <= 0:
        return []
    free = [col(table.lease_until).is_(None), col(table.lease_until) < now]
    if takeover:
        free.append(col(table.leased_by).in_(list(takeover)))
    due = (
        select(col(table.id))
        .where(*where, or_(*free))
        .order_by(*order_by)
        .limit(limit)
        .with_for_update(skip_locked=skip_locked)  # PostgreSQL only; SQLite has one writer
    )
    claim = (
        update(table)
        .where(col(table.id).in_(due.scalar_subquery()))
        .values(lease_until=now + timedelta(seconds=lease_seconds), leased_by=owner)
        .returning(table)
        .execution_options(synchronize_session=False)
    )
    return list(session.exec(claim).scalars())


def takeover_holders(
    session: Session,
    table: type[Leased],
    *,
    owner: str,
    now: datetime,
    dialect: str,
    where: tuple[Any, ...] = (),
    own: bool = False,
) -> list[str]:
    """Record ``owner``'s heartbeat, then name the holders of live leases on ``table``'s
    rows matching ``where`` that are known dead (``workers.dead_holders``): their leases
    may be claimed at once instead of when they expire. With ``own``, ``owner`` itself too
    (leases left by its own interrupted run); never for rows it may still be working on.

    The heartbeat is written in the caller's transaction, before its claim, so a process
    holding leases always has a heartbeat row.
    """
    workers.beat(session, owner, now, dialect=dialect)
    holders = session.exec(
        select(col(table.leased_by))
        .where(
            *where,
            col(table.leased_by).is_not(None),
            col(table.leased_by) != owner,
            col(table.lease_until) >= now,
        )
        .distinct()
    ).all()
    dead: list[str] = workers.dead_holders(session, [h for h in holders if h], now)
    return [owner, *dead] if own else dead
