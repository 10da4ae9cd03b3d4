"""The store on SQLite and PostgreSQL: evidence round-trips, one-transaction writes, claims."""

from __future__ import annotations

import hashlib
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone

import pytest
import zstandard
from sqlalchemy import Connection, func, select, update
from sqlmodel import SQLModel, col

from tests.factories import T0, make_article, make_fetch_result, make_version
from watcher.errors import StoreError
from watcher.fetch import Hop
from watcher.store.models import Blob, Change, Page, Snapshot
from watcher.store.store import ChangeDraft, SchedulePosition, StatusCounts, Store


def count(store: Store, model: type[SQLModel]) -> int:
    with store.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(model)).scalar_one()


def draft(kind: str = "changed", at: datetime = T0, summary: str = "") -> ChangeDraft:
    return ChangeDraft(
        kind=kind,
        parts=("body",),
        removal=None,
        summary=summary or kind,
        words_added=2,
        words_removed=1,
        detected_at=at,
    )


def add_page(store: Store, url: str = "https://news.example/a") -> int:
    return store.sync_pages([(url, "A")], T0)[url]


def store_version(
    store: Store,
    page_id: int,
    body: bytes | str,
    *,
    state: str = "ok",
    change: ChangeDraft | None = None,
    previous: int | None = None,
    at: datetime = T0,
) -> tuple[int, int | None]:
    page = store.get_page(page_id)
    version = make_version(
        make_fetch_result(body, url=page.url if page else "", fetched_at=at),
        make_article(f"Text of {body!r}."),
        state=state,
        removal="gone" if state == "removed" else None,
    )
    return store.record_version(page_id, version, change=change, previous_snapshot_id=previous)


def test_version_round_trip(db: Store) -> None:
    """A stored version reads back identical: raw bytes, JSON headers and hops, aware UTC."""
    page_id = add_page(db)
    body = "<p>北京 — “quoted”</p>".encode("gb18030") + b"\xff\x00 trailing"
    fetched_at = datetime(2026, 11, 29, 20, 30, 15, 123456, tzinfo=timezone(timedelta(hours=8)))
    fetch = make_fetch_result(
        body,
        url="https://news.example/a",
        final_url="https://news.example/a/",
        headers={"etag": '"v1"', "last-modified": "Sat, 28 Nov 2026 10:00:00 GMT", "x-note": "é"},
        redirects=(Hop("https://news.example/a", 301, "https://news.example/a/"),),
        encoding="gb18030",
        fetched_at=fetched_at,
    )
    article = make_article("第一段。", "Second paragraph.", title="标题")
    snapshot_id, change_id = db.record_version(
        page_id, make_version(fetch, article), change=draft("new", at=fetched_at)
    )

    snapshot = db.get_snapshot(snapshot_id)
    assert snapshot is not None
    assert db.raw_body(snapshot.body_sha256) == body
    assert snapshot.body_sha256 == hashlib.sha256(body).hexdigest()
    assert snapshot.headers == dict(fetch.headers)
    assert snapshot.redirects == [
        {"url": "https://news.example/a", "status": 301, "location": "https://news.example/a/"}
    ]
    assert (snapshot.final_url, snapshot.status, snapshot.encoding) == (
        "https://news.example/a/",
        200,
        "gb18030",
    )
    assert snapshot.text == "第一段。\n\nSecond paragraph."
    assert snapshot.text_sha256 == hashlib.sha256(snapshot.text.encode("utf-8")).hexdigest()
    assert (snapshot.title, snapshot.byline, snapshot.page_title) == (
        "标题",
        "Jane Doe",
        "Minister resigns | News",
    )
    assert snapshot.fetched_at == fetched_at
    assert snapshot.fetched_at.tzinfo is not None
    assert snapshot.fetched_at.utcoffset() == timedelta(0)

    assert change_id is not None
    change = db.get_change(change_id)
    assert change is not None
    assert (change.kind, change.parts, change.snapshot_id) == ("new", ["body"], snapshot_id)
    assert change.detected_at == fetched_at
    assert change.detected_at.utcoffset() == timedelta(0)

    page = db.get_page(page_id)
    assert page is not None
    assert page.last_checked_at == fetched_at
    assert page.last_checked_at is not None
    assert page.last_checked_at.utcoffset() == timedelta(0)
    assert (page.last_status, page.etag, page.last_modified) == (
        200,
        '"v1"',
        "Sat, 28 Nov 2026 10:00:00 GMT",
    )


