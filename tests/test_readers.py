"""Reader processes: a crash or a hang while reading costs one page, never the pass.

Crashes and hangs are injected by the tests themselves: a reader pool whose tasks first
look for a marker in the page and, when they find one, kill their own process or spin.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import ParamSpec, TypeVar

import pytest
from pebble import ProcessExpired, ProcessFuture
from pebble.common.types import MultiprocessingContext
from pebble.pool.base_pool import PoolContext, Task, TaskPayload
from pytest_httpserver import HTTPServer

from tests.sites import Story, render
from watcher import heap
from watcher.check.pipeline import run_pass
from watcher.check.readers import ReaderPool, _PoolManager, _ProcessPool, _TaskBook
from watcher.config import Watchlist
from watcher.errors import ReaderError, ReaderStopped
from watcher.judge.classify import Kind
from watcher.store.store import Store

P = ParamSpec("P")
R = TypeVar("R")


def _sabotaged(fn: Callable[..., R], *args: object) -> R:
    """Runs in a reader: obey a marker in the page before reading it.

    ``<!--crash:SIGNAL:FILE-->`` notes the attempt in FILE and kills this process with
    SIGNAL; ``<!--crash-once:SIGNAL:FILE-->`` does so only while FILE does not exist;
    ``<!--hang-->`` spins for ever.
    """
    html = args[0] if args and isinstance(args[0], str) else ""
    if "<!--hang-->" in html:
        while True:
            pass
    for marker in ("crash", "crash-once"):
        start = html.find(f"<!--{marker}:")
        if start == -1:
            continue
        name, path = html[start + len(marker) + 5 : html.index("-->", start)].split(":", 1)
        if marker == "crash-once" and os.path.exists(path):
            break
        with open(path, "a", encoding="utf-8") as attempts:
            attempts.write(f"{os.getpid()}\n")
        os.kill(os.getpid(), signal.Signals[name])
        time.sleep(10)  # SIGKILL and SIGSEGV land before this ends
    return fn(*args)


# Long enough that an ordinary page is read in time on a loaded two-core machine.
READ_TIMEOUT = 6


class SabotagedReaders(ReaderPool):
    """Real reader processes whose every task goes through ``_sabotaged`` first."""

    def run(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        return super().run(_sabotaged, fn, *args)


def _echo(value: str) -> str:
    return value


def _fail(message: str) -> None:
    raise ValueError(message)


def _allocate(megabytes: int) -> int:
    return len(bytearray(megabytes * 1024 * 1024))


def _refuse(error: type[Exception]) -> None:
    raise error("this result cannot be read here")


class _Unreadable:
    """Pickled in the reader, refused when the caller unpickles it: the result of a newer
    watcher's reader reaching an older daemon (a class it lacks), or a broken object."""

    def __init__(self, error: type[Exception]) -> None:
        self.error = error

    def __reduce__(self) -> tuple[Callable[[type[Exception]], None], tuple[type[Exception]]]:
        return _refuse, (self.error,)


def _unreadable(error: type[Exception]) -> _Unreadable:
    return _Unreadable(error)


@pytest.fixture
def sabotaged() -> Iterator[SabotagedReaders]:
    with SabotagedReaders(2, timeout_seconds=READ_TIMEOUT) as pool:
        yield pool


def test_a_reader_killed_once_is_replaced_and_the_page_read_again(
    sabotaged: SabotagedReaders, tmp_path: Path
) -> None:
    """SIGKILL of a reader mid-page: the page is read again in a fresh reader and succeeds."""
    attempts = tmp_path / "attempts"
    page = f"<p>text</p><!--crash-once:SIGKILL:{attempts}-->"
    assert sabotaged.run(_echo, page) == page
    assert len(attempts.read_text().split()) == 1


