"""Raw bodies stored as deltas against a keyframe: small, verified on every read, upgradable."""

from __future__ import annotations

import hashlib
import random
from datetime import timedelta

import pytest
import zstandard
from alembic import command
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, text, update
from sqlmodel import col

from tests.factories import T0, make_article, make_fetch_result, make_version
from watcher.errors import StoreError
from watcher.evidence.archive import export_warc
from watcher.store import blobs
from watcher.store.database import migration_config
from watcher.store.models import Blob
from watcher.store.store import Store
from watcher.store.verify import verify_store


def article_page(words: int = 6000, *, seed: int = 7, noise: str = "") -> bytes:
    """A news-sized page of varied words (not compressible to nothing on its own)."""
    rng = random.Random(seed)
    vocabulary = [f"w{rng.getrandbits(24):x}" for _ in range(3000)]
    paragraphs = []
    for _ in range(words // 60):
        paragraphs.append("<p>" + " ".join(rng.choice(vocabulary) for _ in range(60)) + "</p>")
    return (
        "<!doctype html><html><head><title>Bridge</title></head><body><h1>Bridge</h1>"
        f"<div class=clock>{noise}</div>{''.join(paragraphs)}</body></html>"
    ).encode()


def edited(body: bytes, n: int) -> bytes:
    """``body`` with one word inserted into its middle, and a fresh clock."""
    middle = body.index(b" ", len(body) // 2)
    return body[:middle] + f" edit{n}".encode() + body[middle:]


def store_body(store: Store, page_id: int, body: bytes, n: int) -> str:
    at = T0 + timedelta(hours=n)
    page = store.get_page(page_id)
    fetched = make_fetch_result(body, url=page.url if page else "", fetched_at=at)
    store.record_version(page_id, make_version(fetched, make_article(f"v{n}")))
    return hashlib.sha256(body).hexdigest()


def blob_rows(store: Store) -> dict[str, tuple[str, str | None, int]]:
    """Every blob: codec, keyframe and packed size."""
    with store.engine.connect() as connection:
        rows = connection.execute(
            select(Blob.sha256, Blob.codec, Blob.base_sha256, Blob.data)  # type: ignore[call-overload]
        ).all()
    return {sha: (codec, base, len(data)) for sha, codec, base, data in rows}


def test_a_one_word_edit_is_stored_as_a_small_delta(db: Store) -> None:
    """The edited version is a delta of a few hundred bytes against the first, read back whole."""
    page_id = db.sync_pages([("https://news.example/a", "A")], T0)["https://news.example/a"]
    first = article_page(noise="12:00")
    second = edited(article_page(noise="12:15"), 1)
    first_sha = store_body(db, page_id, first, 0)
    second_sha = store_body(db, page_id, second, 1)
    rows = blob_rows(db)
    assert rows[first_sha][:2] == (blobs.FULL, None)
    codec, base, packed = rows[second_sha]
    assert (codec, base) == (blobs.DELTA, first_sha)
    assert packed < 500 < rows[first_sha][2]
    assert db.raw_body(second_sha) == second
    assert db.raw_body(first_sha) == first
    assert verify_store(db).is_intact


def test_deltas_point_at_a_keyframe_and_keyframes_recur(db: Store) -> None:
    """No delta points at a delta, and every KEYFRAME_EVERY versions one is stored whole."""
    page_id = db.sync_pages([("https://news.example/a", "A")], T0)["https://news.example/a"]
    body = article_page()
    hashes = []
    for n in range(blobs.KEYFRAME_EVERY * 2 + 1):
        body = edited(body, n)
        hashes.append(store_body(db, page_id, body, n))
    rows = blob_rows(db)
    whole = [i for i, sha in enumerate(hashes) if rows[sha][0] == blobs.FULL]
    assert whole == [0, blobs.KEYFRAME_EVERY, blobs.KEYFRAME_EVERY * 2]
    for sha in hashes:
        codec, base, _ = rows[sha]
        assert codec == blobs.FULL or rows[base][0] == blobs.FULL  # type: ignore[index]
    body = article_page()
    for n, sha in enumerate(hashes):
        body = edited(body, n)
        assert db.raw_body(sha) == body


def test_a_rewritten_page_becomes_a_new_keyframe(db: Store) -> None:
    """A body with little in common with the keyframe is stored whole, not as a big delta."""
    page_id = db.sync_pages([("https://news.example/a", "A")], T0)["https://news.example/a"]
    store_body(db, page_id, article_page(seed=1), 0)
    other = store_body(db, page_id, article_page(seed=2), 1)
    assert blob_rows(db)[other][:2] == (blobs.FULL, None)


def test_a_damaged_keyframe_fails_the_reads_of_its_deltas(db: Store) -> None:
    """A delta is only as good as its keyframe: a changed keyframe makes its reads refuse."""
    page_id = db.sync_pages([("https://news.example/a", "A")], T0)["https://news.example/a"]
    first = article_page()
    first_sha = store_body(db, page_id, first, 0)
    second_sha = store_body(db, page_id, edited(first, 1), 1)
    forged = bytearray(first)
    forged[100] ^= 0x01
    with db.engine.begin() as connection:
        connection.execute(
            update(Blob)
            .where(col(Blob.sha256) == first_sha)
            .values(data=zstandard.ZstdCompressor().compress(bytes(forged)))
        )
    for sha in (first_sha, second_sha):
        with pytest.raises(StoreError, match=f"raw body {first_sha} is corrupt"):
            db.raw_body(sha)
    assert len(verify_store(db).breaks) == 2


def test_a_warc_export_carries_every_original_byte(db: Store, tmp_path: object) -> None:
    """Exports unpack deltas: each record's payload is the body with its stored SHA-256."""
    from warcio.archiveiterator import ArchiveIterator

    page_id = db.sync_pages([("https://news.example/a", "A")], T0)["https://news.example/a"]
    body = article_page()
    bodies = {}
    for n in range(4):
        body = edited(body, n)
        bodies[store_body(db, page_id, body, n)] = body
    assert sum(codec == blobs.DELTA for codec, _, _ in blob_rows(db).values()) == 3
    target = tmp_path / "out.warc.gz"  # type: ignore[operator]
    export_warc(db, target)
    payloads = []
    with open(target, "rb") as stream:
        for record in ArchiveIterator(stream):
            if record.rec_type == "response":
                payloads.append(record.content_stream().read())
    assert sorted(payloads) == sorted(bodies.values())


def test_upgrading_from_the_first_schema_packs_whole_bodies(db: Store) -> None:
    """Bodies stored whole before 0011 become deltas on upgrade, each readable and verified."""
    pages = db.sync_pages([(f"https://news.example/{i}", str(i)) for i in range(2)], T0)
    bodies: dict[str, bytes] = {}
    for i, page_id in enumerate(pages.values()):
        body = article_page(seed=i)
        for n in range(4):
            body = edited(body, n)
            bodies[store_body(db, page_id, body, n)] = body
        bodies[store_body(db, page_id, article_page(seed=1), 9)] = article_page(seed=1)
    before = [(v.id, v.record_sha256) for page_id in pages.values() for v in db.snapshots(page_id)]
    with db.engine.connect() as connection:
        raw = connection.connection.driver_connection
        if db.dialect == "sqlite":  # batch drops of referenced tables, as migrate() allows
            raw.execute("PRAGMA foreign_keys = OFF")  # type: ignore[union-attr]
        with connection.begin():
            command.downgrade(migration_config(connection), "0001")
            codecs = connection.execute(text("SELECT DISTINCT codec FROM blob")).scalars().all()
        if db.dialect == "sqlite":
            raw.execute("PRAGMA foreign_keys = ON")  # type: ignore[union-attr]
    assert codecs == [blobs.FULL]  # the first schema's blobs: every body whole
    db.migrate()
    rows = blob_rows(db)
    assert set(rows) == set(bodies)
    # three edits of each page, and the body both pages share, packed against page 1's
    assert sum(codec == blobs.DELTA for codec, _, _ in rows.values()) == 7
    assert all(rows[base][0] == blobs.FULL for _, base, _ in rows.values() if base)
    for sha, body in bodies.items():
        assert db.raw_body(sha) == body
    after = [(v.id, v.record_sha256) for page_id in pages.values() for v in db.snapshots(page_id)]
    assert after == before
    assert verify_store(db).is_intact


@given(
    keyframe=st.binary(max_size=2000),
    body=st.binary(max_size=2000),
    deltas=st.integers(min_value=0, max_value=blobs.KEYFRAME_EVERY),
)
def test_packing_round_trips(keyframe: bytes, body: bytes, deltas: int) -> None:
    """Whatever the keyframe, a packed body unpacks to exactly itself."""
    key = blobs.Keyframe("k", keyframe, len(zstandard.ZstdCompressor().compress(keyframe)), deltas)
    packed = blobs.pack_body(body, key)
    base = keyframe if packed.codec == blobs.DELTA else None
    assert blobs.unpack_body(packed.codec, packed.data, len(body), base) == body
