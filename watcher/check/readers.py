"""Reader processes (edge): every parse of a page runs in a worker process, never in a thread.

lxml and trafilatura crash the whole process when threads parse and copy trees at once,
hold the GIL for most of a page, and have no time bound of their own; only a process can
be killed. A reader that dies is replaced and its page tried once more; a reader that
overruns ``timeout_seconds`` is killed. Only plain, picklable data crosses the boundary.
Never runs a task in the calling process.
"""

from __future__ import annotations

import importlib.util
import logging
import multiprocessing
import os
import resource
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import CancelledError
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager, suppress
from multiprocessing import resource_tracker
from typing import ParamSpec, Protocol, Self, TypeVar

from pebble import ProcessExpired, ProcessPool
from pebble.common.types import MultiprocessingContext, Result, ResultStatus
from pebble.pool.base_pool import PoolContext
from pebble.pool.process import PoolManager, TaskManager, dictionary_values

from watcher import heap
from watcher.errors import ReaderError, ReaderStopped

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

# How long a waiting caller sleeps between looks at whether the pool was stopped.
_POLL_SECONDS = 0.25
# How many readers that died with no page on record are remembered, waiting for their claim.
_LOST_READERS_KEPT = 64
# Modules every reader needs: imported once in the fork server, so a reader that replaces
# a dead one starts in milliseconds instead of importing trafilatura again. A new reader
# also imports the command's main module (watcher.cli under `watcher` and `python -m`).
PRELOAD = ("watcher.check.reading", "trafilatura")
# The signals the daemon collects in its main thread and blocks everywhere else.
_DAEMON_SIGNALS = frozenset({signal.SIGTERM, signal.SIGINT, signal.SIGHUP})


