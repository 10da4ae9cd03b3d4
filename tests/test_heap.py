"""The daemon's allocator settings, read back from glibc itself in a fresh process."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from watcher.heap import limit_arenas

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="arenas are glibc's")

# Eight threads allocate at once, then glibc describes its heaps (one per arena) as XML.
_CHILD = """
import ctypes, sys, tempfile, threading
from watcher.heap import limit_arenas
if sys.argv[1] == "limited":
    print(",".join(limit_arenas({})), file=sys.stderr)
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.fopen.restype = ctypes.c_void_p
libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
barrier = threading.Barrier(8)
held = []
def allocate():
    barrier.wait()
    held.extend(libc.malloc(1000) for _ in range(200))
    barrier.wait()
threads = [threading.Thread(target=allocate) for _ in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
with tempfile.NamedTemporaryFile(suffix=".xml") as out:
    stream = libc.fopen(out.name.encode(), b"w")
    libc.malloc_info(0, ctypes.c_void_p(stream))
    libc.fclose(ctypes.c_void_p(stream))
    print(open(out.name).read().count("<heap nr="))
"""


def _heaps(mode: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, mode], capture_output=True, text=True, env=env, check=True
    )
    return int(done.stdout), done.stderr.strip()


def test_a_limited_process_keeps_two_arenas_however_many_threads_allocate() -> None:
    default, _ = _heaps("default")
    limited, what = _heaps("limited")
    assert default > 2  # the figure that the limit is about
    assert limited <= 2
    assert what == "MALLOC_ARENA_MAX=2,MALLOC_MMAP_THRESHOLD_=131072"


def test_the_operators_environment_wins() -> None:
    assert limit_arenas({"MALLOC_ARENA_MAX": "4", "MALLOC_MMAP_THRESHOLD_": "65536"}) == []
    assert limit_arenas({"MALLOC_ARENA_MAX": "4"}) == ["MALLOC_MMAP_THRESHOLD_=131072"]