def test_version_resets_error_streak_and_validators(db: Store) -> None:
    """A stored version clears the error streak and replaces etag/last-modified with its own."""
    page_id = add_page(db)
    db.record_check(page_id, checked_at=T0, status=None, error="timeout", etag='"old"')
    store_version(db, page_id, "body", at=T0 + timedelta(minutes=1))
    page = db.get_page(page_id)
    assert page is not None
    assert (page.consecutive_errors, page.last_error, page.etag) == (0, None, None)


def test_identical_bodies_share_one_blob(db: Store) -> None:
    """Two versions with the same raw body store it once."""
    page_id = add_page(db)
    first, _ = store_version(db, page_id, "same body")
    second, _ = store_version(db, page_id, "same body", at=T0 + timedelta(hours=1))
    assert count(db, Blob) == 1
    assert count(db, Snapshot) == 2
    one, two = db.get_snapshot(first), db.get_snapshot(second)
    assert one is not None
    assert two is not None
    assert one.body_sha256 == two.body_sha256


def test_empty_body_round_trips(db: Store) -> None:
    """An empty body (a page emptied by its publisher) is stored and verified like any other."""
    snapshot_id, _ = store_version(db, add_page(db), b"")
    snapshot = db.get_snapshot(snapshot_id)
    assert snapshot is not None
    assert db.raw_body(snapshot.body_sha256) == b""


def test_concurrent_insert_of_same_blob_is_harmless(db: Store) -> None:
    """A blob inserted by another writer while we wait for it is reused, not an error."""
    page_id = add_page(db)
    body = b"<p>shared by two daemons</p>"
    sha = hashlib.sha256(body).hexdigest()
    outcome: list[object] = []

    def record() -> None:
        try:
            outcome.append(store_version(db, page_id, body))
        except StoreError as exc:  # reported through the assertion below
            outcome.append(exc)

    with db.engine.connect() as other:
        other.execution_options(watcher_writes=True)  # holds SQLite's write lock too
        with other.begin():
            insert_blob(other, sha, body)
            writer = threading.Thread(target=record)
            writer.start()
            writer.join(timeout=0.3)
            assert writer.is_alive(), "the second writer should wait for the first"
    writer.join(timeout=30)
    assert len(outcome) == 1
    assert isinstance(outcome[0], tuple)
    assert count(db, Blob) == 1
    assert db.raw_body(sha) == body


def insert_blob(connection: Connection, sha: str, body: bytes) -> None:
    connection.execute(
        Blob.metadata.tables["blob"]
        .insert()
        .values(
            sha256=sha,
            codec="zstd",
            size=len(body),
            data=zstandard.ZstdCompressor(level=3).compress(body),
            created_at=T0,
        )
    )


@pytest.mark.parametrize(
    "stored",
    [
        pytest.param(zstandard.ZstdCompressor().compress(b"a different body"), id="swapped"),
        pytest.param(b"\x28\xb5\x2f\xfd not really zstd", id="garbage"),
    ],
)
def test_corrupted_blob_is_detected(db: Store, stored: bytes) -> None:
    """A raw body that no longer matches its SHA-256 raises instead of being returned."""
    page_id = add_page(db)
    snapshot_id, _ = store_version(db, page_id, "original evidence")
    snapshot = db.get_snapshot(snapshot_id)
    assert snapshot is not None
    with db.engine.begin() as connection:
        connection.execute(
            update(Blob).where(col(Blob.sha256) == snapshot.body_sha256).values(data=stored)
        )
    with pytest.raises(StoreError, match="corrupt"):
        db.raw_body(snapshot.body_sha256)


def test_missing_blob_is_an_error(db: Store) -> None:
    """Asking for a body that was never stored raises StoreError."""
    with pytest.raises(StoreError, match="no raw body"):
        db.raw_body("0" * 64)


