"""The hash chain over a page's stored versions: what one version's record hash covers.

Pure: no I/O. Each record hash covers the evidence of one version (what was received, when,
from where, and the verdict stored with it) and the previous version's record hash, so
editing, inserting or deleting a version breaks every hash after it. Never changes once
released: a new layout gets a new ``CHAIN_FORMAT`` and old records keep verifying.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

CHAIN_FORMAT = "watcher-chain-1"
# A version with a screenshot: the same record, plus the screenshot's SHA-256.
CHAIN_FORMAT_SCREENSHOT = "watcher-chain-2"


def record_sha256(
    *,
    page_url: str,
    fetched_at: datetime,
    status: int,
    final_url: str,
    headers: Mapping[str, str],
    redirects: Sequence[Mapping[str, Any]],
    body_sha256: str,
    state: str,
    removal: str | None,
    previous_record_sha256: str,
    screenshot_sha256: str = "",
) -> str:
    """The record hash of one version, chained to the one stored before it ("" if first).

    The text watcher read is left out on purpose: it can be read again from the body,
    which is covered through ``body_sha256``.
    """
    document = {
        "format": CHAIN_FORMAT,
        "page_url": page_url,
        "fetched_at": _utc(fetched_at),
        "status": status,
        "final_url": final_url,
        "headers": {str(k): str(v) for k, v in headers.items()},
        "redirects": [dict(hop) for hop in redirects],
        "body_sha256": body_sha256,
        "state": state,
        "removal": removal,
        "previous_record_sha256": previous_record_sha256,
    }
    if screenshot_sha256:
        # what the page looked like is evidence too; versions without one keep format 1
        document["format"] = CHAIN_FORMAT_SCREENSHOT
        document["screenshot_sha256"] = screenshot_sha256
    canonical = json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def short_hash(sha256: str) -> str:
    """The first 12 hex digits: enough to name a version, short enough to read aloud."""
    return sha256[:12]


def _utc(moment: datetime) -> str:
    """Microsecond UTC time; a naive value (as some drivers return) is taken as UTC."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
