"""Each version's read text stored zstd-compressed (``snapshot.text_zstd``) instead of as
plain text: a hostile page whose text varies cost its size again with every version.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import zstandard
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 200  # versions converted per round trip: bounded memory on any history


def upgrade() -> None:
    op.add_column("snapshot", sa.Column("text_zstd", sa.LargeBinary(), nullable=True))
    connection = op.get_bind()
    compress = zstandard.ZstdCompressor(level=3).compress
    table = sa.table(
        "snapshot",
        sa.column("id", sa.Integer),
        sa.column("text", sa.Text),
        sa.column("text_zstd", sa.LargeBinary),
    )
    last = 0
    while True:
        rows = connection.execute(
            sa.select(table.c.id, table.c.text)
            .where(table.c.id > last)
            .order_by(table.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            break
        for row_id, text in rows:
            connection.execute(
                table.update()
                .where(table.c.id == row_id)
                .values(text_zstd=compress((text or "").encode("utf-8")))
            )
        last = rows[-1][0]
    with op.batch_alter_table("snapshot") as batch:
        batch.drop_column("text")
        batch.alter_column("text_zstd", existing_type=sa.LargeBinary(), nullable=False)
    if connection.dialect.name == "postgresql":
        # already compressed: TOAST would only spend CPU trying again
        op.execute("ALTER TABLE snapshot ALTER COLUMN text_zstd SET STORAGE EXTERNAL")


def downgrade() -> None:
    op.add_column("snapshot", sa.Column("text", sa.Text(), nullable=True))
    connection = op.get_bind()
    decompress = zstandard.ZstdDecompressor().decompress
    table = sa.table(
        "snapshot",
        sa.column("id", sa.Integer),
        sa.column("text", sa.Text),
        sa.column("text_zstd", sa.LargeBinary),
    )
    for row_id, packed in connection.execute(sa.select(table.c.id, table.c.text_zstd)).all():
        connection.execute(
            table.update()
            .where(table.c.id == row_id)
            .values(text=decompress(packed).decode("utf-8"))
        )
    with op.batch_alter_table("snapshot") as batch:
        batch.drop_column("text_zstd")
        batch.alter_column("text", existing_type=sa.Text(), nullable=False)