def test_record_check_counts_error_streak(db: Store) -> None:
    """Errors accumulate in consecutive_errors; a clean check resets it and keeps validators."""
    page_id = add_page(db)
    db.record_check(page_id, checked_at=T0, status=200, error=None, etag='"e1"')
    for minute in range(1, 4):
        db.record_check(
            page_id, checked_at=T0 + timedelta(minutes=minute), status=503, error="HTTP 503"
        )
    page = db.get_page(page_id)
    assert page is not None
    assert (page.consecutive_errors, page.last_error, page.last_status) == (3, "HTTP 503", 503)

    db.record_check(page_id, checked_at=T0 + timedelta(minutes=5), status=304, error=None)
    page = db.get_page(page_id)
    assert page is not None
    assert (page.consecutive_errors, page.last_error, page.last_status) == (0, None, 304)
    assert page.etag == '"e1"'  # a 304 without validators keeps the old ones
    assert page.last_checked_at == T0 + timedelta(minutes=5)


def test_record_check_of_unknown_page_fails(db: Store) -> None:
    """Recording a check for a page id that does not exist raises StoreError."""
    with pytest.raises(StoreError, match="no page"):
        db.record_check(12345, checked_at=T0, status=200, error=None)


def test_naive_datetime_is_rejected(db: Store) -> None:
    """A naive datetime never reaches the database: evidence times must be unambiguous."""
    page_id = add_page(db)
    with pytest.raises(StoreError, match="timezone"):
        db.record_check(page_id, checked_at=T0.replace(tzinfo=None), status=200, error=None)


def test_sync_pages_deactivates_and_reactivates(db: Store) -> None:
    """Pages leaving the watchlist become inactive with history kept, and come back intact."""
    ids = db.sync_pages([("https://a", "A"), ("https://b", "B")], T0)
    assert set(ids) == {"https://a", "https://b"}
    store_version(db, ids["https://a"], "a v1")
    later = T0 + timedelta(hours=1)
    db.release_page(ids["https://a"], T0 + timedelta(minutes=30))

    ids2 = db.sync_pages([("https://b", "B renamed"), ("https://c", "C")], later)
    assert ids2["https://b"] == ids["https://b"]
    a, b, c = (db.page_by_url(url) for url in ("https://a", "https://b", "https://c"))
    assert a is not None
    assert b is not None
    assert c is not None
    assert (a.is_active, b.is_active, c.is_active) == (False, True, True)
    assert b.name == "B renamed"
    assert c.next_check_at == later
    assert c.created_at == later
    assert len(db.snapshots(a.id or 0)) == 1

    ids3 = db.sync_pages([("https://a", "A"), ("https://a", "A again")], later)
    a = db.page_by_url("https://a")
    assert a is not None
    assert ids3 == {"https://a": ids["https://a"]}
    assert (a.is_active, a.name) == (True, "A again")
    assert a.next_check_at == T0 + timedelta(minutes=30)  # keeps its place in the schedule
    assert len(db.snapshots(a.id or 0)) == 1
    assert db.page_by_url("https://missing") is None


def test_latest_snapshot_and_latest_good_snapshot(db: Store) -> None:
    """latest_snapshot is the newest version; latest_good_snapshot skips removal states."""
    page_id = add_page(db)
    assert db.latest_snapshot(page_id) is None
    assert db.latest_good_snapshot(page_id) is None
    first, _ = store_version(db, page_id, "v1")
    second, _ = store_version(db, page_id, "v2", at=T0 + timedelta(hours=1))
    removed, _ = store_version(db, page_id, "gone", state="removed", at=T0 + timedelta(hours=2))
    latest, good = db.latest_snapshot(page_id), db.latest_good_snapshot(page_id)
    assert latest is not None
    assert good is not None
    assert (latest.id, latest.state, latest.removal) == (removed, "removed", "gone")
    assert good.id == second
    assert [s.id for s in db.snapshots(page_id)] == [first, second, removed]


