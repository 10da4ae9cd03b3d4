"""``watcher serve``: a read-only web viewer of the stored evidence (edge: HTTP).

Server-rendered HTML that works without JavaScript, Atom feeds and a JSON API, over the
database the daemon writes. Never writes to it. Page content is untrusted: every piece of
it is escaped (Jinja2 autoescape), and an archived body is only ever served under
``Content-Security-Policy: default-src 'none'; sandbox`` into a sandboxed frame, so it can
neither run script nor make a request that would tell the site someone is looking.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, time
from typing import Any
from urllib.parse import urlencode, urlsplit

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from watcher.check.readers import Reader
from watcher.config import Watch, Watchlist, canonical_url
from watcher.errors import WatcherError
from watcher.evidence.versions import (
    change_json,
    change_pair,
    compare_versions,
    comparison_json,
    version_json,
)
from watcher.judge.classify import Kind
from watcher.serve.access import TokenGate
from watcher.serve.atom import render_feed
from watcher.serve.browse import (
    PAGE_SIZE,
    PageFilter,
    latest_good_before,
    list_pages,
    page_state,
    timeline_window,
    version_before,
)
from watcher.serve.diffrows import Row, collapse_unchanged, side_by_side
from watcher.store.models import Page, Snapshot
from watcher.store.store import Store

logger = logging.getLogger(__name__)

# The viewer's own pages: its stylesheet and frames from itself, nothing else at all.
VIEWER_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; frame-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
# An archived body: no script, no request of any kind, a unique origin (sandbox).
ARCHIVE_CSP = "default-src 'none'; sandbox; frame-ancestors 'self'"
_COMMON_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-DNS-Prefetch-Control": "off",
    "Cross-Origin-Resource-Policy": "same-origin",
}
_KINDS = ("changed", "removed", "restored", "new", "dropped")
_TIMELINE_SIZE = 100  # versions on one screen of a page's history


def create_app(
    store: Store, watchlist: Watchlist, *, reader: Reader, token: str | None = None
) -> Any:
    """The ASGI app; with ``token``, every request must carry it (Basic or Bearer).

    ``reader`` reads again, in a reader process, a version stored by an older watcher
    before it is compared.
    """
    viewer = _Viewer(store, watchlist, reader)
    routes = [
        Route("/", viewer.pages_html),
        Route("/api/pages", viewer.pages_json),
        Route("/pages/{page_id:int}", viewer.page_html),
        Route("/api/pages/{page_id:int}", viewer.page_json),
        Route("/pages/{page_id:int}/diff", viewer.diff_html),
        Route("/api/pages/{page_id:int}/diff", viewer.diff_json),
        Route("/changes/{change_id:int}", viewer.change_html),
        Route("/api/changes/{change_id:int}", viewer.change_json),
        Route("/versions/{version_id:int}", viewer.version_html),
        Route("/api/versions/{version_id:int}", viewer.version_json),
        Route("/versions/{version_id:int}/raw", viewer.raw),
        Route("/versions/{version_id:int}/screenshot.png", viewer.screenshot),
        Route("/feeds/changes.atom", viewer.feed_all),
        Route("/feeds/tags/{tag}.atom", viewer.feed_tag),
        Route("/feeds/pages/{page_id:int}.atom", viewer.feed_page),
        Route("/style.css", viewer.stylesheet),
    ]
    app = Starlette(routes=routes, exception_handlers={WatcherError: _not_found})
    app.add_middleware(_SecurityHeaders)
    return TokenGate(app, token) if token else app


class _Viewer:
    """The views; each reads the database in a fixed number of queries."""

    def __init__(self, store: Store, watchlist: Watchlist, reader: Reader) -> None:
        self.store = store
        self.reader = reader
        self.watchlist = watchlist
        self.tags_of = {w.url: list(w.tags) for w in watchlist.watch}
        # Watchlist.find scans every watch; a feed asks once per entry
        self.watch_by_url = {canonical_url(w.url): w for w in watchlist.watch}
        self.env = Environment(
            loader=PackageLoader("watcher.serve", "templates"),
            autoescape=select_autoescape(["html", "xml"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["when"] = lambda moment: f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S}"
        self.env.filters["link"] = safe_link

    # --- pages list ---

    def _listing(self, request: Request) -> dict[str, Any]:
        query = request.query_params
        tag, kind = query.get("tag", ""), query.get("kind", "")
        since = _day(query.get("since", ""))
        page_number = max(1, _int(query.get("page"), 1))
        urls = [w.url for w in self.watchlist.watch if tag in w.tags] if tag else None
        where = PageFilter(urls=urls, kind=kind or None, since=since)
        listing = list_pages(self.store, where, offset=(page_number - 1) * PAGE_SIZE)
        filters = {k: v for k, v in (("tag", tag), ("kind", kind)) if v}
        if since:
            filters["since"] = since.date().isoformat()
        return {"listing": listing, "filters": filters, "page_number": page_number}

    def pages_html(self, request: Request) -> Response:
        found = self._listing(request)
        listing, filters, number = found["listing"], found["filters"], found["page_number"]
        root = _root(request)

        def link(page: int) -> str:
            return f"{root}/?{urlencode({**filters, 'page': page})}"

        has_next = listing.offset + len(listing.rows) < listing.total
        return self._html(
            request,
            "pages.html",
            title="Pages",
            listing=listing,
            tags=sorted({t for tags in self.tags_of.values() for t in tags}),
            kinds=_KINDS,
            tag=filters.get("tag", ""),
            kind=filters.get("kind", ""),
            since=filters.get("since", ""),
            tags_of=self.tags_of,
            prev_link=link(number - 1) if number > 1 else None,
            next_link=link(number + 1) if has_next else None,
        )

    def pages_json(self, request: Request) -> Response:
        listing = self._listing(request)["listing"]
        return JSONResponse(
            {
                "total": listing.total,
                "offset": listing.offset,
                "limit": listing.limit,
                "pages": [
                    {
                        **_page_json(row.page, self.tags_of),
                        "state": row.state,
                        "versions": row.version_count,
                        "last_change": change_json(row.last_change) if row.last_change else None,
                    }
                    for row in listing.rows
                ],
            }
        )

    # --- one page ---

    def _page(self, page_id: int) -> Page:
        page = self.store.get_page(page_id)
        if page is None:
            raise WatcherError(f"no page {page_id}")
        return page

    def page_html(self, request: Request) -> Response:
        page = self._page(request.path_params["page_id"])
        number = max(1, _int(request.query_params.get("page"), 1))
        window = timeline_window(self.store, page.id or 0, offset=(number - 1) * _TIMELINE_SIZE)
        ids = [v.id for v in window.versions]
        previous_of = dict(zip(ids, [*ids[1:], window.older_id], strict=True))
        here = f"{_root(request)}/pages/{page.id}"
        has_older = window.offset + len(window.versions) < window.total
        return self._html(
            request,
            "page.html",
            title=page.name or page.url,
            page=page,
            state=page_state(page, window.latest),
            window=window,
            previous_of=previous_of,
            newer_link=f"{here}?page={number - 1}" if number > 1 else None,
            older_link=f"{here}?page={number + 1}" if has_older else None,
        )

    def page_json(self, request: Request) -> Response:
        """The same window as the HTML: 100 versions, newest first, ``?page=N`` for older."""
        page = self._page(request.path_params["page_id"])
        number = max(1, _int(request.query_params.get("page"), 1))
        window = timeline_window(self.store, page.id or 0, offset=(number - 1) * _TIMELINE_SIZE)
        return JSONResponse(
            {
                "page": {
                    **_page_json(page, self.tags_of),
                    "state": page_state(page, window.latest),
                },
                "total_versions": window.total,
                "offset": window.offset,
                "limit": _TIMELINE_SIZE,
                "versions": [version_json(v) for v in window.versions],
                "changes": [change_json(c) for c in window.changes],
            }
        )

    # --- diffs ---

    def _versions_of(self, page: Page, request: Request) -> tuple[Snapshot, Snapshot]:
        query = request.query_params
        a, b = _int(query.get("a"), 0), _int(query.get("b"), 0)
        old, new = self.store.get_snapshot(a), self.store.get_snapshot(b)
        if old is None or new is None or old.page_id != page.id or new.page_id != page.id:
            raise WatcherError("no such versions of this page")
        return old, new

    def _diff(
        self, request: Request, page: Page, old: Snapshot, new: Snapshot, **extra: Any
    ) -> Response:
        comparison = compare_versions(self.store, self._watch(page), old, new, reader=self.reader)
        view = "side" if request.query_params.get("view") == "side" else "inline"
        base = f"{_root(request)}/pages/{page.id}/diff?a={old.id}&b={new.id}"
        # Headline, byline and date are one line each: shown whole; the body around edits.
        rows: dict[str, Sequence[Row | int]] = {
            p.part: collapse_unchanged(side_by_side(p.edits))
            if p.part == "body"
            else side_by_side(p.edits)
            for p in comparison.parts
        }
        return self._html(
            request,
            "diff.html",
            title=f"{page.name or page.url}: {old.id} → {new.id}",
            page=page,
            old=old,
            new=new,
            comparison=comparison,
            rows=rows,
            view=view,
            inline_link=base,
            side_link=base + "&view=side",
            json_link=f"{_root(request)}/api/pages/{page.id}/diff?a={old.id}&b={new.id}",
            change=extra.get("change"),
        )

    def diff_html(self, request: Request) -> Response:
        page = self._page(request.path_params["page_id"])
        old, new = self._versions_of(page, request)
        return self._diff(request, page, old, new)

    def diff_json(self, request: Request) -> Response:
        page = self._page(request.path_params["page_id"])
        old, new = self._versions_of(page, request)
        comparison = compare_versions(self.store, self._watch(page), old, new, reader=self.reader)
        return JSONResponse({"page_id": page.id, "url": page.url, **comparison_json(comparison)})

    def _change(self, change_id: int) -> tuple[Any, Page, tuple[Snapshot, Snapshot] | None]:
        change = self.store.get_change(change_id)
        if change is None:
            raise WatcherError(f"no change {change_id}")
        page = self._page(change.page_id)
        ids = [i for i in (change.previous_snapshot_id, change.snapshot_id) if i is not None]
        versions = [v for v in map(self.store.get_snapshot, ids) if v is not None]
        if change.kind == "restored":
            good = latest_good_before(self.store, change.page_id, change.snapshot_id)
            versions = [*([good] if good else []), *versions]
        return change, page, change_pair(versions, change)

    def change_html(self, request: Request) -> Response:
        change, page, pair = self._change(request.path_params["change_id"])
        if pair is None:  # a first version: nothing to compare it with
            return RedirectResponse(f"{_root(request)}/versions/{change.snapshot_id}", 303)
        return self._diff(request, page, *pair, change=change)

    def change_json(self, request: Request) -> Response:
        change, page, pair = self._change(request.path_params["change_id"])
        document: dict[str, Any] = {"page_id": page.id, "url": page.url, **change_json(change)}
        if pair is not None:
            comparison = compare_versions(self.store, self._watch(page), *pair, reader=self.reader)
            document["comparison"] = comparison_json(comparison)
        return JSONResponse(document)

    # --- versions ---

    def _version(self, version_id: int) -> tuple[Snapshot, Page]:
        version = self.store.get_snapshot(version_id)
        if version is None:
            raise WatcherError(f"no version {version_id}")
        return version, self._page(version.page_id)

    def version_html(self, request: Request) -> Response:
        version, page = self._version(request.path_params["version_id"])
        before = version_before(self.store, page.id or 0, version.id or 0)
        return self._html(
            request,
            "version.html",
            title=f"Version {version.id}",
            version=version,
            page=page,
            previous=before,
        )

    def version_json(self, request: Request) -> Response:
        version, page = self._version(request.path_params["version_id"])
        return JSONResponse({"page_id": page.id, "url": page.url, **version_json(version)})

    def raw(self, request: Request) -> Response:
        """The body byte for byte (verified against its hash), unable to run or fetch."""
        version, _ = self._version(request.path_params["version_id"])
        body = self.store.raw_body(version.body_sha256)
        headers = {"Content-Security-Policy": ARCHIVE_CSP, "Cache-Control": "no-store"}
        if request.query_params.get("download"):
            headers["Content-Disposition"] = f'attachment; filename="version-{version.id}.html"'
        media = {k.lower(): v for k, v in version.headers.items()}.get("content-type", "text/html")
        return Response(body, media_type=media, headers=headers)

    def screenshot(self, request: Request) -> Response:
        """The version's screenshot byte for byte (verified against its hash)."""
        version, _ = self._version(request.path_params["version_id"])
        if not version.screenshot_sha256:
            raise WatcherError(f"version {version.id} has no screenshot")
        png = self.store.raw_body(version.screenshot_sha256)
        headers = {"Content-Security-Policy": ARCHIVE_CSP, "Cache-Control": "no-store"}
        return Response(png, media_type="image/png", headers=headers)

    # --- feeds ---

    def _feed(self, request: Request, title: str, path: str, **where: Any) -> Response:
        base = self.watchlist.settings.base_url or str(request.base_url)
        xml = render_feed(
            self.env,
            self.store,
            self._watch,
            title=title,
            base_url=base.rstrip("/") + _root(request),
            path=path,
            kinds=frozenset(k.value for k in Kind if k.is_alerting) | {"dropped"},
            **where,
        )
        return Response(xml, media_type="application/atom+xml; charset=utf-8")

    def feed_all(self, request: Request) -> Response:
        return self._feed(request, "watcher: all changes", "/feeds/changes.atom")

    def feed_tag(self, request: Request) -> Response:
        tag = request.path_params["tag"]
        urls = [w.url for w in self.watchlist.watch if tag in w.tags]
        path = f"/feeds/tags/{tag}.atom"
        return self._feed(request, f"watcher: changes tagged {tag}", path, urls=urls)

    def feed_page(self, request: Request) -> Response:
        page = self._page(request.path_params["page_id"])
        path = f"/feeds/pages/{page.id}.atom"
        title = f"watcher: changes of {page.name or page.url}"
        return self._feed(request, title, path, page_ids=[page.id])

    def stylesheet(self, _request: Request) -> Response:
        loader = self.env.loader
        assert loader is not None
        css, _, _ = loader.get_source(self.env, "style.css")
        return Response(css, media_type="text/css; charset=utf-8")

    # --- helpers ---

    def _watch(self, page: Page) -> Watch:
        """The watch's ignore rules as configured now; defaults for a retired URL."""
        return self.watch_by_url.get(canonical_url(page.url)) or Watch(url=page.url)

    def _html(self, request: Request, template: str, **context: Any) -> Response:
        html = self.env.get_template(template).render(root=_root(request), **context)
        return HTMLResponse(html)


