"""Schema migrations: idempotent, atomic, safe to run concurrently, and matching the models."""

from __future__ import annotations

import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

from tests.factories import T0
from watcher.errors import StoreError
from watcher.store import database
from watcher.store.database import migration_config
from watcher.store.store import Store

TABLES = {
    "alembic_version",
    "alert",
    "blob",
    "change",
    "outage",
    "page",
    "snapshot",
    "source",
    "source_item",
    "worker",
}


def head_revision() -> str:
    head = ScriptDirectory.from_config(migration_config()).get_current_head()
    assert head is not None
    return head


def current_revision(store: Store) -> str | None:
    with store.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def schema_differences(store: Store) -> list[object]:
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, SQLModel.metadata))


def test_migrate_twice_is_a_no_op(db: Store) -> None:
    """A second migrate() at head changes nothing and keeps the data."""
    ids = db.sync_pages([("https://a", "A")], T0)
    db.migrate()
    assert current_revision(db) == head_revision()
    assert set(inspect(db.engine).get_table_names()) == TABLES
    assert db.sync_pages([("https://a", "A")], T0) == ids


def test_head_read_from_the_revision_files_is_alembics() -> None:
    """The head that tells a current schema without alembic is the one alembic computes."""
    assert database.head_revision() == head_revision()


def test_head_is_read_past_a_merge_and_two_heads_are_refused(tmp_path: Path) -> None:
    """A merge revision revises two; a tree with two heads is an error, not a guess."""
    revision = 'revision: str = "{0}"\ndown_revision: str | tuple[str, str] | None = {1}\n'
    for name, down in (("a", "None"), ("b", '"a"'), ("c", '"a"'), ("d", '("b", "c")')):
        (tmp_path / f"{name}.py").write_text(revision.format(name, down), encoding="utf-8")
    assert database.read_head(tmp_path) == "d"
    (tmp_path / "d.py").unlink()
    with pytest.raises(StoreError, match="2 heads"):
        database.read_head(tmp_path)


_ALEMBIC_LOADED = """
import sys
from watcher.store.store import Store
store = Store(sys.argv[1])
store.migrate()
store.close()
print(sorted(name for name in sys.modules if name.split(".")[0] == "alembic"))
"""


def _alembic_loaded_by_migrate(url: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", _ALEMBIC_LOADED, url],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.strip()


def test_a_current_schema_is_opened_without_loading_alembic(db_url: str) -> None:
    """Every command and daemon start migrates; at head that must not load alembic (its
    memory stays with a daemon for months). An empty database does load it."""
    assert _alembic_loaded_by_migrate(db_url) != "[]"
    assert _alembic_loaded_by_migrate(db_url) == "[]"
    with Store(db_url) as store:
        assert current_revision(store) == head_revision()


def test_schema_matches_models(db: Store) -> None:
    """The migrated schema equals the SQLModel metadata: a model change needs a migration."""
    assert schema_differences(db) == []


def test_downgrade_then_upgrade_round_trips(db: Store) -> None:
    """The initial revision can be undone and redone, ending at the models' schema."""
    with db.engine.connect() as connection, connection.begin():
        command.downgrade(migration_config(connection), "base")
    assert set(inspect(db.engine).get_table_names()) == {"alembic_version"}
    db.migrate()
    assert schema_differences(db) == []


def test_concurrent_migrations_create_the_schema_once(db_url: str) -> None:
    """Two daemons migrating an empty database at once both succeed, one schema results."""
    start = threading.Barrier(2)

    def migrate(store: Store) -> None:
        start.wait()
        store.migrate()

    with Store(db_url) as one, Store(db_url) as two:
        with ThreadPoolExecutor(max_workers=2) as pool:
            for future in [pool.submit(migrate, one), pool.submit(migrate, two)]:
                future.result(timeout=60)
        assert current_revision(one) == head_revision()
        assert schema_differences(two) == []


def test_failed_migration_leaves_no_partial_schema(db_url: str) -> None:
    """An upgrade that fails half-way rolls back every table it had created."""
    store = Store(db_url)
    try:
        with store.engine.begin() as connection:
            # "change" is created last; a squatter makes the upgrade fail there
            connection.execute(text("CREATE TABLE change (id INTEGER PRIMARY KEY)"))
        with pytest.raises(StoreError, match="cannot migrate"):
            store.migrate()
        assert set(inspect(store.engine).get_table_names()) == {"change"}
        assert current_revision(store) is None
    finally:
        store.close()


def test_dialect_tuning_is_applied(db: Store) -> None:
    """SQLite runs WAL with enforced foreign keys; PostgreSQL stores blobs uncompressed."""
    with db.engine.connect() as connection:
        if db.dialect == "sqlite":
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
            assert int(connection.exec_driver_sql("PRAGMA busy_timeout").scalar_one()) >= 1000
        else:
            storage = connection.execute(
                text(
                    "SELECT attstorage FROM pg_attribute "
                    "WHERE attrelid = 'blob'::regclass AND attname = 'data'"
                )
            ).scalar()
            assert storage == "e"  # EXTERNAL: zstd output is not compressed again
