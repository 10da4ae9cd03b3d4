"""Database access (edge, I/O): sessions, transactions and the queries the pipeline needs.

SQLite (WAL, busy timeout) by default, PostgreSQL for shared deployments; one code path.
A new version's blob, snapshot and change are written in one transaction, and nothing here
ever deletes a stored version. Opening and migrating is database.py's, alert rows outbox.py's.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any, Literal

import zstandard
from sqlalchemy import Table, bindparam, case, func, or_, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session, col, select

from watcher.errors import StoreError
from watcher.store import blobs, outbox, sources
from watcher.store.chain import record_sha256
from watcher.store.database import WRITES, is_schema_current, open_engine, upgrade_schema
from watcher.store.lease import claim_with_lease, takeover_holders
from watcher.store.models import Blob, Change, Page, Snapshot

logger = logging.getLogger(__name__)

# The page table for the Core statements every check runs (``record_check``,
# ``release_pages``): the ORM's statement handling cost more than the statements.
_PAGES: Table = Page.__table__  # type: ignore[attr-defined]

_CHUNK = 500  # rows per statement: stays under SQLite's bound-parameter limit


class _Keep(Enum):
    KEEP = "keep"


KEEP: Literal[_Keep.KEEP] = _Keep.KEEP  # leave the page's stored locator as it is


@dataclass(frozen=True, slots=True)
class QuietCheck:
    """A check with nothing to record but the page's check columns: no version, no error,
    and none before it (so no outage to end). A busy daemon writes these with the batched
    release of their pages (``release_pages``) instead of a transaction each."""

    page_id: int
    checked_at: datetime
    status: int | None
    etag: str | None = None
    last_modified: str | None = None
    locator: str | _Keep | None = KEEP


def _check_values(
    checked_at: datetime,
    status: int | None,
    error: str | None,
    etag: str | None,
    last_modified: str | None,
    locator: str | _Keep | None,
) -> dict[str, Any]:
    """The page columns a check without a new version sets (``record_check``)."""
    values: dict[str, Any] = {
        "last_checked_at": checked_at,
        "last_status": status,
        "last_error": error,
        "consecutive_errors": (_PAGES.c.consecutive_errors + 1 if error is not None else 0),
    }
    if etag is not None:
        values["etag"] = etag
    if last_modified is not None:
        values["last_modified"] = last_modified
    if locator is not KEEP:
        values["locator"] = locator
    return values


def _quiet_updates(
    quiet: Sequence[QuietCheck],
) -> list[tuple[Any, list[dict[str, Any]]]]:
    """Quiet checks' page updates, one statement for each set of columns they set, each
    with its rows: a batch of them is a few statements, not one per page."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for check in quiet:
        values = _check_values(
            check.checked_at, check.status, None, check.etag, check.last_modified, check.locator
        )
        row = {f"set_{name}": value for name, value in values.items()}
        groups.setdefault(tuple(sorted(values)), []).append({"page_id": check.page_id, **row})
    return [
        (
            update(_PAGES)
            .where(_PAGES.c.id == bindparam("page_id"))
            .values({name: bindparam(f"set_{name}") for name in names}),
            rows,
        )
        for names, rows in groups.items()
    ]


@dataclass(frozen=True, slots=True)
class VersionRecord:
    """One version to keep, as plain values: the response as evidence and how it read.

    Built by the pipeline from a fetch and its reading; the store knows no stage's types.
    """

    fetched_at: datetime
    status: int
    final_url: str
    hops: tuple[tuple[str, int, str | None], ...]  # redirects: (url, status, location)
    headers: Mapping[str, str]  # final response headers (lower-cased names)
    body: bytes  # raw, as received: the evidence
    encoding: str  # codec the body was decoded with
    state: str  # ok or removed
    removal: str | None
    title: str
    byline: str
    published: str
    page_title: str
    text: str  # the article's paragraphs, blank-line separated
    parts: str = ""  # the article's other parts, as JSON (``reading.parts_json``)
    reader: str = ""  # how ``text`` was read from the body (``reading.reader_key``)
    locator: str | None = None  # where the article stands in this page, for quick re-reads
    screenshot: bytes | None = None  # a PNG of the page as the browser showed it
    # the URL that was checked (the page's own): when given, the version is filed only
    # under the page with this URL, never under an id that came to name another page
    url: str = ""


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


