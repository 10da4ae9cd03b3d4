"""A route's alerts arrive in the order they were written, even when the process that held
some of them was killed, while a live holder elsewhere still has them, or one failed."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text, update
from sqlmodel import Session

from tests.conftest import SlackEndpoint
from tests.test_notify import store_alert
from tests.test_outbox import slack_watchlist
from watcher.alerts.notify import deliver_due
from watcher.store.models import Worker
from watcher.store.outbox import add_alerts
from watcher.store.store import Store
from watcher.store.workers import STALE_SECONDS

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)

# A process that leases a route's first alerts, then dies holding them (SIGKILL: no cleanup).
_HOLD_AND_DIE = """
import os, signal, socket, sys
from datetime import UTC, datetime
from watcher.store.store import Store
store = Store(sys.argv[1])
owner = f"{socket.gethostname()}:{os.getpid()}:held"
held = store.outbox.claim_alerts(datetime.now(UTC), owner=owner, lease_seconds=300, limit=2)
assert len(held) == 2, held
os.kill(os.getpid(), signal.SIGKILL)
"""


def sent_order(slack: SlackEndpoint) -> list[str]:
    return [text.split("edited ")[1].split()[0] for text in slack.texts]


def test_a_killed_holders_alerts_are_taken_over_at_once_and_go_first(
    db: Store, db_url: str, slack: SlackEndpoint
) -> None:
    """A process killed while holding a route's first two alerts: the next deliverer sends
    them at once and before the route's newer alert, not after a five-minute lease."""
    now = datetime.now(UTC)
    store_alert(db, "desk", when=now, text="a0")
    store_alert(db, "desk", when=now, text="a1")
    holder = subprocess.run([sys.executable, "-c", _HOLD_AND_DIE, db_url], check=False)
    assert holder.returncode == -9
    assert [a.leased_by is not None for a in db.outbox.alerts()] == [True, True]
    store_alert(db, "desk", when=now, text="a2")

    assert deliver_due(db, slack_watchlist(slack), now=now, owner="next") == 3
    assert sent_order(slack) == ["a0", "a1", "a2"]


def test_later_alerts_wait_for_a_live_holder_on_another_machine(
    db: Store, slack: SlackEndpoint
) -> None:
    """Alerts held by a process of another machine that still beats: the route's newer
    alert waits; once its heartbeat is stale, everything goes out in order."""
    store_alert(db, "desk", when=T0, text="a0")
    (held,) = db.outbox.claim_alerts(T0, owner="far:1:x", lease_seconds=300, limit=1)
    with Session(db.engine) as session:  # that process runs on another machine
        session.exec(update(Worker).values(node="elsewhere/0/0"))  # type: ignore[call-overload]
        session.commit()
    store_alert(db, "desk", when=T0, text="a1")
    watchlist = slack_watchlist(slack)

    assert deliver_due(db, watchlist, now=T0 + timedelta(seconds=60), owner="near") == 0
    assert slack.payloads == []
    stale = T0 + timedelta(seconds=STALE_SECONDS + 1)
    assert deliver_due(db, watchlist, now=stale, owner="near") == 2
    assert sent_order(slack) == ["a0", "a1"]
    assert held.id == db.outbox.alerts()[0].id


def test_an_alert_written_after_a_failed_one_does_not_overtake_it(
    db: Store, slack: SlackEndpoint
) -> None:
    """Slack refuses the first alert; one written during the backoff waits behind it."""
    watchlist = slack_watchlist(slack)
    store_alert(db, "desk", when=T0, text="a0")
    slack.failures = 1
    assert deliver_due(db, watchlist, now=T0, owner="d") == 0
    store_alert(db, "desk", when=T0 + timedelta(seconds=10), text="a1")

    assert deliver_due(db, watchlist, now=T0 + timedelta(seconds=10), owner="d") == 0
    assert deliver_due(db, watchlist, now=T0 + timedelta(seconds=31), owner="d") == 2
    assert sent_order(slack) == ["a0", "a1"]


@pytest.mark.parametrize(
    "db_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_an_alert_committed_late_is_not_overtaken_by_a_later_one(
    db: Store, slack: SlackEndpoint
) -> None:
    """PostgreSQL: a check's transaction takes alert id n and is still committing when
    another check commits n+1 (ids come from a sequence, not in commit order). A delivery
    in between waits for the first, so the route still gets n, then n+1."""
    now = datetime.now(UTC)
    page_id = db.sync_pages([("https://news.example/a0", "page a0")], now)[
        "https://news.example/a0"
    ]
    written, release = threading.Event(), threading.Event()

    def slow_check() -> None:
        with Session(db.engine) as session:
            add_alerts(
                session,
                ["desk"],
                page_id=page_id,
                change_id=None,
                kind="changed",
                event={"summary": "edited a0", "parts": ["body"], "body": None},
                detected_at=now,
            )
            session.flush()  # its id is taken; the commit is still to come
            written.set()
            release.wait(60)
            session.commit()

    writer = threading.Thread(target=slow_check)
    writer.start()
    try:
        assert written.wait(60)
        store_alert(db, "desk", when=now, text="a1")  # the later id, committed first
        watchlist = slack_watchlist(slack)
        delivery = threading.Thread(
            target=deliver_due, args=(db, watchlist), kwargs={"now": now, "owner": "d"}
        )
        delivery.start()
        # Until the delivery is done, or waits for the lock the slow check holds.
        while delivery.is_alive() and not _waiting_for_a_lock(db):
            time.sleep(0.05)
    finally:
        release.set()
        writer.join(60)
    delivery.join(60)
    deliver_due(db, watchlist, now=now, owner="d")  # whatever the first pass left

    assert sent_order(slack) == ["a0", "a1"]


def _waiting_for_a_lock(db: Store) -> bool:
    """Whether a claim waits for this schema's claim lock (the database's other schemas,
    other tests' claims, have locks of their own and do not count)."""
    with db.engine.connect() as connection:
        waiting = connection.execute(
            text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                " AND objsubid = 2 AND objid = 'alert'::regclass::oid"
            )
        ).scalar_one()
    return bool(waiting)
