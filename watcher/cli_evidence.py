"""The evidence subcommands of ``watcher``: show, history, diff, export, verify, serve.

``cli.py`` hands them its subparsers and maps their errors to exit codes. None of them
ever writes, alters or deletes a stored version: they read the database and print,
export or serve what it holds.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from watcher.check.readers import OnDemandReader
from watcher.check.reading import start_readers
from watcher.config import Watch, Watchlist, load_watchlist
from watcher.errors import StoreError, WatcherError
from watcher.evidence.versions import (
    Comparison,
    change_json,
    change_pair,
    compare_versions,
    comparison_json,
    find_version,
    version_json,
)
from watcher.render import mark, render_edits

if TYPE_CHECKING:
    from watcher.store.models import Snapshot
    from watcher.store.store import Store


def add_commands(sub: Any) -> None:
    """Register the evidence subcommands on the ``watcher`` subparsers."""
    show = sub.add_parser("show", help="write one stored version exactly as it was received")
    show.add_argument("url")
    show.add_argument("version", nargs="?", default="latest", help="id, first, latest or hash")
    what = show.add_mutually_exclusive_group()
    for flag, helptext in (
        ("--html", "the raw body, byte for byte, verified against its SHA-256 (default)"),
        ("--text", "the headline, byline, date and text read from it"),
        ("--headers", "the status line, response headers and redirect hops"),
        ("--json", "everything stored about the version, as JSON"),
        ("--png", "its screenshot (browser watches), byte for byte, verified against its SHA-256"),
    ):
        what.add_argument(flag, dest="what", action="store_const", const=flag[2:], help=helptext)
    show.set_defaults(handler=_cmd_show, what="html")

    history = sub.add_parser("history", help="list the stored versions and changes of a page")
    history.add_argument("url")
    history.add_argument("--json", action="store_true", help="one JSON object")
    history.set_defaults(handler=_cmd_history)

    diff = sub.add_parser(
        "diff", help="compare two versions (default: the latest change) as checks compare them"
    )
    diff.add_argument("url")
    diff.add_argument("a", nargs="?", help="older version: id, first, latest or hash")
    diff.add_argument("b", nargs="?", help="newer version (default: the one after A)")
    diff.add_argument("--change", type=int, metavar="ID", help="the versions of change ID")
    diff.add_argument("--json", action="store_true", help="the comparison as JSON")
    diff.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    diff.add_argument("--full", action="store_true", help="show unchanged paragraphs too")
    diff.set_defaults(handler=_cmd_diff)

    export = sub.add_parser("export", help="write stored versions to a WARC file for archives")
    export.add_argument("--warc", type=Path, required=True, metavar="FILE.warc.gz")
    export.add_argument("urls", nargs="*", metavar="URL", help="pages (default: every page)")
    export.add_argument("--since", type=_moment, metavar="DATE", help="versions fetched since")
    export.add_argument("--tag", action="append", default=[], metavar="T", help="repeatable")
    export.set_defaults(handler=_cmd_export)

    verify = sub.add_parser(
        "verify", help="check every stored body against its SHA-256 and every page's hash chain"
    )
    verify.set_defaults(handler=_cmd_verify)

    serve = sub.add_parser("serve", help="a read-only web viewer of the evidence, with feeds")
    serve.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8470, help="port (default 8470)")
    serve.add_argument(
        "--token-file",
        type=Path,
        metavar="FILE",
        help="access token (default: $WATCHER_SERVE_TOKEN); required off 127.0.0.1",
    )
    serve.add_argument("--root-path", default="", help="URL prefix behind a reverse proxy")
    serve.set_defaults(handler=_cmd_serve)


def _moment(value: str) -> datetime:
    """An ISO 8601 date or time; without a zone it is UTC (evidence is dated in UTC)."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (use 2026-11-29)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _cmd_export(args: argparse.Namespace) -> int:
    from watcher.evidence.archive import export_warc

    watchlist = _watchlist(args)
    urls: list[str] | None = list(args.urls) or None
    if args.tag:
        tagged = [w.url for w in watchlist.watch if set(args.tag) & set(w.tags)]
        urls = list(dict.fromkeys([*(urls or []), *tagged]))
    store = _open(args)
    try:
        summary = export_warc(store, args.warc, urls=urls, since=args.since)
    finally:
        store.close()
    print(
        f"{args.warc}: {summary.versions} versions of {summary.pages} "
        f"page{'s' if summary.pages != 1 else ''}, "
        f"{summary.records} records",
        file=sys.stderr,
    )
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    """Exit 0 when all evidence holds, 1 when anything is broken (each break is listed)."""
    from watcher.store.verify import verify_store

    store = _open(args)
    try:
        report = verify_store(store)
    finally:
        store.close()
    for found in report.breaks:
        where = f"{found.url} version {found.version_id}" if found.version_id else found.url
        print(f"BROKEN {where or 'body'}: {found.problem}")
    print(
        f"{report.blobs} bodies, {report.pages} pages, {report.versions} versions checked: "
        + ("intact" if report.is_intact else f"{len(report.breaks)} problems"),
        file=sys.stderr,
    )
    return 0 if report.is_intact else 1


