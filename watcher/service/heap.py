"""The C allocator's settings for a process of many threads (edge).

glibc gives each thread that allocates an arena of its own, up to eight per core. After
a large block is freed, it also raises the size below which it serves blocks from those
arenas rather than mapping them. A daemon whose fetch threads each take pages of a
hundred kilobytes and more then keeps tens of megabytes freed but never returned. On
2,000 noisy pages with 16 fetch threads (``benchmarks/daemon_load.py``), the daemon held
153 MiB with glibc's defaults and 102 MiB with two arenas and a fixed 128 KiB threshold,
at the same CPU per check.

The operator's own ``MALLOC_ARENA_MAX`` / ``MALLOC_MMAP_THRESHOLD_`` win over these.
"""

from __future__ import annotations

import ctypes
import logging
import os
from collections.abc import Mapping

logger = logging.getLogger(__name__)

ARENAS = 2
MMAP_THRESHOLD = 128 * 1024

# glibc's mallopt parameters (malloc.h)
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8


def limit_arenas(environ: Mapping[str, str] | None = None) -> list[str]:
    """Set glibc's arena count and mmap threshold for this process; call before its
    threads start. Returns what was set (nothing on another C library, or where the
    environment already says)."""
    environ = os.environ if environ is None else environ
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return []
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
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