class Reader(Protocol):
    """Runs a module-level reading function on plain arguments and returns its result."""

    def run(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R: ...


class _TaskBook(TaskManager):
    """pebble's book of tasks, which also fails a task claimed by a reader already dead.

    A reader claims a page, then reads it. When it dies at once (a page that crashes lxml
    on its first parse), the pool may see the death before it reads the claim: it finds
    no page to fail and, once the claim arrives, times a page nobody reads. The crash then
    surfaced as a timeout, at the time limit, and was never retried.
    """

    def __init__(self, task_done_callback: Callable[[], None]) -> None:
        super().__init__(task_done_callback)
        self.lock = threading.Lock()
        self._lost: dict[int, int] = {}  # pid -> exit code of a reader dead with no task

    def reader_lost(self, pid: int, exitcode: int) -> None:
        """Note a reader that died before its claim on a page, if any, was read."""
        self._lost[pid] = exitcode
        while len(self._lost) > _LOST_READERS_KEPT:
            del self._lost[next(iter(self._lost))]

    def task_start(self, task_id: int, worker_id: int | None) -> None:
        with self.lock:
            super().task_start(task_id, worker_id)
            exitcode = self._lost.pop(worker_id, None) if worker_id else None
        if exitcode is not None:
            error = ProcessExpired("Abnormal termination", code=exitcode, pid=worker_id)
            self.task_done(task_id, Result(ResultStatus.ERROR, error))


class _PoolManager(PoolManager):
    """pebble's pool manager, keeping a reader's death for the claim that arrives late."""

    task_manager: _TaskBook

    def __init__(self, context: PoolContext, mp_context: MultiprocessingContext) -> None:
        super().__init__(context, mp_context)
        self.task_manager = _TaskBook(context.task_queue.task_done)

    def handle_worker_expiration(self, expiration: tuple[int, int]) -> None:
        worker_id, exitcode = expiration
        with self.task_manager.lock:
            tasks = dictionary_values(self.task_manager.tasks)
            if not any(task.worker_id == worker_id for task in tasks):
                self.task_manager.reader_lost(worker_id, exitcode)
            super().handle_worker_expiration(expiration)


class _ProcessPool(ProcessPool):
    """pebble's process pool with ``_PoolManager``: a reader's crash is always a crash."""

    manager: type[_PoolManager] = _PoolManager

    def __init__(
        self,
        max_workers: int,
        max_tasks: int,
        initializer: Callable[..., None],
        initargs: tuple[object, ...],
        context: MultiprocessingContext,
    ) -> None:
        super().__init__(max_workers, max_tasks, initializer, initargs, context)
        self._pool_manager = self.manager(self._context, context)


class ReaderPool:
    """A pool of reader processes with a per-task time limit and crash recovery.

    ``processes`` readers run at once (the default is one per CPU). Each reader is
    recycled after ``max_tasks`` pages so a leak cannot grow without bound, and its
    address space is capped at ``memory_bytes`` (a page that needs more fails in that
    reader alone).
    """

    pool_class: type[_ProcessPool] = _ProcessPool

    def __init__(
        self,
        processes: int | None = None,
        *,
        timeout_seconds: float = 30.0,
        max_tasks: int = 200,
        memory_bytes: int | None = None,
        warm_up: Callable[[], object] | None = None,
        preload: Sequence[str] = PRELOAD,
    ) -> None:
        self.processes = processes or os.cpu_count() or 1
        self.timeout_seconds = timeout_seconds
        self._max_tasks = max_tasks
        self._memory_bytes = memory_bytes
        self._warm_up = warm_up
        self._preload = list(preload)
        self._pool = self._new_pool()
        self._pool_lock = threading.Lock()
        self._stopped = threading.Event()
        # Started now, so that starting the first reader later, from a check thread, does
        # not change that thread's signal mask (see _keeping_signal_mask).
        with _keeping_signal_mask():
            resource_tracker.ensure_running()
        if warm_up is not None:
            # in the background: starting the fork server imports the reading modules
            # (about a second), time the caller spends on its own start and first fetch
            threading.Thread(target=self._start, args=(self._pool,), daemon=True).start()

    def _new_pool(self) -> ProcessPool:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(self._preload)
        return self.pool_class(
            max_workers=self.processes,
            max_tasks=self._max_tasks,
            initializer=_start_reader,
            initargs=(self._memory_bytes,),
            context=context,
        )

    def _start(self, pool: ProcessPool) -> None:
        """Start the readers now, each warming up, while the caller gets on with its work
        (the first page read no longer waits for imports and lazy initialisation).

        The pool's threads are started with the daemon's signals blocked, so that only the
        thread that waits for them ever receives them.
        """
        with _keeping_signal_mask():
            signal.pthread_sigmask(signal.SIG_BLOCK, _DAEMON_SIGNALS)
            try:
                for _ in range(self.processes):
                    pool.schedule(self._warm_up or os.getpid, timeout=self.timeout_seconds)
            except RuntimeError:
                pass  # closed before it had started: nothing left to warm up

    def _renew(self, broken: ProcessPool, why: str) -> None:
        """Replace a pool that broke (a result that could not be passed back, a reader
        lost while talking to it: pebble then stops serving for good) with a fresh one,
        once however many callers saw it break."""
        with self._pool_lock:
            if self._pool is not broken or self._stopped.is_set():
                return
            logger.warning("reader pool broke (%s); starting fresh readers", why)
            self._pool = self._new_pool()
            self._start(self._pool)
        # the old readers are ended in the background: its threads may be gone already
        threading.Thread(target=_end_pool, args=(broken,), daemon=True).start()

    def run(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """``fn(*args, **kwargs)`` in a reader; a crash is retried once in a fresh reader.

        Raises ``ReaderError`` when the reader crashed twice or overran its time (a page
        that hangs once hangs again, so a timeout is not retried), ``ReaderStopped`` once
        the pool is closing; an exception raised by ``fn`` itself propagates unchanged.
        """
        crashed = ""
        for attempt in (1, 2):
            try:
                return self._once(fn, args, kwargs)
            except ProcessExpired as exc:
                crashed = _describe_exit(exc.exitcode)
                if attempt == 1:
                    logger.warning("reader %s; reading the page again in a fresh one", crashed)
            except _PoolBroke as exc:
                crashed = f"its reader pool broke: {exc}"
                if attempt == 1:
                    logger.warning("%s; reading the page again in fresh readers", crashed)
            except FutureTimeout:
                raise ReaderError(
                    f"reader timeout: reading took longer than {self.timeout_seconds:g}s",
                    cause="reader timeout",
                ) from None
            except MemoryError:
                raise ReaderError(
                    "reader out of memory: the page needs more than a reader may use",
                    cause="reader out of memory",
                ) from None
        raise ReaderError(f"reader crashed twice on this page ({crashed})", cause="reader crashed")

    def _once(self, fn: Callable[..., R], args: tuple[object, ...], kwargs: dict[str, object]) -> R:
        if self._stopped.is_set():
            raise ReaderStopped("readers are stopping")
        pool = self._pool
        try:
            future = pool.schedule(
                _in_reader, args=(fn, args, kwargs), timeout=self.timeout_seconds
            )
        except RuntimeError as exc:  # the pool is no longer active
            if self._stopped.is_set():
                raise ReaderStopped(f"readers are stopping: {exc}") from None
            self._renew(pool, str(exc))
            raise _PoolBroke(str(exc)) from None
        while True:
            try:
                result: R = future.result(timeout=_POLL_SECONDS)
                return result
            except FutureTimeout:
                if future.done():
                    raise  # the task itself overran (pebble reports it this way)
                if self._stopped.is_set():
                    future.cancel()
                    raise ReaderStopped("readers are stopping") from None
                if not pool.active:  # broke with this task still queued: never answered
                    self._renew(pool, "stopped serving")
                    raise _PoolBroke("stopped serving") from None
            except (CancelledError, BrokenProcessPool) as exc:
                if self._stopped.is_set():
                    raise ReaderStopped("readers are stopping") from None
                self._renew(pool, str(exc) or type(exc).__name__)
                raise _PoolBroke(str(exc) or type(exc).__name__) from None

    @property
    def is_closed(self) -> bool:
        return self._stopped.is_set()

    def close(self, *, kill: bool = False, timeout: float = 5.0) -> None:
        """Stop the readers: let current pages finish, or with ``kill`` end them now."""
        with self._pool_lock:
            self._stopped.set()
            pool = self._pool
        if kill:
            pool.stop()
        else:
            pool.close()
        try:
            pool.join(timeout)
        except TimeoutError:
            pool.stop()
            pool.join()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close(kill=True)


def run_as_package_main() -> None:
    """Spare each new reader from running the ``watcher`` script again.

    multiprocessing runs a script's main module anew in every process it starts, so under
    the installed ``watcher`` script each reader imported the whole command line (half a
    second and all of SQLAlchemy, per reader). A main module named ``watcher.__main__`` it
    leaves alone, and the script is exactly that module's entry point; ``python -m
    watcher`` already runs that way.
    """
    main = sys.modules.get("__main__")
    if main is not None and getattr(main, "__spec__", None) is None:
        main.__spec__ = importlib.util.find_spec("watcher.__main__")


@contextmanager
def _keeping_signal_mask() -> Iterator[None]:
    """Restore this thread's signal mask after starting the resource tracker.

    multiprocessing starts its resource tracker with the first process and then unblocks
    SIGTERM and SIGINT in the calling thread. In the daemon every thread blocks them so
    that only the main thread collects them; a thread left with SIGTERM unblocked (and
    the pool threads it starts) would let the signal's default action kill the daemon.
    """
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, ())
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


class OnDemandReader:
    """Starts its reader processes on first use: for commands and views that read a page
    only now and then (a diff against a version read by an older watcher)."""

    def __init__(self, start: Callable[[], ReaderPool]) -> None:
        self._start = start
        self._pool: ReaderPool | None = None
        self._lock = threading.Lock()

    def run(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        with self._lock:
            if self._pool is None:
                self._pool = self._start()
            pool = self._pool
        return pool.run(fn, *args, **kwargs)

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.close(kill=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class _PoolBroke(Exception):
    """The pool stopped serving; a fresh one has replaced it."""


def _end_pool(pool: ProcessPool) -> None:
    pool.stop()
    # its readers are killed; a thread of the broken pool may never end
    with suppress(TimeoutError, RuntimeError):
        pool.join(5.0)


def _start_reader(memory_bytes: int | None) -> None:
    """Runs in each new reader: cap its memory; the daemon handles signals, not readers.

    A reader inherits the daemon's blocked signals through the fork server; SIGTERM is
    unblocked so that stopping a reader does not wait for SIGKILL.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _DAEMON_SIGNALS)
    if memory_bytes:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))


def _in_reader(fn: Callable[..., R], args: tuple[object, ...], kwargs: dict[str, object]) -> R:
    """``fn(*args, **kwargs)``, then the heap's free pages given back: a reader otherwise
    keeps the size of the largest page it has read until it is recycled."""
    try:
        return fn(*args, **kwargs)
    finally:
        heap.give_back()


def _describe_exit(exitcode: int | None) -> str:
    """How a reader ended, in the words an operator searches for: ``SIGSEGV``, ``exit 1``."""
    if exitcode is None:
        return "ended without an exit code"
    if exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exited with status {exitcode}"