@dataclass(frozen=True, slots=True)
class SchedulePosition:
    """Where a page stands in the schedule: what a schedule change is measured against."""

    page_id: int
    url: str
    next_check_at: datetime
    last_checked_at: datetime | None


@dataclass(frozen=True, slots=True)
class StatusCounts:
    """Active pages, how many are due (and unleased) or failing, and the newest change."""

    pages: int
    due: int
    failing: int
    last_change_at: datetime | None


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
            self.engine = open_engine(parsed)
        except (ArgumentError, ImportError, OSError) as exc:
            raise StoreError(f"cannot open database {self._display}: {exc}") from exc
        self._sessions = sessionmaker(self.engine, class_=Session, expire_on_commit=False)
        # Alert rows after they were written: claimed, retried, finished (outbox.py).
        self.outbox = outbox.Outbox(self._transaction, self.dialect, self.engine)
        # Feeds, sitemaps and section pages, and the articles they list (sources.py).
        self.sources = sources.Sources(self._transaction)
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

        A schema already at the newest revision is left alone, and alembic is not loaded.
        Concurrent callers are serialized (advisory lock on PostgreSQL, BEGIN IMMEDIATE on
        SQLite) and the upgrade is one transaction, so a crash leaves the old schema intact.
        """
        self.ensure_schema()

    def ensure_schema(self) -> bool:
        """Migrate unless the schema is at the newest revision; True if it migrated.

        Also for reconnecting after an outage: the database may have come back empty
        (dropped and recreated, restored from an old dump).
        """
        try:
            with self.engine.connect() as connection:
                if is_schema_current(connection):
                    return False
        except SQLAlchemyError as exc:
            raise StoreError(f"database {self._display}: {_reason(exc)}") from exc
        try:
            with self.engine.connect() as connection:
                upgrade_schema(connection, self.dialect)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot migrate {self._display}: {_reason(exc)}") from exc
        return True

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
            for page_id, url, is_active, source_id in session.exec(
                select(col(Page.id), col(Page.url), col(Page.is_active), col(Page.source_id))
            ):
                if url in wanted:
                    ids[url] = _require_id(page_id)
                elif is_active and source_id is None:  # a discovered page is its source's
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

    def all_pages(self) -> Sequence[Page]:
        """Every page, watched now or retired (its history stays), in id order."""
        with self._transaction() as session:
            return session.exec(select(Page).order_by(col(Page.id))).all()

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
        locator: str | _Keep | None = KEEP,
    ) -> None:
        """Note a check that stored no version; ``error`` increments the error streak.

        ``locator`` replaces the page's stored locator (None clears it) unless ``KEEP``.

        ``etag``/``last_modified`` are only overwritten when given, so a 304 that omits
        them keeps the validators for the next conditional request. An error opens or
        extends the page's outage; once it has lasted ``unreachable_after``, one
        "unreachable" alert per route in ``alerts`` is written in this same transaction.
        A success ends the outage, with one "reachable" alert if it had been announced.
        """
        values = _check_values(checked_at, status, error, etag, last_modified, locator)
        with self._transaction(writes=True) as session:
            # Core, not the ORM's bulk update: this runs once per check, and the ORM's
            # statement handling cost more than the statement itself.
            statement = update(_PAGES).where(_PAGES.c.id == page_id).values(values)
            if session.connection().execute(statement).rowcount != 1:
                raise StoreError(f"no page with id {page_id}")
            if error is None:
                outbox.end_outage(session, page_id, checked_at=checked_at, routes=alerts)
            else:
                outbox.extend_outage(
                    session,
                    page_id,
                    dialect=self.dialect,
                    checked_at=checked_at,
                    error=error,
                    routes=alerts,
                    unreachable_after=unreachable_after,
                )

    def keep_body(self, body: bytes, *, kept_at: datetime) -> str:
        """Store a raw body on its own (a page that could not be read, kept so the failure
        can be reproduced); returns its SHA-256."""
        body_sha256 = hashlib.sha256(body).hexdigest()
        row = _blob_row(body_sha256, body, blobs.pack_body(body), kept_at)
        with self._transaction(writes=True) as session:
            session.exec(self._insert_blob(row))
        return body_sha256

    def record_version(
        self,
        page_id: int,
        version: VersionRecord,
        *,
        change: ChangeDraft | None = None,
        previous_snapshot_id: int | None = None,
        alerts: Sequence[str] = (),
        alert_event: Mapping[str, Any] | None = None,
    ) -> tuple[int, int | None]:
        """Write blob, snapshot, change and its alerts in one transaction; returns ids.

        The page row is updated first: on PostgreSQL that locks it, so two writers of the
        same page queue up instead of interleaving their versions. ``alerts`` are the
        page's routes: with ``alert_event`` the change gets one outbox row per route, so
        the change and its alerts exist together or not at all; a response also ends an
        announced outage with a "reachable" alert. The version's locator replaces the
        page's stored one. A version fetched for another URL than the page's (a check
        still running when the database came back from a dump with other ids) is refused,
        so evidence is never filed under the wrong page.
        """
        body_sha256 = hashlib.sha256(version.body).hexdigest()
        # Pack before taking the write lock. The keyframe is read outside it: another
        # writer of the page may store a newer one meanwhile, which only costs bytes.
        packed = blobs.pack_body(version.body, self._keyframe(page_id))
        blob = _blob_row(body_sha256, version.body, packed, version.fetched_at)
        screenshot = _screenshot_blob(version)
        with self._transaction(writes=True) as session:
            _update_page_for(session, page_id, version)
            session.exec(self._insert_blob(blob))
            if screenshot is not None:
                session.exec(self._insert_blob(screenshot))
            kept = _snapshot(page_id, version, body_sha256)
            kept.screenshot_sha256 = screenshot["sha256"] if screenshot is not None else None
            snapshot = _chained(session, page_id, kept)
            snapshot_id = _require_id(snapshot.id)
            change_id: int | None = None
            if change is not None:
                row = _change(page_id, snapshot_id, previous_snapshot_id, change)
                session.add(row)
                session.flush()
                change_id = _require_id(row.id)
                if alert_event is not None:
                    # the version it reports, so a recipient can check the evidence later
                    event = {**alert_event, "version": _version_ref(snapshot)}
                    outbox.add_alerts(
                        session,
                        alerts,
                        page_id=page_id,
                        change_id=change_id,
                        kind=change.kind,
                        event=event,
                        detected_at=change.detected_at,
                    )
            outbox.end_outage(session, page_id, checked_at=version.fetched_at, routes=alerts)
        return snapshot_id, change_id

    def snapshots(self, page_id: int, *, since: datetime | None = None) -> Sequence[Snapshot]:
        """Stored versions of a page (fetched at or after ``since``), oldest first."""
        query = select(Snapshot).where(col(Snapshot.page_id) == page_id)
        if since is not None:
            query = query.where(col(Snapshot.fetched_at) >= since)
        with self._transaction() as session:
            return session.exec(query.order_by(col(Snapshot.id))).all()

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

    def record_capture(self, change_id: int, archive_url: str) -> None:
        """Note where an independent archive captured the page for a change."""
        with self._transaction(writes=True) as session:
            session.exec(
                update(Change).where(col(Change.id) == change_id).values(archive_url=archive_url)
            )

    def change_to(self, snapshot_id: int) -> Change | None:
        """The change that produced a snapshot (None for a version stored without one)."""
        with self._transaction() as session:
            statement = select(Change).where(col(Change.snapshot_id) == snapshot_id)
            return session.exec(statement.order_by(col(Change.id).desc())).first()

    def get_snapshot(self, snapshot_id: int) -> Snapshot | None:
        with self._transaction() as session:
            return session.get(Snapshot, snapshot_id)

    def raw_body(self, sha256: str) -> bytes:
        """The uncompressed body stored under ``sha256``, verified against its hash.

        Evidence that no longer matches its hash is an error, never returned silently.
        """
        table = Blob.metadata.tables["blob"]
        base = table.alias("base")
        # one round trip: the body and, for a delta, its keyframe
        query = (
            sa_select(
                table.c.codec,
                table.c.size,
                table.c.data,
                table.c.base_sha256,
                base.c.codec,
                base.c.size,
                base.c.data,
            )
            .select_from(table.outerjoin(base, base.c.sha256 == table.c.base_sha256))
            .where(table.c.sha256 == sha256)
        )
        with self._transaction() as session:
            row = session.execute(query).first()
        if row is None:
            raise StoreError(f"no raw body stored under {sha256}")
        codec, size, data, base_sha256, base_codec, base_size, base_data = row
        keyframe: bytes | None = None
        if base_sha256 is not None:
            if base_data is None:
                raise StoreError(f"raw body {sha256}: its keyframe {base_sha256} is missing")
            if base_codec != blobs.FULL:
                raise StoreError(f"raw body {sha256}: its keyframe {base_sha256} is a delta")
            keyframe = _unpacked(base_sha256, base_codec, base_data, base_size)
        return _unpacked(sha256, codec, data, size, keyframe)

    def body_by_prefix(self, prefix: str) -> tuple[str, bytes]:
        """The stored body whose SHA-256 starts with ``prefix`` (verified); one or an error."""
        if len(prefix) < 8 or any(c not in "0123456789abcdef" for c in prefix.lower()):
            raise StoreError(f"{prefix!r}: give at least 8 hex digits of a SHA-256")
        with self._transaction() as session:
            matches = session.exec(
                select(col(Blob.sha256)).where(col(Blob.sha256).startswith(prefix.lower())).limit(2)
            ).all()
        if len(matches) != 1:
            found = "no stored body" if not matches else "more than one stored body"
            raise StoreError(f"{found} has a SHA-256 starting with {prefix}")
        return matches[0], self.raw_body(matches[0])

    def blob_hashes(self) -> Sequence[str]:
        """The SHA-256 of every stored body, for verification."""
        with self._transaction() as session:
            return session.exec(select(col(Blob.sha256)).order_by(col(Blob.sha256))).all()

    def _keyframe(self, page_id: int) -> blobs.Keyframe | None:
        """The whole body the page's next version may be packed against: the keyframe of
        its newest version (that version itself when stored whole); None for none."""
        query = (
            select(Blob.sha256, Blob.codec, Blob.base_sha256)
            .join(Snapshot, col(Snapshot.body_sha256) == col(Blob.sha256))
            .where(col(Snapshot.page_id) == page_id)
            .order_by(col(Snapshot.id).desc())
            .limit(1)
        )
        with self._transaction() as session:
            newest = session.exec(query).first()
            if newest is None:
                return None
            sha256, codec, base_sha256 = newest
            key_sha256 = base_sha256 if codec == blobs.DELTA and base_sha256 else sha256
            key = session.get(Blob, key_sha256)
            deltas = session.exec(
                select(func.count()).where(col(Blob.base_sha256) == key_sha256)
            ).one()
        if key is None or key.codec != blobs.FULL:
            return None
        try:
            body = _unpacked(key_sha256, key.codec, key.data, key.size)
        except StoreError:
            logger.warning("keyframe %s is corrupt; storing the next body whole", key_sha256)
            return None
        return blobs.Keyframe(key_sha256, body, len(key.data), deltas)

    def claim_due_pages(
        self,
        now: datetime,
        limit: int,
        lease_seconds: float,
        owner: str,
        *,
        takeover: Sequence[str] | None = None,
    ) -> list[Page]:
        """Lease up to ``limit`` due pages to ``owner``, most overdue first.

        Claimed the one way pages and alerts are (``lease.claim_with_lease``). The leases
        of the holders in ``takeover`` are taken over at once; None looks them up here
        first (``dead_page_holders``), in the claim's transaction. A daemon claiming many
        times a second passes the list it looked up last, a few seconds old at most.
        """
        due = (col(Page.is_active), col(Page.next_check_at) <= now)
        with self._transaction(writes=True) as session:
            if takeover is None:
                takeover = self._dead_page_holders(session, now, owner)
            pages = claim_with_lease(
                session,
                Page,
                where=due,
                order_by=(col(Page.next_check_at), col(Page.id)),
                limit=limit,
                now=now,
                lease_seconds=lease_seconds,
                owner=owner,
                takeover=takeover,
            )
        pages.sort(key=lambda page: (page.next_check_at or now, page.id or 0))
        return pages

    def dead_page_holders(self, now: datetime, owner: str) -> list[str]:
        """Write ``owner``'s heartbeat, then name the dead holders of due pages' live
        leases (``lease.takeover_holders``), for ``claim_due_pages``' ``takeover``."""
        with self._transaction(writes=True) as session:
            return self._dead_page_holders(session, now, owner)

    def _dead_page_holders(self, session: Session, now: datetime, owner: str) -> list[str]:
        due = (col(Page.is_active), col(Page.next_check_at) <= now)
        return takeover_holders(
            session, Page, owner=owner, now=now, dialect=self.dialect, where=due
        )

    def renew_leases(self, page_ids: Sequence[int], owner: str, until: datetime) -> int:
        """Extend ``owner``'s leases on pages still being checked, so a long check is never
        claimed again beside itself; returns how many leases were still ``owner``'s."""
        if not page_ids:
            return 0
        renew = (
            update(Page)
            .where(col(Page.id).in_(list(page_ids)), col(Page.leased_by) == owner)
            .values(lease_until=until)
        )
        with self._transaction(writes=True) as session:
            return int(session.exec(renew).rowcount)

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

    def release_pages(
        self,
        releases: Sequence[tuple[int, datetime]],
        *,
        owner: str,
        quiet: Sequence[QuietCheck] = (),
    ) -> set[int]:
        """``release_page`` for many pages in one transaction; the ids released (a page
        whose lease expired and was taken over by another daemon is left alone).

        ``quiet`` checks are recorded in the same transaction, as ``record_check`` would.
        """
        release = (
            update(_PAGES)
            .where(_PAGES.c.id == bindparam("page_id"), _PAGES.c.leased_by == owner)
            .values(lease_until=None, leased_by=None, next_check_at=bindparam("next_at"))
        )
        ids = [page_id for page_id, _next_at in releases]
        held = (
            sa_select(_PAGES.c.id)
            .where(_PAGES.c.id.in_(ids), _PAGES.c.leased_by == owner)
            .with_for_update()  # PostgreSQL: no takeover between this look and the update
        )
        with self._transaction(writes=True) as session:
            connection = session.connection()
            for statement, rows in _quiet_updates(quiet):
                connection.execute(statement, rows)
            released = set(connection.scalars(held)) if ids else set()
            rows = [{"page_id": i, "next_at": at} for i, at in releases if i in released]
            if rows:
                connection.execute(release, rows)  # one statement for the batch
        return released

    def pages_for_reschedule(self) -> list[SchedulePosition]:
        """Active pages that may move after a schedule change: not failing, not leased.

        Failing pages keep their backoff and leased pages are being checked, so neither is
        listed; nor is a page that was never scheduled.
        """
        query = select(
            col(Page.id), col(Page.url), col(Page.next_check_at), col(Page.last_checked_at)
        ).where(
            col(Page.is_active),
            col(Page.consecutive_errors) == 0,
            col(Page.lease_until).is_(None),
        )
        with self._transaction() as session:
            rows = session.exec(query).all()
        return [
            SchedulePosition(page_id, url, next_check_at, last_checked_at)
            for page_id, url, next_check_at, last_checked_at in rows
            if page_id is not None and next_check_at is not None
        ]

    def pull_forward(self, moves: Mapping[int, datetime]) -> int:
        """Bring pages' next checks forward to the given times; how many pages moved.

        Each move is conditional, so a page never moves later, and one that was leased or
        started failing since ``pages_for_reschedule`` keeps its time.
        """
        moved = 0
        with self._transaction(writes=True) as session:
            for page_id, wanted in moves.items():
                result = session.exec(
                    update(Page)
                    .where(
                        col(Page.id) == page_id,
                        col(Page.next_check_at) > wanted,
                        col(Page.lease_until).is_(None),
                        col(Page.consecutive_errors) == 0,
                    )
                    .values(next_check_at=wanted)
                )
                moved += result.rowcount
        return moved

    def status_counts(self, now: datetime) -> StatusCounts:
        """Counts for the daemon's status line, as of ``now``."""
        active = col(Page.is_active)
        claimable = or_(col(Page.lease_until).is_(None), col(Page.lease_until) < now)
        with self._transaction() as session:
            pages = session.exec(select(func.count()).where(active)).one()
            due = session.exec(
                select(func.count()).where(active, col(Page.next_check_at) <= now, claimable)
            ).one()
            failing = session.exec(
                select(func.count()).where(active, col(Page.consecutive_errors) > 0)
            ).one()
            last_change_at = session.exec(
                select(col(Change.detected_at)).order_by(col(Change.id).desc()).limit(1)
            ).first()
        return StatusCounts(pages, due, failing, last_change_at)

    @contextmanager
    def _transaction(self, *, writes: bool = False) -> Iterator[Session]:
        """One session and transaction; committed only if ``writes`` and no error.

        On SQLite a writing transaction starts with BEGIN IMMEDIATE: taking the write lock
        up front lets busy_timeout queue writers instead of failing a read-then-write.
        """
        try:
            with self._sessions() as session:
                if writes:
                    session.connection(execution_options={WRITES: True})
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
                # a page that comes back keeps its place in the schedule; a retired one
                # (past its last age tier) stays retired
                "next_check_at": case(
                    (col(Page.retired_at).is_not(None), None),
                    else_=func.coalesce(col(Page.next_check_at), statement.excluded.next_check_at),
                ),
            },
        )

    def _insert_blob(self, values: dict[str, Any]) -> Any:
        # Two daemons storing the same body at once: the second insert is a no-op.
        insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        return insert(Blob).values(values).on_conflict_do_nothing(index_elements=["sha256"])


