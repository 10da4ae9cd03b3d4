"""The hash chain and ``watcher verify``: tampering with bodies or versions is reported."""

from __future__ import annotations

import hashlib
import itertools

import zstandard
from alembic import command
from sqlalchemy import text

from tests.conftest import SmtpServer
from tests.evidence_support import URL, five_versions, store_versions
from tests.factories import T0, make_article, make_fetch_result
from watcher.alerts.message import AlertItem, render_message
from watcher.alerts.notify import deliver_due
from watcher.check.gather import version_record
from watcher.cli import main
from watcher.config import Watchlist
from watcher.store.database import migration_config
from watcher.store.store import ChangeDraft, Store
from watcher.store.verify import verify_store


def test_an_untouched_store_verifies(db: Store) -> None:
    """Five versions chained one to the next, every body matching its hash: no break."""
    store_versions(db, five_versions())
    report = verify_store(db)
    assert report.is_intact, report.breaks
    assert (report.blobs, report.pages, report.versions) == (5, 1, 5)
    chain = db.snapshots(db.page_by_url(URL).id)  # type: ignore[union-attr, arg-type]
    assert chain[0].previous_record_sha256 == ""
    for before, after in itertools.pairwise(chain):
        assert after.previous_record_sha256 == before.record_sha256
    assert len({v.record_sha256 for v in chain}) == 5


def test_a_flipped_byte_in_one_body_is_reported(db: Store) -> None:
    """A body re-stored with one byte changed no longer matches its SHA-256."""
    versions = five_versions()
    ids = store_versions(db, versions)
    victim = db.get_snapshot(ids[1])
    assert victim is not None
    body = bytearray(versions[1].body)
    body[40] ^= 0x01
    forged = zstandard.ZstdCompressor().compress(bytes(body))
    with db.engine.begin() as connection:
        connection.execute(
            text("UPDATE blob SET data = :data WHERE sha256 = :sha"),
            {"data": forged, "sha": victim.body_sha256},
        )
    report = verify_store(db)
    assert [b.problem for b in report.breaks] == [
        f"raw body {victim.body_sha256} is corrupt: it decompresses to {len(body)} bytes "
        f"with SHA-256 {hashlib.sha256(bytes(body)).hexdigest()}"
    ]


def test_a_deleted_version_breaks_the_chain_after_it(db: Store) -> None:
    """Deleting a version in the middle is reported at the version stored after it."""
    ids = store_versions(db, five_versions())
    with db.engine.begin() as connection:
        connection.execute(text("DELETE FROM change WHERE snapshot_id = :id"), {"id": ids[2]})
        connection.execute(
            text("UPDATE change SET previous_snapshot_id = NULL WHERE previous_snapshot_id = :id"),
            {"id": ids[2]},
        )
        connection.execute(text("DELETE FROM snapshot WHERE id = :id"), {"id": ids[2]})
    report = verify_store(db)
    assert [(b.version_id, b.problem.split(" (")[0]) for b in report.breaks] == [
        (ids[3], "links to a record that is not the version stored before it")
    ]


def test_deleting_the_newest_version_is_reported(db: Store) -> None:
    """The page remembers its newest record, so cutting the chain's end shows too."""
    ids = store_versions(db, five_versions()[:3])
    with db.engine.begin() as connection:
        connection.execute(text("DELETE FROM change WHERE snapshot_id = :id"), {"id": ids[2]})
        connection.execute(text("DELETE FROM snapshot WHERE id = :id"), {"id": ids[2]})
    report = verify_store(db)
    assert [(b.url, b.version_id) for b in report.breaks] == [(URL, None)]
    assert "newest version" in report.breaks[0].problem


def test_edited_evidence_no_longer_matches_its_record(db: Store) -> None:
    """Changing a stored status (a 410 made a 200) breaks that version's record hash."""
    ids = store_versions(db, five_versions()[:2])
    with db.engine.begin() as connection:
        connection.execute(text("UPDATE snapshot SET status = 410 WHERE id = :id"), {"id": ids[0]})
    report = verify_store(db)
    assert [(b.version_id, b.problem) for b in report.breaks] == [
        (ids[0], "record hash does not match its stored evidence")
    ]


