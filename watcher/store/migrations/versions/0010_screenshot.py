"""A screenshot beside a version: the SHA-256 of its PNG, stored as a blob like bodies.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Versions stored before have none: only browser watches take screenshots.
    op.add_column("snapshot", sa.Column("screenshot_sha256", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("snapshot") as batch:
        batch.drop_column("screenshot_sha256")
