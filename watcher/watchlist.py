"""Edits to the watchlist file: add or remove one watch, then save it atomically.

Users annotate this file by hand, so an edit never changes a byte outside the watch it adds
or removes, and nothing is returned or written that does not validate.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
import secrets
import stat
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import tomlkit
from pydantic import ValidationError
from tomlkit.items import AoT, Array

from watcher.config import Watch, canonical_url, parse_watchlist
from watcher.errors import ConfigError

logger = logging.getLogger(__name__)

NEW_WATCHLIST = (
    "# watcher's watchlist: the pages it checks. Edit it by hand or with `watcher add` and\n"
    "# `watcher remove`, which keep comments and layout. Format: README.md, and\n"
    "# watchlist.schema.json in watcher's config/ folder.\n"
)

# A table header on its own line: [name], [[name]], with optional quotes and a comment.
_HEADER = re.compile(r"^[ \t]*(\[\[?)[ \t]*([\w\-\"'. \t]+?)[ \t]*\]\]?[ \t]*(?:#.*)?\r?\n?$")
_COMMENT = re.compile(r"^[ \t]*#")
# Characters a TOML literal ('...') string cannot hold; tab is allowed.
_NOT_LITERAL = re.compile(r"['\x00-\x08\x0a-\x1f\x7f]")


def read_source(path: Path, default: str | None = None) -> str:
    """The file's text exactly as stored (CRLF kept); ``default`` if it does not exist."""
    try:
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        if default is not None:
            return default
        raise ConfigError(f"{path}: no such file (create one, e.g. from config/)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None


def add_watch(source: str, fields: Mapping[str, object], *, filename: str = "watcher.toml") -> str:
    """Append a ``[[watch]]`` table built from ``fields`` (TOML-ready values; None is omitted).

    Everything before it stays byte-identical, so line numbers in later errors still match
    the user's file. A duplicate URL, an invalid field or an unknown route raises
    ``ConfigError`` naming the problem.
    """
    values = _clean(fields)
    url = str(values.get("url", ""))
    _check_fields(values, url)
    data = _load(source, filename)
    watches = _entries(data, filename)
    key = canonical_url(url)
    for index, entry in enumerate(watches):
        if canonical_url(str(entry.get("url", ""))) == key:
            label = f" ({entry['name']})" if entry.get("name") else ""
            raise ConfigError(f"{filename}: {url} is already watched: watch[{index}]{label}")
    routes = data.get("notify", {})
    for route in _strings(values.get("notify")):
        if route not in routes:
            known = ", ".join(sorted(routes)) or "none defined"
            raise ConfigError(f"{filename}: no route named {route!r} (routes: {known})")

    if "watch" in data and not isinstance(tomlkit.parse(source).get("watch"), AoT):
        result = _append_inline(source, values)
    else:
        newline = _newline(source)
        if source and not source.endswith("\n"):
            source += newline
        # A blank line before the new table, as a person would write it.
        result = source + (newline if source else "") + format_watch(values, newline)
    _verify(result, {**data, "watch": [*watches, values]}, f"add {url}")
    parse_watchlist(result, filename)
    return result


def remove_watch(source: str, url: str, *, filename: str = "watcher.toml") -> str:
    """Delete the ``[[watch]]`` table for ``url`` with its attached comments (``watch_block``).

    Blank lines are taken so the neighbours keep their spacing: the run after the table, or
    for the file's last table the one blank line before it, which undoes ``add_watch``.
    """
    lines = _lines(source)
    index, (start, end) = _locate(source, url, filename)
    after = end
    while after < len(lines) and not lines[after].strip():
        after += 1
    if after == len(lines):
        if start > 0 and not lines[start - 1].strip():
            start -= 1
    else:
        end = after
    result = "".join(lines[:start] + lines[end:])
    data = _load(source, filename)
    watches = _entries(data, filename)
    _verify(result, {**data, "watch": watches[:index] + watches[index + 1 :]}, f"remove {url}")
    parse_watchlist(result, filename)
    return result


def watch_block(source: str, url: str, *, filename: str = "watcher.toml") -> str:
    """The text ``remove_watch`` deletes for ``url``: the table and the comments attached.

    A comment belongs to the table when it sits directly above the header (no blank line
    between), or directly below the table's last line; comments opening the file are the
    file's own and always stay.
    """
    _, (start, end) = _locate(source, url, filename)
    return "".join(_lines(source)[start:end])


def format_watch(fields: Mapping[str, object], newline: str = "\n") -> str:
    """A ``[[watch]]`` table with keys in the schema's order; regexes as 'literal' strings."""
    values = _clean(fields)
    rows = ["[[watch]]"]
    rows += [f"{key} = {_toml_value(values[key])}" for key in Watch.model_fields if key in values]
    return newline.join(rows) + newline


def write_atomically(path: Path, text: str, *, expected: str | None = None) -> None:
    """Replace ``path`` with ``text`` so a reader sees the old file or the new one, never half.

    A temporary file in the same directory is written, fsynced and renamed over the target
    (a symlink's target, so the link survives), keeping the file's mode and, where allowed,
    its owner: a daemon running as another user must still be able to read it. With
    ``expected``, the file must still hold that text, so an edit made meanwhile is not lost.
    """
    target = Path(os.path.realpath(path))
    try:
        before = target.stat()
    except FileNotFoundError:
        before = None
    fd, temp = _create_temp(target)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(text.encode("utf-8"))
            out.flush()
            if before is not None:
                _keep_owner(out.fileno(), before, target)
                # After chown, which clears set-id bits.
                os.fchmod(out.fileno(), stat.S_IMODE(before.st_mode))
            os.fsync(out.fileno())
        if expected is not None and read_source(target, default="") != expected:
            raise ConfigError(f"{path} was changed by someone else meanwhile; nothing written")
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_directory(target.parent)


def _clean(fields: Mapping[str, object]) -> dict[str, Any]:
    """Drop unset values, store tuples as lists, strip the URL (validation keeps it so)."""
    values = {
        key: list(value) if isinstance(value, tuple) else value
        for key, value in fields.items()
        if value is not None
    }
    url = values.get("url")
    if isinstance(url, str):
        values["url"] = url.strip()
    return values


def _check_fields(values: Mapping[str, object], url: str) -> None:
    """Validate the new watch alone, so messages name its keys rather than a line number."""
    try:
        Watch.model_validate(values)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"]) or "watch"
            message = re.sub(r"^(Value error|Assertion failed), ", "", error["msg"])
            if error["type"] == "extra_forbidden":
                message = "unknown key"
            problems.append(f"{where}: {message}")
        raise ConfigError(f"cannot add {url or 'a watch'}: " + "; ".join(problems)) from None


def _load(source: str, filename: str) -> dict[str, Any]:
    try:
        return tomllib.loads(source)
    except tomllib.TOMLDecodeError:
        parse_watchlist(source, filename)  # raises ConfigError with the line number
        raise


def _entries(data: Mapping[str, Any], filename: str) -> list[dict[str, Any]]:
    watches = data.get("watch", [])
    if not isinstance(watches, list) or not all(isinstance(w, dict) for w in watches):
        raise ConfigError(f"{filename}: watch must be [[watch]] tables")
    return watches


def _locate(source: str, url: str, filename: str) -> tuple[int, tuple[int, int]]:
    """Index of the watch for ``url`` and the line range of its table, comments included."""
    data = _load(source, filename)
    watches = _entries(data, filename)
    key = canonical_url(url)
    urls = [str(entry.get("url", "")) for entry in watches]
    index = next((i for i, known in enumerate(urls) if canonical_url(known) == key), None)
    if index is None:
        close = difflib.get_close_matches(url.strip(), urls, n=2, cutoff=0.85)
        hint = f" (did you mean {' or '.join(close)}?)" if close else ""
        raise ConfigError(f"{filename}: {url} is not watched{hint}")
    if not isinstance(tomlkit.parse(source).get("watch"), AoT):
        raise ConfigError(
            f"{filename}: watches are written as an inline array (watch = [...]); "
            "remove the entry by hand"
        )
    blocks = _blocks(_lines(source))
    if len(blocks) != len(watches):
        # A line inside a multi-line string looks like a header: do not guess.
        raise ConfigError(
            f"{filename}: cannot tell where each [[watch]] table starts; remove it by hand"
        )
    return index, blocks[index]


def _blocks(lines: Sequence[str]) -> list[tuple[int, int]]:
    """Line ranges [start, end) of every ``[[watch]]`` table with its attached comments."""
    headers: list[tuple[int, str, bool]] = []
    for number, line in enumerate(lines):
        match = _HEADER.match(line)
        if match:
            name = re.sub(r"[\s\"']", "", match.group(2))
            headers.append((number, name, match.group(1) == "[["))
    blocks = []
    for position, (head, name, is_array) in enumerate(headers):
        if not (is_array and name == "watch"):
            continue
        # The table runs to the next header that is not one of its sub-tables.
        following = (h for h, n, _ in headers[position + 1 :] if not n.startswith("watch."))
        next_head = next(following, len(lines))
        next_lead = _lead(lines, next_head, floor=head + 1) if next_head < len(lines) else next_head
        last = max(i for i in range(head, next_lead) if not _is_comment_or_blank(lines[i]))
        end = last + 1
        while end < next_lead and _COMMENT.match(lines[end]):
            end += 1
        blocks.append((_lead(lines, head, floor=0), end))
    return blocks


def _lead(lines: Sequence[str], head: int, floor: int) -> int:
    """First line of the comment run directly above ``head``, stopping at ``floor``.

    A run reaching line 1 is the file's opening comment, not the first table's.
    """
    start = head
    while start > floor and _COMMENT.match(lines[start - 1]):
        start -= 1
    return head if start == 0 else start


def _is_comment_or_blank(line: str) -> bool:
    return not line.strip() or bool(_COMMENT.match(line))


def _lines(source: str) -> list[str]:
    """Split on LF only: ``str.splitlines`` also splits on U+2028 and others TOML allows."""
    return [line for line in re.split(r"(?<=\n)", source) if line]


def _newline(source: str) -> str:
    return "\r\n" if "\r\n" in source else "\n"


def _append_inline(source: str, values: Mapping[str, Any]) -> str:
    """Add to a ``watch = [...]`` array; tomlkit keeps the rest of the file as it was."""
    document = tomlkit.parse(source)
    array = document["watch"]
    if not isinstance(array, Array):
        raise ConfigError("watch must be [[watch]] tables or an array of inline tables")
    entry = tomlkit.inline_table()
    entry.update({key: values[key] for key in Watch.model_fields if key in values})
    array.append(entry)
    return document.as_string()


def _verify(result: str, expected: Mapping[str, Any], action: str) -> None:
    """The edit must change exactly the one watch: checked on the parsed data, not trusted."""
    try:
        actual = tomllib.loads(result)
    except tomllib.TOMLDecodeError:
        actual = None
    # Removing the only [[watch]] leaves no ``watch`` key at all.
    wanted = {k: v for k, v in expected.items() if k != "watch" or v}
    if actual != wanted:
        raise ConfigError(
            f"cannot {action} cleanly in this file's layout; the file is unchanged, edit it by hand"
        )


def _toml_value(value: object) -> str:
    if isinstance(value, str):
        if "\\" in value and not _NOT_LITERAL.search(value):
            return f"'{value}'"  # regexes read better without doubled backslashes
        return tomlkit.string(value).as_string()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, Mapping):
        table = tomlkit.inline_table()
        table.update(value)
        return table.as_string()
    return tomlkit.item(value).as_string()


def _strings(value: object) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list | tuple) else []


def _create_temp(target: Path) -> tuple[int, Path]:
    """A new file beside ``target`` (same file system, so the rename is atomic).

    Mode 0o666 filtered by the umask, as any editor would create it.
    """
    while True:
        temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), temp
        except FileExistsError:
            continue


def _keep_owner(fd: int, before: os.stat_result, target: Path) -> None:
    if (before.st_uid, before.st_gid) == (os.geteuid(), os.getegid()):
        return
    try:
        os.fchown(fd, before.st_uid, before.st_gid)
    except PermissionError:
        logger.warning(
            "%s: could not keep owner %d:%d; the new file belongs to %d:%d",
            target,
            before.st_uid,
            before.st_gid,
            os.geteuid(),
            os.getegid(),
        )


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable; a crash right after must not bring the old file back."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