@pytest.mark.parametrize("name", ["SIGSEGV", "SIGKILL"])
def test_a_reader_that_crashes_twice_is_an_error_naming_the_signal(
    sabotaged: SabotagedReaders, tmp_path: Path, name: str
) -> None:
    """A page that kills its reader twice raises ReaderError('reader crashed') with the signal."""
    attempts = tmp_path / "attempts"
    with pytest.raises(ReaderError, match=f"crashed twice.*{name}") as caught:
        sabotaged.run(_echo, f"<!--crash:{name}:{attempts}-->")
    assert caught.value.cause == "reader crashed"
    pids = attempts.read_text().split()
    assert len(pids) == 2
    assert pids[0] != pids[1]
    assert sabotaged.run(_echo, "after") == "after"  # the pool carries on


def test_a_reader_dead_before_its_claim_is_read_is_a_crash() -> None:
    """A reader claims a page and dies at once; the pool sees the death before it reads
    the claim. The page is still a crash (read again), never a page timed while nobody
    reads it. Real readers hit this order only now and then on a loaded machine, so the
    pool's own steps are taken here in that order."""
    pool = _ProcessPool(1, 0, os.getpid, (), multiprocessing.get_context("forkserver"))
    manager = pool._pool_manager
    busy, claimed = (Task(n, ProcessFuture(), 30.0, TaskPayload(os.getpid, (), {})) for n in (1, 2))
    for task in (busy, claimed):
        pool._context.task_queue.put(task)
        manager.task_manager.register(task)
    manager.task_manager.task_start(busy.id, 101)  # another reader, reading its page
    manager.handle_worker_expiration((202, -signal.SIGSEGV))
    manager.task_manager.task_start(claimed.id, 202)  # the dead reader's claim, read late
    error = claimed.future.exception(timeout=0)
    assert isinstance(error, ProcessExpired)
    assert error.exitcode == -signal.SIGSEGV
    assert not busy.future.done()  # the live reader's page is left alone


# Every claim the late pool has read (released once per claim).
_CLAIMS_READ = threading.Semaphore(0)


class _LateBook(_TaskBook):
    """Reads every claim on a page half a second late, as a loaded machine may."""

    def task_start(self, task_id: int, worker_id: int | None) -> None:
        if worker_id:
            time.sleep(0.5)
        super().task_start(task_id, worker_id)
        if worker_id:
            _CLAIMS_READ.release()


class _LateManager(_PoolManager):
    def __init__(self, context: PoolContext, mp_context: MultiprocessingContext) -> None:
        super().__init__(context, mp_context)
        self.task_manager = _LateBook(context.task_queue.task_done)


class _LatePool(_ProcessPool):
    manager = _LateManager


class LateClaims(SabotagedReaders):
    """Real sabotaged readers, whose pool reads their claims late."""

    pool_class = _LatePool


def _until_exists(path: str) -> None:
    """A page that takes as long as the test needs: read until ``path`` exists."""
    limit = time.monotonic() + 90
    while not os.path.exists(path) and time.monotonic() < limit:
        time.sleep(0.05)


def test_a_crash_seen_before_its_claim_is_still_a_crash_with_real_readers(
    tmp_path: Path,
) -> None:
    """With real readers: while one reader reads a slow page, the other dies on its page
    before the pool has read its claim on it. The page is read again and reported as
    crashed, with its signal: not as a reader timeout a minute later."""
    attempts, done = tmp_path / "attempts", tmp_path / "done"
    while _CLAIMS_READ.acquire(blocking=False):
        pass  # claims of an earlier run of this test
    with LateClaims(2, timeout_seconds=60) as pool, ThreadPoolExecutor(1) as other:
        slow = other.submit(pool.run, _until_exists, str(done))
        assert _CLAIMS_READ.acquire(timeout=60)  # the slow page is claimed and being read
        try:
            with pytest.raises(ReaderError, match=r"crashed twice.*SIGSEGV"):
                pool.run(_echo, f"<!--crash:SIGSEGV:{attempts}-->")
        finally:
            done.touch()
        assert slow.result() is None
    assert len(attempts.read_text().split()) == 2


def test_a_hanging_reader_is_killed_at_its_time_limit(sabotaged: SabotagedReaders) -> None:
    """A page that spins is stopped after timeout_seconds, not retried, and the pool goes on."""
    assert sabotaged.run(_echo, "started") == "started"  # time the hang, not the start-up
    started = time.monotonic()
    with pytest.raises(ReaderError, match="reader timeout") as caught:
        sabotaged.run(_echo, "<!--hang-->")
    assert caught.value.cause == "reader timeout"
    assert READ_TIMEOUT <= time.monotonic() - started < READ_TIMEOUT + 10
    assert sabotaged.run(_echo, "next") == "next"


