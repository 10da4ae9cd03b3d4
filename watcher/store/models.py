"""Database tables (SQLModel): pages, raw bodies, snapshots, changes and the alert outbox.

Every datetime is timezone-aware UTC. Raw bodies are content-addressed by SHA-256 and
compressed, so identical versions cost nothing twice and evidence stays verifiable.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import zstandard
from sqlalchemy import (
    JSON,
    Column,
    Dialect,
    Index,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

# Deterministic constraint names on every dialect: SQLite's batch migrations can only drop
# or alter a constraint that has a name, and migrations must name the same objects on both.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
# ``datetime`` fields map to SQLModel's UTCDateTime: aware values are stored as UTC and read
# back aware on SQLite too (tests check it), and naive values are refused at write time.


class CompressedText(TypeDecorator[str]):
    """Text stored zstd-compressed (UTF-8 inside): a version's text is read back whole, never
    searched by SQL, and a page's text can be megabytes (each version keeps its own)."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> bytes | None:
        if value is None:
            return None
        return zstandard.ZstdCompressor(level=3).compress(value.encode("utf-8"))

    def process_result_value(self, value: bytes | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return zstandard.ZstdDecompressor().decompress(value).decode("utf-8")


class Page(SQLModel, table=True):
    """One watched URL and where its schedule stands; the watchlist says *what*, this *when*."""

    __tablename__ = "page"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(sa_column=Column(Text, unique=True, nullable=False))
    name: str = ""
    is_active: bool = True  # false once the URL leaves the watchlist; history stays
    created_at: datetime
    next_check_at: datetime | None = Field(default=None, index=True)
    lease_until: datetime | None = None
    leased_by: str | None = None
    last_checked_at: datetime | None = None
    last_status: int | None = None  # HTTP status of the last response, None if none arrived
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    consecutive_errors: int = 0
    etag: str | None = None
    last_modified: str | None = None
    # where the article stood in the page last time and what reading it there gave
    # (watcher.read.locate.Locator as JSON); None means the next check extracts in full
    locator: str | None = Field(default=None, sa_column=Column(Text))
    # record hash of the newest stored version (watcher.chain): deleting it shows
    last_record_sha256: str = Field(
        default="", sa_column=Column(String(64), nullable=False, server_default="")
    )
    # discovery (watcher.discover): the source that first listed the page (None: hand-written
    # only), when, the date the source or page states, and where the age schedule stands
    source_id: int | None = Field(default=None, foreign_key="source.id", index=True)
    discovered_at: datetime | None = None
    published_at: datetime | None = None
    fast_until: datetime | None = None  # a change put the page back on a fast tier until then
    retired_at: datetime | None = None  # past its schedule's last tier: history kept, not checked
    tier_every_seconds: int | None = None  # the age tier it is on (its interval); None: no tiers


class Blob(SQLModel, table=True):
    """A raw response body, stored once per SHA-256 of the uncompressed bytes.

    Whole (codec ``zstd``: a keyframe) or a delta against a whole body (``zstd-delta``,
    ``base_sha256``); ``watcher.store.blobs`` packs and unpacks them.
    """

    __tablename__ = "blob"

    sha256: str = Field(primary_key=True, max_length=64)
    codec: str = "zstd"
    size: int  # uncompressed length in bytes
    # zstd output; on PostgreSQL the migration sets STORAGE EXTERNAL so TOAST does not
    # spend CPU trying to compress it again
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime
    # the keyframe a delta is packed against (always a whole body); the foreign key keeps
    # a keyframe from going while a version still needs it
    base_sha256: str | None = Field(
        default=None, foreign_key="blob.sha256", max_length=64, index=True
    )


class Snapshot(SQLModel, table=True):
    """One stored version of a page: evidence (raw body, headers, hops) plus what was read."""

    __tablename__ = "snapshot"
    # (page_id, id) serves "newest version of a page" without a sort on PostgreSQL
    __table_args__ = (Index("ix_snapshot_page_id_id", "page_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    page_id: int = Field(foreign_key="page.id")
    fetched_at: datetime
    status: int
    final_url: str = Field(sa_column=Column(Text, nullable=False))
    headers: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    redirects: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    body_sha256: str = Field(foreign_key="blob.sha256", max_length=64)
    encoding: str = ""
    state: str = "ok"  # "ok" or "removed"
    removal: str | None = None  # gone, legal, redirected, soft_404, notice, emptied
    title: str = Field(default="", sa_column=Column(Text, nullable=False))
    byline: str = Field(default="", sa_column=Column(Text, nullable=False))
    published: str = ""
    page_title: str = Field(default="", sa_column=Column(Text, nullable=False))
    # the normalised body (at most settings.max_text), compressed: column ``text_zstd``
    text: str = Field(default="", sa_column=Column("text_zstd", CompressedText, nullable=False))
    text_sha256: str = Field(default="", max_length=64)
    # the other parts of the article as JSON (bylines and datelines as shown, captions,
    # notes, metadata statements): watcher.check.reading.snapshot_article reads them back
    parts: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    # how ``title``..``text`` were read (watcher.check.reading.reader_key): a version read by
    # another extractor or with other watch settings is re-read from its raw body
    reader: str = Field(default="", sa_column=Column(String, nullable=False, server_default=""))
    # the page's hash chain (watcher.chain): this version's record hash and the one before
    previous_record_sha256: str = Field(
        default="", sa_column=Column(String(64), nullable=False, server_default="")
    )
    record_sha256: str = Field(
        default="", sa_column=Column(String(64), nullable=False, server_default="")
    )
    # a PNG of the page as the browser showed it (fetch = "browser"), stored as a blob; no
    # foreign key: adding one rebuilds the whole snapshot table on SQLite (every version)
    screenshot_sha256: str | None = Field(default=None, max_length=64)


class Change(SQLModel, table=True):
    """A detected event between two snapshots: new, changed, removed or restored."""

    __tablename__ = "change"
    __table_args__ = (
        Index("ix_change_page_id_id", "page_id", "id"),
        # the viewer's "changes of this kind since" filter and feeds
        Index("ix_change_kind_detected_at", "kind", "detected_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    page_id: int = Field(foreign_key="page.id")
    snapshot_id: int = Field(foreign_key="snapshot.id", index=True)
    previous_snapshot_id: int | None = Field(default=None, foreign_key="snapshot.id")
    kind: str  # new, changed, removed, restored
    parts: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    removal: str | None = None
    summary: str = Field(default="", sa_column=Column(Text, nullable=False))
    words_added: int = 0
    words_removed: int = 0
    detected_at: datetime = Field(index=True)
    # where an independent archive (Save Page Now) captured the page for this change
    archive_url: str | None = Field(default=None, sa_column=Column(Text))


class Alert(SQLModel, table=True):
    """One message owed to one route: an outbox row, written with the event it reports.

    ``due_at`` is None once the row is finished (sent or given up), so the pending rows
    are exactly those an index on ``due_at`` finds. ``event`` holds everything the message
    needs (summary, removal, diff excerpt), so rendering never re-reads snapshots.
    """

    __tablename__ = "alert"

    id: int | None = Field(default=None, primary_key=True)
    page_id: int = Field(foreign_key="page.id")
    # None for unreachable/reachable alerts: they report checks that stored no version
    change_id: int | None = Field(default=None, foreign_key="change.id")
    route: str
    kind: str  # changed, removed, restored, unreachable, reachable
    event: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    detected_at: datetime
    created_at: datetime
    due_at: datetime | None = Field(default=None, index=True)
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    # fingerprints of the route's targets that already accepted this alert (no resend)
    delivered: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    sent_at: datetime | None = None
    given_up_at: datetime | None = None
    lease_until: datetime | None = None
    leased_by: str | None = None


class Outage(SQLModel, table=True):
    """A page's current run of failed checks; deleted by the first check that gets through."""

    __tablename__ = "outage"

    page_id: int = Field(foreign_key="page.id", primary_key=True)
    started_at: datetime
    last_error: str = Field(default="", sa_column=Column(Text, nullable=False))
    announced_at: datetime | None = None  # when the "unreachable" alert was written


class SourceRecord(SQLModel, table=True):
    """A feed, sitemap or section page of the watchlist, and where its polling stands."""

    __tablename__ = "source"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(sa_column=Column(Text, unique=True, nullable=False))
    name: str = ""
    is_active: bool = True  # false once the source leaves the watchlist; its pages stay
    created_at: datetime
    next_poll_at: datetime | None = Field(default=None, index=True)
    lease_until: datetime | None = None
    leased_by: str | None = None
    last_polled_at: datetime | None = None
    last_ok_at: datetime | None = None  # the last poll whose listing was read
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    etag: str | None = None
    last_modified: str | None = None


class SourceItem(SQLModel, table=True):
    """One article a source lists or listed: the page it is, and when it came and went."""

    __tablename__ = "source_item"
    __table_args__ = (UniqueConstraint("source_id", "url"),)

    id: int | None = Field(default=None, primary_key=True)
    source_id: int = Field(foreign_key="source.id")
    page_id: int = Field(foreign_key="page.id", index=True)
    url: str = Field(sa_column=Column(Text, nullable=False))
    title: str = Field(default="", sa_column=Column(Text, nullable=False))
    published_at: datetime | None = None
    first_seen_at: datetime
    last_seen_at: datetime
    is_listed: bool = True
    dropped_at: datetime | None = None  # left the source while online, soon after it came


class Worker(SQLModel, table=True):
    """A process that may hold leases, and when it last said it was alive.

    A lease whose holder is known dead (its heartbeat stopped, or on this machine its pid
    is gone) is taken over at once, so a killed process does not hold up a route's alerts
    until its leases expire (``watcher.store.workers``).
    """

    __tablename__ = "worker"

    owner: str = Field(primary_key=True)  # the ``leased_by`` of its leases
    node: str  # machine and pid namespace: where ``pid`` means something
    pid: int
    started_at: datetime
    heartbeat_at: datetime = Field(index=True)
