"""Where each page's article was found last time, for the quick re-read.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable: existing pages simply get full extraction on their next check.
    op.add_column("page", sa.Column("locator", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("page") as batch:
        batch.drop_column("locator")
