"""The watchlist: parsing, validation messages with line and key, schema freshness."""

from __future__ import annotations

import json
import tomllib
from datetime import timedelta
from pathlib import Path

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from watcher.config import (
    Watchlist,
    format_duration,
    load_watchlist,
    parse_duration,
    parse_watchlist,
    schema_text,
)
from watcher.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent

GOOD = """\
[settings]
every = "15m"

[notify.desk]
urls = ["mailto://127.0.0.1:2525?from=a@example.org&to=b@example.org"]

[[watch]]
url = "https://news.example.com/2011/11/09/it-chiefs.html"
name = "IT chiefs pledge"
tags = ["china"]
ignore = ['\\d+ comments']
notify = ["desk"]

[[watch]]
url = "https://news.example.com/live"
mode = "selector"
selector = "div.story p"
every = "1h30m"
"""


def _error(source: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse_watchlist(source, "watcher.toml")
    return str(info.value)


def test_good_watchlist_parses_with_defaults() -> None:
    """A valid file gives frozen models with defaults filled in."""
    watchlist = parse_watchlist(GOOD)
    first, second = watchlist.watch
    assert first.mode == "article"
    assert first.every is None
    assert second.every == timedelta(hours=1, minutes=30)
    assert watchlist.settings.every == timedelta(minutes=15)
    assert first.label == "IT chiefs pledge"
    assert second.label == "https://news.example.com/live"
    with pytest.raises(ValueError, match="frozen"):
        first.name = "other"  # type: ignore[misc]


def test_bad_duration_names_line_and_key() -> None:
    """A bad duration is reported as file:line: watch[i].every with the bad value."""
    source = GOOD.replace('every = "1h30m"', 'every = "15 mins"')
    message = _error(source)
    line = source.splitlines().index('every = "15 mins"') + 1
    assert message.startswith(f"watcher.toml:{line}: watch[1].every: ")
    assert "'15 mins' is not a duration" in message


def test_unknown_key_lists_allowed_keys() -> None:
    """A typo in a key is rejected, naming the key, its line and the allowed keys."""
    source = GOOD.replace('tags = ["china"]', 'tagz = ["china"]')
    message = _error(source)
    line = source.splitlines().index('tagz = ["china"]') + 1
    assert message.startswith(f"watcher.toml:{line}: watch[0].tagz: unknown key 'tagz'")
    assert "allowed here: allow_private, archive, cookies, cron, every, exclude" in message


def test_unknown_settings_key_is_located() -> None:
    """Unknown keys in [settings] are reported against that table."""
    message = _error(GOOD.replace('every = "15m"', 'evry = "15m"'))
    assert message.startswith("watcher.toml:2: settings.evry: unknown key")
    assert "user_agent" in message


def test_duplicate_url_is_rejected() -> None:
    """The same URL twice (host case and fragment aside) is an error on the second one."""
    source = GOOD + '\n[[watch]]\nurl = "https://NEWS.example.com/2011/11/09/it-chiefs.html#top"\n'
    message = _error(source)
    assert "watch[2].url" in message
    assert "already watched by watch[0]" in message
    assert message.startswith(f"watcher.toml:{len(source.splitlines())}:")


def test_bad_regex_is_rejected() -> None:
    """An ignore pattern that does not compile is reported with the regex error."""
    message = _error(GOOD.replace("'\\d+ comments'", "'(unclosed'"))
    assert "watch[0].ignore" in message
    assert "(unclosed" in message


def test_bad_selector_and_missing_selector() -> None:
    """Selector mode needs a valid CSS selector."""
    assert "invalid CSS selector 'div[[['" in _error(GOOD.replace("div.story p", "div[[["))
    assert "needs a selector" in _error(GOOD.replace('selector = "div.story p"\n', ""))


def test_bad_url_and_missing_url() -> None:
    """Only http(s) URLs are accepted, and url is required."""
    assert "is not an http(s) URL" in _error(
        GOOD.replace("https://news.example.com/live", "ftp:/x")
    )
    assert "contains white space" in _error(GOOD.replace("/live", "/live now"))
    message = _error('[[watch]]\nname = "no url"\n')
    assert message == "watcher.toml:1: watch[0].url: required key is missing"


def test_unknown_route_is_rejected() -> None:
    """A watch may only notify routes defined under [notify.*]."""
    message = _error(GOOD.replace('notify = ["desk"]', 'notify = ["dsek"]'))
    assert "no route named 'dsek' (routes: desk)" in message
    assert "watch[0].notify" in message


def test_invalid_toml_reports_line() -> None:
    """A TOML syntax error is reported with its line."""
    message = _error('[[watch]]\nurl = "https://a.example/x"\nname = \n')
    assert message.startswith("watcher.toml:3: invalid TOML: ")


def test_every_and_cron_are_exclusive_and_cron_is_checked() -> None:
    """A watch has either an interval or a cron schedule, and the cron must parse."""
    base = '[[watch]]\nurl = "https://a.example/x"\n'
    assert parse_watchlist(base + 'cron = "*/5 6-22 * * *"\n').watch[0].cron == "*/5 6-22 * * *"
    assert "either every or cron" in _error(base + 'cron = "* * * * *"\nevery = "5m"\n')
    assert "is not a cron expression" in _error(base + 'cron = "often"\n')


def test_route_needs_a_source() -> None:
    """A route with no URLs, env var or file is an error."""
    message = _error("[notify.empty]\n")
    assert "notify.empty" in message
    assert "needs urls, urls_env or urls_file" in message


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    """A missing watchlist names the path."""
    with pytest.raises(ConfigError, match="no such file"):
        load_watchlist(tmp_path / "nope.toml")


@given(st.integers(min_value=1, max_value=10**7))
def test_duration_round_trips(seconds: int) -> None:
    """Formatting a whole-second duration and parsing it back gives the same value."""
    value = timedelta(seconds=seconds)
    assert parse_duration(format_duration(value)) == value


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("15m", 900), ("1h30m", 5400), ("2d", 172800), ("1w", 604800), (45, 45)],
)
def test_duration_forms(text: str | int, seconds: int) -> None:
    """Durations accept unit suffixes and plain seconds."""
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "15", "15 mins", "-5m", "0s", "m"])
def test_duration_rejects(text: str) -> None:
    """Bare numbers in strings, unknown units and non-positive values are rejected."""
    with pytest.raises(ValueError, match=r"duration|longer than zero"):
        parse_duration(text)


def test_sample_and_examples_validate() -> None:
    """watcher.toml and every example in config/ are valid watchlists."""
    paths = [ROOT / "watcher.toml", *sorted((ROOT / "config").glob("*.toml"))]
    assert len(paths) >= 2
    for path in paths:
        assert isinstance(load_watchlist(path), Watchlist), path


def test_committed_schema_is_fresh() -> None:
    """config/watchlist.schema.json equals what the models generate (run `watcher schema`)."""
    committed = (ROOT / "config" / "watchlist.schema.json").read_text(encoding="utf-8")
    assert committed == schema_text(), "stale schema: watcher schema > config/watchlist.schema.json"


def test_schema_accepts_sample() -> None:
    """The exported JSON schema accepts the sample watchlist, as an editor would."""
    data = tomllib.loads((ROOT / "watcher.toml").read_text(encoding="utf-8"))
    jsonschema.validate(data, json.loads(schema_text()))
