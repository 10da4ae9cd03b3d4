"""The article parts kept beside the body: bylines and datelines as shown, captions, notes,
and what the metadata states.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing versions get "": read by an earlier watcher, re-read when next compared.
    op.add_column("snapshot", sa.Column("parts", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("snapshot") as batch:
        batch.drop_column("parts")
