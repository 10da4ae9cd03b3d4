"""Reader processes under real ``watcher check`` and ``watcher run`` processes.

A pathological page (200,000 paragraphs: minutes of trafilatura) stands in for a hang;
crashes are injected by killing the daemon's busy reader with SIGSEGV, then SIGKILL.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.corpus_site import CorpusSite
from tests.test_daemon import WAIT, Site, site, wait_for
from tests.test_daemon_process import Process, spawn, sqlite_url
from tests.test_extract import CORPUS
from watcher.cli import EXIT_CHANGES, EXIT_ERRORS, EXIT_OK
from watcher.store.store import Store

__all__ = ["site", "spawn"]  # fixtures shared with test_daemon / test_daemon_process

WATCHER = (sys.executable, "-m", "watcher")
HUGE = (
    "<html><head><title>A page with no end</title></head><body><article>"
    + "<p>x</p>" * 200_000
    + "</article></body></html>"
).encode()


def config_text(site_url: Callable[[str], str], paths: list[str], **settings: object) -> str:
    settings = {"every": "1h", "timeout": "5s", "deadline": "20s", "host_delay": "1ms"} | {
        "per_host": 8,
        "confirm": False,
        "allow_private": True,  # the site listens on 127.0.0.1
        **settings,
    }
    lines = ["[settings]", *(f"{key} = {json.dumps(value)}" for key, value in settings.items())]
    for path in paths:
        lines += ["", "[[watch]]", f'url = "{site_url(path)}"']
    return "\n".join(lines) + "\n"


def test_check_reports_a_page_that_outlasts_read_timeout(site: Site, tmp_path: Path) -> None:
    """`watcher check` returns within read_timeout + a few seconds: 'reader timeout' for
    the huge page, the other page read and stored."""
    site.serve("/huge", body=HUGE)
    site.serve("/ok")
    # The same command on the ordinary page alone: what starting up and checking cost on
    # this machine, under whatever else it is running now.
    alone = tmp_path / "alone.toml"
    alone.write_text(config_text(site.url, ["/ok"], read_timeout="6s"))
    started = time.monotonic()
    _check_json(alone, tmp_path / "alone.db")
    usual = time.monotonic() - started
    config = tmp_path / "watcher.toml"
    config.write_text(config_text(site.url, ["/huge", "/ok"], read_timeout="6s"))
    started = time.monotonic()
    done = _check_json(config, tmp_path / "watcher.db")
    elapsed = time.monotonic() - started
    assert done.returncode == EXIT_ERRORS, done.stderr
    lines = {json.loads(line)["url"]: json.loads(line) for line in done.stdout.splitlines()}
    huge = lines[site.url("/huge")]
    assert huge["kind"] == "error"
    assert "reader timeout" in huge["summary"]
    assert lines[site.url("/ok")]["kind"] == "new"
    assert elapsed < usual + 6 + 5, f"took {elapsed:.1f}s, {usual:.1f}s without the huge page"


def _check_json(config: Path, database: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*WATCHER, "-c", str(config), "--database", f"sqlite:///{database}", "check", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _descendants(pid: int) -> dict[int, int]:
    """Every live descendant of ``pid``, mapped to its parent."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(entry)] = int(stat[stat.rindex(")") + 2 :].split()[1])
    found: dict[int, int] = {}
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        for child, its_parent in parents.items():
            if its_parent == parent and child not in found:
                found[child] = parent
                frontier.append(child)
    return found


def _cpu_ticks(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return -1
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])


def _busy_reader(daemon_pid: int, besides: set[int]) -> int:
    """The reader (a grandchild, forked by the fork server) that has been burning CPU for
    two seconds: the huge page's, not one warming up or reading a small page."""

    def find() -> int | None:
        family = _descendants(daemon_pid)
        readers = [p for p, parent in family.items() if parent != daemon_pid]
        before = {p: _cpu_ticks(p) for p in readers if p not in besides}
        time.sleep(0.5)
        # the reader that burned the most CPU, on however loaded a machine
        grown = {p: _cpu_ticks(p) - ticks for p, ticks in before.items()}
        top = max(grown, key=lambda p: grown[p], default=None)
        return top if top is not None and grown[top] >= 3 else None

    deadline = time.monotonic() + WAIT
    streak: list[int | None] = []
    while len(streak) < 4 or len(set(streak[-4:])) != 1 or streak[-1] is None:
        assert time.monotonic() < deadline, "no reader got busy"
        streak.append(find())
    busy = streak[-1]
    assert busy is not None
    return busy