# An error pebble does not expect ends its message thread (the warning says so); the
# pool must recover from that as well.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
@pytest.mark.parametrize("error", [AttributeError, ValueError])
def test_a_result_that_cannot_be_passed_back_costs_one_page_not_the_readers(
    error: type[Exception],
) -> None:
    """pebble stops serving for good when a reader's answer cannot be unpickled: the pool
    is replaced, the page is an error of its own, and the next page is read as usual."""
    with ReaderPool(1, timeout_seconds=READ_TIMEOUT) as pool:
        assert pool.run(_echo, "before") == "before"
        with pytest.raises(ReaderError, match=r"crashed twice.*pool broke") as caught:
            pool.run(_unreadable, error)
        assert caught.value.cause == "reader crashed"
        assert pool.run(_echo, "after") == "after"
        assert [pool.run(_echo, str(n)) for n in range(5)] == [str(n) for n in range(5)]


def test_an_error_raised_while_reading_reaches_the_caller_unchanged() -> None:
    """A bug in reading code is an ordinary exception, not a crash, and is not retried."""
    with ReaderPool(1) as pool, pytest.raises(ValueError, match="broken page"):
        pool.run(_fail, "broken page")


def test_a_reader_over_its_memory_cap_fails_alone() -> None:
    """An address-space cap turns a page that needs too much memory into 'out of memory'."""
    with ReaderPool(1, memory_bytes=512 * 1024 * 1024) as pool:
        with pytest.raises(ReaderError, match="out of memory") as caught:
            pool.run(_allocate, 1024)
        assert caught.value.cause == "reader out of memory"
        assert pool.run(_allocate, 16) == 16 * 1024 * 1024


_KEPT: list[bytes] = []


def _fragment_heap(megabytes: int) -> int:
    """Runs in a reader: fill the heap with small blocks and free all but every 64th, so
    that what is free lies between live blocks, where the allocator keeps it."""
    blocks = [bytes(512) for _ in range(megabytes * 2048)]
    _KEPT.extend(blocks[::64])
    del blocks
    return len(_KEPT)


@pytest.mark.skipif(not heap.resident(), reason="no /proc/self/statm to measure with")
def test_a_reader_gives_its_free_heap_back_after_each_page() -> None:
    """A reader does not stay at the size of the largest page it read: what a task freed
    is returned to the system when the task ends."""
    with ReaderPool(1) as pool:
        pool.run(_fragment_heap, 0)  # the reader imports this module first
        before = pool.run(heap.resident)
        assert pool.run(_fragment_heap, 64) > 0  # 64 MiB allocated, 1 MiB of it kept
        grown = pool.run(heap.resident) - before
        assert grown < 12 * 1024 * 1024


def test_closed_readers_refuse_work_as_stopped() -> None:
    """After close, run() raises ReaderStopped: the check ends without a verdict."""
    pool = ReaderPool(1)
    assert pool.run(_echo, "x") == "x"
    pool.close(kill=True)
    assert pool.is_closed
    with pytest.raises(ReaderStopped):
        pool.run(_echo, "y")


