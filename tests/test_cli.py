"""The command line, run in-process against a local site and a SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from tests.loopback import LOOPBACK_SETTING
from tests.sites import Story, not_found_page, render
from watcher.cli import EXIT_CHANGES, EXIT_ERRORS, EXIT_OK, EXIT_USAGE, main


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("WATCHER_DATABASE", raising=False)
    monkeypatch.delenv("WATCHER_CONFIG", raising=False)
    return tmp_path


def write_watchlist(directory: Path, *urls: str, extra: str = "") -> Path:
    path = directory / "watcher.toml"
    entries = "".join(f'\n[[watch]]\nurl = "{u}"\nname = "page {i}"\n' for i, u in enumerate(urls))
    path.write_text(
        f'[settings]\n{LOOPBACK_SETTING}\ndatabase = "sqlite:///state/w.db"\ntimeout = "5s"\n'
        f"{extra}{entries}",
        encoding="utf-8",
    )
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_check_json_reports_changes_and_exit_codes(
    workdir: Path, httpserver: HTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """check --json prints one object per event; exit 0 when quiet, 1 on changes."""
    story = Story()
    httpserver.expect_request("/a").respond_with_data(render(story), content_type="text/html")
    config = write_watchlist(workdir, httpserver.url_for("/a"))

    code, out, _ = run(capsys, "-c", str(config), "check", "--json")
    assert code == EXIT_OK
    first = json.loads(out)
    assert first["kind"] == "new"
    assert first["name"] == "page 0"
    assert (workdir / "state" / "w.db").exists(), "relative SQLite path is next to the watchlist"

    code, out, _ = run(capsys, "-c", str(config), "check", "--json")
    assert (code, out) == (EXIT_OK, "")

    httpserver.clear()
    edited = story.edit(2, "denied any wrongdoing", "admitted some mistakes")
    httpserver.expect_request("/a").respond_with_data(render(edited), content_type="text/html")
    code, out, _ = run(capsys, "-c", str(config), "check", "--json")
    assert code == EXIT_CHANGES
    event = json.loads(out)
    assert event["kind"] == "changed"
    assert event["parts"] == ["body"]
    assert {"url", "name", "summary", "detected_at", "change_id"} <= event.keys()

    code, out, _ = run(capsys, "-c", str(config), "diff", httpserver.url_for("/a"))
    assert code == EXIT_OK
    assert "[-denied any wrongdoing-]{+admitted some mistakes+}" in out
    assert out.count("… 2 unchanged paragraphs …") == 2

    code, out, _ = run(capsys, "-c", str(config), "history", httpserver.url_for("/a"))
    assert code == EXIT_OK
    assert out.count(" ok ") == 2
    assert "changed" in out


def test_check_human_output_and_removal(
    workdir: Path, httpserver: HTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """The human report names the kind and the page; a 410 is reported as removed."""
    httpserver.expect_request("/a").respond_with_data(render(Story()), content_type="text/html")
    config = write_watchlist(workdir, httpserver.url_for("/a"))
    run(capsys, "-c", str(config), "check")
    httpserver.clear()
    httpserver.expect_request("/a").respond_with_data(not_found_page(), status=410)
    code, out, err = run(capsys, "-c", str(config), "check")
    assert code == EXIT_CHANGES
    assert out.startswith("REMOVED   page 0")
    assert "410" in out
    assert "1 page checked: 1 removed" in err


def test_unreachable_page_exit_code(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """When a page cannot be fetched and nothing changed, the exit code is 4."""
    config = write_watchlist(workdir, "http://127.0.0.1:9/nothing-listens-here")
    code, out, _ = run(capsys, "-c", str(config), "check")
    assert code == EXIT_ERRORS
    assert out.startswith("ERROR")


def test_validate(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """validate says OK for a good file and exits 2 with file:line: key for a bad one."""
    config = write_watchlist(workdir, "https://a.example/x")
    code, out, _ = run(capsys, "-c", str(config), "validate")
    assert code == EXIT_OK
    assert "OK, 1 watch, 0 routes" in out
    config.write_text(config.read_text() + 'every = "soon"\n')
    code, _, err = run(capsys, "-c", str(config), "validate")
    assert code == EXIT_USAGE
    assert f"{config}:" in err
    assert "watch[0].every" in err


def test_inspect_shows_extraction_without_storing(
    workdir: Path, httpserver: HTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """inspect prints headline, byline, ignore rules that fired and text; stores nothing."""
    story = Story()
    httpserver.expect_request("/a").respond_with_data(render(story), content_type="text/html")
    config = write_watchlist(workdir)
    code, out, _ = run(
        capsys,
        "-c",
        str(config),
        "inspect",
        httpserver.url_for("/a"),
        "--ignore",
        r"\d+ officials",
        "--ignore",
        "never-matches",
    )
    assert code == EXIT_OK
    assert f"headline:   {story.title}" in out
    assert r"'\\d+ officials' fired" in out
    assert "'never-matches' did not match" in out
    assert "denied any wrongdoing" in out
    assert not (workdir / "state").exists()


def test_history_of_unknown_url(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Asking for a page never checked is a clear error."""
    config = write_watchlist(workdir)
    code, _, err = run(capsys, "-c", str(config), "history", "https://nowhere.example/")
    assert code == EXIT_ERRORS
    assert "not in the database" in err


def test_schema_command_matches_committed(capsys: pytest.CaptureFixture[str]) -> None:
    """watcher schema prints the committed JSON schema."""
    code, out, _ = run(capsys, "schema")
    assert code == EXIT_OK
    committed = Path(__file__).resolve().parent.parent / "config" / "watchlist.schema.json"
    assert out == committed.read_text(encoding="utf-8")


def test_inspect_reports_built_in_rules_that_fired(
    workdir: Path, httpserver: HTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """inspect reads the page as a check compares it: built-in volatile rules included."""
    story = Story().edit(4, "Friday morning.", "Friday morning. Last updated: 5 minutes ago")
    httpserver.expect_request("/a").respond_with_data(render(story), content_type="text/html")
    code, out, _ = run(
        capsys, "-c", str(write_watchlist(workdir)), "inspect", httpserver.url_for("/a")
    )
    assert code == EXIT_OK
    assert "built-in:   1 volatile-text rule(s) fired" in out
    assert "5 minutes ago" not in out
