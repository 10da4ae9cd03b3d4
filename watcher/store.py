"""Database access (edge, I/O): engine setup, migrations, and the queries the pipeline needs.

SQLite (WAL, busy timeout) by default, PostgreSQL for shared deployments; one code path.
A new version's blob, snapshot and change are written in one transaction, and nothing here
ever deletes a stored version.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import zstandard
from alembic import command
from alembic.config import Config
from sqlalchemy import (
    Connection,
    Engine,
    create_engine,
    delete,
    event,
    func,
    or_,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session, col, select

from watcher.errors import StoreError
from watcher.extract import Article
from watcher.fetch import FetchResult
from watcher.models import Alert, Blob, Change, Outage, Page, Snapshot

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")

# Any constant works; every watcher daemon must use the same one so that only one of them
# creates or alters tables while the others wait.
_MIGRATION_LOCK_KEY = 0x7761746368  # "watch"
_SQLITE_BUSY_TIMEOUT_MS = 30_000
_PG_CONNECT_TIMEOUT_SECONDS = 10
_ZSTD_LEVEL = 3
_CODEC = "zstd"
_CHUNK = 500  # rows per statement: stays under SQLite's bound-parameter limit
# Execution option read by the SQLite "begin" hook: this transaction will write.
_WRITES = "watcher_writes"


@dataclass(frozen=True, slots=True)
class ChangeDraft:
    """The change row to write with a new snapshot (ids are filled in by the store)."""

    kind: str  # new, changed, removed, restored
    parts: tuple[str, ...]
    removal: str | None
    summary: str
    words_added: int
    words_removed: int
    detected_at: datetime


class Store:
    """All database access; objects returned are detached and safe to read after return."""

    def __init__(self, url: str) -> None:
        """Create the engine and connect once, so a wrong URL fails at start, not mid-run.

        SQLite gets WAL, synchronous=NORMAL, a busy timeout and enforced foreign keys.
        """
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            # The URL may hold a password and could not be parsed to mask it: never echo it.
            raise StoreError(f"invalid database URL: {exc.__class__.__name__}") from exc
        self._display = parsed.render_as_string(hide_password=True)
        self.dialect = parsed.get_backend_name()
        try:
            self.engine = _create_engine(parsed)
        except (ArgumentError, ImportError, OSError) as exc:
            raise StoreError(f"cannot open database {self._display}: {exc}") from exc
        self._sessions = sessionmaker(self.engine, class_=Session, expire_on_commit=False)
        try:
            with self.engine.connect():
                pass
        except SQLAlchemyError as exc:
            self.engine.dispose()
            raise StoreError(f"cannot open database {self._display}: {_reason(exc)}") from exc

    def __repr__(self) -> str:
        return f"Store({self._display!r})"

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def migrate(self) -> None:
        """Bring the schema to the newest revision (alembic); safe to call every start.

        Concurrent callers are serialized (advisory lock on PostgreSQL, BEGIN IMMEDIATE on
        SQLite) and the upgrade is one transaction, so a crash leaves the old schema intact.
        """
        try:
            with self.engine.connect() as connection:
                if self.dialect == "sqlite":
                    self._migrate_sqlite(connection)
                else:
                    with connection.begin():
                        if self.dialect == "postgresql":
                            connection.execute(
                                text("SELECT pg_advisory_xact_lock(:key)"),
                                {"key": _MIGRATION_LOCK_KEY},
                            )
                        command.upgrade(migration_config(connection), "head")
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot migrate {self._display}: {_reason(exc)}") from exc

    def _migrate_sqlite(self, connection: Connection) -> None:
        # Batch ALTERs copy and drop tables; with foreign keys on, dropping a referenced
        # table fails or cascades. The pragma only works outside a transaction, so it is set
        # on the driver connection, and the result is checked before committing.
        raw = connection.connection.driver_connection
        if raw is None:  # pragma: no cover - a live pooled connection always has one
            raise StoreError("no driver connection")
        raw.execute("PRAGMA foreign_keys = OFF")
        try:
            connection.execution_options(**{_WRITES: True})
            with connection.begin():
                command.upgrade(migration_config(connection), "head")
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                if broken:
                    raise StoreError(f"migration left dangling foreign keys: {broken[:5]}")
        finally:
            raw.execute("PRAGMA foreign_keys = ON")

    def close(self) -> None:
        """Dispose of the engine's connections."""
        self.engine.dispose()

    def sync_pages(self, pages: Iterable[tuple[str, str]], now: datetime) -> dict[str, int]:
        """Upsert ``(url, name)`` pairs as active pages, deactivate the others; url -> id.

        A deactivated page keeps its history and comes back with it if re-added. New pages
        are due at ``now``. The upsert makes concurrent syncs by two daemons safe.
        """
        wanted = dict(pages)  # a URL listed twice keeps its last name
        rows = [
            {
                "url": url,
                "name": name,
                "is_active": True,
                "created_at": now,
                "next_check_at": now,
                "consecutive_errors": 0,
            }
            for url, name in wanted.items()
        ]
        with self._transaction(writes=True) as session:
            for start in range(0, len(rows), _CHUNK):
                session.exec(self._upsert_pages(rows[start : start + _CHUNK]))
            ids: dict[str, int] = {}
            stale: list[int] = []
            for page_id, url, is_active in session.exec(
                select(col(Page.id), col(Page.url), col(Page.is_active))
            ):
                if url in wanted:
                    ids[url] = _require_id(page_id)
                elif is_active:
                    stale.append(_require_id(page_id))
            for start in range(0, len(stale), _CHUNK):
                session.exec(
                    update(Page)
                    .where(col(Page.id).in_(stale[start : start + _CHUNK]))
                    .values(is_active=False)
                )
        if stale:
            logger.info("deactivated %d pages no longer in the watchlist", len(stale))
        return ids

    def page_by_url(self, url: str) -> Page | None:
        with self._transaction() as session:
            return session.exec(select(Page).where(col(Page.url) == url)).first()

    def get_page(self, page_id: int) -> Page | None:
        with self._transaction() as session:
            return session.get(Page, page_id)

    def latest_snapshot(self, page_id: int) -> Snapshot | None:
        with self._transaction() as session:
            return session.exec(
                select(Snapshot)
                .where(col(Snapshot.page_id) == page_id)
                .order_by(col(Snapshot.id).desc())
                .limit(1)
            ).first()

    def latest_good_snapshot(self, page_id: int) -> Snapshot | None:
        """Newest snapshot whose state is ``ok``: the baseline for a restoration diff."""
        with self._transaction() as session:
            return session.exec(
                select(Snapshot)
                .where(col(Snapshot.page_id) == page_id, col(Snapshot.state) == "ok")
                .order_by(col(Snapshot.id).desc())
                .limit(1)
            ).first()

    def record_check(
        self,
        page_id: int,
        *,
        checked_at: datetime,
        status: int | None,
        error: str | None,
        etag: str | None = None,
        last_modified: str | None = None,
        alerts: Sequence[str] = (),
        unreachable_after: timedelta | None = None,
    ) -> None:
        """Note a check that stored no version; ``error`` increments the error streak.

        ``etag``/``last_modified`` are only overwritten when given, so a 304 that omits
        them keeps the validators for the next conditional request. An error opens or
        extends the page's outage; once it has lasted ``unreachable_after``, one
        "unreachable" alert per route in ``alerts`` is written in this same transaction.
        A success ends the outage, with one "reachable" alert if it had been announced.
        """
        values: dict[str, Any] = {
            "last_checked_at": checked_at,
            "last_status": status,
            "last_error": error,
            "consecutive_errors": (col(Page.consecutive_errors) + 1 if error is not None else 0),
        }
        if etag is not None:
            values["etag"] = etag
        if last_modified is not None:
            values["last_modified"] = last_modified
        with self._transaction(writes=True) as session:
            result = session.exec(update(Page).where(col(Page.id) == page_id).values(values))
            if result.rowcount != 1:
                raise StoreError(f"no page with id {page_id}")
            if error is None:
                self._end_outage(session, page_id, checked_at, alerts)
            else:
                self._extend_outage(session, page_id, checked_at, error, alerts, unreachable_after)

    def record_version(
        self,
        page_id: int,
        *,
        fetch: FetchResult,
        article: Article,
        state: str,
        removal: str | None,
        change: ChangeDraft | None,
        previous_snapshot_id: int | None,
        alerts: Sequence[str] = (),
        alert_event: Mapping[str, Any] | None = None,
    ) -> tuple[int, int | None]:
        """Write blob, snapshot, change and its alerts in one transaction; returns ids.

        The page row is updated first: on PostgreSQL that locks it, so two writers of the
        same page queue up instead of interleaving their versions. ``alerts`` are the
        page's routes: with ``alert_event`` the change gets one outbox row per route, so
        the change and its alerts exist together or not at all; a response also ends an
        announced outage with a "reachable" alert.
        """
        body_sha256 = hashlib.sha256(fetch.body).hexdigest()
        # Compress before taking the write lock; a compressor is cheap and not thread-safe.
        compressed = zstandard.ZstdCompressor(level=_ZSTD_LEVEL).compress(fetch.body)
        article_text = article.text
        with self._transaction(writes=True) as session:
            result = session.exec(
                update(Page)
                .where(col(Page.id) == page_id)
                .values(
                    last_checked_at=fetch.fetched_at,
                    last_status=fetch.status,
                    last_error=None,
                    consecutive_errors=0,
                    etag=_header(fetch.headers, "etag"),
                    last_modified=_header(fetch.headers, "last-modified"),
                )
            )
            if result.rowcount != 1:
                raise StoreError(f"no page with id {page_id}")
            session.exec(
                self._insert_blob(
                    {
                        "sha256": body_sha256,
                        "codec": _CODEC,
                        "size": len(fetch.body),
                        "data": compressed,
                        "created_at": fetch.fetched_at,
                    }
                )
            )
            snapshot = Snapshot(
                page_id=page_id,
                fetched_at=fetch.fetched_at,
                status=fetch.status,
                final_url=fetch.final_url,
                headers={str(k): str(v) for k, v in fetch.headers.items()},
                redirects=[
                    {"url": hop.url, "status": hop.status, "location": hop.location}
                    for hop in fetch.redirects
                ],
                body_sha256=body_sha256,
                encoding=fetch.encoding,
                state=state,
                removal=removal,
                title=article.title,
                byline=article.byline,
                published=article.published,
                page_title=article.page_title,
                text=article_text,
                text_sha256=hashlib.sha256(article_text.encode("utf-8")).hexdigest(),
            )
            session.add(snapshot)
            session.flush()
            snapshot_id = _require_id(snapshot.id)
            change_id: int | None = None
            if change is not None:
                row = Change(
                    page_id=page_id,
                    snapshot_id=snapshot_id,
                    previous_snapshot_id=previous_snapshot_id,
                    kind=change.kind,
                    parts=list(change.parts),
                    removal=change.removal,
                    summary=change.summary,
                    words_added=change.words_added,
                    words_removed=change.words_removed,
                    detected_at=change.detected_at,
                )
                session.add(row)
                session.flush()
                change_id = _require_id(row.id)
                if alert_event is not None:
                    _add_alerts(
                        session,
                        alerts,
                        page_id=page_id,
                        change_id=change_id,
                        kind=change.kind,
                        event=alert_event,
                        detected_at=change.detected_at,
                    )
            self._end_outage(session, page_id, fetch.fetched_at, alerts)
        return snapshot_id, change_id

    def snapshots(self, page_id: int) -> Sequence[Snapshot]:
        """Every stored version of a page, oldest first."""
        with self._transaction() as session:
            return session.exec(
                select(Snapshot).where(col(Snapshot.page_id) == page_id).order_by(col(Snapshot.id))
            ).all()

    def changes(self, page_id: int | None = None) -> Sequence[Change]:
        """Changes of one page (or all), oldest first (in the order they were recorded)."""
        query = select(Change).order_by(col(Change.id))
        if page_id is not None:
            query = query.where(col(Change.page_id) == page_id)
        with self._transaction() as session:
            return session.exec(query).all()

    def get_change(self, change_id: int) -> Change | None:
        with self._transaction() as session:
            return session.get(Change, change_id)

    def get_snapshot(self, snapshot_id: int) -> Snapshot | None:
        with self._transaction() as session:
            return session.get(Snapshot, snapshot_id)

    def raw_body(self, sha256: str) -> bytes:
        """The uncompressed body stored under ``sha256``, verified against its hash.

        Evidence that no longer matches its hash is an error, never returned silently.
        """
        with self._transaction() as session:
            blob = session.get(Blob, sha256)
        if blob is None:
            raise StoreError(f"no raw body stored under {sha256}")
        if blob.codec != _CODEC:
            raise StoreError(f"raw body {sha256}: unknown codec {blob.codec!r}")
        try:
            body = zstandard.ZstdDecompressor().decompress(blob.data, max_output_size=blob.size)
        except zstandard.ZstdError as exc:
            raise StoreError(f"raw body {sha256} is corrupt: {exc}") from exc
        actual = hashlib.sha256(body).hexdigest()
        if actual != sha256 or len(body) != blob.size:
            raise StoreError(
                f"raw body {sha256} is corrupt: it decompresses to {len(body)} bytes "
                f"with SHA-256 {actual}"
            )
        return body

    def claim_due_pages(
        self, now: datetime, limit: int, lease_seconds: float, owner: str
    ) -> list[Page]:
        """Lease up to ``limit`` due pages to ``owner``, most overdue first.

        One UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING statement: a
        SELECT followed by a separate UPDATE double-claims on SQLite (which drops FOR UPDATE).
        An expired lease (its holder died) makes the page claimable again.
        """
        if limit <= 0:
            return []
        due = (
            select(col(Page.id))
            .where(
                col(Page.is_active),
                col(Page.next_check_at) <= now,
                or_(col(Page.lease_until).is_(None), col(Page.lease_until) < now),
            )
            .order_by(col(Page.next_check_at), col(Page.id))
            .limit(limit)
            .with_for_update(skip_locked=True)  # PostgreSQL only; SQLite has one writer
        )
        claim = (
            update(Page)
            .where(col(Page.id).in_(due.scalar_subquery()))
            .values(lease_until=now + timedelta(seconds=lease_seconds), leased_by=owner)
            .returning(Page)
            .execution_options(synchronize_session=False)
        )
        with self._transaction(writes=True) as session:
            pages = list(session.exec(claim).scalars())
        pages.sort(key=lambda page: (page.next_check_at or now, page.id or 0))
        return pages

    def release_page(
        self, page_id: int, next_check_at: datetime, *, owner: str | None = None
    ) -> bool:
        """End a lease and schedule the next check; False if the page was not released.

        With ``owner``, a holder whose lease expired and was re-claimed by another daemon
        does not clobber the new holder's lease or schedule.
        """
        release = (
            update(Page)
            .where(col(Page.id) == page_id)
            .values(lease_until=None, leased_by=None, next_check_at=next_check_at)
        )
        if owner is not None:
            release = release.where(col(Page.leased_by) == owner)
        with self._transaction(writes=True) as session:
            return session.exec(release).rowcount == 1

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

        Same single UPDATE … RETURNING with SKIP LOCKED as ``claim_due_pages``, so two
        daemons never hold the same alert; oldest first, the order they are sent in.
        """
        if limit <= 0:
            return []
        due = select(col(Alert.id)).where(
            col(Alert.due_at) <= now,
            or_(col(Alert.lease_until).is_(None), col(Alert.lease_until) < now),
        )
        if route is not None:
            due = due.where(col(Alert.route) == route)
        if exclude:
            due = due.where(col(Alert.route).not_in(list(exclude)))
        due = due.order_by(col(Alert.id)).limit(limit).with_for_update(skip_locked=True)
        claim = (
            update(Alert)
            .where(col(Alert.id).in_(due.scalar_subquery()))
            .values(lease_until=now + timedelta(seconds=lease_seconds), leased_by=owner)
            .returning(Alert)
            .execution_options(synchronize_session=False)
        )
        with self._transaction(writes=True) as session:
            alerts = list(session.exec(claim).scalars())
        alerts.sort(key=lambda alert: alert.id or 0)
        return alerts

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
            session.exec(
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

    def _extend_outage(
        self,
        session: Session,
        page_id: int,
        checked_at: datetime,
        error: str,
        alerts: Sequence[str],
        unreachable_after: timedelta | None,
    ) -> None:
        insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        statement = insert(Outage).values(
            page_id=page_id, started_at=checked_at, last_error=error, announced_at=None
        )
        session.exec(
            statement.on_conflict_do_update(
                index_elements=["page_id"], set_={"last_error": statement.excluded.last_error}
            )
        )
        if not alerts or unreachable_after is None:
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
            _add_alerts(
                session,
                alerts,
                page_id=page_id,
                change_id=None,
                kind="unreachable",
                event=event,
                detected_at=checked_at,
            )

    def _end_outage(
        self, session: Session, page_id: int, checked_at: datetime, alerts: Sequence[str]
    ) -> None:
        ended = session.exec(
            delete(Outage)
            .where(col(Outage.page_id) == page_id)
            .returning(col(Outage.started_at), col(Outage.announced_at), col(Outage.last_error))
        ).first()
        if ended is None or ended[1] is None:
            return  # no outage, or one too short to have been announced: stay quiet
        started_at, _announced_at, last_error = ended
        event = {"since": started_at.isoformat(), "error": last_error, "summary": last_error}
        _add_alerts(
            session,
            alerts,
            page_id=page_id,
            change_id=None,
            kind="reachable",
            event=event,
            detected_at=checked_at,
        )

    @contextmanager
    def _transaction(self, *, writes: bool = False) -> Iterator[Session]:
        """One session and transaction; committed only if ``writes`` and no error.

        On SQLite a writing transaction starts with BEGIN IMMEDIATE: taking the write lock
        up front lets busy_timeout queue writers instead of failing a read-then-write.
        """
        try:
            with self._sessions() as session:
                if writes:
                    session.connection(execution_options={_WRITES: True})
                yield session
                if writes:
                    session.commit()
        except SQLAlchemyError as exc:
            raise StoreError(f"database {self._display}: {_reason(exc)}") from exc

    def _upsert_pages(self, rows: list[dict[str, Any]]) -> Any:
        insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        statement = insert(Page).values(rows)
        return statement.on_conflict_do_update(
            index_elements=["url"],
            set_={
                "name": statement.excluded.name,
                "is_active": True,
                # a page that comes back keeps its place in the schedule
                "next_check_at": func.coalesce(
                    col(Page.next_check_at), statement.excluded.next_check_at
                ),
            },
        )

    def _insert_blob(self, values: dict[str, Any]) -> Any:
        # Two daemons storing the same body at once: the second insert is a no-op.
        insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        return insert(Blob).values(values).on_conflict_do_nothing(index_elements=["sha256"])


def migration_config(connection: Connection | None = None) -> Config:
    """An alembic ``Config`` for the packaged revisions, running on ``connection``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _create_engine(url: URL) -> Engine:
    if url.get_backend_name() != "sqlite":
        connect_args: dict[str, Any] = {}
        if url.get_backend_name() == "postgresql" and "connect_timeout" not in url.query:
            connect_args["connect_timeout"] = _PG_CONNECT_TIMEOUT_SECONDS
        # pre-ping: a daemon outlives server restarts and idle-connection reaping
        return create_engine(url, pool_pre_ping=True, connect_args=connect_args)
    database = url.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False})
    event.listen(engine, "connect", _configure_sqlite)
    event.listen(engine, "begin", _begin_sqlite)
    return engine


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    """Per-connection SQLite settings; pragmas only take effect outside a transaction."""
    # The driver's own implicit BEGIN skips SELECT and DDL; _begin_sqlite emits it instead,
    # which makes migrations transactional and reads repeatable.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {_SQLITE_BUSY_TIMEOUT_MS}")
        mode = cursor.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode != "wal":
            logger.warning("SQLite journal mode is %s, not wal", mode)
        # NORMAL in WAL mode: a power cut may lose the last commits but never corrupts
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _begin_sqlite(connection: Connection) -> None:
    mode = "IMMEDIATE" if connection.get_execution_options().get(_WRITES) else "DEFERRED"
    connection.exec_driver_sql(f"BEGIN {mode}")


def _add_alerts(
    session: Session,
    routes: Sequence[str],
    *,
    page_id: int,
    change_id: int | None,
    kind: str,
    event: Mapping[str, Any],
    detected_at: datetime,
) -> None:
    """One outbox row per route, due at once; written inside the caller's transaction."""
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


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """Header value by case-insensitive name (fetch lower-cases them; do not rely on it)."""
    value = headers.get(name)
    if value is not None:
        return value
    for key, candidate in headers.items():
        if key.lower() == name:
            return candidate
    return None


def _require_id(value: int | None) -> int:
    if value is None:  # pragma: no cover - the database assigns it on flush
        raise StoreError("the database assigned no id")
    return value


def _reason(exc: SQLAlchemyError) -> str:
    """The driver's message on one line, without SQLAlchemy's statement dump."""
    source: BaseException = exc.orig if isinstance(exc, DBAPIError) and exc.orig else exc
    message = " ".join(str(source).split())
    return message[:500] or source.__class__.__name__
