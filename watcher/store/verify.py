"""Verification of the stored evidence: every body against its SHA-256, every page's chain.

Read-only: reports what does not hold and repairs nothing, because evidence that was
changed must stay visible as changed. Bodies are checked by ``Store.raw_body``, which
refuses any that no longer match their hash; chains by ``watcher.chain``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence, Set
from dataclasses import dataclass

from watcher.errors import StoreError
from watcher.store.models import Page, Snapshot
from watcher.store.store import Store, chained_record

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Break:
    """One thing that does not hold: which page and version (or body), and what."""

    url: str
    version_id: int | None
    problem: str


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """What was checked and every break found; ``is_intact`` when there is none."""

    blobs: int
    pages: int
    versions: int
    breaks: tuple[Break, ...]

    @property
    def is_intact(self) -> bool:
        return not self.breaks


def verify_store(store: Store) -> VerifyReport:
    """Recompute every stored body's SHA-256 and every page's hash chain."""
    breaks: list[Break] = []
    hashes = store.blob_hashes()
    for sha256 in hashes:
        try:
            store.raw_body(sha256)
        except StoreError as exc:
            breaks.append(Break("", None, str(exc)))
    pages = store.all_pages()
    versions = 0
    for page in pages:
        if page.id is None:  # pragma: no cover - pages read back always have ids
            continue
        chain = store.snapshots(page.id)
        versions += len(chain)
        breaks += verify_chain(page, chain, known_blobs=set(hashes))
    return VerifyReport(len(hashes), len(pages), versions, tuple(breaks))


def verify_chain(page: Page, chain: Sequence[Snapshot], *, known_blobs: Set[str]) -> list[Break]:
    """Breaks in one page's chain (versions oldest first): a record that does not hash to
    what is stored, a link to a record that is not the one before it, a missing body, or
    a newest version that is not the one the page last recorded."""
    found: list[Break] = []
    previous = ""
    for version in chain:
        if version.body_sha256 not in known_blobs:
            found.append(Break(page.url, version.id, f"body {version.body_sha256} is missing"))
        if version.previous_record_sha256 != previous:
            found.append(
                Break(
                    page.url,
                    version.id,
                    "links to a record that is not the version stored before it "
                    "(a version was deleted, inserted or reordered)",
                )
            )
        if chained_record(page.url, version) != version.record_sha256:
            found.append(
                Break(page.url, version.id, "record hash does not match its stored evidence")
            )
        previous = version.record_sha256
    if previous != page.last_record_sha256:
        found.append(
            Break(page.url, None, "the newest version is not the one last stored (deleted?)")
        )
    return found
