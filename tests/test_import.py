"""watcher import: a URL list, OPML and a JSON Lines export add many watches at once, through
the same validation as watcher add, reporting what was added and skipped (file:line)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from watcher.cli import EXIT_OK, main
from watcher.config import load_watchlist
from watcher.importing import import_entries, read_entries

HEADER = """\
# Desk watchlist. Ask Mei before changing the interval.
[settings]
every = "20m"

[notify.desk]
urls_env = "WATCHER_TEST_DESK"      # never set in tests

[[watch]]
url = "https://news.example.org/already"
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "watcher.toml"
    path.write_text(HEADER, encoding="utf-8")
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    return code, capsys.readouterr().out


def test_url_list_adds_what_validates_and_reports_the_rest(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Comments and blanks are ignored; duplicates, non-URLs and refused URLs are skipped
    with their line; the existing file is kept byte for byte and the result validates."""
    urls = tmp_path / "urls.txt"
    urls.write_text(
        "# from the desk spreadsheet\n"
        "https://news.example.org/a\n"
        "\n"
        "https://news.example.org/already\n"
        "https://NEWS.example.org/a#top\n"
        "not a url\n"
        "http://169.254.169.254/latest/meta-data/\n"
        "https://news.example.org/b\n",
        encoding="utf-8",
    )
    code, out = run(capsys, "-c", str(config), "import", str(urls))
    assert code == EXIT_OK
    assert "added 2 watches and 0 sources" in out
    assert f"{urls}:2: [[watch]] https://news.example.org/a" in out
    assert f"{urls}:4: https://news.example.org/already is already in the watchlist" in out
    assert f"{urls}:5: https://NEWS.example.org/a#top is already in the watchlist" in out
    assert f"{urls}:6: url: 'not a url' is not an http(s) URL" in out
    assert f"{urls}:7:" in out
    assert "link-local" in out
    text = config.read_text(encoding="utf-8")
    assert text.startswith(HEADER)
    watchlist = load_watchlist(config)
    assert [w.url for w in watchlist.watch] == [
        "https://news.example.org/already",
        "https://news.example.org/a",
        "https://news.example.org/b",
    ]


def test_opml_feeds_become_sources(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An OPML subscription list: feeds are [[source]] tables named by their title."""
    opml = tmp_path / "feeds.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="2.0"><head><title>Desk</title></head><body>\n'
        '<outline text="China">\n'
        '  <outline type="rss" text="Example Daily" xmlUrl="https://news.example.cn/rss.xml"/>\n'
        '  <outline type="rss" title="Wire" xmlUrl="https://wire.example.com/atom"/>\n'
        "</outline>\n"
        '<outline type="rss" text="bad" xmlUrl="gopher://old.example/feed"/>\n'
        "</body></opml>\n",
        encoding="utf-8",
    )
    code, out = run(capsys, "-c", str(config), "import", str(opml))
    assert code == EXIT_OK
    assert "added 0 watches and 2 sources" in out
    assert f"{opml}:6:" in out
    watchlist = load_watchlist(config)
    assert [(s.url, s.name) for s in watchlist.source] == [
        ("https://news.example.cn/rss.xml", "Example Daily"),
        ("https://wire.example.com/atom", "Wire"),
    ]


def test_json_lines_export_round_trips_watch_options(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Rows of `watcher list --json` (or any JSON Lines with url) keep their watch options;
    state columns are not imported; a broken row is skipped by line."""
    rows = [
        {"url": "https://news.example.org/c", "name": "C", "tags": ["china"], "state": "ok"},
        {"url": "https://news.example.org/d", "notify": ["desk"], "last_status": 200},
        {"url": "https://news.example.org/e", "notify": ["nobody"]},
        {"url": "https://news.example.org/f", "every": "15 mins"},
    ]
    export = tmp_path / "pages.jsonl"
    export.write_text("\n".join([*map(json.dumps, rows), "{broken"]) + "\n", encoding="utf-8")
    code, out = run(capsys, "-c", str(config), "import", str(export))
    assert code == EXIT_OK
    assert "added 2 watches" in out
    assert f"{export}:3: no route named 'nobody'" in out
    assert f"{export}:4: every: '15 mins' is not a duration" in out
    assert f"{export}:5: not JSON" in out
    c, d = load_watchlist(config).watch[1:]
    assert (c.name, c.tags, d.notify) == ("C", ["china"], ["desk"])


def test_dry_run_writes_nothing(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--dry-run reports what would be added and leaves the file alone."""
    urls = tmp_path / "urls.txt"
    urls.write_text("https://news.example.org/z\n", encoding="utf-8")
    code, out = run(capsys, "-c", str(config), "import", "--dry-run", str(urls))
    assert (code, "would add 1 watches" in out) == (EXIT_OK, True)
    assert config.read_text(encoding="utf-8") == HEADER


def test_a_long_list_is_added_whole() -> None:
    """Two thousand URLs: every one added, each as its own [[watch]] table."""
    data = "".join(f"https://news.example.org/{i}\n" for i in range(2000)).encode()
    entries, problems = read_entries(data)
    result = import_entries(HEADER, entries)
    assert problems == []
    assert len(result.added) == 2000
    assert result.text.count("[[watch]]") == 2001