def safe_link(url: str) -> Markup:
    """An http(s) URL as a link that sends no referrer; any other scheme (``javascript:``,
    ``data:``) only as text, because redirect targets and final URLs come from servers."""
    if urlsplit(url).scheme.lower() in ("http", "https"):
        return Markup('<a href="{0}" rel="noreferrer noopener nofollow">{0}</a>').format(url)
    return escape(url)


class _SecurityHeaders:
    """Headers every response carries; the viewer's CSP unless a route set its own."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    async def __call__(self, scope: Mapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = dict(_COMMON_HEADERS)
                if b"content-security-policy" not in present:
                    extra["Content-Security-Policy"] = VIEWER_CSP
                message["headers"] = [
                    *message.get("headers", []),
                    *((k.lower().encode(), v.encode()) for k, v in extra.items()),
                ]
            await send(message)

        await self.app(scope, receive, with_headers)


async def _not_found(request: Request, exc: Exception) -> Response:
    if request.url.path.startswith(f"{_root(request)}/api/"):
        return JSONResponse({"error": str(exc)}, status_code=404)
    return HTMLResponse(f"<!doctype html><title>Not found</title><p>{escape(str(exc))}</p>", 404)


def _page_json(page: Page, tags_of: Mapping[str, list[str]]) -> dict[str, Any]:
    return {
        "id": page.id,
        "url": page.url,
        "name": page.name,
        "tags": tags_of.get(page.url, []),
        "is_active": page.is_active,
        "last_checked_at": page.last_checked_at.isoformat() if page.last_checked_at else None,
        "consecutive_errors": page.consecutive_errors,
        "record_sha256": page.last_record_sha256 or None,
    }


def _root(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value else default
    except ValueError:
        return default


def _day(value: str) -> datetime | None:
    try:
        return datetime.combine(date.fromisoformat(value), time(), tzinfo=UTC) if value else None
    except ValueError:
        return None
