"""Stored versions on demand: find one by reference, and compare any two as a check would.

Read-only: never writes, re-stores or deletes a version. A comparison applies the watch's
ignore rules to both sides exactly as a check does (``reading.compare_rules``), and reads a
version stored under another reader again from its raw body, so it never shows noise a
check would drop nor hides an edit a check would report.
"""

from __future__ import annotations

import logging
import string
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from watcher.check.readers import Reader
from watcher.check.reading import compare_rules, read_article, reader_key, snapshot_article
from watcher.config import Watch
from watcher.errors import StoreError, WatcherError
from watcher.read.diff import Edit, Op, diff_texts, summarize_edits
from watcher.read.extract import Article
from watcher.read.normalize import compile_ignore, normalize_article
from watcher.store.models import Change, Snapshot
from watcher.store.store import Store

logger = logging.getLogger(__name__)

# The parts a comparison names, as a check names them; the body comes last.
PARTS = ("headline", "byline", "date", "caption", "notes", "body")
_SHORTEST_PREFIX = 8  # hex digits of a hash prefix that may name a version


@dataclass(frozen=True, slots=True)
class PartDiff:
    """One named part of the article, compared: its edits reproduce both sides."""

    part: str
    edits: tuple[Edit, ...]

    @property
    def is_changed(self) -> bool:
        return any(edit.op is not Op.EQUAL for edit in self.edits)


@dataclass(frozen=True, slots=True)
class Comparison:
    """Two versions of a page compared as a check compares them."""

    old: Snapshot
    new: Snapshot
    parts: tuple[PartDiff, ...]
    words_added: int
    words_removed: int
    # the watch's own ignore rules that removed text from either side before comparing
    ignored: tuple[str, ...] = ()

    @property
    def changed_parts(self) -> tuple[str, ...]:
        return tuple(part.part for part in self.parts if part.is_changed)


def find_version(versions: Sequence[Snapshot], ref: str) -> Snapshot:
    """The version ``ref`` names among a page's ``versions`` (oldest first).

    ``ref`` is a version id, ``first``, ``latest``, or at least 8 hex digits of the
    body's SHA-256 (or of the version's record hash, where stored). An ambiguous or
    unknown reference is an error, never a guess: evidence must name one version.
    """
    if not versions:
        raise WatcherError("no version stored yet")
    key = ref.strip().lower()
    if key in ("first", "latest"):
        return versions[0] if key == "first" else versions[-1]
    if key.isdigit() and len(key) < _SHORTEST_PREFIX:
        for version in versions:
            if version.id == int(key):
                return version
        raise WatcherError(f"no version {ref} of this page")
    if len(key) >= _SHORTEST_PREFIX and all(c in string.hexdigits for c in key):
        found = [v for v in versions if any(h.startswith(key) for h in _hashes(v))]
        if len(found) == 1:
            return found[0]
        if found:
            raise WatcherError(f"{ref} names {len(found)} versions; give more digits")
    raise WatcherError(f"no version {ref!r} of this page (use an id, first, latest or a hash)")


def change_pair(versions: Sequence[Snapshot], change: Change) -> tuple[Snapshot, Snapshot] | None:
    """The two versions a change is between (None for a first version or a missing one).

    A restoration is shown against the last good version, not the removal notice.
    """
    new = [v for v in versions if v.id == change.snapshot_id]
    earlier = [v for v in versions if v.id == change.previous_snapshot_id]
    if change.kind == "restored":
        good = [v for v in versions if v.state == "ok" and (v.id or 0) < change.snapshot_id]
        earlier = good[-1:] or earlier
    if not new or not earlier:
        return None
    return earlier[0], new[0]


def compare_versions(
    store: Store, watch: Watch, old: Snapshot, new: Snapshot, *, reader: Reader | None
) -> Comparison:
    """Compare two stored versions part by part, ignore rules applied to both sides.

    Versions read another way are read again from their bodies by ``reader`` (in a
    reader process); with None they are compared as stored: cheap enough for a feed of
    many changes.
    """
    rules = compare_rules(watch)
    if reader is not None:
        before_read = _as_read(store, watch, old, reader)
        after_read = _as_read(store, watch, new, reader)
    else:
        before_read, after_read = snapshot_article(old), snapshot_article(new)
    before_normal = normalize_article(before_read, rules)
    after_normal = normalize_article(after_read, rules)
    before, after = before_normal.article, after_normal.article
    parts = tuple(
        PartDiff(name, diff_texts(part_text(before, name), part_text(after, name)))
        for name in PARTS
    )
    added, removed = summarize_edits(parts[-1].edits)
    own = {p.pattern for p in compile_ignore(watch.ignore)}
    fired = (*before_normal.fired, *after_normal.fired)
    ignored = tuple(dict.fromkeys(p for p in fired if p in own))
    return Comparison(old, new, parts, added, removed, ignored)