def _cmd_serve(args: argparse.Namespace) -> int:
    """Serve until SIGTERM/SIGINT; refuses a non-loopback address without a token."""
    import uvicorn

    from watcher.serve.access import check_bind, load_token
    from watcher.serve.app import create_app

    token = load_token(args.token_file)
    check_bind(args.host, token)
    watchlist = _watchlist(args)
    store = _open(args)
    reader = OnDemandReader(lambda: start_readers(watchlist.settings, processes=1, warm=False))
    try:
        app = create_app(store, watchlist, reader=reader, token=token)
        uvicorn.run(
            app,
            host=args.host,
            port=args.port,
            root_path=args.root_path,
            server_header=False,
            proxy_headers=False,
            log_level="info" if args.verbose else "warning",
        )
    finally:
        reader.close()
        store.close()
    return 0


def _watchlist(args: argparse.Namespace) -> Watchlist:
    """The watchlist when there is one: reading evidence needs only the database."""
    return load_watchlist(args.config) if args.config.exists() else Watchlist()


def _open(args: argparse.Namespace) -> Store:
    from watcher.cli import database_url
    from watcher.store.store import Store

    store = Store(database_url(_watchlist(args), args.config, args.database))
    store.migrate()
    return store


def _watch(args: argparse.Namespace) -> Watch:
    """The watch as configured now (its ignore rules), or the defaults for a retired URL."""
    return _watchlist(args).find(args.url) or Watch(url=args.url)


def _page_id(store: Store, url: str) -> int:
    page = store.page_by_url(url)
    if page is None or page.id is None:
        raise WatcherError(f"{url}: not in the database (has it been checked yet?)")
    return page.id


def _cmd_show(args: argparse.Namespace) -> int:
    store = _open(args)
    try:
        version = find_version(store.snapshots(_page_id(store, args.url)), args.version)
        body = store.raw_body(version.body_sha256) if args.what == "html" else b""
        if args.what == "png":
            if not version.screenshot_sha256:
                raise WatcherError(
                    f"{args.url}: version {version.id} has no screenshot "
                    '(only fetch = "browser" watches take them)'
                )
            body = store.raw_body(version.screenshot_sha256)
    finally:
        store.close()
    if args.what in ("html", "png"):
        sys.stdout.flush()
        sys.stdout.buffer.write(body)  # bytes as received: no decoding, no newline added
        sys.stdout.buffer.flush()
    elif args.what == "json":
        print(json.dumps(version_json(version), ensure_ascii=False, indent=2))
    elif args.what == "headers":
        print(_headers_text(version))
    else:
        print(_article_text(version))
    return 0


def _headers_text(version: Snapshot) -> str:
    lines = [f"{hop['status']} {hop['url']} -> {hop['location']}" for hop in version.redirects]
    lines.append(f"HTTP {version.status}  {version.final_url}")
    lines += [f"{name}: {value}" for name, value in version.headers.items()]
    return "\n".join(lines)


def _article_text(version: Snapshot) -> str:
    return (
        f"headline: {version.title}\nbyline:   {version.byline}\n"
        f"date:     {version.published}\n\n{version.text}"
    )


