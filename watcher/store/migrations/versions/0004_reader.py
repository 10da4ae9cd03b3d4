"""How each version's text was read, so a version read otherwise is re-read to compare.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing versions get "": read by an earlier watcher, re-read when next compared.
    op.add_column("snapshot", sa.Column("reader", sa.String(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("snapshot") as batch:
        batch.drop_column("reader")
