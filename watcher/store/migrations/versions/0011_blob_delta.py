"""Changed versions stored as deltas: ``blob.base_sha256`` names the whole body (keyframe) a
``zstd-delta`` blob is packed against, and existing bodies are packed that way.

Each page's versions are walked oldest first; a whole body becomes a delta against the
page's current keyframe when that is at most half the keyframe's size and the keyframe
has fewer than 31 deltas, else it stays whole and becomes the keyframe. A body that is
another page's keyframe stays whole. Every body is checked against its SHA-256 before
and after packing: a body that does not verify is left exactly as it is (``watcher
verify`` still reports it). The codec is written out
here, not imported, so this revision keeps doing what it did.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
import zstandard
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FULL = "zstd"
_DELTA = "zstd-delta"
_KEYFRAME_EVERY = 32
_DELTA_SHARE = 0.5
_LEVEL = 3

_blob = sa.table(
    "blob",
    sa.column("sha256", sa.String),
    sa.column("codec", sa.String),
    sa.column("size", sa.Integer),
    sa.column("data", sa.LargeBinary),
    sa.column("base_sha256", sa.String),
)
_snapshot = sa.table(
    "snapshot",
    sa.column("id", sa.Integer),
    sa.column("page_id", sa.Integer),
    sa.column("body_sha256", sa.String),
)


def upgrade() -> None:
    with op.batch_alter_table("blob") as batch:
        batch.add_column(sa.Column("base_sha256", sa.String(length=64), nullable=True))
        batch.create_foreign_key("fk_blob_base_sha256_blob", "blob", ["base_sha256"], ["sha256"])
        batch.create_index("ix_blob_base_sha256", ["base_sha256"])
    connection = op.get_bind()
    page_ids = (
        connection.execute(sa.select(_snapshot.c.page_id).distinct().order_by(_snapshot.c.page_id))
        .scalars()
        .all()
    )
    for page_id in page_ids:
        _pack_page(connection, page_id)


def _pack_page(connection: sa.Connection, page_id: int) -> None:
    """Pack one page's bodies against its keyframes, oldest version first."""
    hashes = connection.execute(
        sa.select(_snapshot.c.body_sha256)
        .where(_snapshot.c.page_id == page_id)
        .order_by(_snapshot.c.id)
    ).scalars()
    keyframe: tuple[str, bytes, int] | None = None  # sha256, body, packed size
    deltas = 0
    for sha256 in list(dict.fromkeys(hashes)):
        row = connection.execute(
            sa.select(_blob.c.codec, _blob.c.size, _blob.c.data).where(_blob.c.sha256 == sha256)
        ).first()
        if row is None or row.codec != _FULL:
            continue  # packed already as another page's version: it stays as it is
        body = _whole(row.data, row.size, sha256)
        if body is None:
            continue  # damaged: left exactly as it is, for `watcher verify` to report
        # a keyframe of other deltas stays whole (a delta never points at a delta)
        packed = None if _is_keyframe(connection, sha256) else _delta(body, keyframe, deltas)
        if packed is None or keyframe is None:
            keyframe, deltas = (sha256, body, len(row.data)), 0
            continue
        connection.execute(
            _blob.update()
            .where(_blob.c.sha256 == sha256)
            .values(codec=_DELTA, data=packed, base_sha256=keyframe[0])
        )
        deltas += 1


def _delta(body: bytes, keyframe: tuple[str, bytes, int] | None, deltas: int) -> bytes | None:
    """``body`` packed against ``keyframe``, verified by unpacking; None if it does not pay."""
    if keyframe is None or deltas >= _KEYFRAME_EVERY - 1:
        return None
    dictionary = zstandard.ZstdCompressionDict(
        keyframe[1], dict_type=zstandard.DICT_TYPE_RAWCONTENT
    )
    packed = zstandard.ZstdCompressor(level=_LEVEL, dict_data=dictionary).compress(body)
    if len(packed) > keyframe[2] * _DELTA_SHARE:
        return None
    unpacked = zstandard.ZstdDecompressor(dict_data=dictionary).decompress(
        packed, max_output_size=len(body)
    )
    return packed if unpacked == body else None


def _is_keyframe(connection: sa.Connection, sha256: str) -> bool:
    found = connection.execute(
        sa.select(_blob.c.sha256).where(_blob.c.base_sha256 == sha256).limit(1)
    ).first()
    return found is not None


def _whole(data: bytes, size: int, sha256: str) -> bytes | None:
    """A whole blob's body if it verifies against its hash, else None."""
    try:
        body = zstandard.ZstdDecompressor().decompress(data, max_output_size=size)
    except zstandard.ZstdError:
        return None
    return body if hashlib.sha256(body).hexdigest() == sha256 else None


def downgrade() -> None:
    connection = op.get_bind()
    while True:
        rows = connection.execute(
            sa.select(_blob.c.sha256, _blob.c.size, _blob.c.data, _blob.c.base_sha256)
            .where(_blob.c.codec == _DELTA)
            .limit(200)
        ).all()
        if not rows:
            break
        for sha256, size, data, base_sha256 in rows:
            base = connection.execute(
                sa.select(_blob.c.size, _blob.c.data).where(_blob.c.sha256 == base_sha256)
            ).one()
            keyframe = zstandard.ZstdDecompressor().decompress(base.data, max_output_size=base.size)
            dictionary = zstandard.ZstdCompressionDict(
                keyframe, dict_type=zstandard.DICT_TYPE_RAWCONTENT
            )
            body = zstandard.ZstdDecompressor(dict_data=dictionary).decompress(
                data, max_output_size=size
            )
            connection.execute(
                _blob.update()
                .where(_blob.c.sha256 == sha256)
                .values(
                    codec=_FULL,
                    data=zstandard.ZstdCompressor(level=_LEVEL).compress(body),
                    base_sha256=None,
                )
            )
    with op.batch_alter_table("blob") as batch:
        batch.drop_index("ix_blob_base_sha256")
        batch.drop_constraint("fk_blob_base_sha256_blob", type_="foreignkey")
        batch.drop_column("base_sha256")
