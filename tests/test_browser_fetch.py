"""fetch = "browser": a site rendered by JavaScript, read in real headless Chromium.

Chromium is Debian's (scripts/test.sh installs it), driven by Playwright through
``executable_path``. The site is a real local HTTP server whose article arrives from a
JSON endpoint; only its own port is opened in the network guard (``tests/loopback.py``).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from warcio.archiveiterator import ArchiveIterator

from tests.conftest import shared_readers
from tests.js_site import BODY, JsSite, beacon_server, js_site
from tests.loopback import only_loopback_port
from tests.viewer_support import running
from watcher.browser import BrowserLimits, BrowserPool, RenderedResult, find_chromium
from watcher.check.gather import render_options
from watcher.check.pipeline import CheckResult, check_page
from watcher.check.reading import snapshot_article
from watcher.cli import main
from watcher.config import Settings, Watch, Watchlist
from watcher.errors import BrowserUnavailableError, FetchError
from watcher.evidence.archive import export_warc
from watcher.judge.classify import Kind
from watcher.serve.app import create_app
from watcher.store.store import Store

PNG = b"\x89PNG\r\n\x1a\n"
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def chromium() -> str:
    found = find_chromium()
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing in CI (scripts/test.sh installs it)")
        pytest.skip("chromium is not installed")
    return found


@pytest.fixture(scope="module")
def pool() -> Iterator[BrowserPool]:
    """One shared browser for the module, as a daemon has one."""
    with BrowserPool(BrowserLimits(pages=2, executable=chromium())) as shared:
        yield shared


@pytest.fixture
def site() -> Iterator[JsSite]:
    with js_site() as served:
        yield served


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(f"sqlite:///{tmp_path / 'watcher.db'}") as opened:
        opened.migrate()
        yield opened


def settings_for(site: JsSite, **extra: object) -> Settings:
    values: dict[str, object] = {
        "timeout": timedelta(seconds=10),
        "deadline": timedelta(seconds=30),
        **only_loopback_port(site.port),
        **extra,
    }
    return Settings.model_validate(values)


class Checker:
    """Successive checks of one watch, a minute apart, through the real pipeline."""

    def __init__(self, store: Store, pool: BrowserPool, watch: Watch, settings: Settings) -> None:
        self.store, self.pool, self.watch, self.settings = store, pool, watch, settings
        self.page_id = store.sync_pages([(watch.url, watch.label)], T0)[watch.url]
        self.now = T0

    def __call__(self) -> CheckResult:
        self.now += timedelta(minutes=1)
        with requests.Session() as session:
            return check_page(
                self.store,
                session,
                self.watch,
                self.settings,
                page_id=self.page_id,
                now=self.now,
                reader=shared_readers(),
                browser=self.pool,
            )


def test_browser_watch_reads_the_article_scripts_render(
    pool: BrowserPool, site: JsSite, store: Store
) -> None:
    """Headline, byline, dateline and body come from the JSON the page's script fetched."""
    check = Checker(store, pool, Watch(url=site.url(), fetch="browser"), settings_for(site))
    result = check()
    assert result.verdict.kind is Kind.NEW
    version = store.snapshots(check.page_id)[-1]
    assert version.title == "Council closes the harbour bridge to cars"
    assert "Maria Jensen" in version.byline
    assert snapshot_article(version).datelines == ("2026-11-19",)
    for paragraph in BODY:
        assert paragraph in version.text
    assert "/api/story.json" in site.hits


def test_an_edit_in_the_json_is_an_edit_and_a_404_is_a_removal(
    pool: BrowserPool, site: JsSite, store: Store
) -> None:
    """The rendered page goes through the same judge: edited, then removed."""
    check = Checker(store, pool, Watch(url=site.url(), fetch="browser"), settings_for(site))
    assert check().verdict.kind is Kind.NEW
    assert check().verdict.kind is Kind.UNCHANGED
    site.edit(1, BODY[1].replace("painful but unavoidable", "a relief"))
    edited = check()
    assert edited.verdict.kind is Kind.CHANGED, edited.verdict.summary
    assert "a relief" in store.snapshots(check.page_id)[-1].text
    site.story = None
    removed = check()
    assert removed.verdict.kind is Kind.REMOVED, removed.verdict.summary


