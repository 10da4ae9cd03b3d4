"""Editing the watchlist text: every byte outside the edited watch survives, results validate."""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watcher.config import parse_watchlist
from watcher.errors import ConfigError
from watcher.watchlist import (
    NEW_WATCHLIST,
    add_watch,
    format_watch,
    read_source,
    remove_watch,
    watch_block,
    write_atomically,
)

ROOT = Path(__file__).resolve().parent.parent
CHINA = (ROOT / "config" / "china-watch.toml").read_text(encoding="utf-8")
EXAMPLES = sorted([*ROOT.joinpath("config").glob("*.toml"), ROOT / "watcher.toml"])

# Comments in every position a person puts them.
ANNOTATED = """\
# Desk watchlist, kept by hand.
[settings]
every = "20m"

# Pages from the fire story:
[[watch]]
url = "https://a.example/fire"   # the first report
name = "Fire"
# every = "5m"   (too aggressive for this site)

# keep an eye on the follow-up too
[[watch]]
# liveblog, noisy
url = "https://b.example/live"
ignore = ['\\d+ readers']

[[watch]]
url = "https://c.example/statement"

[watch.headers]
Accept-Language = "zh-CN"
# Alerts:
[notify.desk]
urls_env = "DESK"

# TODO: add the ministry's notice page
"""


def test_add_appends_a_table_and_keeps_the_rest_byte_identical() -> None:
    """The new table follows one blank line; the original text is an exact prefix."""
    result = add_watch(
        CHINA,
        {"url": " https://new.example/a ", "name": "New", "tags": ["x"], "ignore": [r"\d+ 阅读"]},
    )
    assert result == CHINA + '\n[[watch]]\nurl = "https://new.example/a"\nname = "New"\n' + (
        "tags = [\"x\"]\nignore = ['\\d+ 阅读']\n"
    )
    watch = parse_watchlist(result).watch[-1]
    assert (watch.url, watch.ignore) == ("https://new.example/a", [r"\d+ 阅读"])


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_add_then_remove_gives_back_the_original(path: Path) -> None:
    """A round trip through add and remove restores the file exactly."""
    source = path.read_text(encoding="utf-8")
    added = add_watch(source, {"url": "https://round.example/trip", "every": "1h"})
    assert remove_watch(added, "https://round.example/trip") == source


@pytest.mark.parametrize(
    ("url", "removed"),
    [
        pytest.param(
            "https://a.example/fire",
            '# Pages from the fire story:\n[[watch]]\nurl = "https://a.example/fire"   '
            '# the first report\nname = "Fire"\n# every = "5m"   (too aggressive for this site)\n',
            id="comment-above-and-commented-out-key",
        ),
        pytest.param(
            "https://b.example/live",
            "# keep an eye on the follow-up too\n[[watch]]\n# liveblog, noisy\n"
            "url = \"https://b.example/live\"\nignore = ['\\d+ readers']\n",
            id="comment-inside",
        ),
        pytest.param(
            "https://c.example/statement",
            '[[watch]]\nurl = "https://c.example/statement"\n\n[watch.headers]\n'
            'Accept-Language = "zh-CN"\n',
            id="sub-table-but-not-the-next-tables-comment",
        ),
    ],
)
def test_remove_takes_the_table_and_its_attached_comments(url: str, removed: str) -> None:
    """Comments directly above or below a table go with it; separated ones stay."""
    assert watch_block(ANNOTATED, url) == removed
    result = remove_watch(ANNOTATED, url)
    assert removed not in result
    assert result.startswith('# Desk watchlist, kept by hand.\n[settings]\nevery = "20m"\n\n')
    assert result.endswith(
        '# Alerts:\n[notify.desk]\nurls_env = "DESK"\n\n# TODO: add the ministry\'s notice page\n'
    )
    data = tomllib.loads(result)
    assert [w["url"] for w in data["watch"]] == [
        w["url"] for w in tomllib.loads(ANNOTATED)["watch"] if w["url"] != url
    ]


