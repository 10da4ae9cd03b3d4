"""watcher serve in real headless Chromium: navigation, a screenshot, a silent archive, inert text.

Chromium is Debian's (scripts/test.sh installs it); Playwright drives it through
``executable_path`` because its own browser download is not reachable.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import shared_readers
from tests.evidence_support import Version, five_versions, page_html, store_versions
from tests.factories import make_article
from tests.js_site import Beacon, beacon_server
from tests.viewer_support import running
from watcher.config import Watch, Watchlist
from watcher.fetch import Hop
from watcher.serve.app import create_app
from watcher.store.store import Store

CHROMIUM = "/usr/bin/chromium"
URL = "https://news.example/2026/bridge"


@pytest.fixture
def beacon() -> Iterator[Beacon]:
    """A local HTTP server that records every request it gets: the archive must send none."""
    with beacon_server() as found:
        yield found


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium (root needs --no-sandbox); skipped locally without it, never in CI."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("chromium is missing in CI (scripts/test.sh installs it)")
        pytest.skip("chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(f"sqlite:///{tmp_path / 'watcher.db'}") as opened:
        opened.migrate()
        yield opened


def beacon_page(beacon: Beacon) -> bytes:
    """An article that tries every way a page can call home."""
    return f"""<!doctype html><html><head>
<meta http-equiv="refresh" content="0; url={beacon.url("meta-refresh")}">
<link rel="stylesheet" href="{beacon.url("stylesheet.css")}">
<link rel="prefetch" href="{beacon.url("prefetch")}">
<link rel="icon" href="{beacon.url("favicon.ico")}">
<style>body {{ background: url("{beacon.url("css-url.png")}"); }}
@import url("{beacon.url("css-import.css")}");
@font-face {{ font-family: x; src: url("{beacon.url("font.woff")}"); }}</style>
<script src="{beacon.url("script.js")}"></script>
<script>fetch("{beacon.url("fetch")}"); new Image().src = "{beacon.url("js-image")}";
navigator.sendBeacon && navigator.sendBeacon("{beacon.url("send-beacon")}");
document.title = "scripted";</script>
<title>Minister resigns</title></head><body>
<h1>Minister resigns</h1><p>The minister denied any wrongdoing.</p>
<img src="{beacon.url("image.png")}" srcset="{beacon.url("srcset.png")} 2x">
<iframe src="{beacon.url("iframe")}"></iframe>
<div style="background-image: url('{beacon.url("inline-style.png")}')">styled</div>
<video poster="{beacon.url("poster.png")}"></video><object data="{beacon.url("object")}"></object>
<form action="{beacon.url("form")}"><input type="image" src="{beacon.url("input.png")}"></form>
</body></html>""".encode()


def test_list_page_diff_and_archived_version_navigation(
    browser: Any, store: Store, tmp_path: Path
) -> None:
    """From the list to a page, its diff and an archived version, by clicking links only."""
    from playwright.sync_api import expect

    ids = store_versions(store, five_versions())
    watch = Watch(url=URL, name="Bridge story", tags=["bridge"], ignore=[r"Visits: \d+"])
    watchlist = Watchlist(watch=[watch])
    with running(create_app(store, watchlist, reader=shared_readers())) as base:
        page = browser.new_page(java_script_enabled=False, viewport={"width": 1280, "height": 900})
        page.goto(base + "/")
        page.click("text=Bridge story")
        assert page.url.endswith("/pages/1")
        page.click(f"#v{ids[1]} >> text=diff")
        assert "Minister" in page.inner_text("#headline")
        assert page.inner_text("#body del") == "denied any wrongdoing"
        page.click("text=Side by side")
        # count() does not wait for the page the click opened; the expectation does
        expect(page.locator("table.side tr.changed")).to_have_count(1)
        page.goto(f"{base}/pages/1/diff?a={ids[0]}&b={ids[2]}&view=side")
        shot = tmp_path / "diff-page.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
        if os.environ.get("WATCHER_SCREENSHOT_DIR"):  # refreshes docs/diff-page.png on demand
            shutil.copy(shot, Path(os.environ["WATCHER_SCREENSHOT_DIR"]) / "diff-page.png")
        page.click(f"text=version {ids[2]}")
        frame = page.frame_locator("iframe.archived")
        assert frame.locator("h1").inner_text() == "Minister quits"
        page.close()


def test_an_archived_page_makes_no_request_at_all(
    browser: Any, store: Store, beacon: Beacon
) -> None:
    """Scripts, images, styles, frames, a meta refresh and CSS url() reach the beacon zero
    times, whether the version is viewed in its frame or its raw URL is opened directly."""
    body = beacon_page(beacon)
    [version_id] = store_versions(store, [Version(body, make_article("The minister."))])
    with running(create_app(store, Watchlist(), reader=shared_readers())) as base:
        page = browser.new_page()
        page.goto(f"{base}/versions/{version_id}", wait_until="networkidle")
        archived = page.frame_locator("iframe.archived")
        assert archived.locator("h1").inner_text() == "Minister resigns"
        page.goto(f"{base}/versions/{version_id}/raw", wait_until="networkidle")
        assert page.title() == "Minister resigns", "its script did not run"
        page.close()
    assert beacon.hits == []


def test_the_beacon_page_does_call_home_without_the_viewer(browser: Any, beacon: Beacon) -> None:
    """The check above can fail: the same HTML loaded unprotected hits the beacon."""
    page = browser.new_page()
    page.set_content(beacon_page(beacon).decode(), wait_until="networkidle")
    page.close()
    assert {"/script.js", "/image.png", "/fetch", "/stylesheet.css"} <= set(beacon.hits)


def test_hostile_page_text_is_inert(browser: Any, store: Store) -> None:
    """<script>, "><img onerror> and javascript: links in page text stay text everywhere."""
    hostile = (
        '<script>window.pwned = 1; alert(1)</script>"><img src=x onerror="alert(2)">'
        '<a href="javascript:alert(3)">click</a>'
    )
    evil = Version(
        page_html("x", "y"),
        make_article(hostile, f"See javascript:alert(4) {hostile}", title=hostile, byline=hostile),
        headers=(("x-note", hostile),),
        redirects=(Hop(URL, 302, "javascript:alert(5)"),),
        final_url="javascript:alert(6)",
    )
    ids = store_versions(store, [Version(page_html("x", "z"), make_article("z")), evil])
    with running(create_app(store, Watchlist(), reader=shared_readers())) as base:
        page = browser.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        for path in (
            "/",
            "/pages/1",
            f"/versions/{ids[1]}",
            f"/pages/1/diff?a={ids[0]}&b={ids[1]}",
        ):
            page.goto(base + path, wait_until="networkidle")
            assert page.evaluate("typeof window.pwned") == "undefined"
            assert page.locator("script").count() == 0
            assert page.locator("[onerror]").count() == 0
            assert page.locator('a[href^="javascript:" i]').count() == 0
        assert "<script>window.pwned" in page.inner_text("#headline")
        page.close()
    assert dialogs == []
