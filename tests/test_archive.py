"""WARC export: warcio's checker passes, bodies read back byte for byte, replay tools index it."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from tests.evidence_support import URL, five_versions, store_versions
from tests.factories import T0
from watcher.cli import EXIT_OK, main
from watcher.evidence.archive import export_warc
from watcher.store.store import Store

BIN = Path(sys.executable).parent


def read_records(path: Path) -> list[tuple[str, str, dict[str, str], bytes, str]]:
    """(type, target URI, WARC headers, payload, HTTP status line) for every record."""
    out = []
    with path.open("rb") as stream:
        for record in ArchiveIterator(stream):
            headers = dict(record.rec_headers.headers)
            status = record.http_headers.statusline if record.http_headers else ""
            payload = record.content_stream().read()
            out.append(
                (record.rec_type, headers.get("WARC-Target-URI", ""), headers, payload, status)
            )
    return out


def test_five_versions_round_trip_through_warc(db: Store, tmp_path: Path) -> None:
    """Every body reads back exactly, with its SHA-256; hops, pairs and readings are there."""
    versions = five_versions()
    ids = store_versions(db, versions)
    path = tmp_path / "evidence.warc.gz"
    summary = export_warc(db, path)
    assert (summary.pages, summary.versions) == (1, 5)

    records = read_records(path)
    assert records[0][0] == "warcinfo"
    finals = [r for r in records if r[0] == "response" and not r[4].startswith("301")]
    assert [r[3] for r in finals] == [v.body for v in versions]
    for _, _, headers, payload, _ in finals:
        digest = base64.b32encode(hashlib.sha256(payload).digest()).decode()
        assert headers["WARC-Payload-Digest"] == f"sha256:{digest}"
    assert finals[0][2]["WARC-Date"] == T0.strftime("%Y-%m-%dT%H:%M:%SZ")

    hops = [r for r in records if r[0] == "response" and r[4].startswith("301")]
    assert [(r[1], r[4]) for r in hops] == [(URL, "301 Moved Permanently")]
    responses = {r[2]["WARC-Record-ID"] for r in records if r[0] == "response"}
    requests = [r for r in records if r[0] == "request"]
    assert len(requests) == 6
    assert {r[2]["WARC-Concurrent-To"] for r in requests} == responses

    readings = [json.loads(r[3]) for r in records if r[0] == "metadata"]
    assert [m["version_id"] for m in readings] == ids
    assert readings[3]["removal"] == "redirected"
    assert readings[2]["headline"] == "Minister quits"
    assert readings[1]["verdict"]["kind"] == "changed"


def test_warcio_checker_and_cdxj_indexer_accept_the_export(db: Store, tmp_path: Path) -> None:
    """warcio check verifies every digest; cdxj-indexer indexes each capture."""
    store_versions(db, five_versions())
    path = tmp_path / "evidence.warc.gz"
    export_warc(db, path)
    check = subprocess.run(
        [str(BIN / "warcio"), "check", "-v", str(path)], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.count("digest pass") >= 12
    index = subprocess.run(
        [str(BIN / "cdxj-indexer"), str(path)], capture_output=True, text=True, check=False
    )
    assert index.returncode == 0, index.stderr
    lines = [line for line in index.stdout.splitlines() if line.strip()]
    assert sum('"status": "200"' in line for line in lines) == 5
    assert any('"status": "301"' in line for line in lines)


def test_checker_catches_a_damaged_export(db: Store, tmp_path: Path) -> None:
    """The check above can fail: a payload changed after writing breaks its digest."""
    store_versions(db, five_versions()[:1])
    exported = tmp_path / "evidence.warc.gz"
    export_warc(db, exported)
    with gzip.open(exported, "rb") as stream:  # reads every gzip member in turn
        raw = stream.read()
    damaged = raw.replace(b"denied any wrongdoing", b"denied all wrongdoing", 1)
    assert damaged != raw
    path = tmp_path / "damaged.warc"
    path.write_bytes(damaged)
    check = subprocess.run(
        [str(BIN / "warcio"), "check", str(path)], capture_output=True, text=True, check=False
    )
    assert check.returncode != 0


def test_export_command_filters_by_url_tag_and_date(
    db: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """export --warc takes URLs, --tag from the watchlist and --since (UTC)."""
    monkeypatch.delenv("WATCHER_DATABASE", raising=False)
    store_versions(db, five_versions())
    store_versions(db, five_versions()[:2], url="https://other.example/a", name="Other")
    config = tmp_path / "watcher.toml"
    config.write_text(
        f'[[watch]]\nurl = "{URL}"\ntags = ["bridge"]\n\n[[watch]]\nurl = "https://other.example/a"\n',
        encoding="utf-8",
    )
    database = db.engine.url.render_as_string(hide_password=False)
    path = tmp_path / "out.warc.gz"

    def export(*args: str) -> list[str]:
        code = main(
            ["-c", str(config), "--database", database, "export", "--warc", str(path), *args]
        )
        assert code == EXIT_OK
        return [json.loads(r[3])["page"] for r in read_records(path) if r[0] == "metadata"]

    assert len(export()) == 7
    assert export("--tag", "bridge") == [URL] * 5
    assert export("https://other.example/a") == ["https://other.example/a"] * 2
    assert export("--tag", "bridge", "--since", "2026-11-29T14:00") == [URL] * 3
    assert "3 versions of 1 page," in capsys.readouterr().err
