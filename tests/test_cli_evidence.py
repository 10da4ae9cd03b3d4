"""show, diff and history on stored versions, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import pytest

from tests.evidence_support import URL, Version, five_versions, page_html, store_versions
from tests.factories import make_article
from watcher.cli import EXIT_ERRORS, EXIT_OK, main
from watcher.store.store import Store


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A watchlist whose one watch drops the page's visit counter before comparing."""
    monkeypatch.delenv("WATCHER_DATABASE", raising=False)
    path = tmp_path / "watcher.toml"
    path.write_text(f'[[watch]]\nurl = "{URL}"\nignore = ["Visits: \\\\d+"]\n', encoding="utf-8")
    return path


def run(
    capsysbinary: pytest.CaptureFixture[bytes], config: Path, db: Store, *args: str
) -> tuple[int, bytes, str]:
    url = db.engine.url.render_as_string(hide_password=False)
    code = main(["-c", str(config), "--database", url, *args])
    out, err = capsysbinary.readouterr()
    return code, out, err.decode()


def test_show_writes_every_version_byte_for_byte(
    db: Store, config: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    """show VERSION --html writes the raw body exactly, GB18030 and CRLF included."""
    versions = five_versions()
    ids = store_versions(db, versions)
    for version_id, version in zip(ids, versions, strict=True):
        code, out, _ = run(capsysbinary, config, db, "show", URL, str(version_id))
        assert code == EXIT_OK
        assert out == version.body
    code, out, _ = run(capsysbinary, config, db, "show", URL)
    assert out == versions[-1].body, "the latest version by default"
    digest = hashlib.sha256(versions[0].body).hexdigest()
    code, out, _ = run(capsysbinary, config, db, "show", URL, digest[:10])
    assert out == versions[0].body, "a hash prefix names a version"


def test_show_refuses_a_body_that_no_longer_matches_its_hash(
    db: Store, config: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    """A tampered blob is reported as corrupt, never written out as evidence."""
    store_versions(db, five_versions()[:1])
    with db.engine.begin() as connection:
        connection.exec_driver_sql("UPDATE blob SET size = size + 1")
    code, out, err = run(capsysbinary, config, db, "show", URL, "first")
    assert code != EXIT_OK
    assert out == b""
    assert "corrupt" in err


def test_show_json_headers_and_text(
    db: Store, config: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    """--json, --headers and --text give the stored record, hops and reading."""
    ids = store_versions(db, five_versions())
    _, out, _ = run(capsysbinary, config, db, "show", URL, str(ids[3]), "--json")
    record = json.loads(out)
    assert record["status"] == 200
    assert record["final_url"] == "https://news.example/"
    assert record["redirects"] == [{"url": URL, "status": 301, "location": "https://news.example/"}]
    assert record["removal"] == "redirected"
    _, out, _ = run(capsysbinary, config, db, "show", URL, str(ids[3]), "--headers")
    assert out.decode().splitlines()[:2] == [
        f"301 {URL} -> https://news.example/",
        "HTTP 200  https://news.example/",
    ]
    _, out, _ = run(capsysbinary, config, db, "show", URL, "first", "--text")
    assert "headline: Minister resigns" in out.decode()
    assert "denied any wrongdoing" in out.decode()


def test_diff_any_two_versions_applies_the_ignore_rules(
    db: Store, config: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    """diff A B compares non-adjacent versions; the watch's ignore rule hides the counter."""
    ids = store_versions(db, five_versions())
    code, out, _ = run(
        capsysbinary, config, db, "diff", URL, str(ids[0]), str(ids[2]), "--color", "never"
    )
    text = out.decode()
    assert code == EXIT_OK
    assert "headline: Minister [-resigns-]{+quits+}" in text
    assert "[-denied any wrongdoing-]{+admitted some mistakes+}" in text
    assert "Visits: 120" not in text
    assert "Visits: 512" not in text
    assert "ignore rules 'Visits: \\\\d+' applied" in text, "diff says what it left out"

    _, out, _ = run(capsysbinary, config, db, "diff", URL, str(ids[0]), str(ids[2]), "--json")
    document = json.loads(out)
    assert document["changed_parts"] == ["headline", "body"]
    body = document["parts"][-1]
    assert body["part"] == "body"
    old_body = "".join(t for op, t in body["edits"] if op != "+")
    assert old_body == "The minister denied any wrongdoing."


def test_diff_of_one_version_is_against_the_next(
    db: Store, config: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    """diff A alone compares A with the version stored after it; no edit when only noise."""
    ids = store_versions(db, five_versions())
    _, out, _ = run(capsysbinary, config, db, "diff", URL, str(ids[1]), "--json")
    document = json.loads(out)
    assert (document["old"]["id"], document["new"]["id"]) == (ids[1], ids[2])
    assert document["changed_parts"] == ["headline"], "the counter changed, but is ignored"


def test_diff_defaults_to_the_latest_change(
    db: Store, config: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    """Without versions, diff shows the latest change; --change picks one by id."""
    ids = store_versions(db, five_versions()[:3])
    _, out, _ = run(capsysbinary, config, db, "diff", URL, "--json")
    assert [json.loads(out)[k]["id"] for k in ("old", "new")] == [ids[1], ids[2]]
    _, out, _ = run(capsysbinary, config, db, "history", URL, "--json")
    first_edit = json.loads(out)["changes"][1]
    _, out, _ = run(capsysbinary, config, db, "diff", URL, "--change", str(first_edit["id"]))
    assert "{+admitted some mistakes+}" in out.decode()


def test_history_json_lists_versions_and_changes(
    db: Store, config: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    """history --json holds every version's evidence and every change, oldest first."""
    versions = five_versions()
    ids = store_versions(db, versions)
    code, out, _ = run(capsysbinary, config, db, "history", URL, "--json")
    document = json.loads(out)
    assert code == EXIT_OK
    assert [v["id"] for v in document["versions"]] == ids
    assert [v["body_sha256"] for v in document["versions"]] == [
        hashlib.sha256(v.body).hexdigest() for v in versions
    ]
    assert [c["kind"] for c in document["changes"]] == [
        "new",
        "changed",
        "changed",
        "removed",
        "changed",
    ]


def test_unknown_version_is_an_error(
    db: Store, config: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    """A version that does not exist is named in the error; nothing is guessed."""
    store_versions(db, five_versions()[:2])
    code, out, err = run(capsysbinary, config, db, "show", URL, "9999")
    assert (code, out) == (EXIT_ERRORS, b"")
    assert "no version 9999" in err


def test_diff_honours_ignore(
    db: Store, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    """diff compares exactly what checks compare: every part a check names (captions
    included), with the watch's ignore rules applied to each, and it says which rules
    removed text."""
    config = tmp_path / "watcher.toml"
    config.write_text(f"[[watch]]\nurl = \"{URL}\"\nignore = ['Belmarsh \\w+']\n", "utf-8")
    first = ("He was held in Belmarsh prison for five years.", "The court ruled on Monday.")
    second = ("He was held in Belmarsh jail for five years.", "The court ruled on Tuesday.")
    before = replace(make_article(*first), captions=("Belmarsh prison in 2019, by A. Smith.",))
    after = replace(make_article(*second), captions=("Belmarsh jail in 2019, by A. Smyth.",))
    store_versions(
        db, [Version(page_html("Held", *first), before), Version(page_html("Held", *second), after)]
    )
    code, out, _ = run(capsysbinary, config, db, "diff", URL, "--color", "never")
    text = out.decode()
    assert code == EXIT_OK
    assert "prison" not in text
    assert "jail" not in text
    assert "caption: in 2019, by A. [-Smith-]{+Smyth+}." in text
    assert "The court ruled on [-Monday-]{+Tuesday+}." in text
    assert "ignore rules 'Belmarsh \\\\w+' applied" in text  # repr doubles the backslash
    _, out, _ = run(capsysbinary, config, db, "diff", URL, "--json")
    document = json.loads(out)
    assert document["changed_parts"] == ["caption", "body"]
    assert document["ignored"] == ["Belmarsh \\w+"]
