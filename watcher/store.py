"""Database access (edge, I/O): engine setup, migrations, and the queries the pipeline needs.

SQLite (WAL, busy timeout) by default, PostgreSQL for shared deployments; one code path.
A new version's blob, snapshot and change are written in one transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from watcher.extract import Article
from watcher.fetch import FetchResult
from watcher.models import Change, Page, Snapshot

logger = logging.getLogger(__name__)


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
        """Create the engine; SQLite gets WAL, synchronous=NORMAL and a busy timeout."""
        raise NotImplementedError

    def migrate(self) -> None:
        """Bring the schema to the newest revision (alembic); safe to call every start."""
        raise NotImplementedError

    def close(self) -> None:
        """Dispose of the engine's connections."""
        raise NotImplementedError

    def sync_pages(self, pages: Iterable[tuple[str, str]], now: datetime) -> dict[str, int]:
        """Upsert ``(url, name)`` pairs as active pages, deactivate the others; url -> id."""
        raise NotImplementedError

    def page_by_url(self, url: str) -> Page | None:
        raise NotImplementedError

    def latest_snapshot(self, page_id: int) -> Snapshot | None:
        raise NotImplementedError

    def latest_good_snapshot(self, page_id: int) -> Snapshot | None:
        """Newest snapshot whose state is ``ok``: the baseline for a restoration diff."""
        raise NotImplementedError

    def record_check(
        self,
        page_id: int,
        *,
        checked_at: datetime,
        status: int | None,
        error: str | None,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> None:
        """Note a check that stored no version; ``error`` increments the error streak."""
        raise NotImplementedError

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
    ) -> tuple[int, int | None]:
        """Write blob, snapshot and change in one transaction; returns their ids."""
        raise NotImplementedError

    def snapshots(self, page_id: int) -> Sequence[Snapshot]:
        """Every stored version of a page, oldest first."""
        raise NotImplementedError

    def changes(self, page_id: int | None = None) -> Sequence[Change]:
        """Changes of one page (or all), oldest first."""
        raise NotImplementedError

    def get_change(self, change_id: int) -> Change | None:
        raise NotImplementedError

    def get_snapshot(self, snapshot_id: int) -> Snapshot | None:
        raise NotImplementedError

    def raw_body(self, sha256: str) -> bytes:
        """The uncompressed body stored under ``sha256``, verified against its hash."""
        raise NotImplementedError
