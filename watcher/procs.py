"""The browser's processes, read from /proc: which are ours, and how much memory they use.

Playwright does not say which process is the browser; these helpers find the browser
main processes among this process's descendants (for a restart above a memory cap, for
tests that kill it) and never signal or change anything themselves.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def chromium_pids() -> list[int]:
    """Browser main processes that descend from this process (renderers left out)."""
    children: dict[int, list[int]] = {}
    commands: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            raw = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
        commands[int(entry.name)] = [arg.decode(errors="replace") for arg in raw if arg]
    found = []
    for pid in _descendants(os.getpid(), children):
        argv = commands.get(pid) or []
        if (
            argv
            and "chrom" in Path(argv[0]).name
            and not any(a.startswith("--type=") for a in argv)
        ):
            found.append(pid)
    return sorted(found)


def _descendants(root: int, children: dict[int, list[int]]) -> list[int]:
    found, stack = [], list(children.get(root, []))
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, []))
    return found


def tree_pss(pid: int | None) -> int:
    """Proportional set size of ``pid`` and its descendants, in bytes (0 if gone)."""
    if pid is None:
        return 0
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry.name))
    total = 0
    for each in [pid, *_descendants(pid, children)]:
        with contextlib.suppress(OSError, ValueError):
            for line in Path(f"/proc/{each}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
                    break
    return total
