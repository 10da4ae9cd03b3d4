"""Initial schema: page, blob, snapshot, change.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "page",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_check_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("leased_by", sa.String(), nullable=True),
        sa.Column("last_checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("consecutive_errors", sa.Integer(), nullable=False),
        sa.Column("etag", sa.String(), nullable=True),
        sa.Column("last_modified", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_page"),
        sa.UniqueConstraint("url", name="uq_page_url"),
    )
    op.create_index("ix_page_next_check_at", "page", ["next_check_at"])

    op.create_table(
        "blob",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("codec", sa.String(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name="pk_blob"),
    )
    if op.get_context().dialect.name == "postgresql":
        # Bodies are zstd already: keep TOAST from trying (and failing) to compress them.
        op.execute("ALTER TABLE blob ALTER COLUMN data SET STORAGE EXTERNAL")

    op.create_table(
        "snapshot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("page_id", sa.Integer(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("final_url", sa.Text(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("redirects", sa.JSON(), nullable=False),
        sa.Column("body_sha256", sa.String(length=64), nullable=False),
        sa.Column("encoding", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("removal", sa.String(), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("byline", sa.Text(), nullable=False),
        sa.Column("published", sa.String(), nullable=False),
        sa.Column("page_title", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("text_sha256", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_snapshot"),
        sa.ForeignKeyConstraint(["page_id"], ["page.id"], name="fk_snapshot_page_id_page"),
        sa.ForeignKeyConstraint(
            ["body_sha256"], ["blob.sha256"], name="fk_snapshot_body_sha256_blob"
        ),
    )
    op.create_index("ix_snapshot_page_id_id", "snapshot", ["page_id", "id"])

    op.create_table(
        "change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("page_id", sa.Integer(), nullable=False),
        sa.Column("snapshot_id", sa.Integer(), nullable=False),
        sa.Column("previous_snapshot_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("parts", sa.JSON(), nullable=False),
        sa.Column("removal", sa.String(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("words_added", sa.Integer(), nullable=False),
        sa.Column("words_removed", sa.Integer(), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_change"),
        sa.ForeignKeyConstraint(["page_id"], ["page.id"], name="fk_change_page_id_page"),
        sa.ForeignKeyConstraint(
            ["snapshot_id"], ["snapshot.id"], name="fk_change_snapshot_id_snapshot"
        ),
        sa.ForeignKeyConstraint(
            ["previous_snapshot_id"],
            ["snapshot.id"],
            name="fk_change_previous_snapshot_id_snapshot",
        ),
    )
    op.create_index("ix_change_page_id_id", "change", ["page_id", "id"])
    op.create_index("ix_change_snapshot_id", "change", ["snapshot_id"])
    op.create_index("ix_change_detected_at", "change", ["detected_at"])


def downgrade() -> None:
    # Drops every stored version: only for throwaway databases.
    op.drop_table("change")
    op.drop_table("snapshot")
    op.drop_table("blob")
    op.drop_table("page")
