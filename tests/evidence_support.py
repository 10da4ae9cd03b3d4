"""Pages with stored versions, written through the real store, for the evidence tests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from tests.factories import T0, make_article, make_fetch_result
from watcher.check.gather import version_record
from watcher.check.reading import reader_key
from watcher.config import Watch
from watcher.fetch import Hop
from watcher.read.extract import Article
from watcher.store.store import ChangeDraft, Store

URL = "https://news.example/2026/bridge"


@dataclass(frozen=True)
class Version:
    """One version to store: the raw body and what a reader read from it."""

    body: bytes
    article: Article
    status: int = 200
    state: str = "ok"
    removal: str | None = None
    redirects: tuple[Hop, ...] = ()
    final_url: str | None = None
    encoding: str = "utf-8"
    headers: tuple[tuple[str, str], ...] = (("content-type", "text/html; charset=utf-8"),)


def page_html(title: str, *paragraphs: str, extra: str = "") -> bytes:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f"<!doctype html><html><head><title>{title}</title></head>"
        f"<body><h1>{title}</h1>{body}{extra}</body></html>\r\n"
    ).encode()


def five_versions() -> list[Version]:
    """First publication, an edit, a noisy re-render, a redirect away, a restoration."""
    first = ("The minister denied any wrongdoing.", "Visits: 120")
    edited = ("The minister admitted some mistakes.", "Visits: 512")
    return [
        Version(page_html("Minister resigns", *first), make_article(*first)),
        Version(page_html("Minister resigns", *edited), make_article(*edited)),
        Version(
            page_html("Minister quits", *edited, extra="<!-- \xff -->"),
            make_article(*edited, title="Minister quits"),
        ),
        Version(
            b"<html><body>Front page</body></html>",
            make_article("Front page", title=""),
            state="removed",
            removal="redirected",
            redirects=(Hop(URL, 301, "https://news.example/"),),
            final_url="https://news.example/",
        ),
        Version(
            "<html><body><p>重新发布：部长辞职。</p></body></html>".encode("gb18030"),
            make_article("重新发布：部长辞职。", title="Minister quits"),
            encoding="gb18030",
            headers=(("content-type", "text/html; charset=gb18030"), ("etag", '"v5"')),
        ),
    ]


def store_versions(
    store: Store, versions: Sequence[Version], url: str = URL, name: str = "Bridge story"
) -> list[int]:
    """Store ``versions`` one hour apart, each with the change a check would record."""
    page_id = store.sync_pages([(url, name)], T0)[url]
    ids: list[int] = []
    previous: int | None = None
    for index, version in enumerate(versions):
        at = T0 + timedelta(hours=index)
        fetch = make_fetch_result(
            version.body,
            url=url,
            final_url=version.final_url or url,
            status=version.status,
            headers=dict(version.headers),
            redirects=version.redirects,
            encoding=version.encoding,
            fetched_at=at,
        )
        kind = "removed" if version.state == "removed" else "changed"
        kind = "new" if previous is None else kind
        draft = ChangeDraft(
            kind=kind,
            parts=("body",) if kind == "changed" else (),
            removal=version.removal,
            summary=f"version {index + 1}",
            words_added=1,
            words_removed=1,
            detected_at=at,
        )
        snapshot_id, _ = store.record_version(
            page_id,
            version_record(
                fetch,
                version.article,
                state=version.state,
                removal=version.removal,
                reader=reader_key(Watch(url=url)),
                locator=None,
            ),
            change=draft,
            previous_snapshot_id=previous,
        )
        ids.append(snapshot_id)
        previous = snapshot_id
    return ids
