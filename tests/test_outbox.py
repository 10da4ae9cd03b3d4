"""The alert outbox end to end: written with the change, delivered once, in order, late if
need be; real pages, the real pipeline, real databases, a real SMTP server and Slack stand-in.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlmodel import Session

from tests.conftest import SlackEndpoint, SmtpServer, shared_readers
from tests.loopback import LOOPBACK_SETTING
from tests.sites import Story, render
from tests.test_notify import store_alert
from tests.test_pipeline import Site
from watcher.alerts.notify import deliver_due
from watcher.check.pipeline import CheckResult, check_page, run_pass
from watcher.config import Settings, Watch, Watchlist, load_watchlist
from watcher.judge.classify import Kind
from watcher.store.outbox import add_alerts
from watcher.store.store import Store

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
SETTINGS = Settings(
    allow_private=True,  # the site listens on 127.0.0.1
    timeout=timedelta(seconds=5),
    deadline=timedelta(seconds=10),
    unreachable_after=timedelta(minutes=10),
)


@pytest.fixture
def site(httpserver: Any) -> Site:
    return Site(httpserver)


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


class Page:
    """Checks one watch through the real pipeline, with the clock the test sets."""

    def __init__(self, db: Store, session: requests.Session, url: str, routes: list[str]) -> None:
        self.db, self.session, self.routes = db, session, routes
        self.watch = Watch(url=url, name="Minister resigns")
        self.page_id = db.sync_pages([(url, self.watch.label)], T0)[url]

    def check(self, now: datetime) -> CheckResult:
        return check_page(
            self.db,
            self.session,
            self.watch,
            SETTINGS,
            page_id=self.page_id,
            now=now,
            routes=self.routes,
            reader=shared_readers(),
        )


def slack_watchlist(slack: SlackEndpoint, **route: Any) -> Watchlist:
    return Watchlist.model_validate(
        {
            "settings": {"alert_give_up": route.pop("give_up", "24h")},
            "notify": {"desk": {"urls": [slack.url()], **route}},
        }
    )


def drain(db: Store, watchlist: Watchlist, start: datetime, minutes: int) -> datetime:
    """Run the delivery job once a minute (by the clock it is given) for ``minutes``."""
    now = start
    for _ in range(minutes):
        deliver_due(db, watchlist, now=now, owner="daemon-1")
        now += timedelta(minutes=1)
    return now


def test_alerts_are_written_with_the_change_and_not_for_a_first_version(
    db: Store, session: requests.Session, site: Site
) -> None:
    """A new page alerts nobody; an edit and a removal each get one row per route."""
    story = Story()
    site.serve("/a", render(story, seed=1))
    page = Page(db, session, site.url("/a"), ["desk", "legal"])
    assert page.check(T0).verdict.kind is Kind.NEW
    assert db.outbox.alerts() == []
    site.serve("/a", render(story.edit(4, "declined", "refused"), seed=2))
    changed = page.check(T0 + timedelta(minutes=1))
    assert changed.verdict.kind is Kind.CHANGED
    site.serve("/a", "<h1>Not Found</h1>", status=410)
    removed = page.check(T0 + timedelta(minutes=2))
    rows = db.outbox.alerts()
    assert [(a.change_id, a.route, a.kind) for a in rows] == [
        (changed.change_id, "desk", "changed"),
        (changed.change_id, "legal", "changed"),
        (removed.change_id, "desk", "removed"),
        (removed.change_id, "legal", "removed"),
    ]
    hunk = rows[0].event["body"]["hunks"][0]
    assert ["-", "declined", 0] in hunk
    assert ["+", "refused", 0] in hunk
    assert rows[2].event["removal"] == "gone"
    assert rows[2].event["status"] == 410
    assert all(a.due_at == a.created_at and a.sent_at is None for a in rows)


def test_slack_500s_then_recovery_delivers_every_alert_once_in_order(
    db: Store, session: requests.Session, site: Site, slack: SlackEndpoint
) -> None:
    """While Slack fails nothing is lost or reordered; backoff doubles; no resend after."""
    story = Story()
    site.serve("/a", render(story, seed=1))
    page = Page(db, session, site.url("/a"), ["desk"])
    page.check(T0)
    words = ["refused", "rejected", "dismissed"]
    previous = "declined"
    for minute, word in enumerate(words, start=1):
        story = story.edit(4, previous, word)
        previous = word
        site.serve("/a", render(story, seed=minute))
        assert page.check(T0 + timedelta(minutes=minute)).verdict.kind is Kind.CHANGED
    watchlist = slack_watchlist(slack)
    slack.failures = 4
    start = T0 + timedelta(minutes=5)

    assert deliver_due(db, watchlist, now=start, owner="daemon-1") == 0
    first, *rest = db.outbox.alerts()
    assert first.attempts == 1
    assert first.due_at == start + timedelta(seconds=30)
    assert [a.due_at for a in rest] == [start + timedelta(seconds=30)] * 2  # held back too
    assert first.last_error is not None
    assert "500" in first.last_error
    assert deliver_due(db, watchlist, now=start + timedelta(seconds=30), owner="daemon-1") == 0
    assert db.outbox.alerts()[0].due_at == start + timedelta(seconds=90)  # 30 s, then 60 s

    drain(db, watchlist, start + timedelta(minutes=2), 30)
    assert slack.refused == 4
    assert len(slack.payloads) == 3
    for text, word in zip(slack.texts, words, strict=True):
        assert f"*{word}*" in text
    assert all(a.sent_at is not None for a in db.outbox.alerts())
    assert db.outbox.alert_counts() == {"pending": 0, "sent": 3, "given_up": 0}
    # a restart (or any later run) sends nothing again
    drain(db, watchlist, start + timedelta(hours=3), 3)
    assert len(slack.payloads) == 3


def test_an_alert_is_given_up_after_the_configured_time(
    db: Store, slack: SlackEndpoint, caplog: pytest.LogCaptureFixture
) -> None:
    """Past settings.alert_give_up an undeliverable alert stops, with an error logged."""
    store_alert(db, "desk", when=T0, text="one")
    slack.failures = 10_000
    watchlist = slack_watchlist(slack, give_up="10m")
    with caplog.at_level(logging.WARNING, logger="watcher.alerts.notify"):
        drain(db, watchlist, T0, 20)
    (alert,) = db.outbox.alerts()
    assert alert.given_up_at is not None
    assert alert.sent_at is None
    assert alert.due_at is None
    assert alert.given_up_at <= T0 + timedelta(minutes=11)
    assert 4 <= alert.attempts <= 7  # 30 s, 1, 2, 4 min … then the deadline
    assert "gave up alert" in caplog.text
    assert any(r.levelno == logging.ERROR for r in caplog.records)
    slack.failures = 0
    drain(db, watchlist, T0 + timedelta(hours=1), 2)
    assert slack.payloads == []


def test_digest_route_groups_alerts_into_one_message(db: Store, smtp: SmtpServer) -> None:
    """With digest = "1h" the first alert waits an hour for company, then one email."""
    watchlist = Watchlist.model_validate(
        {"notify": {"daily": {"urls": [smtp.url()], "digest": "1h"}}}
    )
    for minutes, text in ((0, "one"), (10, "two"), (20, "three")):
        store_alert(db, "daily", when=T0 + timedelta(minutes=minutes), text=text)
    assert deliver_due(db, watchlist, now=T0 + timedelta(minutes=30), owner="a") == 0
    assert smtp.messages == []
    assert deliver_due(db, watchlist, now=T0 + timedelta(minutes=61), owner="a") == 3
    (mail,) = smtp.messages
    assert mail["Subject"] == "watcher digest: 3 alerts (3 edited)"
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    assert text.index("edited one") < text.index("edited two") < text.index("edited three")
    assert deliver_due(db, watchlist, now=T0 + timedelta(hours=5), owner="a") == 0


def test_unreachable_then_reachable_alert_once_each(
    db: Store, session: requests.Session, site: Site, slack: SlackEndpoint
) -> None:
    """Errors for less than unreachable_after stay silent; a longer outage alerts once
    when it has lasted that long and once when the page answers again."""
    story = Story()
    site.serve("/a", render(story, seed=1))
    page = Page(db, session, site.url("/a"), ["desk"])
    page.check(T0)
    site.serve("/a", "busy", status=503)
    for minute in range(1, 4):  # a short blip: nothing to say
        assert page.check(T0 + timedelta(minutes=minute)).verdict.kind is Kind.ERROR
    site.serve("/a", render(story, seed=1))
    page.check(T0 + timedelta(minutes=4))
    assert db.outbox.alerts() == []

    site.serve("/a", "busy", status=503)
    start = T0 + timedelta(minutes=10)
    for minute in range(0, 30):
        page.check(start + timedelta(minutes=minute))
    site.serve("/a", render(story, seed=1))
    page.check(start + timedelta(minutes=30))
    page.check(start + timedelta(minutes=31))
    rows = db.outbox.alerts()
    assert [(a.kind, a.detected_at - start) for a in rows] == [
        ("unreachable", timedelta(minutes=10)),
        ("reachable", timedelta(minutes=30)),
    ]
    drain(db, slack_watchlist(slack), start + timedelta(minutes=31), 2)
    titles = [p["attachments"][0]["title"] for p in slack.payloads]
    assert titles == ["Unreachable: Minister resigns", "Reachable again: Minister resigns"]
    assert "No usable response for 10 min" in slack.texts[0]
    assert "503" in slack.texts[0]
    assert "after 30 min of errors" in slack.texts[1]


def test_a_page_that_never_answers_is_announced_once(db: Store, session: requests.Session) -> None:
    """No response at all (connection refused) counts the same as a 5xx."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    page = Page(db, session, f"http://127.0.0.1:{port}/a", ["desk"])
    for minute in range(0, 40, 5):
        assert page.check(T0 + timedelta(minutes=minute)).verdict.kind is Kind.ERROR
    (alert,) = db.outbox.alerts()
    assert alert.kind == "unreachable"
    assert alert.detected_at == T0 + timedelta(minutes=10)


