"""CPU time and memory of a process and everything it started, read from /proc.

Reader processes are grandchildren of the daemon (the fork server starts them), and a
recycled reader's CPU time moves to its parent's "children" counters when it is reaped,
so the whole tree is summed, own and reaped children's time alike.
"""

from __future__ import annotations

import os
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def tree(pid: int) -> list[int]:
    """``pid`` and all its live descendants."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := _stat(int(entry))) is not None:
            parents[int(entry)] = int(fields[1])
    found, frontier = [pid], [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, its in parents.items() if its == parent]
        found += children
        frontier += children
    return found


def cpu_seconds(pid: int) -> float:
    """CPU seconds used so far by ``pid``'s tree, including children it has reaped."""
    total = 0
    for member in tree(pid):
        fields = _stat(member)
        if fields is not None:
            total += sum(int(fields[i]) for i in (11, 12, 13, 14))  # utime stime cutime cstime
    return total / _TICK


def own_cpu_seconds(pid: int) -> float:
    """CPU seconds used by ``pid`` itself, its threads included, not its children."""
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / _TICK if fields is not None else 0.0


def rss_bytes(pid: int) -> int:
    """Resident memory of ``pid``'s tree now: pages shared by several of its processes
    (what readers inherit from the fork server) are counted once in each."""
    return _summed(pid, "status", "VmRSS:")


def pss_bytes(pid: int) -> int:
    """Proportional memory of ``pid``'s tree now: each shared page counted once, split
    between the processes sharing it; what the tree costs the machine."""
    return _summed(pid, "smaps_rollup", "Pss:")


def _summed(pid: int, name: str, key: str) -> int:
    total = 0
    for member in tree(pid):
        try:
            for line in Path(f"/proc/{member}/{name}").read_text().splitlines():
                if line.startswith(key):
                    total += int(line.split()[1]) * 1024
                    break
        except OSError:
            continue
    return total


def thread_cpu_ns(pid: int) -> int:
    """Nanoseconds ``pid`` itself has run (precise, unlike the tick counters)."""
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])