def test_a_crash_costs_one_page_of_the_pass(
    db: Store, httpserver: HTTPServer, sabotaged: SabotagedReaders, tmp_path: Path
) -> None:
    """The pass completes: the crashing page is 'reader crashed' with its body kept, the
    hanging page is 'reader timeout', every other page is read and stored."""
    attempts = tmp_path / "attempts"
    pages = {
        "/a": render(Story(title="First story")),
        "/crash": render(Story(title="Crashing story")) + f"<!--crash:SIGSEGV:{attempts}-->",
        "/hang": render(Story(title="Hanging story")) + "<!--hang-->",
        "/b": render(Story(title="Second story")),
    }
    for path, html in pages.items():
        httpserver.expect_request(path).respond_with_data(html, content_type="text/html")
    watchlist = Watchlist.model_validate(
        {
            "settings": {"workers": 4, "confirm": False, "allow_private": True},
            "watch": [{"url": httpserver.url_for(p)} for p in pages],
        }
    )
    results = {r.url.rsplit("/", 1)[1]: r for r in run_pass(db, watchlist, reader=sabotaged)}
    assert set(results) == {"a", "crash", "hang", "b"}
    assert results["a"].verdict.kind is Kind.NEW
    assert results["b"].verdict.kind is Kind.NEW
    crashed, hung = results["crash"].verdict, results["hang"].verdict
    assert crashed.kind is Kind.ERROR
    assert "reader crashed twice" in crashed.summary
    assert "SIGSEGV" in crashed.summary
    assert hung.kind is Kind.ERROR
    assert "reader timeout" in hung.summary
    assert len(attempts.read_text().split()) == 2
    for name in ("crash", "hang"):
        row = db.page_by_url(httpserver.url_for(f"/{name}"))
        assert row is not None
        assert row.id is not None
        assert row.consecutive_errors == 1
        assert not db.snapshots(row.id)
        kept = results[name].verdict.summary.rsplit("body kept as ", 1)[1]
        _sha, body = db.body_by_prefix(kept)
        assert body == pages[f"/{name}"].encode()


def test_inspect_reads_a_kept_body(
    db: Store,
    db_url: str,
    httpserver: HTTPServer,
    sabotaged: SabotagedReaders,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The body a reader failed on is kept, and 'watcher inspect --body' reads it again."""
    from watcher.cli import main

    html = render(Story(title="Kept for inspection")) + "<!--hang-->"
    httpserver.expect_request("/h").respond_with_data(html, content_type="text/html")
    url = httpserver.url_for("/h")
    watchlist = Watchlist.model_validate(
        {"settings": {"confirm": False, "allow_private": True}, "watch": [{"url": url}]}
    )
    (result,) = run_pass(db, watchlist, reader=sabotaged)
    kept = result.verdict.summary.rsplit("body kept as ", 1)[1]
    config = tmp_path / "watcher.toml"
    config.write_text(f'[[watch]]\nurl = "{url}"\n', encoding="utf-8")
    httpserver.clear()  # inspect must not fetch: the site no longer answers
    code = main(["-c", str(config), "--database", db_url, "inspect", url, "--body", kept])
    assert code == 0
    out, err = capsys.readouterr()
    assert "Kept for inspection" in out
    assert f"stored body {kept}" in err


def _python(code: str, *, script: Path | None = None) -> str:
    """Run ``code`` in a fresh interpreter (as a script file when given) and return stdout."""
    if script is not None:
        script.write_text(code, encoding="utf-8")
    command = [sys.executable, str(script)] if script else [sys.executable, "-c", code]
    done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=60)
    return done.stdout.strip()


def test_the_watcher_script_is_not_run_again_in_each_reader(tmp_path: Path) -> None:
    """Under the installed script, a new reader is told to skip the main module (which
    would import the whole command line again), as under ``python -m watcher``."""
    code = (
        "from multiprocessing import spawn\n"
        "from watcher.check.readers import run_as_package_main\n"
        "before = spawn.get_preparation_data('reader')\n"
        "run_as_package_main()\n"
        "after = spawn.get_preparation_data('reader')\n"
        "print('init_main_from_path' in before, after.get('init_main_from_name'),"
        " 'init_main_from_path' in after)\n"
    )
    assert _python(code, script=tmp_path / "watcher") == "True watcher.__main__ False"


def test_the_checking_process_never_loads_trafilatura() -> None:
    """Only readers extract: the daemon and the command line start without trafilatura,
    and a reader's preload leaves out the store's SQLAlchemy."""
    daemon = _python(
        "import sys, watcher.cli, watcher.service.daemon, watcher.check.pipeline\n"
        "print(sorted(m for m in ('trafilatura', 'htmldate') if m in sys.modules))"
    )
    assert daemon == "[]"
    reader = _python(
        "import sys, watcher.check.reading\n"
        "print(sorted(m for m in ('sqlalchemy', 'sqlmodel') if m in sys.modules))"
    )
    assert reader == "[]"