def test_changes_are_oldest_first(db: Store) -> None:
    """changes() lists events in recorded order, for one page or for all."""
    a = add_page(db, "https://a")
    b = db.sync_pages([("https://a", "A"), ("https://b", "B")], T0)["https://b"]
    recorded: list[tuple[int, int | None]] = []
    for step, page_id in enumerate([a, b, a, b, a]):
        previous = db.latest_snapshot(page_id)
        recorded.append(
            store_version(
                db,
                page_id,
                f"{page_id} v{step}",
                change=draft(summary=f"step {step}", at=T0 + timedelta(minutes=step)),
                previous=previous.id if previous else None,
                at=T0 + timedelta(minutes=step),
            )
        )
    change_ids = [change_id for _, change_id in recorded]
    assert [c.id for c in db.changes()] == change_ids
    assert [c.summary for c in db.changes(a)] == ["step 0", "step 2", "step 4"]
    assert [c.page_id for c in db.changes(b)] == [b, b]
    last = db.changes(a)[-1]
    assert last.previous_snapshot_id == recorded[2][0]
    assert db.get_change(987654) is None
    assert db.get_snapshot(987654) is None


def test_version_is_one_transaction(db: Store) -> None:
    """If the change row fails, no blob, snapshot or page update of that version remains."""
    page_id = add_page(db)
    store_version(db, page_id, "kept")
    before = db.get_page(page_id)
    with pytest.raises(StoreError):
        store_version(
            db,
            page_id,
            "never stored",
            change=draft(),
            previous=999_999,  # no such snapshot: the change insert violates a foreign key
            at=T0 + timedelta(hours=1),
        )
    assert (count(db, Blob), count(db, Snapshot), count(db, Change)) == (1, 1, 0)
    assert db.get_page(page_id) == before
    assert db.latest_snapshot(page_id) is not None


def test_version_of_unknown_page_stores_nothing(db: Store) -> None:
    """A version for a page id that does not exist raises and leaves no orphan blob."""
    with pytest.raises(StoreError, match="no page"):
        store_version(db, 4242, "orphan")
    assert count(db, Blob) == 0


def make_due_pages(store: Store, n: int) -> list[int]:
    ids = store.sync_pages([(f"https://news.example/{i}", f"p{i}") for i in range(n)], T0)
    return sorted(ids.values())


def test_concurrent_claims_never_overlap(db: Store, db_url: str) -> None:
    """Four claimers on two engines split 200 due pages with no page claimed twice."""
    all_ids = make_due_pages(db, 200)
    start = threading.Barrier(4)

    def claim(slot: int, store: Store) -> list[int]:
        start.wait()
        claimed: list[int] = []
        while batch := store.claim_due_pages(T0, 7, 600, f"daemon-{slot}"):
            assert all(page.leased_by == f"daemon-{slot}" for page in batch)
            claimed.extend(page.id or 0 for page in batch)
        return claimed

    with Store(db_url) as other, ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(claim, slot, (db, other)[slot % 2]) for slot in range(4)]
        flat = [page_id for future in futures for page_id in future.result(timeout=60)]
        assert other.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    assert len(flat) == len(set(flat)), "a page was claimed twice"
    assert sorted(flat) == all_ids


def test_pages_are_released_together_but_never_from_a_new_holder(db: Store) -> None:
    """One transaction ends several leases; a page another daemon took over meanwhile keeps
    its new holder's lease and schedule."""
    ids = make_due_pages(db, 3)
    assert len(db.claim_due_pages(T0, 3, 60, "one")) == 3
    db.release_page(ids[2], T0, owner="one")  # given back early ...
    assert [p.id for p in db.claim_due_pages(T0, 1, 60, "two")] == [ids[2]]  # ... and taken
    later = T0 + timedelta(minutes=15)
    released = db.release_pages([(page_id, later) for page_id in ids], owner="one")
    assert released == {ids[0], ids[1]}
    for page_id in ids[:2]:
        page = db.get_page(page_id)
        assert page is not None
        assert (page.lease_until, page.leased_by, page.next_check_at) == (None, None, later)
    taken = db.get_page(ids[2])
    assert taken is not None
    assert (taken.leased_by, taken.next_check_at) == ("two", T0)


