"""watcher add, remove and list, run in-process against a local site and a SQLite file."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from tests.sites import Story, not_found_page, render
from watcher.cli import EXIT_CHANGES, EXIT_ERRORS, EXIT_OK, EXIT_USAGE, main
from watcher.config import load_watchlist

ROOT = Path(__file__).resolve().parent.parent

HEADER = """\
# Newsroom watchlist. Ask Mei before changing the interval.
[settings]
database = "sqlite:///state/w.db"   # next to this file
timeout = "5s"
allow_private = true                # the test site listens on 127.0.0.1

[notify.desk]
urls_env = "WATCHER_TEST_DESK"      # never set in tests
"""


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("WATCHER_DATABASE", raising=False)
    monkeypatch.delenv("WATCHER_CONFIG", raising=False)
    return tmp_path


@pytest.fixture
def config(workdir: Path) -> Path:
    path = workdir / "watcher.toml"
    path.write_text(HEADER, encoding="utf-8")
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_add_writes_every_option_and_keeps_comments(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """add appends one table with the options given, prints it, and the file validates."""
    code, out, _ = run(
        capsys,
        "-c",
        str(config),
        "add",
        "https://news.example/a",
        "--name",
        "Fire follow-up",
        "--tag",
        "china",
        "--tags",
        "disaster, china,hk",
        "--every",
        "10m",
        "--selector",
        "#notices li",
        "--ignore",
        r"\d+ readers",
        "--exclude",
        ".related",
        "--exclude",
        "aside",
        "--notify",
        "desk",
    )
    assert code == EXIT_OK
    table = (
        "[[watch]]\n"
        'url = "https://news.example/a"\n'
        'name = "Fire follow-up"\n'
        'tags = ["china", "disaster", "hk"]\n'
        'mode = "selector"\n'
        'selector = "#notices li"\n'
        'exclude = [".related", "aside"]\n'
        "ignore = ['\\d+ readers']\n"
        'every = "10m"\n'
        'notify = ["desk"]\n'
    )
    assert config.read_text(encoding="utf-8") == HEADER + "\n" + table
    assert out.startswith(f"added to {config}:\n  [[watch]]\n")
    assert 'selector = "#notices li"' in out
    watch = load_watchlist(config).watch[0]
    assert (watch.mode, watch.every is not None) == ("selector", True)


def test_add_creates_a_missing_watchlist(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A missing file is created with a header comment, and validate accepts it."""
    path = workdir / "new.toml"
    code, out, _ = run(
        capsys, "-c", str(path), "add", "https://news.example/a", "--cron", "0 * * * *"
    )
    assert code == EXIT_OK
    assert "(new file)" in out
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# watcher's watchlist")
    assert text.endswith('\n\n[[watch]]\nurl = "https://news.example/a"\ncron = "0 * * * *"\n')
    assert run(capsys, "-c", str(path), "validate")[0] == EXIT_OK


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param(["--every", "15 mins"], "every: '15 mins' is not a duration", id="duration"),
        pytest.param(["--ignore", "(unclosed"], "invalid ignore pattern", id="regex"),
        pytest.param(["--cron", "every day"], "is not a cron expression", id="cron"),
        pytest.param(["--notify", "slack"], "no route named 'slack' (routes: desk)", id="route"),
    ],
)
def test_add_refuses_invalid_options_and_leaves_the_file(
    config: Path, capsys: pytest.CaptureFixture[str], options: list[str], message: str
) -> None:
    """Exit 2 with the key named; the file is byte-identical and no temp file is left."""
    code, out, err = run(capsys, "-c", str(config), "add", "https://news.example/a", *options)
    assert (code, out) == (EXIT_USAGE, "")
    assert message in err
    assert config.read_text(encoding="utf-8") == HEADER
    assert os.listdir(config.parent) == ["watcher.toml"]