def _update_page_for(session: Session, page_id: int, version: VersionRecord) -> None:
    """Set the page's columns for ``version``, first in its transaction (on PostgreSQL this
    locks the row), only if the page still has the URL the version was fetched for."""
    same_page = [col(Page.id) == page_id]
    if version.url:
        same_page.append(col(Page.url) == version.url)
    result = session.exec(update(Page).where(*same_page).values(_page_after(version)))
    if result.rowcount != 1:
        of = f" for {version.url}" if version.url else ""
        raise StoreError(f"no page with id {page_id}{of}: the version is not filed")


def _blob_row(sha256: str, body: bytes, packed: blobs.Packed, at: datetime) -> dict[str, Any]:
    return {
        "sha256": sha256,
        "codec": packed.codec,
        "size": len(body),
        "data": packed.data,
        "created_at": at,
        "base_sha256": packed.base_sha256,
    }


def _unpacked(
    sha256: str, codec: str, data: bytes, size: int, keyframe: bytes | None = None
) -> bytes:
    """The body stored under ``sha256``, checked against that hash and its length."""
    try:
        body = blobs.unpack_body(codec, data, size, keyframe)
    except zstandard.ZstdError as exc:
        raise StoreError(f"raw body {sha256} is corrupt: {exc}") from exc
    except ValueError as exc:
        raise StoreError(f"raw body {sha256}: {exc}") from exc
    actual = hashlib.sha256(body).hexdigest()
    if actual != sha256 or len(body) != size:
        raise StoreError(
            f"raw body {sha256} is corrupt: it decompresses to {len(body)} bytes "
            f"with SHA-256 {actual}"
        )
    return body


