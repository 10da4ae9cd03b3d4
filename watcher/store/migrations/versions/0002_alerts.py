"""Alert outbox and page outages.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("page_id", sa.Integer(), nullable=False),
        sa.Column("change_id", sa.Integer(), nullable=True),
        sa.Column("route", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("event", sa.JSON(), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered", sa.JSON(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("given_up_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("leased_by", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_alert"),
        sa.ForeignKeyConstraint(["page_id"], ["page.id"], name="fk_alert_page_id_page"),
        sa.ForeignKeyConstraint(["change_id"], ["change.id"], name="fk_alert_change_id_change"),
    )
    op.create_index("ix_alert_due_at", "alert", ["due_at"])

    op.create_table(
        "outage",
        sa.Column("page_id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("announced_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("page_id", name="pk_outage"),
        sa.ForeignKeyConstraint(["page_id"], ["page.id"], name="fk_outage_page_id_page"),
    )


def downgrade() -> None:
    # Drops undelivered alerts: only for throwaway databases.
    op.drop_table("outage")
    op.drop_index("ix_alert_due_at", table_name="alert")
    op.drop_table("alert")