def test_add_refuses_a_url_already_watched(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same page with another host case or a fragment is a duplicate."""
    assert run(capsys, "-c", str(config), "add", "https://news.example/a")[0] == EXIT_OK
    before = config.read_text(encoding="utf-8")
    code, _, err = run(capsys, "-c", str(config), "add", "https://NEWS.example/a#comments")
    assert code == EXIT_USAGE
    assert "already watched: watch[0]" in err
    assert config.read_text(encoding="utf-8") == before


def test_remove_restores_the_file_and_says_history_stays(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """add then remove on the shipped example gives back its exact bytes."""
    config = workdir / "china-watch.toml"
    original = (ROOT / "config" / "china-watch.toml").read_text(encoding="utf-8")
    config.write_text(original, encoding="utf-8")
    config.chmod(0o600)
    run(capsys, "-c", str(config), "add", "https://news.example/a", "--name", "A")
    code, out, _ = run(capsys, "-c", str(config), "remove", "https://news.example/a")
    assert code == EXIT_OK
    assert config.read_text(encoding="utf-8") == original
    assert oct(config.stat().st_mode & 0o777) == oct(0o600)
    assert "removed from" in out
    assert '  name = "A"' in out
    assert "history stays in the database" in out

    code, out, _ = run(
        capsys, "-c", str(config), "remove", "https://blog.example.hk/posts/2026-11-20-statement"
    )
    assert code == EXIT_OK
    assert "# Watched through Tor" in out
    assert "Watched through Tor" not in config.read_text(encoding="utf-8")
    assert "# Counters and relative times" in config.read_text(encoding="utf-8")


def test_remove_of_an_unwatched_url(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Exit 2 and a one-line message; the file is untouched."""
    code, _, err = run(capsys, "-c", str(config), "remove", "https://nowhere.example/")
    assert code == EXIT_USAGE
    assert err == f"watcher: {config}: https://nowhere.example/ is not watched\n"
    assert config.read_text(encoding="utf-8") == HEADER


def test_list_shows_state_last_check_and_change(
    config: Path, httpserver: HTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """Never checked, then ok with a check time and a 'new' change, then removed:gone."""
    httpserver.expect_request("/a").respond_with_data(render(Story()), content_type="text/html")
    url = httpserver.url_for("/a")
    dead = "http://127.0.0.1:9/nothing-listens-here"
    run(capsys, "-c", str(config), "add", url, "--name", "Fire story")
    run(capsys, "-c", str(config), "add", dead)

    code, out, _ = run(capsys, "-c", str(config), "list")
    assert code == EXIT_OK
    lines = out.splitlines()
    assert lines[0].split() == [
        "WATCH",
        "STATE",
        "LAST",
        "CHECK",
        "(UTC)",
        "LAST",
        "CHANGE",
        "NEXT",
        "CHECK",
    ]
    assert lines[1].startswith("Fire story")
    assert "never checked" in lines[1]
    assert lines[2] == f"  {url}"

    assert run(capsys, "-c", str(config), "check")[0] == EXIT_ERRORS  # the dead one
    code, out, _ = run(capsys, "-c", str(config), "list")
    fire, _, unreachable = out.splitlines()[1:4]
    assert "  ok  " in fire
    assert " ago)" in fire
    assert re.search(r"  new \d+s ago \(#1\)  ", fire)
    assert "error streak 1" in unreachable

    code, out, _ = run(capsys, "-c", str(config), "list", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert [row["url"] for row in rows] == [url, dead]
    assert rows[0]["state"] == "ok"
    assert rows[0]["last_status"] == 200
    assert rows[0]["last_change_kind"] == "new"
    assert rows[0]["last_checked_at"].endswith("+00:00")
    assert rows[0]["next_check_at"] is not None
    assert (rows[1]["state"], rows[1]["consecutive_errors"]) == ("error streak 1", 1)
    assert rows[1]["last_error"]

    httpserver.clear()
    httpserver.expect_request("/a").respond_with_data(not_found_page(), status=410)
    assert run(capsys, "-c", str(config), "remove", dead)[0] == EXIT_OK
    assert run(capsys, "-c", str(config), "check")[0] == EXIT_CHANGES
    code, out, _ = run(capsys, "-c", str(config), "list", "--json")
    (row,) = [json.loads(line) for line in out.splitlines()]
    assert (row["state"], row["removal"], row["last_change_kind"]) == (
        "removed:gone",
        "gone",
        "removed",
    )

    # Re-added: the database still has it as inactive until the next check syncs it.
    run(capsys, "-c", str(config), "add", dead)
    code, out, _ = run(capsys, "-c", str(config), "list")
    last = out.splitlines()[-1]
    assert last.startswith(dead)
    assert last.split()[1:2] + last.split()[-1:] == ["inactive", "-"]


def test_list_of_an_empty_watchlist(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No watches: a note on stderr, exit 0, and no database is created."""
    code, out, err = run(capsys, "-c", str(config), "list")
    assert (code, out) == (EXIT_OK, "")
    assert "no [[watch]] or [[source]] entries" in err
    assert not (config.parent / "state").exists()