def test_remove_from_the_example_leaves_neighbours_and_spacing() -> None:
    """Removing a middle watch of the shipped example deletes exactly its lines."""
    url = "https://blog.example.hk/posts/2026-11-20-statement"
    block = watch_block(CHINA, url)
    assert block.startswith("[[watch]]\n# Watched through Tor")
    assert remove_watch(CHINA, url) == CHINA.replace(block + "\n", "")


def test_comments_opening_the_file_stay_with_the_file() -> None:
    """A comment run starting at line 1 is the file's header, even with no blank line."""
    source = '# my list\n[[watch]]\nurl = "https://a.example/"\n'
    assert remove_watch(source, "https://a.example/") == "# my list\n"


def test_removing_the_only_watch_leaves_a_valid_file() -> None:
    """The file's own header comment stays and the result still validates."""
    source = add_watch(NEW_WATCHLIST, {"url": "https://a.example/"})
    assert remove_watch(source, "https://a.example/") == NEW_WATCHLIST
    assert parse_watchlist(NEW_WATCHLIST).watch == []


def test_duplicate_url_is_refused() -> None:
    """Host case and fragments do not make a URL new."""
    with pytest.raises(ConfigError, match=r"already watched: watch\[1\] \(Taiwan politics"):
        add_watch(CHINA, {"url": "https://WWW.example.com.tw/news/politics/4821#top"})


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        pytest.param({"every": "15 mins"}, "every: '15 mins' is not a duration", id="duration"),
        pytest.param({"ignore": ["(unclosed"]}, "ignore: invalid ignore pattern", id="regex"),
        pytest.param({"mode": "selector"}, "needs a selector", id="selector-missing"),
        pytest.param({"colour": "red"}, "colour: unknown key", id="unknown-key"),
        pytest.param(
            {"notify": ["slack"]}, r"no route named 'slack' \(routes: archive", id="route"
        ),
    ],
)
def test_invalid_fields_are_refused(fields: dict[str, object], message: str) -> None:
    """Each problem is named by its key, before any text is produced."""
    with pytest.raises(ConfigError, match=message):
        add_watch(CHINA, {"url": "https://new.example/", **fields}, filename="china.toml")


def test_an_already_invalid_file_is_reported_with_its_line() -> None:
    """Adding to a broken file names the broken line, which appending did not move."""
    with pytest.raises(ConfigError, match=r"^w\.toml:3: watch\[0\]\.every"):
        add_watch(
            '[[watch]]\nurl = "https://a.example/"\nevery = "x"\n',
            {"url": "https://b.example/"},
            filename="w.toml",
        )


def test_remove_of_an_unknown_url_says_so() -> None:
    """The message says the URL is not watched and suggests a near miss, nothing more."""
    with pytest.raises(ConfigError, match=r"w\.toml: https://nowhere\.example/ is not watched$"):
        remove_watch(CHINA, "https://nowhere.example/", filename="w.toml")
    with pytest.raises(
        ConfigError, match=r"did you mean https://www\.example\.cn/live/2026-11-29\?\)$"
    ):
        remove_watch(CHINA, "https://www.example.cn/live/2026-11-28")


def test_inline_array_watchlists_get_adds_and_a_clear_remove_error() -> None:
    """watch = [...] is extended in place; removing from it is left to the user."""
    source = (
        'watch = [\n  { url = "https://a.example/" },  # first\n]\n\n[settings]\nevery = "1h"\n'
    )
    result = add_watch(source, {"url": "https://b.example/", "tags": ["t"]})
    assert result.startswith('watch = [\n  { url = "https://a.example/" },  # first\n')
    assert result.endswith(']\n\n[settings]\nevery = "1h"\n')
    assert [w.url for w in parse_watchlist(result).watch] == [
        "https://a.example/",
        "https://b.example/",
    ]
    with pytest.raises(ConfigError, match="inline array"):
        remove_watch(result, "https://a.example/")