def test_daemon_survives_readers_killed_mid_page_and_stops_on_sigterm(
    site: Site, spawn: Callable[..., Process], tmp_path: Path
) -> None:
    """A reader killed by SIGSEGV is replaced and the page read again; killed again by
    SIGKILL, the page is 'reader crashed'; the other page is stored, the schedule kept,
    and SIGTERM ends the daemon with exit 0 and no reader left behind."""
    site.serve("/huge", body=HUGE)
    site.serve("/ok")
    config = tmp_path / "watcher.toml"
    config.write_text(config_text(site.url, ["/huge", "/ok"], read_timeout="120s"))
    daemon = spawn(config, sqlite_url(tmp_path))
    pid = daemon.popen.pid
    first = _busy_reader(pid, set())
    os.kill(first, signal.SIGSEGV)
    daemon.wait_log("reader killed by SIGSEGV; reading the page again")
    second = _busy_reader(pid, {first})
    os.kill(second, signal.SIGKILL)
    daemon.wait_log("reader crashed twice on this page (killed by SIGKILL)")
    daemon.wait_log("check failed (1 in a row), next try")
    family = set(_descendants(pid))
    daemon.signal(signal.SIGTERM)
    assert daemon.wait() == EXIT_OK
    wait_for(lambda: not any(Path(f"/proc/{p}").exists() for p in family), "readers gone", 10)
    with Store(sqlite_url(tmp_path)) as store:
        huge, ok = store.page_by_url(site.url("/huge")), store.page_by_url(site.url("/ok"))
        assert huge is not None
        assert ok is not None
        assert huge.last_error is not None
        assert "reader crashed" in huge.last_error
        assert huge.next_check_at is not None
        assert huge.last_checked_at is not None
        assert huge.next_check_at > huge.last_checked_at  # backed off, still scheduled
        assert ok.id is not None
        assert len(store.snapshots(ok.id)) == 1


def test_sigterm_ends_the_daemon_within_stop_timeout_while_a_page_is_read(
    site: Site, spawn: Callable[..., Process], tmp_path: Path
) -> None:
    """SIGTERM while a reader is stuck on a huge page: the readers are killed after
    --stop-timeout, nothing is recorded for that page, and the daemon exits 0."""
    site.serve("/huge", body=HUGE)
    config = tmp_path / "watcher.toml"
    config.write_text(config_text(site.url, ["/huge"], read_timeout="300s"))
    daemon = spawn(config, sqlite_url(tmp_path), "--stop-timeout", "2")
    reader = _busy_reader(daemon.popen.pid, set())
    daemon.signal(signal.SIGTERM)
    started = time.monotonic()
    assert daemon.wait() == EXIT_OK
    assert time.monotonic() - started < 2 + 8
    assert "checks still running after 2s: stopping them" in daemon.text()
    wait_for(lambda: not Path(f"/proc/{reader}").exists(), "the reader gone", 10)
    with Store(sqlite_url(tmp_path)) as store:
        page = store.page_by_url(site.url("/huge"))
        assert page is not None
        assert page.leased_by is None  # given back, due again
        assert page.last_checked_at is None  # no verdict was recorded


@pytest.fixture
def corpus_site() -> Iterator[CorpusSite]:
    pages = [gzip.decompress(p.read_bytes()) for p in sorted(CORPUS.glob("*.html.gz"))]
    if not pages:
        pytest.fail(f"no corpus pages under {CORPUS}")
    with CorpusSite(pages) as server:
        yield server


@pytest.mark.timeout(400)  # three passes are required, however loaded the machine
def test_many_concurrent_checks_of_real_pages_complete_every_pass(
    corpus_site: CorpusSite, tmp_path: Path
) -> None:
    """Real corpus pages, 8 checks at a time, pages changing between passes: every pass
    of `watcher check` completes and reports every page, none as a reader failure.

    The same load crashed the process (double free, SIGSEGV) when threads parsed pages.
    """
    paths = corpus_site.paths()
    config = tmp_path / "watcher.toml"
    config.write_text(config_text(corpus_site.url, paths, workers=8, confirm=True))
    command = [*WATCHER, "-c", str(config), "--database", sqlite_url(tmp_path), "check"]
    more_until = time.monotonic() + 60  # further passes while time allows
    passes = 0
    while passes < 3 or (passes < 6 and time.monotonic() < more_until):
        corpus_site.round = passes
        done = subprocess.run(
            [*command, "--json", "--all"],
            capture_output=True,
            text=True,
            timeout=WAIT * 8,
            check=False,
        )
        assert done.returncode in (EXIT_OK, EXIT_CHANGES), (passes, done.returncode, done.stderr)
        results = [json.loads(line) for line in done.stdout.splitlines()]
        assert sorted(r["url"].rsplit("/", 1)[1] for r in results) == sorted(p[1:] for p in paths)
        failures = [r["summary"] for r in results if r["kind"] == "error"]
        assert failures == [], failures
        passes += 1
    assert passes >= 3


_LOCALES_SEEN_BY_A_NEW_READER = """
from watcher.check.reading import start_readers
from watcher.config import Settings
from tests.test_readers_process import dateparser_locales_built

if __name__ == "__main__":
    with start_readers(Settings(), processes=1, warm={warm}) as readers:
        print(readers.run(dateparser_locales_built))
"""


def dateparser_locales_built() -> int:
    """In a reader: how many locales' regular expressions dateparser has compiled so far."""
    from dateparser.languages.dictionary import Dictionary

    return sum(len(built) for built in Dictionary._split_regex_cache.values())


@pytest.mark.parametrize("warm", [True, False])
def test_a_new_reader_starts_with_what_the_fork_server_built(warm: bool) -> None:
    """The daemon's readers are forked from a warmed fork server: a reader that has read no
    page yet already has every locale's date patterns (recycled readers no longer build
    them again). A one-off command's readers skip that set-up."""
    script = _LOCALES_SEEN_BY_A_NEW_READER.format(warm=warm)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    built = int(done.stdout.split()[-1])
    if warm:
        assert built >= 100, done.stderr  # dateparser knows some 200 locales
    else:
        assert built == 0, done.stderr
