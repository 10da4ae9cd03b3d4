"""Sources (feeds, sitemaps, section pages), the items they list, and each page's age.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "source",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_poll_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("leased_by", sa.String(), nullable=True),
        sa.Column("last_polled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_ok_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("etag", sa.String(), nullable=True),
        sa.Column("last_modified", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_source"),
        sa.UniqueConstraint("url", name="uq_source_url"),
    )
    op.create_index("ix_source_next_poll_at", "source", ["next_poll_at"])
    # Existing pages are hand-written: no source, no discovery time, no tier state.
    with op.batch_alter_table("page") as batch:
        batch.add_column(sa.Column("source_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("discovered_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("published_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("fast_until", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("tier_every_seconds", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_page_source_id_source", "source", ["source_id"], ["id"])
        batch.create_index("ix_page_source_id", ["source_id"])
    op.create_table(
        "source_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("page_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("is_listed", sa.Boolean(), nullable=False),
        sa.Column("dropped_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_source_item"),
        sa.ForeignKeyConstraint(
            ["source_id"], ["source.id"], name="fk_source_item_source_id_source"
        ),
        sa.ForeignKeyConstraint(["page_id"], ["page.id"], name="fk_source_item_page_id_page"),
        sa.UniqueConstraint("source_id", "url", name="uq_source_item_source_id"),
    )
    op.create_index("ix_source_item_page_id", "source_item", ["page_id"])


def downgrade() -> None:
    op.drop_index("ix_source_item_page_id", table_name="source_item")
    op.drop_table("source_item")
    with op.batch_alter_table("page") as batch:
        batch.drop_index("ix_page_source_id")
        batch.drop_constraint("fk_page_source_id_source", type_="foreignkey")
        for column in (
            "tier_every_seconds",
            "retired_at",
            "fast_until",
            "published_at",
            "discovered_at",
            "source_id",
        ):
            batch.drop_column(column)
    op.drop_index("ix_source_next_poll_at", table_name="source")
    op.drop_table("source")
