"""WARC export of stored versions (edge: reads the database, writes one file) with warcio.

Each version becomes a request/response pair dated when it was fetched, its redirect hops
their own pairs, a metadata record with watcher's reading, and its screenshot (browser
watches) as a resource record. Bodies are written exactly
as stored (verified against their SHA-256 first); the export never alters the database.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from io import BytesIO
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import datetime_to_iso_date
from warcio.warcwriter import WARCWriter

from watcher import __version__
from watcher.store.models import Change, Page, Snapshot
from watcher.store.store import Store

logger = logging.getLogger(__name__)

# The body is stored decoded from its transfer and content codings, so the headers that
# described those codings no longer describe the payload: they are kept under a prefix
# (as replay tools expect) and Content-Length is set to the payload's length.
_RECODED = ("content-encoding", "transfer-encoding", "content-length")
_ORIGINAL_PREFIX = "x-watcher-original-"


@dataclass(frozen=True, slots=True)
class ExportSummary:
    """What an export wrote."""

    pages: int
    versions: int
    records: int


def export_warc(
    store: Store,
    path: Path,
    *,
    urls: Sequence[str] | None = None,
    since: datetime | None = None,
) -> ExportSummary:
    """Write every stored version of ``urls`` (all pages when None) fetched since ``since``.

    The file is gzip-compressed per record, as WARC readers and indexers expect. A body
    that no longer matches its SHA-256 stops the export with ``StoreError``.
    """
    pages = _pages(store, urls)
    versions = records = 0
    with path.open("wb") as output:
        writer = _Writer(output)
        writer.warcinfo(path.name)
        for page in pages:
            if page.id is None:  # pragma: no cover - pages read back always have ids
                continue
            by_version = {c.snapshot_id: c for c in store.changes(page.id)}
            for version in store.snapshots(page.id, since=since):
                body = store.raw_body(version.body_sha256)
                writer.version(page, version, body, by_version.get(version.id or 0))
                if version.screenshot_sha256:
                    writer.screenshot(version, store.raw_body(version.screenshot_sha256))
                versions += 1
        records = writer.count
    logger.info("exported %d versions of %d pages to %s", versions, len(pages), path)
    return ExportSummary(len(pages), versions, records)


def _pages(store: Store, urls: Sequence[str] | None) -> list[Page]:
    if urls is None:
        return list(store.all_pages())
    found = []
    for url in urls:
        page = store.page_by_url(url)
        if page is None:
            logger.warning("not in the database, not exported url=%s", url)
            continue
        found.append(page)
    return found


class _Writer:
    """warcio's writer with the records one stored version needs."""

    def __init__(self, output: BinaryIO) -> None:
        self._warc = WARCWriter(output, gzip=True, warc_version="1.1")
        self.count = 0

    def warcinfo(self, filename: str) -> None:
        info = {
            "software": f"watcher/{__version__}",
            "format": "WARC File Format 1.1",
            "description": "Stored versions of watched pages: raw bodies as received, "
            "dated when fetched; request records are reconstructed (method, target, Host).",
        }
        self._write(self._warc.create_warcinfo_record(filename, info))

    def version(self, page: Page, version: Snapshot, body: bytes, change: Change | None) -> None:
        """The hops, then the final request/response pair, then watcher's reading."""
        date = _warc_date(version.fetched_at)
        for hop in version.redirects:
            headers = [("Location", str(hop["location"])), ("Content-Length", "0")]
            self._exchange(str(hop["url"]), int(hop["status"]), headers, b"", date)
        response_id = self._exchange(
            version.final_url, version.status, _response_headers(version, body), body, date
        )
        reading = json.dumps(_reading(page, version, change), ensure_ascii=False, indent=2)
        metadata = self._warc.create_warc_record(
            version.final_url,
            "metadata",
            payload=BytesIO(reading.encode()),
            length=len(reading.encode()),
            warc_content_type="application/json",
            warc_headers_dict={"WARC-Date": date, "WARC-Concurrent-To": response_id},
        )
        self._write(metadata)

    def screenshot(self, version: Snapshot, png: bytes) -> None:
        """What the browser showed: a resource record of its own, named after the page."""
        record = self._warc.create_warc_record(
            f"urn:screenshot:{version.final_url}",
            "resource",
            payload=BytesIO(png),
            length=len(png),
            warc_content_type="image/png",
            warc_headers_dict={
                "WARC-Date": _warc_date(version.fetched_at),
                "WARC-Payload-Digest": _sha256_digest(png),
                "WARC-Block-Digest": _sha256_digest(png),
            },
        )
        self._write(record)

    def _exchange(
        self, url: str, status: int, headers: list[tuple[str, str]], body: bytes, date: str
    ) -> str:
        """A response record and the request that asked for it; the response's record id."""
        response = self._warc.create_warc_record(
            url,
            "response",
            payload=BytesIO(body),
            length=len(body),
            http_headers=StatusAndHeaders(_status_line(status), headers, protocol="HTTP/1.1"),
            warc_headers_dict={"WARC-Date": date, "WARC-Payload-Digest": _sha256_digest(body)},
        )
        response_id = str(response.rec_headers.get_header("WARC-Record-ID"))
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        request = self._warc.create_warc_record(
            url,
            "request",
            payload=BytesIO(b""),
            length=0,
            http_headers=StatusAndHeaders(
                f"GET {target} HTTP/1.1", [("Host", parts.netloc)], is_http_request=True
            ),
            warc_headers_dict={"WARC-Date": date, "WARC-Concurrent-To": response_id},
        )
        self._write(response)
        self._write(request)
        return response_id

    def _write(self, record: Any) -> None:
        self._warc.write_record(record)
        self.count += 1


def _response_headers(version: Snapshot, body: bytes) -> list[tuple[str, str]]:
    headers: list[tuple[str, str]] = []
    for name, value in version.headers.items():
        if name.lower() in _RECODED:
            headers.append((_ORIGINAL_PREFIX + name.lower(), value))
        else:
            headers.append((name, value))
    headers.append(("Content-Length", str(len(body))))
    return headers


def _reading(page: Page, version: Snapshot, change: Change | None) -> dict[str, Any]:
    """Watcher's reading of a version: what it read and what it concluded, with hashes."""
    return {
        "page": page.url,
        "name": page.name,
        "version_id": version.id,
        "fetched_at": version.fetched_at.isoformat(),
        "body_sha256": version.body_sha256,
        "screenshot_sha256": version.screenshot_sha256,
        "record_sha256": version.record_sha256 or None,
        "previous_record_sha256": version.previous_record_sha256 or None,
        "encoding": version.encoding,
        "reader": version.reader,
        "headline": version.title,
        "byline": version.byline,
        "dateline": version.published,
        "page_title": version.page_title,
        "state": version.state,
        "removal": version.removal,
        "verdict": None
        if change is None
        else {
            "change_id": change.id,
            "kind": change.kind,
            "parts": change.parts,
            "summary": change.summary,
            "detected_at": change.detected_at.isoformat(),
        },
    }


def _status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"


def _sha256_digest(data: bytes) -> str:
    """WARC's ``algorithm:base32`` form of the same SHA-256 watcher stores in hex."""
    return "sha256:" + base64.b32encode(hashlib.sha256(data).digest()).decode()


def _warc_date(moment: datetime) -> str:
    """WARC 1.1 dates carry the fetch time to the microsecond, in UTC."""
    return str(datetime_to_iso_date(moment.astimezone(UTC).replace(tzinfo=None), use_micros=True))
