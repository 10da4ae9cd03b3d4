"""Giving a reader's free heap back to the system (edge: it asks the C library).

Reading a page builds and drops several trees of it (lxml's, trafilatura's copies). The
C allocator keeps what was freed for later, scattered between live blocks, so a reader
stays at the size of the largest page it read (about 10 MiB more than it needs, in each
reader). ``malloc_trim`` returns those free pages; it costs about 0.3 ms, so it runs only
once the reader has grown by ``TRIM_ABOVE`` since it last did. Elsewhere than glibc
(and Linux's /proc) this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from functools import cache

# Below this much growth, trimming is not worth its time.
TRIM_ABOVE = 4 * 1024 * 1024


@cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        libc.malloc_trim.argtypes = (ctypes.c_size_t,)
    except (OSError, AttributeError):
        return None  # not glibc
    return libc


def resident() -> int:
    """This process's resident memory in bytes (0 where /proc cannot tell)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0


_PAGE = os.sysconf("SC_PAGE_SIZE")
# Resident size right after the last trim: only growth beyond it is worth trimming.
_floor = 0


def give_back(threshold: int = TRIM_ABOVE) -> bool:
    """Return the heap's free pages to the system once the process has grown by more than
    ``threshold`` bytes since it last did; whether it did."""
    global _floor
    libc = _libc()
    if libc is None or resident() - _floor < threshold:
        return False
    libc.malloc_trim(0)
    _floor = resident()
    return True