def part_text(article: Article, part: str) -> str:
    """One part of ``article`` as text, one line per statement: as shown on the page, then
    as stated in the metadata (marked so)."""
    if part == "headline":
        # the heading as shown, where it no longer reads as the extracted headline
        shown = [h for h in article.headlines if h != article.title]
        return "\n".join([article.title, *shown, *_stated(article, "headline")]).strip()
    if part == "byline":
        return "\n".join([article.byline, *article.bylines, *_stated(article, "author")]).strip()
    if part == "date":
        lines = [article.published, *article.datelines, *_stated(article, "published")]
        return "\n".join(lines).strip()
    if part == "caption":
        return "\n".join(article.captions)
    if part == "notes":
        return "\n".join(article.notes)
    return article.text


def _stated(article: Article, key: str) -> list[str]:
    """Each value stated once (several tags often state the same one)."""
    lines = dict.fromkeys(line for line in article.stated if line.startswith(f"{key}: "))
    return [f"(metadata) {line}" for line in lines]


def version_json(version: Snapshot) -> dict[str, Any]:
    """A version's evidence as JSON: what was received, when, and what was read from it."""
    return {
        "id": version.id,
        "fetched_at": version.fetched_at.isoformat(),
        "status": version.status,
        "final_url": version.final_url,
        "redirects": version.redirects,
        "headers": version.headers,
        "body_sha256": version.body_sha256,
        "record_sha256": version.record_sha256 or None,
        "previous_record_sha256": version.previous_record_sha256 or None,
        "encoding": version.encoding,
        "state": version.state,
        "removal": version.removal,
        "reader": version.reader,
        "headline": version.title,
        "byline": version.byline,
        "published": version.published,
        "page_title": version.page_title,
        "text_sha256": version.text_sha256,
        "screenshot_sha256": version.screenshot_sha256,
    }


def comparison_json(comparison: Comparison) -> dict[str, Any]:
    """A comparison as JSON: both versions, then each part's edits as ``[op, text]``."""
    return {
        "old": version_json(comparison.old),
        "new": version_json(comparison.new),
        "changed_parts": list(comparison.changed_parts),
        "words_added": comparison.words_added,
        "words_removed": comparison.words_removed,
        "ignored": list(comparison.ignored),
        "parts": [
            {
                "part": part.part,
                "changed": part.is_changed,
                "edits": [[edit.op.value, edit.text] for edit in part.edits],
            }
            for part in comparison.parts
        ],
    }


def change_json(change: Change) -> dict[str, Any]:
    """A change row as JSON: which versions it is between and what it found."""
    return {
        "id": change.id,
        "kind": change.kind,
        "parts": change.parts,
        "removal": change.removal,
        "summary": change.summary,
        "words_added": change.words_added,
        "words_removed": change.words_removed,
        "detected_at": change.detected_at.isoformat(),
        "version_id": change.snapshot_id,
        "previous_version_id": change.previous_snapshot_id,
        "archive_url": change.archive_url,
    }


def _hashes(version: Snapshot) -> tuple[str, ...]:
    record = version.record_sha256
    return (version.body_sha256, record) if record else (version.body_sha256,)


def _as_read(store: Store, watch: Watch, version: Snapshot, reader: Reader) -> Article:
    """The version's text as today's reader reads it for ``watch``.

    A version read another way (an older watcher, other selectors) is read again from
    its raw body, as a check does before it compares; a body that cannot be read falls
    back to the stored text, with a warning.
    """
    if version.reader == reader_key(watch) or version.status != 200:
        return snapshot_article(version)
    try:
        body = store.raw_body(version.body_sha256)
        html = body.decode(version.encoding or "utf-8", "replace")
    except (StoreError, LookupError) as exc:
        logger.warning("cannot re-read version %s url=%s: %s", version.id, watch.url, exc)
        return snapshot_article(version)
    return reader.run(read_article, html, watch, version.final_url)