def test_crlf_files_stay_crlf() -> None:
    """A Windows-edited file gets CRLF lines and round-trips exactly."""
    source = ANNOTATED.replace("\n", "\r\n")
    added = add_watch(source, {"url": "https://crlf.example/"})
    assert added == source + '\r\n[[watch]]\r\nurl = "https://crlf.example/"\r\n'
    assert remove_watch(added, "https://crlf.example/") == source
    assert "\r\n" not in remove_watch(source, "https://b.example/live").replace("\r\n", "")


def test_a_header_lookalike_in_a_string_is_not_guessed_at() -> None:
    """A multi-line string holding '[[watch]]' makes remove refuse instead of cutting it."""
    source = (
        '[[watch]]\nurl = "https://a.example/"\nname = """\n[[watch]]\n"""\n\n'
        '[[watch]]\nurl = "https://b.example/"\n'
    )
    with pytest.raises(ConfigError, match="remove it by hand"):
        remove_watch(source, "https://b.example/")


def test_format_watch_uses_schema_order_and_literal_regexes() -> None:
    """Keys follow the schema; a regex with a quote falls back to an escaped string."""
    text = format_watch({"notify": ["desk"], "url": "https://a.example/", "ignore": [r"it's \d"]})
    assert (
        text
        == '[[watch]]\nurl = "https://a.example/"\nignore = ["it\'s \\\\d"]\nnotify = ["desk"]\n'
    )
    assert tomllib.loads(text)["watch"][0]["ignore"] == [r"it's \d"]


_HOSTS = st.from_regex(
    r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?(\.[a-z0-9]{1,10}){0,2}\.test", fullmatch=True
)
_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
# A URL path is anything but white space, which the watchlist rejects in URLs.
_PATH = st.text(st.characters(exclude_categories=["Cs", "Zs", "Zl", "Zp", "Cc"]), max_size=40)


@settings(max_examples=150, deadline=None)
@given(
    scheme=st.sampled_from(["http", "https"]),
    host=_HOSTS,
    path=_PATH.filter(lambda p: not any(c.isspace() for c in p)),
    name=_TEXT,
    tags=st.lists(_TEXT, max_size=3),
    source=st.sampled_from([CHINA, ANNOTATED, NEW_WATCHLIST, "", ANNOTATED.replace("\n", "\r\n")]),
)
def test_adding_any_url_then_removing_it_restores_the_file(
    scheme: str, host: str, path: str, name: str, tags: list[str], source: str
) -> None:
    """Whatever URL, name and tags hold (quotes, backslashes, CJK, controls), it round-trips."""
    url = f"{scheme}://{host}/{path}".strip()
    added = add_watch(source, {"url": url, "name": name, "tags": tags})
    assert added.startswith(source)
    watch = parse_watchlist(added).watch[-1]
    assert (watch.url, watch.name, watch.tags) == (url, name, tags)
    assert remove_watch(added, url) == source


def test_write_atomically_replaces_keeps_mode_and_leaves_no_temp_files(tmp_path: Path) -> None:
    """The file is replaced by a new inode (what a polling daemon notices) with the old mode."""
    path = tmp_path / "watcher.toml"
    path.write_text(CHINA, encoding="utf-8")
    path.chmod(0o640)
    inode = path.stat().st_ino
    write_atomically(path, CHINA + "# more\n", expected=CHINA)
    assert path.read_text(encoding="utf-8") == CHINA + "# more\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert path.stat().st_ino != inode
    assert os.listdir(tmp_path) == ["watcher.toml"]


