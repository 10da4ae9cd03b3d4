"""A killed daemon's pages are taken over at once by a live process, through the same
heartbeat its alerts are; a live daemon's pages never are."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

from watcher.store.store import Store

# A daemon's claim of every due page, then its death (SIGKILL: no cleanup, leases held).
_CLAIM_AND_DIE = """
import os, signal, socket, sys
from datetime import UTC, datetime
from watcher.store.store import Store
store = Store(sys.argv[1])
owner = f"{socket.gethostname()}:{os.getpid()}:pages"
held = store.claim_due_pages(datetime.now(UTC), 10, 300, owner)
assert len(held) == 2, held
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_killed_daemons_pages_are_claimed_at_once(db: Store, db_url: str) -> None:
    """Not five minutes later when the dead one's leases expire: at the next claim."""
    now = datetime.now(UTC)
    urls = [("https://news.example/p0", "p0"), ("https://news.example/p1", "p1")]
    page_ids = db.sync_pages(urls, now - timedelta(minutes=1))
    holder = subprocess.run([sys.executable, "-c", _CLAIM_AND_DIE, db_url], check=False)
    assert holder.returncode == -9
    assert all(page.leased_by for page in db.all_pages())

    taken = db.claim_due_pages(now + timedelta(seconds=1), 10, 300, "next")

    assert sorted(page.id for page in taken) == sorted(page_ids.values())
    assert {page.leased_by for page in db.all_pages()} == {"next"}


def test_a_live_daemons_pages_stay_with_it(db: Store) -> None:
    """This process holds the pages (its pid runs): another claimer leaves them alone, and
    so does the holder itself (they may still be being checked)."""
    now = datetime.now(UTC)
    db.sync_pages([("https://news.example/p0", "p0")], now - timedelta(minutes=1))
    assert len(db.claim_due_pages(now, 10, 300, "here:1:live")) == 1

    assert db.claim_due_pages(now + timedelta(seconds=1), 10, 300, "other") == []
    assert db.claim_due_pages(now + timedelta(seconds=1), 10, 300, "here:1:live") == []
    assert {page.leased_by for page in db.all_pages()} == {"here:1:live"}