def _cmd_history(args: argparse.Namespace) -> int:
    store = _open(args)
    try:
        page_id = _page_id(store, args.url)
        versions = store.snapshots(page_id)
        changes = store.changes(page_id)
    finally:
        store.close()
    if args.json:
        document = {
            "url": args.url,
            "versions": [version_json(v) for v in versions],
            "changes": [change_json(c) for c in changes],
        }
        print(json.dumps(document, ensure_ascii=False, indent=2))
        return 0
    print(f"versions of {args.url}:")
    print(f"  {'id':>5}  {'fetched at (UTC)':<19}  status  {'state':<8}  sha256        title")
    for snap in versions:
        fetched = snap.fetched_at.strftime("%Y-%m-%d %H:%M:%S")
        state = snap.state if not snap.removal else f"{snap.state}:{snap.removal}"
        print(
            f"  {snap.id:>5}  {fetched:<19}  {snap.status:>6}  {state:<8}  "
            f"{snap.body_sha256[:12]}  {snap.title or snap.page_title}"
        )
    print("changes:")
    for change in changes:
        detected = change.detected_at.strftime("%Y-%m-%d %H:%M:%S")
        parts = ",".join(change.parts) or "-"
        print(f"  {change.id:>5}  {detected:<19}  {change.kind:<9} {parts:<20} {change.summary}")
    if not changes:
        print("  (none)")
    return 0


def _cmd_diff(args: argparse.Namespace) -> int:
    watch = _watch(args)
    store = _open(args)
    try:
        page_id = _page_id(store, args.url)
        versions = store.snapshots(page_id)
        old, new = _pair(store, page_id, versions, args)
        with OnDemandReader(
            lambda: start_readers(_watchlist(args).settings, 1, warm=False)
        ) as reader:
            comparison = compare_versions(store, watch, old, new, reader=reader)
    finally:
        store.close()
    if args.json:
        print(json.dumps({"url": args.url, **comparison_json(comparison)}, ensure_ascii=False))
        return 0
    color = args.color == "always" or (args.color == "auto" and sys.stdout.isatty())
    print(f"version {old.id} ({old.fetched_at:%Y-%m-%d %H:%M} UTC, {old.body_sha256[:12]})")
    print(f"     -> {new.id} ({new.fetched_at:%Y-%m-%d %H:%M} UTC, {new.body_sha256[:12]})")
    print(render_comparison(comparison, color=color, full=args.full))
    return 0


def _pair(
    store: Store, page_id: int, versions: Sequence[Snapshot], args: argparse.Namespace
) -> tuple[Snapshot, Snapshot]:
    """The two versions to compare: A and B, A and the version after it, or a change's."""
    if args.a is not None:
        old = find_version(versions, args.a)
        if args.b is not None:
            return old, find_version(versions, args.b)
        later = [v for v in versions if (v.id or 0) > (old.id or 0)]
        if not later:
            raise WatcherError(f"{args.url}: version {old.id} is the latest; name B")
        return old, later[0]
    if args.change is not None:
        change = store.get_change(args.change)
        if change is None or change.page_id != page_id:
            raise WatcherError(f"{args.url}: no change {args.change}")
    else:
        changes = [c for c in store.changes(page_id) if c.previous_snapshot_id]
        if not changes:
            raise WatcherError(f"{args.url}: no change to show yet")
        change = changes[-1]
    pair = change_pair(versions, change)
    if pair is None:
        raise StoreError(f"change {change.id} refers to a missing version")
    return pair


def render_comparison(comparison: Comparison, *, color: bool, full: bool = False) -> str:
    """Each changed part marked; the body with unchanged paragraphs elided unless ``full``."""
    lines: list[str] = []
    for part in comparison.parts[:-1]:
        text = "".join(mark(e.op, e.text, color=color) for e in part.edits)
        if part.is_changed or part.part == "headline":
            lines.append(f"{part.part}: {text}")
    if comparison.ignored:
        rules = ", ".join(repr(rule) for rule in comparison.ignored)
        lines.append(f"(compared as checks compare: this watch's ignore rules {rules} applied)")
    body = comparison.parts[-1]
    lines.append("")
    lines.append(render_edits(body.edits, color=color, full=full) if body.is_changed else "")
    if not body.is_changed:
        lines[-1] = "(body unchanged)"
    return "\n".join(lines)
