"""Removal phrase lists: parse the text format, and read the list shipped with watcher.

Parsing is pure; ``shipped_phrases`` reads package data and is meant for the pipeline
(an edge), so the classifier itself never touches a file.
"""

from __future__ import annotations

import functools
import logging
from importlib import resources
from pathlib import Path

from watcher.errors import ConfigError
from watcher.judge.classify import DetectionRules

logger = logging.getLogger(__name__)

SECTIONS = ("notice", "not_found")


def parse_phrases(text: str, *, source: str = "phrase list") -> DetectionRules:
    """Read ``[notice]`` and ``[not_found]`` sections of one phrase per line.

    ``#`` starts a comment line and blank lines are skipped; a phrase outside a section
    or an unknown section is a ``ValueError`` naming ``source`` and the line, because a
    silently ignored phrase is a removal nobody hears about.
    """
    found: dict[str, list[str]] = {name: [] for name in SECTIONS}
    section: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
            if section not in found:
                raise ValueError(f"{source}:{number}: unknown section [{section}]")
            continue
        if section is None:
            raise ValueError(f"{source}:{number}: phrase {line!r} before any [section]")
        phrase = " ".join(line.split())
        if phrase.casefold() not in {p.casefold() for p in found[section]}:
            found[section].append(phrase)  # matching ignores case, so duplicates are noise
    return DetectionRules(
        notice_phrases=tuple(found["notice"]), not_found_phrases=tuple(found["not_found"])
    )


@functools.cache
def shipped_phrases() -> DetectionRules:
    """The phrase list installed with watcher (``watcher/data/removal_phrases.txt``)."""
    text = resources.files("watcher").joinpath("data/removal_phrases.txt").read_text("utf-8")
    return parse_phrases(text, source="removal_phrases.txt")


@functools.cache
def _phrase_file(path: str, mtime_ns: int) -> DetectionRules:
    try:
        text = Path(path).read_text(encoding="utf-8")
        return parse_phrases(text, source=path)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"removal_phrases: {exc}") from None


def detection_rules(extra: str | None = None) -> DetectionRules:
    """The shipped removal phrases, plus the user's file ``extra`` when given."""
    shipped = shipped_phrases()
    if not extra:
        return shipped
    try:
        mtime = Path(extra).stat().st_mtime_ns
    except OSError as exc:
        raise ConfigError(f"removal_phrases: cannot read {extra}: {exc}") from None
    user = _phrase_file(extra, mtime)
    return DetectionRules(
        notice_phrases=shipped.notice_phrases + user.notice_phrases,
        not_found_phrases=shipped.not_found_phrases + user.not_found_phrases,
    )


__all__ = ["SECTIONS", "detection_rules", "parse_phrases", "shipped_phrases"]