def test_a_plain_fetch_of_the_shell_says_so_instead_of_a_removal(
    pool: BrowserPool, site: JsSite, store: Store
) -> None:
    """Without the browser the page is an app shell: an error naming the cure, never
    an empty first version, and never "removed" after a rendered version."""
    settings = settings_for(site)
    plain = Checker(store, pool, Watch(url=site.url()), settings)
    first = plain()
    assert first.verdict.kind is Kind.ERROR
    assert "app shell" in first.verdict.summary
    assert 'fetch = "browser"' in first.verdict.summary
    assert store.snapshots(plain.page_id) == []

    rendered = Checker(store, pool, Watch(url=site.url(), fetch="browser"), settings)
    assert rendered().verdict.kind is Kind.NEW
    again = plain()
    assert again.verdict.kind is Kind.ERROR, again.verdict.summary
    assert len(store.snapshots(plain.page_id)) == 1


def test_the_screenshot_round_trips_through_show_and_warc(
    pool: BrowserPool,
    site: JsSite,
    store: Store,
    tmp_path: Path,
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    """The stored PNG comes back byte for byte from `show --png` and the WARC export,
    and its SHA-256 is the one the version records (and the hash chain covers)."""
    check = Checker(store, pool, Watch(url=site.url(), fetch="browser"), settings_for(site))
    assert check().verdict.kind is Kind.NEW
    version = store.snapshots(check.page_id)[-1]
    assert version.screenshot_sha256 is not None
    png = store.raw_body(version.screenshot_sha256)
    assert png.startswith(PNG)
    assert hashlib.sha256(png).hexdigest() == version.screenshot_sha256

    database = str(tmp_path / "watcher.db")
    capsysbinary.readouterr()
    assert main(["--database", f"sqlite:///{database}", "show", site.url(), "--png"]) == 0
    assert capsysbinary.readouterr().out == png

    warc = tmp_path / "out.warc.gz"
    export_warc(store, warc)
    with warc.open("rb") as stream:
        resources = [
            (r.rec_headers, r.content_stream().read())
            for r in ArchiveIterator(stream)
            if r.rec_type == "resource"
        ]
    assert len(resources) == 1
    headers, payload = resources[0]
    assert headers.get_header("Content-Type") == "image/png"
    assert headers.get_header("WARC-Target-URI") == f"urn:screenshot:{site.url()}"
    assert payload == png
    digest = "sha256:" + base64.b32encode(hashlib.sha256(png).digest()).decode()
    assert headers.get_header("WARC-Payload-Digest") == digest

    assert main(["--database", f"sqlite:///{database}", "verify"]) == 0


def test_an_unchanged_check_stores_no_screenshot(
    pool: BrowserPool, site: JsSite, store: Store
) -> None:
    """Only a stored version keeps a screenshot; a plain-fetch version keeps none."""
    check = Checker(store, pool, Watch(url=site.url(), fetch="browser"), settings_for(site))
    check()
    check()
    versions = store.snapshots(check.page_id)
    assert len(versions) == 1
    with_none = Checker(
        store,
        pool,
        Watch(url=site.url("beacon-story"), fetch="browser", screenshot=False),
        settings_for(site),
    )
    assert with_none().verdict.kind is Kind.NEW
    assert store.snapshots(with_none.page_id)[-1].screenshot_sha256 is None


@pytest.mark.parametrize("beacon_host", ["127.0.0.1", "127.0.0.2"])
def test_a_page_cannot_reach_a_loopback_beacon(
    pool: BrowserPool, site: JsSite, beacon_host: str
) -> None:
    """fetch(), sendBeacon and an image to another loopback port or address get nothing
    through: the beacon sees zero requests while the page itself still renders."""
    with beacon_server(beacon_host) as beacon:
        site.beacon = beacon.url()
        extra = {"allowed_ports": [site.port, beacon.port]} if beacon_host != "127.0.0.1" else {}
        settings = settings_for(site, **extra)
        watch = Watch(url=site.url("beacon-story"), fetch="browser")
        result = pool.render(watch.url, render_options(settings, watch))
        assert "Council closes the harbour bridge" in result.text
        assert result.requests_refused >= 3
        assert beacon.hits == []


def test_the_guard_refuses_the_page_itself_without_the_opt_in(
    pool: BrowserPool, site: JsSite
) -> None:
    """With the default policy a loopback page is refused, as a plain fetch is."""
    watch = Watch(url=site.url(), fetch="browser")
    with pytest.raises(FetchError, match="network guard"):
        pool.render(watch.url, render_options(Settings(), watch))
    assert site.hits == []


def test_a_page_that_never_settles_ends_at_the_deadline(pool: BrowserPool, site: JsSite) -> None:
    """A page that keeps the network busy fails at the deadline, and the browser goes on."""
    watch = Watch(url=site.url("never-settles"), fetch="browser")
    short = settings_for(site, deadline=timedelta(seconds=8))
    with pytest.raises(FetchError, match="deadline"):
        pool.render(watch.url, render_options(short, watch))
    story = Watch(url=site.url(), fetch="browser")
    assert "Maria Jensen" in pool.render(story.url, render_options(settings_for(site), story)).text


def test_wait_for_a_selector_that_never_appears_ends_at_the_deadline(
    pool: BrowserPool, site: JsSite
) -> None:
    """wait_for bounds the wait too, and names what it waited for."""
    watch = Watch(url=site.url(), fetch="browser", wait_for="#comments")
    short = settings_for(site, deadline=timedelta(seconds=8))
    with pytest.raises(FetchError, match="#comments"):
        pool.render(watch.url, render_options(short, watch))


def test_a_killed_browser_costs_one_page(site: JsSite) -> None:
    """SIGKILL of the browser while it loads a page fails that page; the next one is read
    by a fresh browser."""
    watch = Watch(url=site.url("never-settles"), fetch="browser")
    settings = settings_for(site, deadline=timedelta(seconds=60))
    outcome: list[BaseException | RenderedResult] = []
    with BrowserPool(BrowserLimits(pages=1, executable=chromium())) as own:

        def load() -> None:
            try:
                outcome.append(own.render(watch.url, render_options(settings, watch)))
            except FetchError as exc:
                outcome.append(exc)

        thread = threading.Thread(target=load)
        thread.start()
        for _ in range(600):
            if own.browser_pids() and "/never-settles" in site.hits:
                break
            time.sleep(0.05)
        killed = own.browser_pids()
        assert killed
        os.kill(killed[0], signal.SIGKILL)
        thread.join(timeout=60)
        assert len(outcome) == 1
        assert isinstance(outcome[0], FetchError)
        assert "crashed" in str(outcome[0])
        story = Watch(url=site.url(), fetch="browser")
        assert "Maria Jensen" in own.render(story.url, render_options(settings, story)).text
        assert own.browser_pids()
        assert own.browser_pids()[0] != killed[0]


def test_a_browser_that_stops_answering_is_replaced(site: JsSite) -> None:
    """A browser that opens no page in time fails that page and is replaced: the next page
    does not wait as long again, and the hung browser is killed, not left running."""
    story = Watch(url=site.url(), fetch="browser")
    options = render_options(settings_for(site), story)
    limits = BrowserLimits(pages=1, open_seconds=2.0, executable=chromium())
    with BrowserPool(limits) as own:
        assert "Maria Jensen" in own.render(story.url, options).text
        (hung,) = own.browser_pids()
        os.kill(hung, signal.SIGSTOP)
        try:
            with pytest.raises(FetchError, match="opened no page within 2s"):
                own.render(story.url, options)
            assert "Maria Jensen" in own.render(story.url, options).text
            assert hung not in own.browser_pids()
            for _ in range(200):
                if not _running(hung):
                    break
                time.sleep(0.05)
            assert not _running(hung)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.kill(hung, signal.SIGCONT)


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a killed one awaiting its parent's wait is not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_a_chromium_that_dies_as_it_starts_is_no_missing_install(tmp_path: Path) -> None:
    """A Chromium that is installed but dies at its start (a confining filter, a broken
    build) is a fetch error naming it; only a missing one gets the install advice."""
    broken = tmp_path / "chromium"
    broken.write_text("#!/bin/sh\necho 'sandbox: operation not permitted' >&2\nexit 1\n")
    broken.chmod(0o755)
    watch = Watch(url="http://127.0.0.1:9/story", fetch="browser")
    options = render_options(Settings(), watch)
    with (
        BrowserPool(BrowserLimits(pages=1, executable=str(broken))) as dying,
        pytest.raises(FetchError) as died,
    ):
        dying.render(watch.url, options)
    assert not isinstance(died.value, BrowserUnavailableError)
    assert str(broken) in str(died.value)
    assert "pip install" not in str(died.value)
    missing = str(tmp_path / "no-such-chromium")
    with (
        BrowserPool(BrowserLimits(pages=1, executable=missing)) as absent,
        pytest.raises(BrowserUnavailableError, match="pip install"),
    ):
        absent.render(watch.url, options)


def test_the_browser_is_restarted_after_its_pages(site: JsSite) -> None:
    """browser_recycle: after that many pages the next one gets a fresh browser."""
    story = Watch(url=site.url(), fetch="browser")
    settings = settings_for(site)
    with BrowserPool(BrowserLimits(pages=1, recycle_after=2, executable=chromium())) as own:
        seen = []
        for _ in range(3):
            own.render(story.url, render_options(settings, story))
            seen.append(tuple(own.browser_pids()))
        assert seen[0]
        assert seen[2]
        assert seen[2][0] != seen[0][0]


def test_a_browser_watch_without_playwright_says_how_to_install_it() -> None:
    """Validation names the extra and Debian's package when Playwright is missing."""
    watchlist = '[[watch]]\nurl = "https://example.org/a"\nfetch = "browser"\n'
    code = (
        "import sys; sys.modules['playwright'] = None\n"
        "from watcher.config import parse_watchlist\n"
        "from watcher.errors import ConfigError\n"
        "try:\n"
        f"    parse_watchlist({watchlist!r})\n"
        "except ConfigError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert "pip install 'watcher[browser]'" in out
    assert "apt-get install chromium" in out
    assert "watch[0]" in out


def test_the_viewer_shows_the_screenshot(pool: BrowserPool, site: JsSite, store: Store) -> None:
    """The version page shows the screenshot; its URL serves the stored PNG byte for byte."""
    watch = Watch(url=site.url(), fetch="browser")
    check = Checker(store, pool, watch, settings_for(site))
    check()
    version = store.snapshots(check.page_id)[-1]
    assert version.screenshot_sha256 is not None
    png = store.raw_body(version.screenshot_sha256)
    app = create_app(store, Watchlist(watch=[watch]), reader=shared_readers())
    with running(app) as base, requests.Session() as http:
        page = http.get(f"{base}/versions/{version.id}", timeout=30)
        assert page.status_code == 200
        assert f"/versions/{version.id}/screenshot.png" in page.text
        assert version.screenshot_sha256 in page.text
        shot = http.get(f"{base}/versions/{version.id}/screenshot.png", timeout=30)
        assert shot.headers["content-type"] == "image/png"
        assert shot.content == png


def test_inspect_browser_says_the_page_needs_one(
    site: JsSite, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """inspect suggests the browser for an app shell; --browser shows both readings and
    says the page needs it."""
    config = tmp_path / "watcher.toml"
    config.write_text(
        f'[settings]\ndatabase = "sqlite:///{tmp_path / "w.db"}"\n'
        f'allow_networks = ["127.0.0.1/32"]\nallowed_ports = [{site.port}]\n'
        f'browser_executable = "{chromium()}"\n',
        encoding="utf-8",
    )
    assert main(["-c", str(config), "inspect", site.url()]) == 0
    plain = capsys.readouterr().out
    assert "looks like an app shell" in plain
    assert "--browser" in plain

    assert main(["-c", str(config), "inspect", site.url(), "--browser"]) == 0
    both = capsys.readouterr().out
    assert "== what a plain request read ==" in both
    assert "== what the browser read ==" in both
    assert "headline:   Council closes the harbour bridge to cars" in both
    assert 'this page needs a browser: set fetch = "browser"' in both


def test_watcher_check_reads_a_browser_watch_and_exits(site: JsSite, tmp_path: Path) -> None:
    """The installed command: a browser watch in watcher.toml is checked, and the process
    (with its shared browser) exits when the pass is done."""
    config = tmp_path / "watcher.toml"
    config.write_text(
        f'[settings]\ndatabase = "sqlite:///{tmp_path / "w.db"}"\n'
        f'allow_networks = ["127.0.0.1/32"]\nallowed_ports = [{site.port}]\n'
        f'browser_executable = "{chromium()}"\n\n'
        f'[[watch]]\nurl = "{site.url()}"\nfetch = "browser"\nwait_for = "article h1"\n',
        encoding="utf-8",
    )
    command = [sys.executable, "-m", "watcher", "-c", str(config), "check", "--json"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=110, check=False)
    assert done.returncode == 0, done.stderr[-2000:]  # a first version is no change
    assert '"kind": "new"' in done.stdout
    assert "Council closes the harbour bridge" in done.stdout
