"""The alert outbox (edge, I/O): alert rows from the transaction that causes them to delivery.

An alert row is written in the same transaction as its change or its outage, by the functions
here that take the caller's session, and is never deleted: ``Outbox`` only claims it, retries
it and finishes it as sent or given up.

A route's alerts go out in the order they were written, whoever delivers them: an alert is
claimed only when every earlier pending alert of its route is due and free (or held by a
dead process, whose leases are taken over at once: ``workers``). An accepted send is
recorded in its own short transaction right away, so a crash can repeat at most the one
send that was in flight.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import (
    Connection,
    Engine,
    RootTransaction,
    Table,
    and_,
    delete,
    exists,
    func,
    or_,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from watcher.errors import StoreError
from watcher.store import workers
from watcher.store.database import WRITES
from watcher.store.lease import claim_with_lease, takeover_holders
from watcher.store.models import Alert, Outage

# Serializes alert claims on PostgreSQL: a second claimer would otherwise pass over a
# route's rows locked by the first and take its later ones, out of order. Writers of alert
# rows hold it shared until they commit (``add_alerts``), so a claim never sees a later id
# committed while an earlier one is still in flight. Advisory locks are per database, not
# per schema: the lock is keyed by the alert table's oid as well, so outboxes in other
# schemas of the same database (other deployments, parallel tests) never wait for it.
_CLAIM_LOCK_CLASS = 0x616C7274  # "alrt"
_CLAIM_LOCK = "SELECT {function}(:key, 'alert'::regclass::oid::int4)"
_OUTAGES: Table = Outage.__table__  # type: ignore[attr-defined]


class Transactions(Protocol):
    """Opens one session and transaction (``Store``'s); committed only if ``writes``."""

    def __call__(self, *, writes: bool = False) -> AbstractContextManager[Session]: ...


class Outbox:
    """Alert rows after they were written: claiming, delivery outcomes, counts.

    Shares its store's sessions, so the same errors (``StoreError``) and SQLite write locking
    apply; ``Store.outbox`` is the instance to use.
    """

    def __init__(self, transaction: Transactions, dialect: str, engine: Engine) -> None:
        self._transaction = transaction
        self._dialect = dialect
        self._engine = engine

    @contextmanager
    def recorder(self) -> Iterator[Recorder]:
        """A connection checked out (and pinged) before sending, so that recording an
        accepted send after it is as little as it can be (on PostgreSQL, a COMMIT): the
        window in which a crash repeats a send is as short as it can be."""
        recorder = Recorder(self._engine, self._dialect)
        try:
            yield recorder
        finally:
            recorder.close()

    def claim_alerts(
        self,
        now: datetime,
        *,
        owner: str,
        lease_seconds: float,
        limit: int,
        route: str | None = None,
        exclude: Sequence[str] = (),
    ) -> list[Alert]:
        """Lease up to ``limit`` due alerts (of ``route``, or of any route not excluded).

        Claimed the one way pages are (``lease.claim_with_lease``), so two daemons never
        hold the same alert; oldest first, the order they are sent in. An alert waits while
        an earlier one of its route is not due yet or is held by a live process; leases of
        dead holders (and ``owner``'s own, left by an interrupted run) are taken over.
        ``owner``'s heartbeat is recorded in the same transaction.
        """
        where = [col(Alert.due_at) <= now]
        if route is not None:
            where.append(col(Alert.route) == route)
        if exclude:
            where.append(col(Alert.route).not_in(list(exclude)))
        with self._transaction(writes=True) as session:
            if self._dialect == "postgresql":
                session.connection().execute(
                    text(_CLAIM_LOCK.format(function="pg_advisory_xact_lock")),
                    {"key": _CLAIM_LOCK_CLASS},
                )
            takeover = takeover_holders(
                session,
                Alert,
                owner=owner,
                now=now,
                dialect=self._dialect,
                where=(col(Alert.due_at).is_not(None),),
                own=True,
            )
            alerts = claim_with_lease(
                session,
                Alert,
                where=(*where, ~_waits_behind_earlier(now, takeover)),
                order_by=(col(Alert.id),),
                limit=limit,
                now=now,
                lease_seconds=lease_seconds,
                owner=owner,
                takeover=takeover,
                # Wait for a row still locked (a killed holder's transaction, until the
                # server notices): passing over it would send the route's next one first.
                skip_locked=False,
            )
        alerts.sort(key=lambda alert: alert.id or 0)
        return alerts

    def forget_owner(self, owner: str) -> None:
        """``owner`` exits cleanly: its heartbeat row goes and its leases are given back."""
        with self._transaction(writes=True) as session:
            session.exec(
                update(Alert)
                .where(col(Alert.leased_by) == owner, col(Alert.due_at).is_not(None))
                .values(lease_until=None, leased_by=None)
            )
            workers.forget(session, owner)

    def beat(self, owner: str, now: datetime) -> None:
        """Record that ``owner`` (this process) is alive: its leases are not taken over."""
        with self._transaction(writes=True) as session:
            workers.beat(session, owner, now, dialect=self._dialect)

    def pending_alert_window(self, route: str) -> tuple[datetime, datetime] | None:
        """Oldest creation and earliest due time of a route's pending alerts (digests)."""
        query = select(func.min(col(Alert.created_at)), func.min(col(Alert.due_at))).where(
            col(Alert.route) == route, col(Alert.due_at).is_not(None)
        )
        with self._transaction() as session:
            oldest, earliest = session.exec(query).one()
        if oldest is None or earliest is None:
            return None
        return oldest, earliest

    def mark_alerts_sent(self, alert_ids: Sequence[int], now: datetime) -> None:
        """Finish alerts for good: they were delivered and are never sent again."""
        with self._transaction(writes=True) as session:
            session.exec(_sent(alert_ids, now))

    def note_delivered(self, alert_ids: Sequence[int], delivered: Sequence[str]) -> None:
        """Record which of a route's targets accepted the alerts so far (before the next
        target is tried), so a crash never sends to them again."""
        with self._transaction(writes=True) as session:
            session.exec(_delivered(alert_ids, delivered))

    def mark_alert_failed(
        self, alert_id: int, *, error: str, retry_at: datetime, delivered: Sequence[str]
    ) -> None:
        """Count a failed attempt and schedule the next; ``delivered`` targets are skipped."""
        with self._transaction(writes=True) as session:
            session.exec(
                update(Alert)
                .where(col(Alert.id) == alert_id, col(Alert.due_at).is_not(None))
                .values(
                    attempts=col(Alert.attempts) + 1,
                    last_error=error[:2000],
                    due_at=retry_at,
                    delivered=list(delivered),
                    lease_until=None,
                    leased_by=None,
                )
            )

    def give_up_alert(self, alert_id: int, *, now: datetime, error: str) -> None:
        """Stop retrying an alert; the row stays, with its last error, as a record."""
        with self._transaction(writes=True) as session:
            session.exec(
                update(Alert)
                .where(col(Alert.id) == alert_id, col(Alert.due_at).is_not(None))
                .values(
                    attempts=col(Alert.attempts) + 1,
                    last_error=error[:2000],
                    given_up_at=now,
                    due_at=None,
                    lease_until=None,
                    leased_by=None,
                )
            )

    def defer_alerts(self, route: str, *, until: datetime, owner: str) -> None:
        """Hold a failing route's pending alerts until ``until``, so they keep their order."""
        pending = (col(Alert.route) == route, col(Alert.due_at).is_not(None))
        with self._transaction(writes=True) as session:
            session.exec(
                update(Alert).where(*pending, col(Alert.due_at) < until).values(due_at=until)
            )
            session.exec(
                update(Alert)
                .where(*pending, col(Alert.leased_by) == owner)
                .values(lease_until=None, leased_by=None)
            )

    def alerts(self, page_id: int | None = None) -> Sequence[Alert]:
        """Outbox rows of one page (or all), oldest first."""
        query = select(Alert).order_by(col(Alert.id))
        if page_id is not None:
            query = query.where(col(Alert.page_id) == page_id)
        with self._transaction() as session:
            return session.exec(query).all()

    def alert_counts(self) -> dict[str, int]:
        """How many alerts are pending, sent and given up."""
        state = select(
            func.count().filter(col(Alert.due_at).is_not(None)),
            func.count().filter(col(Alert.sent_at).is_not(None)),
            func.count().filter(col(Alert.given_up_at).is_not(None)),
        )
        with self._transaction() as session:
            pending, sent, given_up = session.exec(state).one()
        return {"pending": pending, "sent": sent, "given_up": given_up}


class Recorder:
    """Records an accepted send on a connection checked out before it (``recorder``), in
    its own short transaction.

    The write is ``prepare``d before the send and ``commit``ted once the service accepted:
    on PostgreSQL the row is updated before the send, so after the accept only COMMIT is
    left to go out, and a process killed later than that sends nothing twice. That COMMIT
    does not wait for the server's disk (``synchronous_commit`` off, for this transaction
    only): a mark lost in a server crash repeats one send, which delivery at least once
    allows, and the window a kill can fall into shrinks from a disk flush to a round trip.
    On SQLite the write runs at ``commit`` (an open write transaction would hold every
    other writer for the length of the send). ``commit`` raises ``StoreError``: the caller
    then records through ``Outbox`` on a fresh connection.
    """

    def __init__(self, engine: Engine, dialect: str) -> None:
        self._engine = engine
        self._dialect = dialect
        self._connection = self._connect()
        self._statement: Any = None
        self._open: RootTransaction | None = None

    def prepare_sent(self, alert_ids: Sequence[int], now: datetime) -> None:
        """``Outbox.mark_alerts_sent``, to be committed once the service accepts."""
        self._prepare(_sent(alert_ids, now))

    def prepare_delivered(self, alert_ids: Sequence[int], delivered: Sequence[str]) -> None:
        """``Outbox.note_delivered``, to be committed once the service accepts."""
        self._prepare(_delivered(alert_ids, delivered))

    def commit(self) -> None:
        """The service accepted: make the prepared write permanent."""
        try:
            if self._open is not None:
                self._open.commit()
                self._open = None
                return
            self._connection.execution_options(**{WRITES: True})
            with self._connection.begin():
                self._connection.execute(self._statement)
        except SQLAlchemyError as exc:
            raise StoreError(f"database: {exc.__class__.__name__}: {exc}"[:500]) from exc

    def discard(self) -> None:
        """The send failed: nothing to record; the rows are unlocked at once."""
        if self._open is not None:
            with suppress(SQLAlchemyError):
                self._open.rollback()
            self._open = None

    def close(self) -> None:
        """Give the connection back; a write still prepared is rolled back."""
        self.discard()
        with suppress(SQLAlchemyError):
            self._connection.close()

    @property
    def prepared(self) -> bool:
        """Whether only a COMMIT is left to record the send (PostgreSQL)."""
        return self._open is not None

    def _connect(self) -> Connection:
        try:
            return self._engine.connect()
        except SQLAlchemyError as exc:
            raise StoreError(f"database: {exc.__class__.__name__}: {exc}"[:500]) from exc

    def _prepare(self, statement: Any) -> None:
        self.discard()
        self._statement = statement
        if self._dialect != "postgresql":
            return
        for attempt in range(2):
            try:
                self._connection.execution_options(**{WRITES: True})
                self._open = self._connection.begin()
                self._connection.execute(text("SET LOCAL synchronous_commit TO OFF"))
                self._connection.execute(statement)
                return
            except SQLAlchemyError:
                self.discard()
                with suppress(SQLAlchemyError):
                    self._connection.rollback()
                if attempt:
                    # Still failing: ``commit`` writes afresh, and raises if it cannot,
                    # which makes the caller use fresh connections.
                    return
                # A connection that died before the send (a failover, a terminated
                # backend): prepare again on a fresh one, before the send, rather than
                # write after the accept and widen the window a crash repeats a send in.
                with suppress(SQLAlchemyError):
                    self._connection.invalidate()
                    self._connection.close()
                try:
                    self._connection = self._connect()
                except StoreError:
                    return


def _sent(alert_ids: Sequence[int], now: datetime) -> Any:
    return (
        update(Alert)
        .where(col(Alert.id).in_(list(alert_ids)))
        .values(
            sent_at=now,
            due_at=None,
            last_error=None,
            lease_until=None,
            leased_by=None,
            attempts=col(Alert.attempts) + 1,
        )
    )


def _delivered(alert_ids: Sequence[int], delivered: Sequence[str]) -> Any:
    return (
        update(Alert)
        .where(col(Alert.id).in_(list(alert_ids)), col(Alert.due_at).is_not(None))
        .values(delivered=list(delivered))
    )


def _waits_behind_earlier(now: datetime, takeover: Sequence[str]) -> Any:
    """SQL: an earlier pending alert of the same route is not due yet, or is leased by a
    live holder (one not in ``takeover``); such an alert must wait its turn."""
    earlier = aliased(Alert)
    return exists().where(
        col(earlier.route) == col(Alert.route),
        col(earlier.id) < col(Alert.id),
        col(earlier.due_at).is_not(None),
        or_(
            col(earlier.due_at) > now,
            and_(
                col(earlier.lease_until) >= now,
                col(earlier.leased_by).not_in(list(takeover)),
            ),
        ),
    )


def add_alerts(
    session: Session,
    routes: Sequence[str],
    *,
    page_id: int,
    change_id: int | None,
    kind: str,
    event: Mapping[str, Any],
    detected_at: datetime,
) -> None:
    """One outbox row per route, due at once; written inside the caller's transaction.

    On PostgreSQL ids come from a sequence, so concurrent writers may commit them out of
    order: one that took id 7 can commit after one that took id 8. A claim in between would
    send 8, then 7. The shared claim lock, held from before the ids are taken to the commit,
    makes a claim wait for such writers (writers do not wait for each other).
    """
    if not routes:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.connection().execute(
            text(_CLAIM_LOCK.format(function="pg_advisory_xact_lock_shared")),
            {"key": _CLAIM_LOCK_CLASS},
        )
    for route in dict.fromkeys(routes):
        session.add(
            Alert(
                page_id=page_id,
                change_id=change_id,
                route=route,
                kind=kind,
                event=dict(event),
                detected_at=detected_at,
                created_at=detected_at,
                due_at=detected_at,
            )
        )


def extend_outage(
    session: Session,
    page_id: int,
    *,
    dialect: str,
    checked_at: datetime,
    error: str,
    routes: Sequence[str],
    unreachable_after: timedelta | None,
) -> None:
    """Open or extend the page's outage, inside the caller's transaction (its failed check).

    Once the outage has lasted ``unreachable_after``, one "unreachable" alert per route is
    written, once per outage.
    """
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(Outage).values(
        page_id=page_id, started_at=checked_at, last_error=error, announced_at=None
    )
    session.exec(
        statement.on_conflict_do_update(
            index_elements=["page_id"], set_={"last_error": statement.excluded.last_error}
        )
    )
    if not routes or unreachable_after is None:
        return
    # Conditional: of two daemons seeing the same streak, only one announces it.
    announced = session.exec(
        update(Outage)
        .where(
            col(Outage.page_id) == page_id,
            col(Outage.announced_at).is_(None),
            col(Outage.started_at) <= checked_at - unreachable_after,
        )
        .values(announced_at=checked_at)
        .returning(col(Outage.started_at))
    ).scalar_one_or_none()
    if announced is not None:
        event = {"since": announced.isoformat(), "error": error, "summary": error}
        add_alerts(
            session,
            routes,
            page_id=page_id,
            change_id=None,
            kind="unreachable",
            event=event,
            detected_at=checked_at,
        )


def end_outage(
    session: Session, page_id: int, *, checked_at: datetime, routes: Sequence[str]
) -> None:
    """End the page's outage, inside the caller's transaction (its successful check).

    One "reachable" alert per route follows only an outage that was announced.
    """
    # Core, not the ORM: this runs after every successful check.
    ended = (
        session.connection()
        .execute(
            delete(_OUTAGES)
            .where(_OUTAGES.c.page_id == page_id)
            .returning(_OUTAGES.c.started_at, _OUTAGES.c.announced_at, _OUTAGES.c.last_error)
        )
        .first()
    )
    if ended is None or ended[1] is None:
        return  # no outage, or one too short to have been announced: stay quiet
    started_at, _announced_at, last_error = ended
    event = {"since": started_at.isoformat(), "error": last_error, "summary": last_error}
    add_alerts(
        session,
        routes,
        page_id=page_id,
        change_id=None,
        kind="reachable",
        event=event,
        detected_at=checked_at,
    )
