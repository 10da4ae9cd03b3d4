"""Counts for operators (the metrics endpoint): pages by state and tier, and the outbox.

Read-only and cheap: grouped counts over indexed columns, the newest version of each
page found through the (page_id, id) index.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, func, literal_column, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import aliased
from sqlmodel import col

from watcher.errors import StoreError
from watcher.store.models import Alert, Page, Snapshot
from watcher.store.store import Store

PAGE_STATES = ("new", "ok", "removed", "failing", "retired")


@dataclass(frozen=True, slots=True)
class OperatorCounts:
    """Active pages by state and by tier, alerts by state, and failed delivery attempts."""

    pages_by_state: dict[str, int]
    pages_by_tier: dict[str, int]  # interval in seconds, "none" (no schedule) or "retired"
    alerts_by_state: dict[str, int]  # pending, sent, given_up
    delivery_failures: int


def operator_counts(store: Store) -> OperatorCounts:
    """Count what the database holds now; raises ``StoreError`` when it cannot."""
    try:
        with store.engine.connect() as connection:
            states, tiers = _pages(connection)
            pending, sent, given_up, attempts = connection.execute(
                select(
                    func.count().filter(col(Alert.due_at).is_not(None)),
                    func.count().filter(col(Alert.sent_at).is_not(None)),
                    func.count().filter(col(Alert.given_up_at).is_not(None)),
                    func.coalesce(func.sum(col(Alert.attempts)), 0),
                )
            ).one()
    except SQLAlchemyError as exc:
        raise StoreError(f"counting for metrics: {exc}") from exc
    alerts = {"pending": pending, "sent": sent, "given_up": given_up}
    # a delivered alert's last attempt was its success; every other attempt failed
    return OperatorCounts(states, tiers, alerts, int(attempts) - sent)


def _pages(connection: Connection) -> tuple[dict[str, int], dict[str, int]]:
    inner = aliased(Snapshot)
    newest = (
        select(func.max(col(inner.id)))
        .where(col(inner.page_id) == col(Page.id))
        .correlate(Page)
        .scalar_subquery()
    )
    retired = col(Page.retired_at).is_not(None)
    # a literal, not a parameter: PostgreSQL matches the GROUP BY expression by its text
    failing = col(Page.consecutive_errors) > literal_column("0")
    query = (
        select(retired, failing, col(Snapshot.state), col(Page.tier_every_seconds), func.count())
        .select_from(Page)
        .outerjoin(Snapshot, col(Snapshot.id) == newest)
        .where(col(Page.is_active))
        .group_by(retired, failing, col(Snapshot.state), col(Page.tier_every_seconds))
    )
    states = dict.fromkeys(PAGE_STATES, 0)
    tiers: dict[str, int] = {}
    for is_retired, is_failing, state, every, count in connection.execute(query):
        name = "retired" if is_retired else "failing" if is_failing else state or "new"
        states[name] = states.get(name, 0) + count
        tier = "retired" if is_retired else str(every) if every is not None else "none"
        tiers[tier] = tiers.get(tier, 0) + count
    return states, tiers
