"""Fetch a page in headless Chromium (edge, I/O): the DOM after it settles, and a screenshot.

Optional (``pip install watcher[browser]``, Debian's ``chromium``). One browser process
serves the whole process, a fresh context per page, at most ``browsers`` pages at once.
Chromium itself never touches the network: it is started with a resolver that resolves
nothing and a proxy that does not exist, and every request a page makes is answered by
``fetch_page`` under the watch's network guard (or refused), so a page's scripts reach
exactly what a plain fetch of the watch may reach. It never reads the page it renders:
the rendered HTML is read like any fetched HTML, in the reader processes.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import logging
import os
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests

from watcher.errors import BlockedError, BrowserUnavailableError, FetchError
from watcher.fetch import FetchOptions, FetchResult, fetch_page
from watcher.procs import chromium_pids, tree_pss

if TYPE_CHECKING:
    from playwright.async_api import Browser, BrowserContext, Playwright, Route

logger = logging.getLogger(__name__)

INSTALL_HINT = BrowserUnavailableError.HINT
# Header added to a rendered version's stored headers: its body is the DOM after rendering,
# not the bytes the server sent.
RENDERED_HEADER = "x-watcher-rendered-by"
# What a page may not load: pictures, media and fonts change nothing a reader reads, cost
# most of a page's bytes, and their hosts are the trackers; frames are ads and embeds whose
# text is not the page's. Screenshots are therefore of the page's text and layout.
BLOCKED_TYPES = frozenset({"image", "media", "font", "imageset", "object", "ping"})
# Ad and tracker hosts (and their subdomains): refused whatever they serve.
TRACKER_HOSTS = frozenset(
    {
        "doubleclick.net",
        "googlesyndication.com",
        "googleadservices.com",
        "google-analytics.com",
        "googletagmanager.com",
        "googletagservices.com",
        "adservice.google.com",
        "amazon-adsystem.com",
        "adnxs.com",
        "criteo.com",
        "criteo.net",
        "taboola.com",
        "outbrain.com",
        "scorecardresearch.com",
        "quantserve.com",
        "chartbeat.com",
        "chartbeat.net",
        "hotjar.com",
        "facebook.net",
        "connect.facebook.net",
        "moatads.com",
        "rubiconproject.com",
        "pubmatic.com",
        "casalemedia.com",
        "openx.net",
        "adsrvr.org",
        "bluekai.com",
        "krxd.net",
        "cnzz.com",
        "hm.baidu.com",
        "pos.baidu.com",
        "tanx.com",
        "mmstat.com",
    }
)
# Chromium resolves no name and connects nowhere on its own: every request is fulfilled
# by watcher's guarded fetch, and anything that escapes routing (a preconnect, WebRTC, a
# socket) meets a resolver that knows no name and a proxy on a closed port.
_CHROMIUM_ARGS = (
    "--no-sandbox",  # the unit's own sandbox and a non-root user confine it; root needs it
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-server=http://127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-dev-shm-usage",  # a small /dev/shm (containers) must not crash renderers
    "--no-first-run",
    "--mute-audio",
)
_CRASHED = "Target crashed"
# A browser asked to close that has not ended after this long is killed: one that stopped
# answering would otherwise keep its processes, and a check waiting on it, for ever.
_CLOSE_SECONDS = 10.0
_CLOSED = "has been closed"
_STRIPPED_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


@dataclass(frozen=True, slots=True)
class BrowserLimits:
    """How the shared browser is bounded: pages at once, and when it is restarted."""

    pages: int = 2
    recycle_after: int = 100  # pages, then a fresh browser (leaks stay bounded)
    memory_bytes: int = 1024 * 1024 * 1024  # proportional memory of all its processes
    executable: str | None = None  # None: Debian's chromium found on PATH
    # Opening a page takes Chromium well under a second; one whose renderers cannot start
    # (a system call filter or a sandbox that forbids what they need) or that stopped
    # answering never opens one: the page fails with why, and the browser is replaced.
    open_seconds: float = 15.0


@dataclass(frozen=True, slots=True)
class RenderOptions:
    """One page's load: the fetch options of its watch, what to wait for, a screenshot."""

    fetch: FetchOptions
    wait_for: str | None = None  # a CSS selector that appears once the article is there
    screenshot: bool = True