def test_write_atomically_follows_a_symlink(tmp_path: Path) -> None:
    """A watchlist symlinked from elsewhere stays a symlink; its target is replaced."""
    target = tmp_path / "dotfiles" / "watcher.toml"
    target.parent.mkdir()
    target.write_text("# old\n", encoding="utf-8")
    link = tmp_path / "watcher.toml"
    link.symlink_to(target)
    write_atomically(link, "# new\n")
    assert link.is_symlink()
    assert target.read_text(encoding="utf-8") == "# new\n"
    assert sorted(os.listdir(target.parent)) == ["watcher.toml"]


def test_write_atomically_creates_with_the_umask(tmp_path: Path) -> None:
    """A new file gets the usual 0666-minus-umask mode, not a private temp file's 0600."""
    previous = os.umask(0o022)
    try:
        write_atomically(tmp_path / "new.toml", NEW_WATCHLIST)
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "new.toml").stat().st_mode) == 0o644


def test_write_atomically_refuses_when_the_file_changed_meanwhile(tmp_path: Path) -> None:
    """An edit saved by someone else since reading is never overwritten."""
    path = tmp_path / "watcher.toml"
    path.write_text("# edited in vim meanwhile\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="changed by someone else"):
        write_atomically(path, "# ours\n", expected="# what we read\n")
    assert path.read_text(encoding="utf-8") == "# edited in vim meanwhile\n"
    assert os.listdir(tmp_path) == ["watcher.toml"]


def test_read_source_keeps_bytes_and_reports_a_missing_file(tmp_path: Path) -> None:
    """CRLF survives reading; a missing file is a ConfigError unless a default is given."""
    path = tmp_path / "w.toml"
    path.write_bytes(b"# a\r\n")
    assert read_source(path) == "# a\r\n"
    assert read_source(tmp_path / "none.toml", default="") == ""
    with pytest.raises(ConfigError, match="no such file"):
        read_source(tmp_path / "none.toml")


def test_broken_toml_is_reported_with_its_line() -> None:
    """Syntax errors come out as parse_watchlist words them: file, line, reason."""
    with pytest.raises(ConfigError, match=r"^w\.toml:2: invalid TOML"):
        add_watch("[settings]\nevery = \n", {"url": "https://a.example/"}, filename="w.toml")
    with pytest.raises(ConfigError, match=r"^w\.toml: watch must be \[\[watch\]\] tables"):
        remove_watch(
            '[watch]\nurl = "https://a.example/"\n', "https://a.example/", filename="w.toml"
        )


def test_a_file_without_a_final_newline_gets_one() -> None:
    """The last line is ended before the blank line and the new table."""
    result = add_watch('[settings]\nevery = "1h"', {"url": "https://a.example/"})
    assert result == '[settings]\nevery = "1h"\n\n[[watch]]\nurl = "https://a.example/"\n'


def test_headers_and_cookies_become_inline_tables() -> None:
    """Mappings are written the way the README shows them."""
    fields = {"url": "https://a.example/", "headers": {"Accept-Language": "zh-CN"}}
    result = add_watch("", {**fields, "cookies": {"consent": "yes"}})
    assert 'headers = {Accept-Language = "zh-CN"}\ncookies = {consent = "yes"}\n' in result
    assert parse_watchlist(result).watch[0].headers == {"Accept-Language": "zh-CN"}


def test_a_layout_that_cannot_be_cut_cleanly_is_refused() -> None:
    """The edit is checked on the parsed result; a bad cut raises and returns nothing."""
    source = '[[watch]]\nurl = "https://a.example/"\nname = """\n[x]\n"""\n'
    with pytest.raises(ConfigError, match=r"cannot remove https://a\.example/ cleanly"):
        remove_watch(source, "https://a.example/")


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another user")
def test_write_atomically_keeps_the_owner(tmp_path: Path) -> None:
    """`sudo watcher add` must not leave the daemon's user unable to read its watchlist."""
    path = tmp_path / "watcher.toml"
    path.write_text("# a\n", encoding="utf-8")
    os.chown(path, 4321, 4322)
    write_atomically(path, "# b\n")
    assert (path.stat().st_uid, path.stat().st_gid) == (4321, 4322)
