"""``watcher import FILE``: many watches at once from a URL list, OPML or a JSON Lines export.

Each entry passes the validation ``watcher add`` applies (the watch's own fields, no
duplicate, known routes) plus the network guard's URL rules, and is reported as added or
skipped with the line it came from. The tables are appended after the file's last byte, so
nothing the user wrote changes, and a result that does not validate is never returned.
OPML outlines with an ``xmlUrl`` are feeds and become ``[[source]]`` tables.
"""

from __future__ import annotations

import ipaddress
import json
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import tomlkit
from lxml import etree
from pydantic import ValidationError

from watcher.config import Settings, Source, Watch, canonical_url, parse_watchlist
from watcher.errors import BlockedError, ConfigError
from watcher.guard import NetworkPolicy, check_url
from watcher.watchlist import format_watch

Table = Literal["watch", "source"]
# The keys of a JSON Lines row that mean something to a watch (`watcher list --json` rows
# carry state as well, which is not imported).
_WATCH_KEYS = frozenset(Watch.model_fields)


@dataclass(frozen=True, slots=True)
class Entry:
    """One thing to add: a watch or a source, and the line of the file it came from."""

    table: Table
    fields: dict[str, Any]
    line: int


@dataclass(frozen=True, slots=True)
class ImportResult:
    """The new watchlist text and what went into it; ``skipped`` is (line, reason)."""

    text: str
    added: tuple[Entry, ...]
    skipped: tuple[tuple[int, str], ...] = field(default_factory=tuple)


def read_entries(data: bytes) -> tuple[list[Entry], list[tuple[int, str]]]:
    """Entries of an OPML file, a JSON Lines export or a list of URLs (told by the first
    character); lines that cannot be read are returned as (line, reason)."""
    text = data.decode("utf-8-sig", errors="replace")
    head = text.lstrip()
    if head.startswith("<"):
        return _opml(data)
    entries: list[Entry] = []
    problems: list[tuple[int, str]] = []
    is_json = head.startswith("{")
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not is_json:
            entries.append(Entry("watch", {"url": line}, number))
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append((number, f"not JSON: {exc.msg}"))
            continue
        if not isinstance(row, dict) or not isinstance(row.get("url"), str):
            problems.append((number, "a JSON object with a url is expected"))
            continue
        fields = {k: v for k, v in row.items() if k in _WATCH_KEYS and v not in (None, "", [])}
        entries.append(Entry("watch", fields, number))
    return entries, problems


def import_entries(
    source: str, entries: Sequence[Entry], *, filename: str = "watcher.toml"
) -> ImportResult:
    """Append every entry that validates to ``source`` (the watchlist's text)."""
    try:
        data = tomllib.loads(source)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{filename}: invalid TOML: {exc}") from None
    current = parse_watchlist(source, filename)
    policy = _policy(current.settings)
    seen = {canonical_url(w.url) for w in current.watch}
    seen_sources = {canonical_url(s.url) for s in current.source}
    routes: Mapping[str, Any] = data.get("notify", {})
    added: list[Entry] = []
    skipped: list[tuple[int, str]] = []
    blocks: list[str] = []
    for entry in entries:
        try:
            model = (Watch if entry.table == "watch" else Source).model_validate(entry.fields)
        except ValidationError as exc:
            skipped.append((entry.line, _first_error(exc)))
            continue
        key = canonical_url(model.url)
        known = seen if entry.table == "watch" else seen_sources
        if key in known:
            skipped.append((entry.line, f"{model.url} is already in the watchlist"))
            continue
        missing = [r for r in model.notify if r not in routes]
        if missing:
            skipped.append((entry.line, f"no route named {missing[0]!r}"))
            continue
        try:
            check_url(model.url, _policy(current.settings, model.allow_private, policy))
        except BlockedError as exc:
            skipped.append((entry.line, f"{model.url}: {exc}"))
            continue
        known.add(key)
        added.append(entry)
        blocks.append(_format(entry))
    if not blocks:
        return ImportResult(source, (), tuple(skipped))
    newline = "\r\n" if "\r\n" in source else "\n"
    text = source
    if text and not text.endswith("\n"):
        text += newline
    text += "".join((newline if text else "") + block.replace("\n", newline) for block in blocks)
    parse_watchlist(text, filename)  # never hand back a file that does not validate
    return ImportResult(text, tuple(added), tuple(skipped))


def _opml(data: bytes) -> tuple[list[Entry], list[tuple[int, str]]]:
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        return [], [(exc.lineno or 0, f"not OPML: {exc.msg}")]
    if root.tag != "opml":
        return [], [(root.sourceline or 0, f"not OPML: the root is <{root.tag}>")]
    entries: list[Entry] = []
    for outline in root.iter("outline"):
        feed, page = outline.get("xmlUrl"), outline.get("htmlUrl")
        name = (outline.get("title") or outline.get("text") or "").strip()
        line = outline.sourceline or 0
        if feed:
            entries.append(Entry("source", {"url": feed.strip(), "name": name}, line))
        elif page:
            entries.append(Entry("watch", {"url": page.strip(), "name": name}, line))
    return entries, []


def _format(entry: Entry) -> str:
    if entry.table == "watch":
        return format_watch(entry.fields)
    rows = ["[[source]]"]
    for key in Source.model_fields:
        value = entry.fields.get(key)
        if value not in (None, "", []):
            rows.append(f"{key} = {tomlkit.item(value).as_string()}")
    return "\n".join(rows) + "\n"


def _policy(
    settings: Settings, allow_private: bool = False, base: NetworkPolicy | None = None
) -> NetworkPolicy:
    if base is not None and not allow_private:
        return base
    return NetworkPolicy(
        allow_private=allow_private or settings.allow_private,
        ports=frozenset(settings.allowed_ports),
        allowed_networks=tuple(ipaddress.ip_network(n) for n in settings.allow_networks),
    )


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "entry"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}"