def _screenshot_blob(version: VersionRecord) -> dict[str, Any] | None:
    """The blob row of a version's screenshot: content-addressed like bodies, stored whole
    (a PNG shares little with the page's previous one)."""
    if not version.screenshot:
        return None
    sha256 = hashlib.sha256(version.screenshot).hexdigest()
    packed = blobs.pack_body(version.screenshot)
    return _blob_row(sha256, version.screenshot, packed, version.fetched_at)


def _version_ref(snapshot: Snapshot) -> dict[str, Any]:
    """How an alert names the version it reports: id, body hash and record hash."""
    return {
        "id": snapshot.id,
        "body_sha256": snapshot.body_sha256,
        "record_sha256": snapshot.record_sha256,
    }


def _chained(session: Session, page_id: int, snapshot: Snapshot) -> Snapshot:
    """Add ``snapshot`` as the newest link of its page's hash chain (the page row is
    locked by the caller, so the newest version cannot move meanwhile)."""
    previous_record = session.exec(
        select(col(Snapshot.record_sha256))
        .where(col(Snapshot.page_id) == page_id)
        .order_by(col(Snapshot.id).desc())
        .limit(1)
    ).first()
    page_url = session.exec(select(col(Page.url)).where(col(Page.id) == page_id)).one()
    snapshot.previous_record_sha256 = previous_record or ""
    snapshot.record_sha256 = chained_record(page_url, snapshot)
    session.add(snapshot)
    session.flush()
    session.exec(
        update(Page)
        .where(col(Page.id) == page_id)
        .values(last_record_sha256=snapshot.record_sha256)
    )
    return snapshot


