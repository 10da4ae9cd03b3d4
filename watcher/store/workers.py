"""Lease holders (edge, I/O): who a process is, its heartbeat, and which holders are dead.

A lease names its holder (``leased_by``). A holder beats (``beat``) while it lives; a holder
whose heartbeat is older than ``STALE_SECONDS``, or whose pid is gone on this very machine,
is dead, and its alert leases may be taken over at once instead of when they expire. Never
declares a live holder of this machine dead: a pid that still runs keeps its leases.
"""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
import socket
from collections.abc import Collection
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from watcher.store.models import Worker

# A holder on another machine is dead after this long without a heartbeat. Daemons beat
# every few seconds; `watcher check` beats whenever it claims alerts.
STALE_SECONDS = 120.0
_FORGOTTEN_AFTER = timedelta(days=1)  # rows of processes long gone are pruned


def new_owner() -> str:
    """A lease holder name unique to this process: ``host:pid:random``."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


@functools.cache
def this_node() -> str:
    """Names the machine and pid namespace a pid is meaningful in.

    The host name alone is not enough: containers may share one, and pids repeat across
    pid namespaces; the boot id and the namespace's inode tell them apart.
    """
    boot = ""
    with contextlib.suppress(OSError):
        boot = Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
    try:
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        namespace = 0
    return f"{socket.gethostname()}/{boot[:8]}/{namespace}"


def beat(session: Session, owner: str, now: datetime, *, dialect: str) -> None:
    """Record that ``owner`` (this process) is alive at ``now``, in the caller's transaction."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(Worker).values(
        owner=owner, node=this_node(), pid=os.getpid(), started_at=now, heartbeat_at=now
    )
    session.exec(
        statement.on_conflict_do_update(
            index_elements=["owner"], set_={"heartbeat_at": statement.excluded.heartbeat_at}
        )
    )
    session.exec(delete(Worker).where(col(Worker.heartbeat_at) < now - _FORGOTTEN_AFTER))


def forget(session: Session, owner: str) -> None:
    """``owner`` is exiting cleanly: its row goes, so nothing waits on its heartbeat."""
    session.exec(delete(Worker).where(col(Worker.owner) == owner))


def dead_holders(session: Session, holders: Collection[str], now: datetime) -> list[str]:
    """Those of ``holders`` known dead: no heartbeat row, a stale heartbeat, or (on this
    machine) a pid that no longer runs."""
    if not holders:
        return []
    rows = session.exec(
        select(
            col(Worker.owner), col(Worker.node), col(Worker.pid), col(Worker.heartbeat_at)
        ).where(col(Worker.owner).in_(list(holders)))
    ).all()
    known = {owner: (node, pid, heartbeat_at) for owner, node, pid, heartbeat_at in rows}
    stale_before = now - timedelta(seconds=STALE_SECONDS)
    dead = []
    for holder in holders:
        seen = known.get(holder)
        if seen is None:
            dead.append(holder)  # never beat (an older watcher) or exited and forgot itself
            continue
        node, pid, heartbeat_at = seen
        if node == this_node():
            # Same machine: the pid is the truth, either way (a heartbeat may lag a busy
            # process; a killed one may have beaten a second ago).
            if not _is_running(pid):
                dead.append(holder)
        elif heartbeat_at < stale_before:
            dead.append(holder)
    return dead


def _is_running(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, killed but not yet reaped, does not)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: it exists
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0:1] != ["Z"]