@dataclass(frozen=True, slots=True)
class RenderedResult(FetchResult):
    """A fetch whose ``body`` is the DOM after rendering (UTF-8), with its screenshot."""

    screenshot: bytes | None = None
    requests_refused: int = 0  # requests the guard or the block lists refused


def is_available() -> bool:
    """Whether Playwright is installed (the ``browser`` extra)."""
    try:
        import playwright  # noqa: F401
    except ImportError:
        return False
    return True


def find_chromium(configured: str | None = None) -> str | None:
    """The Chromium to drive: ``configured``, else Debian's build on PATH."""
    if configured:
        return configured
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class _Generation:
    """One launched browser: the pages it served, the pages it serves now."""

    browser: Browser
    pid: int | None
    served: int = 0
    in_flight: int = 0
    is_retired: bool = False


@dataclass
class _Load:
    """What the routing of one page load saw."""

    options: RenderOptions
    deadline: float
    site: str
    document: FetchResult | None = None
    document_error: FetchError | None = None
    pending: dict[str, FetchResult] = field(default_factory=dict)  # redirect targets
    refused: int = 0


class BrowserPool:
    """One headless Chromium shared by every checking thread of this process.

    Its event loop runs in a thread of its own (Playwright's objects belong to one loop);
    ``render`` may be called from any thread and blocks until the page is done.
    """

    def __init__(self, limits: BrowserLimits) -> None:
        if not is_available():
            raise BrowserUnavailableError(f"the browser fetcher needs Playwright: {INSTALL_HINT}")
        self.limits = limits
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run_loop, name="browser", daemon=True)
        self._io = concurrent.futures.ThreadPoolExecutor(
            max_workers=max(4, 4 * limits.pages), thread_name_prefix="browser-fetch"
        )
        self._sessions: list[requests.Session] = []
        self._sessions_lock = threading.Lock()
        self._playwright: Playwright | None = None
        self._current: _Generation | None = None
        self._generations: list[_Generation] = []
        self._closing: set[asyncio.Task[None]] = set()
        self._closed = False
        self._thread.start()
        self._gate = self._call(self._make_gate())

    def _run_loop(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()

    def _call(self, coro: Any, timeout: float | None = None) -> Any:
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise

    async def _make_gate(self) -> asyncio.Semaphore:
        return asyncio.Semaphore(self.limits.pages)

    def render(self, url: str, options: RenderOptions) -> RenderedResult:
        """Load ``url``, wait until it settles (or ``wait_for`` appears), return its DOM.

        Bounded by ``options.fetch.deadline_seconds`` from the call, waiting for a free
        slot included. Raises ``FetchError`` when no page arrived, the guard refused the
        document, the page did not settle in time, or the browser crashed (which costs
        this page; the next one gets a fresh browser).
        """
        if self._closed:
            raise FetchError(f"{url}: the browser is shut down")
        deadline = options.fetch.deadline_seconds
        started = time.monotonic()
        try:
            result: RenderedResult = self._call(
                self._render(url, options, started + deadline), timeout=deadline + 15
            )
        except concurrent.futures.TimeoutError:
            raise FetchError(f"{url}: browser: no answer within {deadline:g}s") from None
        return result

    def browser_pids(self) -> list[int]:
        """The main process of every browser running now (for tests and the benchmark)."""
        return [g.pid for g in self._generations if g.pid is not None]

    def memory_bytes(self) -> int:
        """Proportional memory (PSS) of every browser process of this pool."""
        return sum(tree_pss(pid) for pid in self.browser_pids())

    def close(self) -> None:
        """Close every browser and stop the loop; idempotent."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(Exception):
            self._call(self._shutdown(), timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        if not self._thread.is_alive():
            self._loop.close()
        self._io.shutdown(wait=False, cancel_futures=True)
        with self._sessions_lock:
            for session in self._sessions:
                session.close()
            self._sessions.clear()

    def __enter__(self) -> BrowserPool:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    async def _shutdown(self) -> None:
        for generation in list(self._generations):
            await _close_browser(generation)
        self._generations.clear()
        if self._closing:
            await asyncio.wait(list(self._closing))
        if self._playwright is not None:
            with contextlib.suppress(Exception):
                await self._playwright.stop()
            self._playwright = None

    async def _render(self, url: str, options: RenderOptions, deadline: float) -> RenderedResult:
        remaining = deadline - time.monotonic()
        try:
            await asyncio.wait_for(self._gate.acquire(), timeout=max(remaining, 0.001))
        except TimeoutError:
            raise FetchError(f"{url}: browser: no free page within the deadline") from None
        try:
            generation = await self._generation(url)
            generation.in_flight += 1
            try:
                return await self._load(generation, url, options, deadline)
            finally:
                generation.in_flight -= 1
                generation.served += 1
                await self._maybe_recycle(generation)
        finally:
            self._gate.release()

    async def _generation(self, url: str) -> _Generation:
        """The running browser, launched when there is none or the last one died."""
        current = self._current
        if current is not None and current.browser.is_connected() and not current.is_retired:
            return current
        if current is not None and not current.browser.is_connected():
            self._forget(current)
        from playwright.async_api import Error as PlaywrightError
        from playwright.async_api import async_playwright

        if self._playwright is None:
            self._playwright = await async_playwright().start()
        executable = find_chromium(self.limits.executable)
        before = set(chromium_pids())
        try:
            browser = await self._playwright.chromium.launch(
                executable_path=executable, args=list(_CHROMIUM_ARGS), headless=True
            )
        except PlaywrightError as exc:
            if executable is None or not os.path.exists(executable):
                raise BrowserUnavailableError(
                    f"{url}: browser: cannot start Chromium ({executable or 'not found'}): "
                    f"{_first_line(str(exc))}; {INSTALL_HINT}"
                ) from None
            # installed, and it died at its start (a sandbox or a system call filter that
            # forbids what it needs, a broken install): installing it again is no advice
            raise FetchError(
                f"{url}: browser: Chromium ({executable}) ended as it started: "
                f"{_first_line(str(exc))}"
            ) from None
        pids = [pid for pid in chromium_pids() if pid not in before]
        generation = _Generation(browser, pids[0] if pids else None)
        self._generations.append(generation)
        self._current = generation
        logger.info("browser started pid=%s executable=%s", generation.pid, executable)
        return generation

    def _forget(self, generation: _Generation) -> None:
        if generation in self._generations:
            self._generations.remove(generation)
        if self._current is generation:
            self._current = None

    async def _maybe_recycle(self, generation: _Generation) -> None:
        """Retire a browser that served its pages or grew too big; close it once idle."""
        if not generation.browser.is_connected():
            self._forget(generation)
            return
        if not generation.is_retired:
            memory = tree_pss(generation.pid) if generation.pid else 0
            if generation.served >= self.limits.recycle_after or memory > self.limits.memory_bytes:
                logger.info(
                    "browser restarted pid=%s pages=%d memory=%d",
                    generation.pid,
                    generation.served,
                    memory,
                )
                self._retire(generation)
        if generation.is_retired and generation.in_flight == 0:
            self._forget(generation)
            # in the background: a browser that stopped answering takes _CLOSE_SECONDS
            closing = asyncio.get_running_loop().create_task(_close_browser(generation))
            self._closing.add(closing)
            closing.add_done_callback(self._closing.discard)

    async def _load(
        self, generation: _Generation, url: str, options: RenderOptions, deadline: float
    ) -> RenderedResult:
        """One page in a fresh context: route, load, settle, read the DOM, screenshot."""
        from playwright.async_api import Error as PlaywrightError

        started = time.monotonic()
        load = _Load(options, deadline, _site(url))
        opening = max(min(self.limits.open_seconds, deadline - started), 0.001)
        context = await self._new_context(generation, url, options, opening)
        try:
            try:
                await context.route("**/*", lambda route: self._answer(route, load))
                # a renderer can crash right here, or never start
                page = await asyncio.wait_for(
                    context.new_page(), timeout=max(opening - (time.monotonic() - started), 0.001)
                )
            except PlaywrightError as exc:
                raise self._failure(generation, url, exc, options) from None
            except TimeoutError:
                raise self._no_page(generation, url, opening) from None
            try:
                await page.goto(url, wait_until="domcontentloaded", timeout=_ms(deadline))
                if load.document_error is not None:
                    raise load.document_error
                if options.wait_for:
                    await page.wait_for_selector(
                        options.wait_for, state="attached", timeout=_ms(deadline)
                    )
                await page.wait_for_load_state("networkidle", timeout=_ms(deadline))
                html = await page.content()
                shot = None
                if options.screenshot:
                    shot = await page.screenshot(full_page=True, timeout=_ms(deadline))
                final_url = page.url
            except PlaywrightError as exc:
                if load.document_error is not None:
                    raise load.document_error from None
                raise self._failure(generation, url, exc, options) from None
        finally:
            with contextlib.suppress(Exception):
                await context.close()
        document = load.document
        if document is None:
            raise FetchError(f"{url}: browser: the page loaded no document")
        if len(html.encode("utf-8")) > options.fetch.max_bytes:
            # scripts can grow a page without bound; the stored body keeps the fetch's cap
            raise FetchError(
                f"{url}: browser: the rendered page is larger than {options.fetch.max_bytes} "
                "bytes (settings.max_bytes)"
            )
        return _rendered(document, url, final_url, html, shot, load.refused, started)

    async def _new_context(
        self, generation: _Generation, url: str, options: RenderOptions, opening: float
    ) -> BrowserContext:
        """A fresh context for one page, or the FetchError of a browser that crashed or
        opened none within ``opening`` seconds."""
        from playwright.async_api import Error as PlaywrightError

        try:
            return await asyncio.wait_for(
                generation.browser.new_context(
                    service_workers="block",
                    user_agent=options.fetch.user_agent,
                    viewport={"width": 1280, "height": 900},
                    accept_downloads=False,
                ),
                timeout=opening,
            )
        except PlaywrightError as exc:
            raise self._failure(generation, url, exc) from None
        except TimeoutError:
            raise self._no_page(generation, url, opening) from None

    def _no_page(self, generation: _Generation, url: str, seconds: float) -> FetchError:
        """The error of a page the browser did not open in time; the browser is retired, so
        the next page gets a fresh one instead of waiting as long again."""
        self._retire(generation)
        return FetchError(
            f"{url}: browser: Chromium opened no page within {seconds:g}s; its renderers may "
            "be unable to start (a system call filter or sandbox that forbids what they need)"
        )

    def _retire(self, generation: _Generation) -> None:
        generation.is_retired = True
        if self._current is generation:
            self._current = None

    def _failure(
        self,
        generation: _Generation,
        url: str,
        exc: Exception,
        options: RenderOptions | None = None,
    ) -> FetchError:
        text = _first_line(str(exc))
        if not generation.browser.is_connected() or _CRASHED in text or _CLOSED in text:
            if not generation.browser.is_connected():
                self._forget(generation)
            return FetchError(f"{url}: browser crashed while loading the page")
        if "Timeout" in type(exc).__name__ or "Timeout" in text:
            waited = f"'{options.wait_for}' to appear" if options and options.wait_for else ""
            limit = options.fetch.deadline_seconds if options else 0
            what = waited or "the page to settle (network idle)"
            return FetchError(f"{url}: browser: waited {limit:g}s for {what}: deadline reached")
        return FetchError(f"{url}: browser: {text}")

    async def _answer(self, route: Route, load: _Load) -> None:
        """Every request of the page: refused, or fetched under the guard and fulfilled."""
        from playwright.async_api import Error as PlaywrightError

        request = route.request
        try:
            is_document = request.is_navigation_request() and request.frame.parent_frame is None
        except PlaywrightError:  # a request of a frame already detached: nobody needs it
            is_document = False
        refusal = _refusal(request.url, request.resource_type, request.method, is_document)
        if refusal is not None:
            load.refused += 1
            logger.debug("browser refused %s: %s", request.url, refusal)
            await _quietly(route.abort("blockedbyclient"))
            return
        if request.url in load.pending:
            result = load.pending.pop(request.url)
        else:
            try:
                result = await asyncio.get_running_loop().run_in_executor(
                    self._io, self._fetch, request.url, load, is_document
                )
            except FetchError as exc:
                load.refused += isinstance(exc, BlockedError)
                if is_document:
                    load.document_error = exc
                logger.debug("browser request failed %s: %s", request.url, exc)
                await _quietly(route.abort("blockedbyclient" if _blocked(exc) else "failed"))
                return
        if is_document:
            first = load.document is None
            load.document = result
            if first and result.final_url != request.url:
                # Redirects were followed (and recorded) by fetch_page; the browser is sent
                # on to where they led, so the page's own URL and base are right.
                load.pending[result.final_url] = result
                await _quietly(route.fulfill(status=302, headers={"location": result.final_url}))
                return
        await _quietly(
            route.fulfill(status=result.status, headers=_headers(result), body=result.body)
        )

    def _fetch(self, url: str, load: _Load, is_document: bool) -> FetchResult:
        """One request of the page, by ``fetch_page`` with the watch's guard and limits."""
        remaining = load.deadline - time.monotonic()
        if remaining <= 0:
            raise FetchError(f"{url}: browser: deadline reached")
        options = replace(load.options.fetch, deadline_seconds=remaining)
        if not is_document and _site(url) != load.site:
            # the watch's own cookies and headers go only to its own site
            options = replace(options, headers={}, cookies={})
        with self._session(options.user_agent) as session:
            return fetch_page(session, url, options)

    @contextlib.contextmanager
    def _session(self, user_agent: str) -> Iterator[requests.Session]:
        with self._sessions_lock:
            session = self._sessions.pop() if self._sessions else requests.Session()
        session.headers["User-Agent"] = user_agent
        session.cookies.clear()
        try:
            yield session
        finally:
            with self._sessions_lock:
                self._sessions.append(session)


def _refusal(url: str, resource_type: str, method: str, is_document: bool) -> str | None:
    """Why a page's request is not made at all (None: it is fetched under the guard)."""
    if resource_type in BLOCKED_TYPES:
        return f"{resource_type} blocked"
    if resource_type == "document" and not is_document:
        return "frame blocked"
    if method not in ("GET", "HEAD"):
        return f"{method} refused: a watch only reads"
    host = (urlsplit(url).hostname or "").lower()
    if any(host == h or host.endswith("." + h) for h in TRACKER_HOSTS):
        return "ad or tracker host"
    return None


def _blocked(exc: FetchError) -> bool:
    return isinstance(exc, BlockedError) or "network guard" in str(exc)


def _headers(result: FetchResult) -> dict[str, str]:
    """The response headers as the browser gets them: the body is already decoded."""
    return {k: v for k, v in result.headers.items() if k.lower() not in _STRIPPED_HEADERS}


def _rendered(
    document: FetchResult,
    url: str,
    final_url: str,
    html: str,
    screenshot: bytes | None,
    refused: int,
    started: float,
) -> RenderedResult:
    """The load as a fetch result whose body is the rendered DOM."""
    headers = dict(document.headers)
    headers.pop("content-encoding", None)
    headers[RENDERED_HEADER] = "chromium: the body is the page's DOM after rendering"
    headers["content-type"] = "text/html; charset=utf-8"
    body = html.encode("utf-8")
    return RenderedResult(
        url=url,
        final_url=final_url or document.final_url,
        status=document.status,
        headers=headers,
        body=body,
        text=html,
        encoding="utf-8",
        redirects=document.redirects,
        fetched_at=document.fetched_at,
        elapsed_seconds=time.monotonic() - started,
        screenshot=screenshot,
        requests_refused=refused,
    )


async def _close_browser(generation: _Generation) -> None:
    """Close a browser, and kill it if it has not ended within ``_CLOSE_SECONDS``."""
    try:
        await asyncio.wait_for(generation.browser.close(), timeout=_CLOSE_SECONDS)
    except TimeoutError:
        logger.warning("browser did not close, killed pid=%s", generation.pid)
        if generation.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(generation.pid, signal.SIGKILL)
    except Exception:  # a browser that already died has nothing left to close
        logger.debug("browser close failed pid=%s", generation.pid, exc_info=True)


async def _quietly(action: Any) -> None:
    """A route answered after its page closed raises; the page is gone, nothing to do."""
    with contextlib.suppress(Exception):
        await action


def _ms(deadline: float) -> float:
    return max((deadline - time.monotonic()) * 1000.0, 1.0)


def _site(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{parts.port or ''}"


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "unknown error"


_shared: BrowserPool | None = None
_shared_lock = threading.Lock()


def shared_pool(limits: BrowserLimits) -> BrowserPool:
    """This process's browser, started on first use; new limits start a new one."""
    global _shared
    with _shared_lock:
        if _shared is not None and _shared.limits != limits:
            _shared.close()
            _shared = None
        if _shared is None:
            _shared = BrowserPool(limits)
            atexit.register(close_shared_pool)
        return _shared


def close_shared_pool() -> None:
    """Close this process's browser, if one was started (the daemon's stop, tests)."""
    global _shared
    with _shared_lock:
        if _shared is not None:
            _shared.close()
            _shared = None
