"""The C allocator's settings for a process of many threads, and giving a reader's free
heap back (edge: both ask the C library; elsewhere than glibc they do nothing).

glibc gives each thread that allocates an arena of its own, up to eight per core. After
a large block is freed, it also raises the size below which it serves blocks from those
arenas rather than mapping them. A daemon whose fetch threads each take pages of a
hundred kilobytes and more then keeps tens of megabytes freed but never returned. On
2,000 noisy pages with 16 fetch threads (``benchmarks/daemon_load.py``), the daemon held
153 MiB with glibc's defaults and 102 MiB with two arenas and a fixed 128 KiB threshold,
at the same CPU per check.

The operator's own ``MALLOC_ARENA_MAX`` / ``MALLOC_MMAP_THRESHOLD_`` win over these.

A reader (one thread, started from the fork server with glibc's defaults) builds and drops
several trees of each page. What it freed stays with the allocator, scattered between
live blocks, so a reader stayed at the size of the largest page it had read until it was
recycled. ``give_back`` returns those pages with ``malloc_trim`` (about 0.3 ms) once the
reader has grown by ``TRIM_ABOVE`` since it last did: after an outsized page, not after
every page. Trimming after every page kept a reader about 9 MiB smaller (155 instead of
164 MiB over the 80 corpus pages) but cost 0.3 ms of a noisy check's 3 ms.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import os
from collections.abc import Mapping

logger = logging.getLogger(__name__)

ARENAS = 2
MMAP_THRESHOLD = 128 * 1024

# Below this much growth since the last trim, a reader's heap is not worth trimming.
TRIM_ABOVE = 32 * 1024 * 1024

# glibc's mallopt parameters (malloc.h)
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8


@functools.cache
def _libc() -> ctypes.CDLL | None:
    """The C library's allocator functions, when it is glibc (None elsewhere)."""
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        libc.mallopt.restype = ctypes.c_int
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
        libc.malloc_trim.restype = ctypes.c_int
    except (OSError, AttributeError):
        return None
    return libc


def limit_arenas(environ: Mapping[str, str] | None = None) -> list[str]:
    """Set glibc's arena count and mmap threshold for this process; call before its
    threads start. Returns what was set (nothing on another C library, or where the
    environment already says)."""
    environ = os.environ if environ is None else environ
    libc = _libc()
    if libc is None:
        return []
    mallopt = libc.mallopt
    done = []
    for name, parameter, value in (
        ("MALLOC_ARENA_MAX", _M_ARENA_MAX, ARENAS),
        ("MALLOC_MMAP_THRESHOLD_", _M_MMAP_THRESHOLD, MMAP_THRESHOLD),
    ):
        if name in environ:
            continue
        if mallopt(parameter, value) == 1:
            done.append(f"{name}={value}")
        else:
            logger.debug("mallopt(%d, %d) refused", parameter, value)
    return done


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
    """Return the heap's free pages to the system once this process has grown by more than
    ``threshold`` bytes since it last did; whether it did."""
    global _floor
    libc = _libc()
    if libc is None or resident() - _floor < threshold:
        return False
    libc.malloc_trim(0)
    _floor = resident()
    return True