def test_claims_respect_schedule_and_lease(db: Store) -> None:
    """Only active, due, unleased pages are claimed, most overdue first; leases expire."""
    ids = make_due_pages(db, 4)
    db.release_page(ids[0], T0 - timedelta(minutes=5))  # most overdue
    db.release_page(ids[1], T0 + timedelta(minutes=5))  # not due yet
    db.sync_pages([(f"https://news.example/{i}", "p") for i in (0, 1, 2)], T0)  # 3 inactive

    claimed = db.claim_due_pages(T0, 10, 60, "one")
    assert [page.id for page in claimed] == [ids[0], ids[2]]
    assert all(page.lease_until == T0 + timedelta(seconds=60) for page in claimed)
    assert db.claim_due_pages(T0 + timedelta(seconds=30), 10, 60, "two") == []
    assert db.claim_due_pages(T0, 0, 60, "two") == []

    # the holder died: once the lease runs out another daemon takes the page over
    retaken = db.claim_due_pages(T0 + timedelta(seconds=61), 1, 60, "two")
    assert [(page.id, page.leased_by) for page in retaken] == [(ids[0], "two")]
    assert not db.release_page(ids[0], T0 + timedelta(hours=1), owner="one")
    assert db.release_page(ids[0], T0 + timedelta(hours=1), owner="two")
    page = db.get_page(ids[0])
    assert page is not None
    assert (page.lease_until, page.leased_by) == (None, None)
    assert page.next_check_at == T0 + timedelta(hours=1)
    assert not db.release_page(999_999, T0)


def test_unreachable_database_raises_store_error(db: Store) -> None:
    """A database that cannot be reached or created raises StoreError, password masked."""
    if db.dialect == "postgresql":
        url = "postgresql+psycopg://watcher:hunter2@127.0.0.1:1/watcher?connect_timeout=3"
        expected = "127.0.0.1:1"
    else:
        blocker = db.engine.url.database
        assert blocker is not None
        url = f"sqlite:///{blocker}/sub/watcher.db"  # its "parent directory" is a file
        expected = "sub/watcher.db"
    with pytest.raises(StoreError, match="cannot open database") as failure:
        Store(url)
    message = str(failure.value)
    assert expected in message
    assert "hunter2" not in message
    if db.dialect == "postgresql":
        assert "***" in message


def test_invalid_url_raises_store_error(db: Store) -> None:
    """A malformed URL raises StoreError without echoing what may be a password."""
    with pytest.raises(StoreError, match="invalid database URL") as failure:
        Store(f"{db.dialect}:::user:hunter2@")
    assert "hunter2" not in str(failure.value)


def test_returned_objects_are_detached_and_aware(db: Store) -> None:
    """Objects returned by the store stay readable after their session closed, in UTC."""
    page_id = add_page(db)
    db.record_check(
        page_id, checked_at=datetime(2026, 11, 29, 7, 0, tzinfo=UTC), status=200, error=None
    )
    [page] = db.claim_due_pages(T0, 1, 60, "me")
    for value in (page.created_at, page.next_check_at, page.lease_until, page.last_checked_at):
        assert value is not None
        assert value.utcoffset() == timedelta(0)
    assert isinstance(page, Page)


def test_pages_for_reschedule_skips_failing_leased_and_inactive(db: Store) -> None:
    """Only active pages that are neither failing nor leased are offered for rescheduling."""
    urls = [f"https://news.example/{name}" for name in ("plain", "leased", "failing", "gone")]
    ids = db.sync_pages([(url, url) for url in urls], T0)
    plain, leased, failing, gone = (ids[url] for url in urls)
    checked_at = T0 + timedelta(minutes=1)
    db.record_check(plain, checked_at=checked_at, status=200, error=None)
    db.record_check(failing, checked_at=checked_at, status=503, error="HTTP 503")
    db.release_page(plain, T0 + timedelta(hours=1))
    for page_id in (leased, failing, gone):
        db.release_page(page_id, T0 + timedelta(minutes=30))
    [claimed] = db.claim_due_pages(T0 + timedelta(minutes=30), 1, 600, "other")
    assert claimed.id == leased
    db.sync_pages([(url, url) for url in urls[:3]], T0)

    assert db.pages_for_reschedule() == [
        SchedulePosition(plain, urls[0], T0 + timedelta(hours=1), checked_at)
    ]


