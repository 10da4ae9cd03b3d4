"""Plain builders for the values the stages and the store consume: fetches, articles, versions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from watcher.check.pipeline import version_record
from watcher.fetch import FetchResult, Hop
from watcher.read.extract import Article
from watcher.store.store import VersionRecord

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def make_fetch_result(
    body: bytes | str = "<html><body><p>Hello</p></body></html>",
    *,
    url: str = "https://news.example/a",
    final_url: str | None = None,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    redirects: Sequence[Hop] = (),
    encoding: str = "utf-8",
    fetched_at: datetime = T0,
    elapsed_seconds: float = 0.05,
) -> FetchResult:
    """A ``FetchResult`` as ``fetch_page`` would return it (str bodies are encoded)."""
    data = body.encode(encoding) if isinstance(body, str) else body
    return FetchResult(
        url=url,
        final_url=final_url or url,
        status=status,
        headers=dict(headers if headers is not None else {"content-type": "text/html"}),
        body=data,
        text="" if status == 304 else data.decode(encoding, errors="replace"),
        encoding=encoding,
        redirects=tuple(redirects),
        fetched_at=fetched_at,
        elapsed_seconds=elapsed_seconds,
    )


def make_article(
    *paragraphs: str,
    title: str = "Minister resigns",
    byline: str = "Jane Doe",
    published: str = "2026-11-27",
    page_title: str = "Minister resigns | News",
) -> Article:
    """An ``Article``; without paragraphs it gets two short ones."""
    return Article(
        title=title,
        byline=byline,
        published=published,
        paragraphs=paragraphs or ("First paragraph.", "Second paragraph."),
        page_title=page_title,
    )


def make_version(
    fetched: FetchResult,
    article: Article,
    *,
    state: str = "ok",
    removal: str | None = None,
    reader: str = "",
    locator: str | None = None,
) -> VersionRecord:
    """The store's record of ``fetched`` read as ``article``, built the pipeline's way."""
    return version_record(
        fetched, article, state=state, removal=removal, reader=reader, locator=locator
    )