def test_upgrading_chains_versions_stored_before_the_chain(db: Store) -> None:
    """Migration 0005 chains existing versions exactly as new versions are chained."""
    store_versions(db, five_versions())
    before = [(v.id, v.record_sha256) for v in db.snapshots(1)]
    with db.engine.connect() as connection:
        raw = connection.connection.driver_connection
        if db.dialect == "sqlite":  # batch drops of referenced tables, as migrate() allows
            raw.execute("PRAGMA foreign_keys = OFF")  # type: ignore[union-attr]
        with connection.begin():
            command.downgrade(migration_config(connection), "0004")
        if db.dialect == "sqlite":
            raw.execute("PRAGMA foreign_keys = ON")  # type: ignore[union-attr]
    db.migrate()
    assert [(v.id, v.record_sha256) for v in db.snapshots(1)] == before
    assert verify_store(db).is_intact


def test_verify_command_exit_codes(db: Store) -> None:
    """watcher verify exits 0 when intact and 1 with each break listed."""
    ids = store_versions(db, five_versions()[:2])
    url = db.engine.url.render_as_string(hide_password=False)
    argv = ["-c", "/nonexistent/watcher.toml", "--database", url, "verify"]
    assert main(argv) == 0
    with db.engine.begin() as connection:
        connection.execute(
            text("UPDATE snapshot SET final_url = 'x' WHERE id = :id"), {"id": ids[1]}
        )
    assert main(argv) == 1


def test_alerts_name_the_version_they_report(db: Store) -> None:
    """The outbox row carries the version's hashes, and every format shows the short ones."""
    page_id = db.sync_pages([(URL, "Bridge")], T0)[URL]
    draft = ChangeDraft("changed", ("body",), None, "body edited", 1, 1, T0)
    snapshot_id, _ = db.record_version(
        page_id,
        version_record(
            make_fetch_result(url=URL),
            make_article(),
            state="ok",
            removal=None,
            reader="",
            locator=None,
        ),
        change=draft,
        previous_snapshot_id=None,
        alerts=["desk"],
        alert_event={"summary": "body edited", "parts": ["body"]},
    )
    snapshot = db.get_snapshot(snapshot_id)
    assert snapshot is not None
    [alert] = db.outbox.alerts()
    assert alert.event["version"] == {
        "id": snapshot_id,
        "body_sha256": snapshot.body_sha256,
        "record_sha256": snapshot.record_sha256,
    }
    item = AlertItem(
        "changed", "Bridge", URL, T0, alert.event, change_url="https://w.example/changes/1"
    )
    for fmt in ("slack", "html", "text"):
        body = render_message([item], fmt).body  # type: ignore[arg-type]
        assert snapshot.body_sha256[:12] in body
        assert snapshot.record_sha256[:12] in body
        assert "https://w.example/changes/1" in body


def test_delivered_email_names_the_version_and_links_the_change(
    db: Store, smtp: SmtpServer
) -> None:
    """Through apprise to a real SMTP server: short hashes, and the change's page when
    settings.base_url is set."""
    page_id = db.sync_pages([(URL, "Bridge")], T0)[URL]
    draft = ChangeDraft("changed", ("body",), None, "body edited", 1, 1, T0)
    snapshot_id, change_id = db.record_version(
        page_id,
        version_record(
            make_fetch_result(url=URL),
            make_article(),
            state="ok",
            removal=None,
            reader="",
            locator=None,
        ),
        change=draft,
        previous_snapshot_id=None,
        alerts=["desk"],
        alert_event={"summary": "body edited", "parts": ["body"]},
    )
    watchlist = Watchlist.model_validate(
        {
            "settings": {"base_url": "https://watcher.example.org/"},
            "notify": {"desk": {"urls": [smtp.url()]}},
        }
    )
    assert deliver_due(db, watchlist, now=T0, owner="test") == 1
    [mail] = smtp.messages
    text_part = mail.get_body(preferencelist=("plain",))
    assert text_part is not None
    body = text_part.get_content()
    snapshot = db.get_snapshot(snapshot_id)
    assert snapshot is not None
    assert f"SHA-256 {snapshot.body_sha256[:12]}" in body
    assert f"https://watcher.example.org/changes/{change_id}" in body