def test_pull_forward_only_moves_pages_earlier(db: Store) -> None:
    """Moves go earlier only, skip pages leased or failing since, and are counted."""
    ids = make_due_pages(db, 4)
    later = T0 + timedelta(hours=2)
    soon = T0 + timedelta(hours=1)
    for page_id in ids:
        db.release_page(page_id, soon if page_id == ids[3] else later)
    db.record_check(ids[2], checked_at=T0, status=None, error="timeout")
    [leased] = db.claim_due_pages(soon, 10, 600, "other")
    assert leased.id == ids[3]
    wanted = T0 + timedelta(minutes=10)

    moves = {ids[0]: wanted, ids[1]: later + timedelta(hours=1), ids[2]: wanted, ids[3]: wanted}
    assert db.pull_forward(moves) == 1
    assert db.pull_forward({}) == 0
    due = {page_id: page.next_check_at for page_id in ids if (page := db.get_page(page_id))}
    assert due == {ids[0]: wanted, ids[1]: later, ids[2]: later, ids[3]: soon}


def test_status_counts(db: Store) -> None:
    """Active pages, due-and-unleased, failing, and the newest change's time, as of now."""
    assert db.status_counts(T0) == StatusCounts(pages=0, due=0, failing=0, last_change_at=None)
    ids = make_due_pages(db, 5)
    db.sync_pages([(f"https://news.example/{i}", f"p{i}") for i in range(4)], T0)  # 4 inactive
    db.release_page(ids[0], T0 + timedelta(hours=1))  # not due yet
    db.record_check(ids[1], checked_at=T0, status=500, error="HTTP 500")
    db.claim_due_pages(T0, 1, 60, "me")  # leases ids[1], the most overdue by id
    changed_at = T0 + timedelta(minutes=3)
    store_version(db, ids[2], "v1", change=draft("new", at=T0), at=T0)
    store_version(db, ids[2], "v2", change=draft(at=changed_at), at=changed_at)

    assert db.status_counts(T0) == StatusCounts(
        pages=4, due=2, failing=1, last_change_at=changed_at
    )
    # once the lease has expired, the leased page counts as due again
    assert db.status_counts(T0 + timedelta(seconds=61)).due == 3


def test_snapshots_since_reads_only_the_recent_versions(db: Store) -> None:
    """snapshots(since=) leaves older versions in the database, unread."""
    page_id = db.sync_pages([("https://a.example/x", "A")], T0)["https://a.example/x"]
    for hours in (0, 10, 20):
        store_version(db, page_id, f"v{hours}", at=T0 + timedelta(hours=hours))
    recent = db.snapshots(page_id, since=T0 + timedelta(hours=10))
    assert [s.fetched_at for s in recent] == [T0 + timedelta(hours=h) for h in (10, 20)]
    assert len(db.snapshots(page_id)) == 3


def test_a_stored_version_dates_its_page_for_the_age_tiers(db: Store) -> None:
    """Age counts from the date the article states: the first version that states one
    dates the page, and a later edit of that date does not move it."""
    dated = add_page(db, "https://news.example/a")
    undated = add_page(db, "https://news.example/b")
    first = make_article(published="2026-11-20T08:30:00+08:00")
    db.record_version(dated, make_version(make_fetch_result(b"<p>a</p>"), first))
    b = make_fetch_result(b"<p>b</p>", url="https://news.example/b")
    db.record_version(undated, make_version(b, make_article(published="")))
    edited = make_article(published="2026-11-28")
    db.record_version(dated, make_version(make_fetch_result(b"<p>a2</p>"), edited))

    def published(page_id: int) -> datetime | None:
        page = db.get_page(page_id)
        assert page is not None
        return page.published_at

    assert published(dated) == datetime(2026, 11, 20, 0, 30, tzinfo=UTC)
    assert published(undated) is None


def test_a_version_fetched_for_another_url_is_not_filed_under_the_page(db: Store) -> None:
    """A check that began before the database came back from a dump with other ids holds
    an id that now names another page: its version is refused, not filed there."""
    restored = add_page(db, "https://news.example/b")
    stale = make_version(
        make_fetch_result(b"<p>a</p>", url="https://news.example/a"), make_article("A's text.")
    )
    with pytest.raises(StoreError, match=re.escape("https://news.example/a")):
        db.record_version(restored, stale, change=draft("new"))
    assert db.snapshots(restored) == []
    assert db.changes() == []
    own = make_version(
        make_fetch_result(b"<p>b</p>", url="https://news.example/b"), make_article("B's text.")
    )
    db.record_version(restored, own, change=draft("new"))
    assert len(db.snapshots(restored)) == 1
