"""Lease holders and their heartbeats, so a dead process's alert leases are taken over at
once and a route's later alerts never overtake them.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "worker",
        sa.Column("owner", sa.String(), nullable=False),
        sa.Column("node", sa.String(), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("owner", name=op.f("pk_worker")),
    )
    op.create_index(op.f("ix_worker_heartbeat_at"), "worker", ["heartbeat_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_worker_heartbeat_at"), table_name="worker")
    op.drop_table("worker")
