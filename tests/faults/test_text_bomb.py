"""A page's text is bounded and stored compressed: a text bomb (a small gzip body that
decodes to megabytes of text) is refused as an error with its body kept, never stored."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import func, select
from sqlmodel import Session

from tests.conftest import shared_readers
from tests.sites import Story, render
from tests.test_pipeline import Site
from watcher.check.pipeline import CheckResult, check_page
from watcher.config import Settings, Watch
from watcher.judge.classify import Kind
from watcher.store.models import Snapshot
from watcher.store.store import Store

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
SETTINGS = Settings(
    timeout=timedelta(seconds=5), deadline=timedelta(seconds=20), allow_private=True
)


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def check(db: Store, session: requests.Session, url: str, settings: Settings) -> CheckResult:
    watch = Watch(url=url)
    page_id = db.sync_pages([(url, watch.label)], T0)[url]
    return check_page(
        db, session, watch, settings, page_id=page_id, now=T0, reader=shared_readers()
    )


def test_a_text_bomb_is_refused_and_its_body_kept(
    db: Store, httpserver: object, session: requests.Session
) -> None:
    """gzip of 10 MiB of zero bytes as text/html (10 KB on the wire, within max_bytes) is
    `error: page text too large`; no version is stored, the body is kept as evidence."""
    site = Site(httpserver)  # type: ignore[arg-type]
    bomb = gzip.compress(b"\0" * (10 * 1024 * 1024), compresslevel=9)
    site.serve("/bomb", bomb, **{"Content-Type": "text/html", "Content-Encoding": "gzip"})

    result = check(db, session, site.url("/bomb"), SETTINGS)

    assert result.verdict.kind is Kind.ERROR
    assert result.verdict.summary.startswith("error: page text too large: ")
    assert "body kept as" in result.verdict.summary
    page = db.page_by_url(site.url("/bomb"))
    assert page is not None
    assert page.id is not None
    assert db.snapshots(page.id) == []
    assert "page text too large" in (page.last_error or "")
    (kept,) = db.blob_hashes()
    assert len(db.raw_body(kept)) == 10 * 1024 * 1024


def test_markup_beyond_the_cap_around_a_short_article_is_stored(
    db: Store, httpserver: object, session: requests.Session
) -> None:
    """The cap is on text, not markup: a page with a script larger than max_text and a
    normal article is read and stored as usual."""
    site = Site(httpserver)  # type: ignore[arg-type]
    script = "<script>var x = '" + "a" * 60_000 + "';</script>"
    html = render(Story()).replace("</head>", script + "</head>")
    site.serve("/big", html)

    result = check(db, session, site.url("/big"), SETTINGS.model_copy(update={"max_text": 50_000}))

    assert result.verdict.kind is Kind.NEW
    assert result.snapshot_id is not None


def test_a_versions_text_is_stored_compressed(db: Store, session: requests.Session) -> None:
    """A version's text (here 1 MB, repetitive) costs a fraction of its size in the
    database and reads back exactly."""
    from tests.factories import make_article, make_fetch_result, make_version

    url = "https://news.example/long"
    page_id = db.sync_pages([(url, "long")], T0)[url]
    text = "\n\n".join(
        f"Paragraph {n} of a very long article about the budget." for n in range(18_000)
    )
    assert len(text) > 1_000_000
    fetched = make_fetch_result("<p>long</p>", url=url, fetched_at=T0)
    snapshot_id, _ = db.record_version(page_id, make_version(fetched, make_article(text)))

    stored = db.get_snapshot(snapshot_id)
    assert stored is not None
    assert stored.text == text
    with Session(db.engine) as raw:
        size = raw.exec(  # type: ignore[call-overload]
            select(func.length(Snapshot.__table__.c.text_zstd))  # type: ignore[attr-defined]
        ).scalar_one()
    assert size < len(text) / 20
