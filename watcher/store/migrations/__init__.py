"""Alembic migrations for the watcher database; ``Store.migrate()`` applies them.

Revisions are written by hand (``versions/NNNN_slug.py``) and never generated at run time.
To draft a new one after changing ``watcher/store/models.py``, autogenerate against a database
migrated to the current head, then read and edit the result::

    from alembic import command
    from watcher.store.database import migration_config
    from watcher.store.store import Store

    store = Store("sqlite:///draft.db")
    store.migrate()
    with store.engine.connect() as connection:
        command.revision(
            migration_config(connection), message="add alert", autogenerate=True, rev_id="0002"
        )

then ``ruff check --fix`` and ``ruff format`` the new file. ``tests/test_migrations.py``
fails while the models and the migrated schema differ.
"""
