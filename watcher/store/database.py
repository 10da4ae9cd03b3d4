"""Opening the database (edge, I/O): an engine tuned to its backend, migrated by alembic.

SQLite gets WAL, a busy timeout, enforced foreign keys and BEGIN IMMEDIATE for writers;
PostgreSQL a connect timeout. No queries live here: those are store.py's.

alembic is imported only when a schema has to change: whether it is current is read from
the revision files and the ``alembic_version`` table directly, so a daemon or command
whose database is already migrated never loads alembic (about 10 MiB and 40 ms).
"""

from __future__ import annotations

import functools
import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import URL

from watcher.errors import StoreError

if TYPE_CHECKING:
    from alembic.config import Config

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# Execution option read by the SQLite "begin" hook: this transaction will write.
WRITES = "watcher_writes"

# Any constant works; every watcher daemon must use the same one so that only one of them
# creates or alters tables while the others wait.
_MIGRATION_LOCK_KEY = 0x7761746368  # "watch"
_SQLITE_BUSY_TIMEOUT_MS = 30_000
_PG_CONNECT_TIMEOUT_SECONDS = 10


def upgrade_schema(connection: Connection, dialect: str) -> None:
    """Bring the schema on ``connection`` to the newest revision, in one transaction.

    Concurrent callers are serialized: an advisory lock on PostgreSQL, BEGIN IMMEDIATE on
    SQLite. Raises SQLAlchemy's errors, or ``StoreError`` for a broken SQLite result.
    """
    if dialect == "sqlite":
        _migrate_sqlite(connection)
        return
    with connection.begin():
        if dialect == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
            )
        _upgrade(connection)


def is_schema_current(connection: Connection) -> bool:
    """Whether the schema on ``connection`` is at the newest revision (no tables: False)."""
    if not inspect(connection).has_table(_VERSION_TABLE):
        return False
    stamped = connection.execute(text(f"SELECT version_num FROM {_VERSION_TABLE}")).scalars()
    return list(stamped) == [head_revision()]


_VERSION_TABLE = "alembic_version"
_REVISION_LINE = re.compile(r"^revision(?:: *str)? *= *[\"']([^\"']+)[\"']", re.MULTILINE)
_DOWN_LINE = re.compile(r"^down_revision\b[^=]*=(.*)$", re.MULTILINE)
_QUOTED = re.compile(r"[\"']([^\"']+)[\"']")


@functools.cache
def head_revision() -> str:
    """The newest packaged revision, read once (``read_head``)."""
    return read_head(MIGRATIONS_DIR / "versions")


def read_head(versions: Path) -> str:
    """The newest revision in ``versions``: the one no other revision revises.

    Read from the revision files' own ``revision``/``down_revision`` lines, as alembic
    reads them, without importing alembic (``tests/test_migrations.py`` holds the two to
    the same answer).
    """
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in sorted(versions.glob("*.py")):
        source = path.read_text(encoding="utf-8")
        revision = _REVISION_LINE.search(source)
        if revision is None:
            continue
        revisions.add(revision.group(1))
        down = _DOWN_LINE.search(source)
        if down is not None:  # one revision, None, or a tuple of them (a merge)
            revised.update(_QUOTED.findall(down.group(1)))
    heads = revisions - revised
    if len(heads) != 1:
        raise StoreError(f"the packaged migrations have {len(heads)} heads: {sorted(heads)}")
    return heads.pop()


def _upgrade(connection: Connection) -> None:
    from alembic import command  # only when a schema changes (see the module docstring)

    command.upgrade(migration_config(connection), "head")


def migration_config(connection: Connection | None = None) -> Config:
    """An alembic ``Config`` for the packaged revisions, running on ``connection``."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def open_engine(url: URL) -> Engine:
    """An engine for ``url``; SQLite's parent directory is created and its hooks installed."""
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


def _migrate_sqlite(connection: Connection) -> None:
    # Batch ALTERs copy and drop tables; with foreign keys on, dropping a referenced
    # table fails or cascades. The pragma only works outside a transaction, so it is set
    # on the driver connection, and the result is checked before committing.
    raw = connection.connection.driver_connection
    if raw is None:  # pragma: no cover - a live pooled connection always has one
        raise StoreError("no driver connection")
    raw.execute("PRAGMA foreign_keys = OFF")
    try:
        connection.execution_options(**{WRITES: True})
        with connection.begin():
            _upgrade(connection)
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
            if broken:
                raise StoreError(f"migration left dangling foreign keys: {broken[:5]}")
    finally:
        raw.execute("PRAGMA foreign_keys = ON")


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
    mode = "IMMEDIATE" if connection.get_execution_options().get(WRITES) else "DEFERRED"
    connection.exec_driver_sql(f"BEGIN {mode}")
