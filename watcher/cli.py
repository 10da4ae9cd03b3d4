"""Command line: parse arguments, call one function, map ``WatcherError`` to a message.

Exit codes: 0 nothing changed, 1 edits or removals found, 2 bad usage or watchlist,
3 database error, 4 some pages could not be checked (and nothing changed).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from watcher import __version__
from watcher.classify import Kind
from watcher.config import Watch, Watchlist, load_watchlist, schema_text
from watcher.errors import ConfigError, StoreError, WatcherError
from watcher.render import render_diff, render_inspect
from watcher.store import Store

if TYPE_CHECKING:
    from watcher.pipeline import CheckResult

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_CHANGES = 1
EXIT_USAGE = 2
EXIT_STORE = 3
EXIT_ERRORS = 4

DEFAULT_WATCHLIST = "watcher.toml"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``watcher`` command."""
    parser = _parser()
    args = parser.parse_args(argv)
    _setup_logging(args.verbose)
    try:
        code: int = args.handler(args)
    except ConfigError as exc:
        print(f"watcher: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except StoreError as exc:
        print(f"watcher: database: {exc}", file=sys.stderr)
        return EXIT_STORE
    except WatcherError as exc:
        print(f"watcher: {exc}", file=sys.stderr)
        return EXIT_ERRORS
    except KeyboardInterrupt:
        print("watcher: interrupted", file=sys.stderr)
        return 130
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="watcher",
        description="Detect stealth edits and removals of news articles.",
        epilog="Exit codes: 0 nothing changed, 1 changes found, 2 bad usage or watchlist, "
        "3 database error, 4 some pages could not be checked.",
    )
    parser.add_argument("--version", action="version", version=f"watcher {__version__}")
    parser.add_argument(
        "-c",
        "--config",
        type=Path,
        default=Path(os.environ.get("WATCHER_CONFIG", DEFAULT_WATCHLIST)),
        help="the watchlist (default: $WATCHER_CONFIG or ./watcher.toml)",
    )
    parser.add_argument(
        "--database", help="database URL (default: $WATCHER_DATABASE or settings.database)"
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = sub.add_parser("check", help="check every watched page once and report")
    check.add_argument("--json", action="store_true", help="one JSON object per line")
    check.add_argument("--all", action="store_true", help="also report unchanged pages")
    check.set_defaults(handler=_cmd_check)

    history = sub.add_parser("history", help="list the stored versions and changes of a page")
    history.add_argument("url")
    history.set_defaults(handler=_cmd_history)

    diff = sub.add_parser("diff", help="show a change as a word diff")
    diff.add_argument("url")
    diff.add_argument("change", nargs="?", type=int, help="change id (default: the latest)")
    diff.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    diff.add_argument("--full", action="store_true", help="show unchanged paragraphs too")
    diff.set_defaults(handler=_cmd_diff)

    validate = sub.add_parser("validate", help="check the watchlist and exit")
    validate.set_defaults(handler=_cmd_validate)

    inspect = sub.add_parser(
        "inspect", help="show what watcher reads from one page, without storing anything"
    )
    inspect.add_argument("url")
    inspect.add_argument("--mode", choices=("article", "selector", "page"))
    inspect.add_argument("--selector")
    inspect.add_argument("--exclude", action="append", default=None, metavar="CSS")
    inspect.add_argument("--ignore", action="append", default=None, metavar="REGEX")
    inspect.set_defaults(handler=_cmd_inspect)

    schema = sub.add_parser("schema", help="print the watchlist's JSON schema")
    schema.set_defaults(handler=_cmd_schema)
    return parser


def _setup_logging(verbosity: int) -> None:
    level = logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def database_url(watchlist: Watchlist, config_path: Path, override: str | None) -> str:
    """--database, then $WATCHER_DATABASE, then settings.database.

    A relative SQLite path is taken relative to the watchlist's folder, so the same
    file is used whatever directory watcher is started from.
    """
    url = override or os.environ.get("WATCHER_DATABASE") or watchlist.settings.database
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/"):
        relative = url[len(prefix) :]
        if relative and relative != ":memory:":
            url = prefix + str((config_path.parent / relative).resolve())
    return url


def _open_store(args: argparse.Namespace, watchlist: Watchlist) -> Store:
    store = Store(database_url(watchlist, args.config, args.database))
    store.migrate()
    return store


def _cmd_check(args: argparse.Namespace) -> int:
    from watcher.pipeline import run_pass

    watchlist = load_watchlist(args.config)
    if not watchlist.watch:
        print(f"{args.config}: no [[watch]] entries; nothing to check", file=sys.stderr)
        return EXIT_OK
    store = _open_store(args, watchlist)
    progress = _Progress(len(watchlist.watch), sys.stderr)
    try:
        results = run_pass(store, watchlist, on_result=lambda _result: progress.step())
    finally:
        progress.close()
        store.close()

    counts: dict[Kind, int] = dict.fromkeys(Kind, 0)
    for result in results:
        counts[result.verdict.kind] += 1
        if result.verdict.kind is Kind.UNCHANGED and not args.all:
            continue
        if args.json:
            print(json.dumps(_result_json(result), ensure_ascii=False))
        else:
            print(_result_line(result))
    if not args.json:
        print(_totals(len(results), counts), file=sys.stderr)
    if counts[Kind.CHANGED] or counts[Kind.REMOVED] or counts[Kind.RESTORED]:
        return EXIT_CHANGES
    if counts[Kind.ERROR]:
        return EXIT_ERRORS
    return EXIT_OK


def _result_json(result: CheckResult) -> dict[str, object]:
    verdict = result.verdict
    return {
        "url": result.url,
        "name": result.name,
        "kind": verdict.kind.value,
        "parts": [part.value for part in verdict.parts],
        "removal": verdict.removal.value if verdict.removal else None,
        "summary": verdict.summary,
        "words_added": verdict.words_added,
        "words_removed": verdict.words_removed,
        "status": result.status,
        "detected_at": result.checked_at.isoformat(),
        "change_id": result.change_id,
        "snapshot_id": result.snapshot_id,
    }


def _result_line(result: CheckResult) -> str:
    kind = result.verdict.kind.value.upper()
    ref = f"  [change {result.change_id}]" if result.change_id else ""
    summary = result.verdict.summary or "no change"
    return f"{kind:<9} {result.name}\n          {summary}{ref}"


def _totals(total: int, counts: dict[Kind, int]) -> str:
    shown = ", ".join(f"{counts[kind]} {kind.value}" for kind in Kind if counts[kind])
    return f"{total} page{'s' if total != 1 else ''} checked: {shown or 'nothing to report'}"


class _Progress:
    """A one-line progress counter on a terminal; silent when stderr is not a TTY."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total = total
        self.done = 0
        self.stream = stream
        self.enabled = stream.isatty() and total > 1

    def step(self) -> None:
        self.done += 1
        if self.enabled:
            width = 30
            filled = width * self.done // self.total
            bar = "#" * filled + "-" * (width - filled)
            self.stream.write(f"\r[{bar}] {self.done}/{self.total}")
            self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r" + " " * 50 + "\r")
            self.stream.flush()


def _page_or_fail(store: Store, url: str) -> int:
    page = store.page_by_url(url)
    if page is None or page.id is None:
        raise WatcherError(f"{url}: not in the database (has it been checked yet?)")
    return page.id


def _cmd_history(args: argparse.Namespace) -> int:
    watchlist = load_watchlist(args.config)
    store = _open_store(args, watchlist)
    try:
        page_id = _page_or_fail(store, args.url)
        snapshots = store.snapshots(page_id)
        changes = store.changes(page_id)
    finally:
        store.close()
    print(f"versions of {args.url}:")
    print(f"  {'id':>5}  {'fetched at (UTC)':<19}  status  {'state':<8}  sha256        title")
    for snap in snapshots:
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
    return EXIT_OK


def _cmd_diff(args: argparse.Namespace) -> int:
    from watcher.pipeline import snapshot_article

    watchlist = load_watchlist(args.config)
    store = _open_store(args, watchlist)
    try:
        page_id = _page_or_fail(store, args.url)
        if args.change is not None:
            change = store.get_change(args.change)
            if change is None or change.page_id != page_id:
                raise WatcherError(f"{args.url}: no change {args.change}")
        else:
            candidates = [c for c in store.changes(page_id) if c.previous_snapshot_id]
            if not candidates:
                raise WatcherError(f"{args.url}: no change to show yet")
            change = candidates[-1]
        new = store.get_snapshot(change.snapshot_id)
        old = (
            store.get_snapshot(change.previous_snapshot_id) if change.previous_snapshot_id else None
        )
        if change.kind == Kind.RESTORED.value:
            # A restoration is shown against the last good version, not the removal notice.
            earlier = [
                s
                for s in store.snapshots(page_id)
                if s.state == "ok" and s.id is not None and s.id < change.snapshot_id
            ]
            old = earlier[-1] if earlier else old
    finally:
        store.close()
    if new is None:
        raise StoreError(f"change {change.id} refers to a missing snapshot")
    color = args.color == "always" or (args.color == "auto" and sys.stdout.isatty())
    header = f"change {change.id} ({change.kind}) detected {change.detected_at:%Y-%m-%d %H:%M} UTC"
    print(header)
    print(f"  {change.summary}")
    old_article = snapshot_article(old) if old else None
    print(render_diff(old_article, snapshot_article(new), color=color, full=args.full))
    return EXIT_OK


def _cmd_validate(args: argparse.Namespace) -> int:
    watchlist = load_watchlist(args.config)
    routes = len(watchlist.notify)
    print(
        f"{args.config}: OK, {len(watchlist.watch)} watch"
        f"{'es' if len(watchlist.watch) != 1 else ''}, {routes} route{'s' if routes != 1 else ''}"
    )
    return EXIT_OK


def _cmd_inspect(args: argparse.Namespace) -> int:
    import requests

    from watcher.fetch import fetch_page
    from watcher.normalize import compile_ignore, normalize_article
    from watcher.pipeline import fetch_options, read_article

    watchlist = load_watchlist(args.config) if args.config.exists() else Watchlist()
    base = watchlist.find(args.url) or Watch(url=args.url)
    update: dict[str, object] = {}
    if args.mode:
        update["mode"] = args.mode
    if args.selector:
        update["selector"] = args.selector
        update.setdefault("mode", "selector")
    if args.exclude is not None:
        update["exclude"] = args.exclude
    if args.ignore is not None:
        update["ignore"] = args.ignore
    try:
        watch = Watch.model_validate({**base.model_dump(exclude_none=True), **update})
    except ValueError as exc:
        raise ConfigError(f"inspect: {exc}") from None
    with requests.Session() as session:
        fetched = fetch_page(session, watch.url, fetch_options(watchlist.settings, watch))
    article = read_article(fetched.text, watch, fetched.final_url) if fetched.text else None
    normalized = normalize_article(article, compile_ignore(watch.ignore)) if article else None
    print(render_inspect(fetched, normalized, watch))
    return EXIT_OK


def _cmd_schema(args: argparse.Namespace) -> int:
    sys.stdout.write(schema_text())
    return EXIT_OK
