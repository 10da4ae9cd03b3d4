"""A hash chain over each page's versions: every version records its own record hash and
the previous one's, and the page its newest, so an edited, inserted or deleted version shows.
Also an index for the viewer's filter on changes by kind and date, and where an
independent archive captured the page for a change.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from watcher.store.chain import record_sha256

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PAGE = sa.table(
    "page",
    sa.column("id", sa.Integer),
    sa.column("url", sa.Text),
    sa.column("last_record_sha256", sa.String),
)
_SNAPSHOT = sa.table(
    "snapshot",
    sa.column("id", sa.Integer),
    sa.column("page_id", sa.Integer),
    sa.column("fetched_at", sa.DateTime(timezone=True)),
    sa.column("status", sa.Integer),
    sa.column("final_url", sa.Text),
    sa.column("headers", sa.JSON),
    sa.column("redirects", sa.JSON),
    sa.column("body_sha256", sa.String),
    sa.column("state", sa.String),
    sa.column("removal", sa.String),
    sa.column("previous_record_sha256", sa.String),
    sa.column("record_sha256", sa.String),
)


def upgrade() -> None:
    for table, names in (
        ("snapshot", ("previous_record_sha256", "record_sha256")),
        ("page", ("last_record_sha256",)),
    ):
        for name in names:
            op.add_column(table, sa.Column(name, sa.String(64), nullable=False, server_default=""))
    op.create_index("ix_change_kind_detected_at", "change", ["kind", "detected_at"])
    op.add_column("change", sa.Column("archive_url", sa.Text(), nullable=True))
    _chain_existing_versions(op.get_bind())


def _chain_existing_versions(connection: sa.Connection) -> None:
    """Chain the versions stored before this revision, page by page, oldest first.

    The chain can vouch for them only from now on: it shows later tampering, not any
    that happened before the upgrade.
    """
    pages = connection.execute(sa.select(_PAGE.c.id, _PAGE.c.url)).all()
    for page_id, url in pages:
        previous = ""
        rows = connection.execute(
            sa.select(_SNAPSHOT).where(_SNAPSHOT.c.page_id == page_id).order_by(_SNAPSHOT.c.id)
        ).mappings()
        for row in list(rows):
            record = record_sha256(
                page_url=url,
                fetched_at=row["fetched_at"],
                status=row["status"],
                final_url=row["final_url"],
                headers=row["headers"] or {},
                redirects=row["redirects"] or [],
                body_sha256=row["body_sha256"],
                state=row["state"],
                removal=row["removal"],
                previous_record_sha256=previous,
            )
            connection.execute(
                sa.update(_SNAPSHOT)
                .where(_SNAPSHOT.c.id == row["id"])
                .values(previous_record_sha256=previous, record_sha256=record)
            )
            previous = record
        if previous:
            connection.execute(
                sa.update(_PAGE).where(_PAGE.c.id == page_id).values(last_record_sha256=previous)
            )


def downgrade() -> None:
    op.drop_index("ix_change_kind_detected_at", table_name="change")
    with op.batch_alter_table("change") as batch:
        batch.drop_column("archive_url")
    with op.batch_alter_table("snapshot") as batch:
        batch.drop_column("record_sha256")
        batch.drop_column("previous_record_sha256")
    with op.batch_alter_table("page") as batch:
        batch.drop_column("last_record_sha256")