def test_two_daemons_send_each_alert_exactly_once(
    db: Store, db_url: str, slack: SlackEndpoint
) -> None:
    """Two delivery loops on one database (PostgreSQL: SKIP LOCKED) never double-send."""
    for n in range(24):
        store_alert(db, "desk", when=T0, text=f"alert{n:02d}")
    watchlist = slack_watchlist(slack)
    start = threading.Barrier(2)
    counts: dict[str, int] = {}

    def loop(store: Store, owner: str) -> None:
        start.wait()
        total = 0
        while sent := deliver_due(store, watchlist, now=T0, owner=owner, limit=3):
            total += sent
        counts[owner] = total

    with Store(db_url) as other:
        threads = [
            threading.Thread(target=loop, args=(db, "one")),
            threading.Thread(target=loop, args=(other, "two")),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    stuck = [owner for owner in ("one", "two") if owner not in counts]
    assert not stuck, f"delivery loops still running after 60 s: {stuck}"
    assert counts["one"] + counts["two"] == 24
    delivered = sorted(text.split("edited ")[1].split()[0] for text in slack.texts)
    assert delivered == [f"alert{n:02d}" for n in range(24)]
    assert db.outbox.alert_counts() == {"pending": 0, "sent": 24, "given_up": 0}


@pytest.mark.parametrize(
    "db_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_a_write_in_flight_in_another_schema_does_not_hold_up_claims(
    db: Store, postgres_url: str, slack: SlackEndpoint
) -> None:
    """PostgreSQL's advisory locks are per database, not per schema: a check still
    committing its alert in one schema (the claim lock held shared) must not hold up the
    claims of an outbox in another schema of the same database (another deployment
    sharing the server, a test on another worker)."""
    with Store(postgres_url) as elsewhere:
        elsewhere.migrate()
        store_alert(elsewhere, "desk", when=T0, text="a0")
    url = "https://news.example/in-flight"
    page_id = db.sync_pages([(url, "in flight")], T0)[url]
    # Fail rather than wait: with a shared key, the claim below would wait for the open
    # transaction of this very thread, forever.
    waits = f"{postgres_url}%20-clock_timeout%3D5s"
    with Session(db.engine) as in_flight, Store(waits) as elsewhere:
        add_alerts(
            in_flight,
            ["desk"],
            page_id=page_id,
            change_id=None,
            kind="changed",
            event={"summary": "edited b0", "parts": ["body"], "body": None},
            detected_at=T0,
        )
        in_flight.flush()  # its id is taken; the commit is still to come
        assert deliver_due(elsewhere, slack_watchlist(slack), now=T0, owner="elsewhere") == 1
        in_flight.rollback()
    assert [text.split("edited ")[1].split()[0] for text in slack.texts] == ["a0"]


@pytest.fixture
def black_hole() -> Iterator[tuple[int, threading.Event]]:
    """A TCP port that accepts connections and never says a word (a stuck mail server)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    connected = threading.Event()
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            held.append(connection)
            connected.set()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1], connected
    with contextlib.suppress(OSError):
        listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
    listener.close()
    for connection in held:
        connection.close()
    thread.join(timeout=5)


def test_daemon_killed_before_sending_delivers_after_restart(
    tmp_path: Path,
    site: Site,
    smtp: SmtpServer,
    black_hole: tuple[int, threading.Event],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`watcher check` is SIGKILLed mid-delivery: the change and its alert survive, and
    the next run sends the alert exactly once, at once (the route's URL comes from the
    environment).
    """
    hole_port, connected = black_hole
    database = tmp_path / "w.db"
    config = tmp_path / "watcher.toml"
    config.write_text(
        f'[settings]\n{LOOPBACK_SETTING}\ndatabase = "sqlite:///{database}"\ntimeout = "5s"\n'
        f'[notify.desk]\nurls_env = "WATCHER_TEST_DESK"\n'
        f'[[watch]]\nurl = "{site.url("/a")}"\nname = "Minister resigns"\nnotify = ["desk"]\n',
        encoding="utf-8",
    )
    watchlist = load_watchlist(config)
    story = Story()
    site.serve("/a", render(story, seed=1))
    with Store(f"sqlite:///{database}") as store:
        store.migrate()
        (first,) = run_pass(store, watchlist, reader=shared_readers())
        assert first.verdict.kind is Kind.NEW

    site.serve("/a", render(story.edit(4, "declined", "refused"), seed=2))
    stuck = f"mailto://127.0.0.1:{hole_port}?from=watcher@example.org&to=desk@example.org"
    env = {**os.environ, "WATCHER_TEST_DESK": stuck}
    env.pop("WATCHER_DATABASE", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "watcher", "--config", str(config), "check"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert connected.wait(timeout=60), "the check never tried to deliver"
    finally:
        process.kill()  # SIGKILL: no cleanup, the lease stays on the alert
        process.wait(timeout=10)

    monkeypatch.setenv("WATCHER_TEST_DESK", smtp.url())
    with Store(f"sqlite:///{database}") as store:
        (change,) = [c for c in store.changes() if c.kind == "changed"]
        (alert,) = store.outbox.alerts()
        assert alert.change_id == change.id
        assert alert.sent_at is None
        assert alert.leased_by is not None
        now = datetime.now(UTC)
        # The holder is dead (its pid is gone): its lease is taken over at once, not after
        # the five minutes it was leased for.
        assert deliver_due(store, watchlist, now=now, owner="restarted") == 1
        assert deliver_due(store, watchlist, now=now + timedelta(hours=1), owner="x") == 0
    (mail,) = smtp.messages
    assert mail["Subject"] == "Edited: Minister resigns"
    html = mail.get_body(preferencelist=("html",))
    assert html is not None
    assert ">refused<" in html.get_content()


@pytest.mark.postgres
def test_a_send_record_is_prepared_again_when_its_connection_died_before_the_send(
    postgres_url: str,
) -> None:
    """A backend terminated between checkout and send (a failover, an admin) does not leave
    the record to be written after the accept: it is prepared again on a fresh connection,
    so only a COMMIT follows the service's accept."""
    import uuid

    from sqlalchemy import create_engine, text

    name = f"recorder_{uuid.uuid4().hex[:12]}"  # this store's connections, no other test's
    with Store(f"{postgres_url}&application_name={name}") as store:
        store.migrate()
        store_alert(store, "desk")
        (alert,) = store.outbox.alerts()
        assert alert.id is not None
        admin = create_engine(postgres_url)  # another application name
        try:
            with store.outbox.recorder() as recorder:
                with admin.begin() as connection:
                    ended = (
                        connection.execute(
                            text(
                                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                "WHERE application_name = :name"
                            ),
                            {"name": name},
                        )
                        .scalars()
                        .all()
                    )
                assert ended, "the recorder's backend was not found"
                assert all(ended), "the recorder's backend was not terminated"
                recorder.prepare_sent([alert.id], T0)
                assert recorder.prepared
                recorder.commit()
        finally:
            admin.dispose()
        (sent,) = store.outbox.alerts()
        assert sent.sent_at is not None
        assert sent.lease_until is None
