"""Atom feeds of changes (all, per tag, per page) for ``watcher serve`` (edge: reads).

Each entry links to the change's page and carries the diff excerpt alerts carry, as
escaped HTML. Never includes an archived body: feed readers would fetch what it points to.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment

from watcher import __version__
from watcher.alerts.message import excerpt_edits, kind_label
from watcher.config import Watch
from watcher.evidence.versions import change_pair, compare_versions
from watcher.serve.browse import latest_good_before, recent_changes, versions_by_id
from watcher.store.models import Change, Page, Snapshot
from watcher.store.store import Store

FEED_SIZE = 30
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def render_feed(
    env: Environment,
    store: Store,
    watch_for: Callable[[Page], Watch],
    *,
    title: str,
    base_url: str,
    path: str,
    kinds: Collection[str],
    page_ids: Collection[int] | None = None,
    urls: Collection[str] | None = None,
) -> str:
    """The feed document: the newest ``FEED_SIZE`` changes of ``kinds``, newest first."""
    found = recent_changes(store, kinds=kinds, page_ids=page_ids, urls=urls, limit=FEED_SIZE)
    wanted = {i for change, _ in found for i in (change.previous_snapshot_id, change.snapshot_id)}
    versions = versions_by_id(store, {i for i in wanted if i is not None})
    entries = [
        _entry(store, versions, watch_for(page), change, page, base_url) for change, page in found
    ]
    newest = found[0][0].detected_at if found else _EPOCH
    return env.get_template("feed.xml").render(
        feed_id=base_url + path,
        feed_title=title,
        updated=_atom_time(newest),
        version=__version__,
        self_link=base_url + path,
        html_link=base_url + "/",
        entries=entries,
    )


def _entry(
    store: Store,
    versions: Mapping[int, Snapshot],
    watch: Watch,
    change: Change,
    page: Page,
    base_url: str,
) -> dict[str, Any]:
    label = kind_label(change.kind, {"parts": change.parts, "removal": change.removal})
    return {
        "link": f"{base_url}/changes/{change.id}",
        "title": f"{label}: {page.name or page.url}",
        "updated": _atom_time(change.detected_at),
        "summary": change.summary,
        "content": _excerpt_html(store, versions, watch, change, page),
    }


def _excerpt_html(
    store: Store, versions: Mapping[int, Snapshot], watch: Watch, change: Change, page: Page
) -> str:
    """The change's summary and diff hunks as HTML; every piece of page text escaped."""
    pieces = [f"<p>{html.escape(change.summary)}</p>", f"<p>{html.escape(page.url)}</p>"]
    ids = [i for i in (change.previous_snapshot_id, change.snapshot_id) if i is not None]
    known = [versions[i] for i in ids if i in versions]
    if change.kind == "restored":  # compared with the last good version, as everywhere
        good = latest_good_before(store, change.page_id, change.snapshot_id)
        known = [*([good] if good else []), *known]
    pair = change_pair(known, change)
    if pair is None:
        return "".join(pieces)
    # stored texts, not re-read: a feed of 30 changes must not run 60 extractions
    comparison = compare_versions(store, watch, *pair, reader=None)
    for part in comparison.parts:
        excerpt = excerpt_edits(part.edits)
        if excerpt is None:
            continue
        for hunk in excerpt["hunks"]:
            text = "".join(_mark(op, segment) for op, segment, _cut in hunk)
            pieces.append(f"<p><strong>{part.part}</strong>: {text}</p>")
    return "".join(pieces)


def _mark(op: str, text: str) -> str:
    escaped = html.escape(text)
    return {"-": f"<del>{escaped}</del>", "+": f"<ins>{escaped}</ins>"}.get(op, escaped)


def _atom_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