def chained_record(page_url: str, snapshot: Snapshot) -> str:
    """``snapshot``'s record hash in its page's chain (``watcher.store.chain``)."""
    return record_sha256(
        page_url=page_url,
        fetched_at=snapshot.fetched_at,
        status=snapshot.status,
        final_url=snapshot.final_url,
        headers=snapshot.headers,
        redirects=snapshot.redirects,
        body_sha256=snapshot.body_sha256,
        state=snapshot.state,
        removal=snapshot.removal,
        previous_record_sha256=snapshot.previous_record_sha256,
        screenshot_sha256=snapshot.screenshot_sha256 or "",
    )


def _page_after(version: VersionRecord) -> dict[str, Any]:
    """The page row's values once ``version`` is stored: a good response, its validators."""
    return {
        "last_checked_at": version.fetched_at,
        "last_status": version.status,
        "last_error": None,
        "consecutive_errors": 0,
        "etag": _header(version.headers, "etag"),
        "last_modified": _header(version.headers, "last-modified"),
        "locator": version.locator,
        # age tiers count from the date the article states, once a version has stated one
        "published_at": func.coalesce(col(Page.published_at), _stated_at(version.published)),
    }


def _stated_at(published: str) -> datetime | None:
    """The article's stated publication time (ISO 8601, as extraction gives it), in UTC."""
    try:
        stated = datetime.fromisoformat(published)
    except ValueError:
        return None
    return stated.replace(tzinfo=UTC) if stated.tzinfo is None else stated.astimezone(UTC)


def _snapshot(page_id: int, version: VersionRecord, body_sha256: str) -> Snapshot:
    """The snapshot row of ``version``, its raw body stored as blob ``body_sha256``."""
    return Snapshot(
        page_id=page_id,
        fetched_at=version.fetched_at,
        status=version.status,
        final_url=version.final_url,
        headers={str(k): str(v) for k, v in version.headers.items()},
        redirects=[
            {"url": url, "status": status, "location": location}
            for url, status, location in version.hops
        ],
        body_sha256=body_sha256,
        encoding=version.encoding,
        state=version.state,
        removal=version.removal,
        title=version.title,
        byline=version.byline,
        published=version.published,
        page_title=version.page_title,
        text=version.text,
        text_sha256=hashlib.sha256(version.text.encode("utf-8")).hexdigest(),
        parts=version.parts,
        reader=version.reader,
    )


def _change(
    page_id: int, snapshot_id: int, previous_snapshot_id: int | None, change: ChangeDraft
) -> Change:
    return Change(
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
