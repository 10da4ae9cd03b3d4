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
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from watcher import __version__, cli_evidence
from watcher.check.readers import run_as_package_main
from watcher.config import Watch, Watchlist, load_watchlist, schema_text
from watcher.errors import ConfigError, StoreError, WatcherError
from watcher.judge.classify import Kind
from watcher.render import render_inspect
from watcher.store.store import Store

if TYPE_CHECKING:
    from datetime import datetime

    from watcher.check.pipeline import CheckResult
    from watcher.fetch import FetchResult
    from watcher.store.models import Change, Page, Snapshot

    _ListingRow = tuple[Watch, Page | None, Snapshot | None, Change | None]

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_CHANGES = 1
EXIT_USAGE = 2
EXIT_STORE = 3
EXIT_ERRORS = 4

DEFAULT_WATCHLIST = "watcher.toml"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``watcher`` command."""
    run_as_package_main()
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

    run = sub.add_parser(
        "run", help="check every page on its schedule until stopped (systemd Type=notify)"
    )
    run.add_argument(
        "--stop-timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="on SIGTERM, how long checks in flight may take to finish (default 30)",
    )
    run.add_argument(
        "--lease",
        type=float,
        metavar="SECONDS",
        help="how long a claimed page stays reserved (default 1.5 x (deadline + 30s)); "
        "must exceed the longest check",
    )
    run.set_defaults(handler=_cmd_run)

    demo = sub.add_parser(
        "demo", help="watch a local demo news site that edits and deletes articles (offline)"
    )
    demo.set_defaults(handler=_cmd_demo)

    add = sub.add_parser("add", help="add a page to the watchlist, keeping its comments")
    add.add_argument("url")
    add.add_argument("--name", help="shown in reports (default: the URL)")
    add.add_argument("--tag", action="append", default=[], metavar="TAG", help="repeatable")
    add.add_argument("--tags", metavar="A,B", help="comma-separated tags")
    add.add_argument("--every", metavar="DURATION", help="interval, e.g. 10m (default: settings)")
    add.add_argument("--cron", metavar="EXPR", help='UTC cron schedule, e.g. "*/10 6-22 * * *"')
    add.add_argument("--mode", choices=("article", "selector", "page"))
    add.add_argument("--selector", metavar="CSS", help="read only these elements (mode selector)")
    add.add_argument("--ignore", action="append", metavar="REGEX", help="repeatable")
    add.add_argument("--exclude", action="append", metavar="CSS", help="repeatable")
    add.add_argument("--notify", action="append", metavar="ROUTE", help="repeatable")
    add.set_defaults(handler=_cmd_add)

    bulk = sub.add_parser(
        "import", help="add many watches: a URL list, OPML (feeds become sources) or JSON Lines"
    )
    bulk.add_argument("file", type=Path, help="one URL a line, an OPML file, or JSON Lines")
    bulk.add_argument("--dry-run", action="store_true", help="report, write nothing")
    bulk.set_defaults(handler=_cmd_import)

    remove = sub.add_parser("remove", help="remove a page from the watchlist; history stays")
    remove.add_argument("url")
    remove.set_defaults(handler=_cmd_remove)

    listing = sub.add_parser("list", help="list watched pages: state, last check and change")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.add_argument(
        "--tiers", action="store_true", help="how many pages are on each age tier, and retired"
    )
    listing.set_defaults(handler=_cmd_list)

    # show, history, diff (and the evidence exports): watcher.cli_evidence
    cli_evidence.add_commands(sub)

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
    inspect.add_argument(
        "--body",
        metavar="SHA256",
        help="read a body stored in the database (e.g. one a reader failed on) instead of "
        "fetching the URL; a unique prefix of its SHA-256 is enough",
    )
    inspect.add_argument(
        "--browser",
        action="store_true",
        help="also load the page in headless Chromium and show what it read next to what a "
        "plain request read (pip install 'watcher[browser]')",
    )
    inspect.set_defaults(handler=_cmd_inspect)

    schema = sub.add_parser("schema", help="print the watchlist's JSON schema")
    schema.set_defaults(handler=_cmd_schema)

    test_notify = sub.add_parser(
        "test-notify", help="send a sample alert through a route and report what happened"
    )
    test_notify.add_argument("route", nargs="?", help="route name (default: every route)")
    test_notify.set_defaults(handler=_cmd_test_notify)
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
    from watcher.check.pipeline import run_pass
    from watcher.check.reading import start_readers
    from watcher.heap import limit_arenas

    limit_arenas()  # before the fetch threads
    watchlist = load_watchlist(args.config)
    if not watchlist.watch:
        print(f"{args.config}: no [[watch]] entries; nothing to check", file=sys.stderr)
        return EXIT_OK
    # No more readers than pages: one page needs one reader to start, not one per CPU.
    # They start first, so that their imports overlap opening and migrating the database.
    wanted = min(watchlist.settings.readers or os.cpu_count() or 1, len(watchlist.watch))
    readers = start_readers(watchlist.settings, processes=wanted, warm=False)
    try:
        store = _open_store(args, watchlist)
    except BaseException:
        readers.close(kill=True)
        raise
    progress = _Progress(len(watchlist.watch), sys.stderr)
    try:
        with readers:
            results = run_pass(
                store, watchlist, on_result=lambda _result: progress.step(), reader=readers
            )
        progress.close()
        # A cron-style user has no daemon: deliver this pass's alerts (and older ones) now.
        _deliver_alerts(store, watchlist)
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


def _deliver_alerts(store: Store, watchlist: Watchlist) -> None:
    from watcher.alerts.notify import deliver_due
    from watcher.store.workers import new_owner

    owner = new_owner()
    try:
        while sent := deliver_due(store, watchlist, owner=owner, limit=100):
            logger.info("delivered %d alerts", sent)
    finally:
        store.outbox.forget_owner(owner)
    pending = store.outbox.alert_counts()["pending"]
    if pending:
        print(f"{pending} alerts not delivered yet; they are retried later", file=sys.stderr)


def _cmd_run(args: argparse.Namespace) -> int:
    """The daemon: check pages on their schedules until SIGTERM/SIGINT; SIGHUP reloads."""
    from watcher.heap import limit_arenas
    from watcher.service.daemon import Daemon, DaemonOptions

    limit_arenas()  # before any thread
    watchlist = load_watchlist(args.config)
    if args.verbose == 0:
        logging.getLogger().setLevel(logging.INFO)  # a daemon reports starts, reloads, changes
    store = _open_store(args, watchlist)
    options = DaemonOptions(stop_timeout_seconds=args.stop_timeout, lease_seconds=args.lease)
    try:
        Daemon(store, watchlist, config_path=args.config, options=options).run()
    finally:
        store.close()
    return EXIT_OK


def _cmd_demo(args: argparse.Namespace) -> int:
    """An offline demonstration: one edit and one removal caught, the noise ignored."""
    from watcher.demo import run_demo

    outcome = run_demo(sys.stdout)
    return EXIT_OK if outcome.is_as_expected else EXIT_ERRORS


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
        # nothing new: the page still fails exactly as it did at the check before
        "repeat": result.is_repeat,
    }


def _result_line(result: CheckResult) -> str:
    kind = result.verdict.kind.value.upper()
    ref = f"  [change {result.change_id}]" if result.change_id else ""
    summary = result.verdict.summary or "no change"
    if result.is_repeat:
        summary = f"still failing the same way ({summary})"
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


def _cmd_validate(args: argparse.Namespace) -> int:
    watchlist = load_watchlist(args.config)
    routes = len(watchlist.notify)
    sources = len(watchlist.source)
    print(
        f"{args.config}: OK, {len(watchlist.watch)} watch"
        f"{'es' if len(watchlist.watch) != 1 else ''}, {routes} route{'s' if routes != 1 else ''}"
        + (f", {sources} source{'s' if sources != 1 else ''}" if sources else "")
    )
    return EXIT_OK


def _cmd_add(args: argparse.Namespace) -> int:
    """Append a [[watch]] table; the file is replaced atomically so a daemon never reads half."""
    from watcher.watchlist import (
        NEW_WATCHLIST,
        add_watch,
        format_watch,
        read_source,
        write_atomically,
    )

    is_new = not args.config.exists()
    source = NEW_WATCHLIST if is_new else read_source(args.config)
    tags = [*args.tag, *(args.tags.split(",") if args.tags else [])]
    fields: dict[str, object] = {
        "url": args.url,
        "name": args.name,
        "tags": list(dict.fromkeys(tag.strip() for tag in tags if tag.strip())) or None,
        "mode": args.mode or ("selector" if args.selector else None),
        "selector": args.selector,
        "exclude": args.exclude,
        "ignore": args.ignore,
        "every": args.every,
        "cron": args.cron,
        "notify": args.notify,
    }
    text = add_watch(source, fields, filename=str(args.config))
    write_atomically(args.config, text, expected=None if is_new else source)
    print(f"added to {args.config}{' (new file)' if is_new else ''}:")
    print(_indent(format_watch(fields)))
    return EXIT_OK


def _cmd_import(args: argparse.Namespace) -> int:
    """Append every entry of FILE that validates; report what was added and skipped."""
    from watcher.importing import import_entries, read_entries
    from watcher.watchlist import NEW_WATCHLIST, read_source, write_atomically

    try:
        data = args.file.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{args.file}: cannot read: {exc}") from None
    entries, unreadable = read_entries(data)
    is_new = not args.config.exists()
    source = NEW_WATCHLIST if is_new else read_source(args.config)
    result = import_entries(source, entries, filename=str(args.config))
    if result.added and not args.dry_run:
        write_atomically(args.config, result.text, expected=None if is_new else source)
    watches = sum(1 for e in result.added if e.table == "watch")
    verb = "would add" if args.dry_run else "added"
    print(f"{verb} {watches} watches and {len(result.added) - watches} sources to {args.config}")
    for entry in result.added:
        print(f"  + {args.file}:{entry.line}: [[{entry.table}]] {entry.fields['url']}")
    skipped = sorted([*unreadable, *result.skipped])
    if skipped:
        print(f"skipped {len(skipped)}:")
        for line, reason in skipped:
            print(f"  - {args.file}:{line}: {reason}")
    return EXIT_OK


def _cmd_remove(args: argparse.Namespace) -> int:
    """Delete the URL's [[watch]] table; the database keeps every version as evidence."""
    from watcher.watchlist import read_source, remove_watch, watch_block, write_atomically

    source = read_source(args.config)
    text = remove_watch(source, args.url, filename=str(args.config))
    removed = watch_block(source, args.url, filename=str(args.config))
    write_atomically(args.config, text, expected=source)
    print(f"removed from {args.config}:")
    print(_indent(removed))
    print(f"Its history stays in the database: watcher history {args.url}")
    return EXIT_OK


def _indent(block: str) -> str:
    return "\n".join(f"  {line}" for line in block.splitlines())


def _cmd_list(args: argparse.Namespace) -> int:
    """One row per watch, in watchlist order; pages the database has not seen are 'never
    checked', so a freshly added URL shows up before the daemon gets to it."""
    from datetime import UTC, datetime

    watchlist = load_watchlist(args.config)
    if not watchlist.watch and not watchlist.source:
        print(f"{args.config}: no [[watch]] or [[source]] entries", file=sys.stderr)
        return EXIT_OK
    store = _open_store(args, watchlist)
    if args.tiers:
        return _print_tiers(store)
    try:
        rows, found_by = _listing_rows(store, watchlist)
    finally:
        store.close()
    if not rows:
        print(f"{args.config}: no pages yet (sources are read by watcher run)", file=sys.stderr)
        return EXIT_OK
    now = datetime.now(UTC)
    if args.json:
        for row in rows:
            listed = _listing_json(*row)
            listed["sources"] = found_by.get(row[1].id or 0, []) if row[1] else []
            print(json.dumps(listed, ensure_ascii=False))
        return EXIT_OK
    _print_listing(rows, found_by, now)
    return EXIT_OK


def _listing_rows(
    store: Store, watchlist: Watchlist
) -> tuple[list[_ListingRow], dict[int, list[str]]]:
    """The hand-written watches in file order, then the articles sources found, newest
    first; each with its page, latest version and last change, and the sources by page."""
    found_by = store.sources.sources_by_page()
    pages: list[tuple[Watch, Page | None]] = [
        (watch, store.page_by_url(watch.url)) for watch in watchlist.watch
    ]
    pages += [
        (Watch(url=page.url, name=page.name), page)
        for page in sorted(
            store.all_pages(), key=lambda p: p.discovered_at or p.created_at, reverse=True
        )
        if page.is_active and page.source_id is not None and watchlist.find(page.url) is None
    ]
    rows: list[_ListingRow] = []
    for watch, page in pages:
        if page is None or page.id is None:
            rows.append((watch, None, None, None))
            continue
        changes = store.changes(page.id)
        rows.append((watch, page, store.latest_snapshot(page.id), changes[-1] if changes else None))
    return rows, found_by


def _print_listing(
    rows: Sequence[_ListingRow], found_by: Mapping[int, list[str]], now: datetime
) -> None:
    width = min(40, max(len(watch.label) for watch, *_ in rows))
    print(
        f"{'WATCH':<{width}}  {'STATE':<16}  {'LAST CHECK (UTC)':<26}  "
        f"{'LAST CHANGE':<28}  NEXT CHECK"
    )
    for watch, page, latest, change in rows:
        label = watch.label if len(watch.label) <= width else watch.label[: width - 1] + "…"
        checked = _moment(page.last_checked_at if page else None, now)
        changed = "-"
        if change is not None:  # the id is what `watcher diff URL CHANGE` takes
            changed = f"{change.kind} {_ago(change.detected_at, now)} (#{change.id})"
        print(
            f"{label:<{width}}  {_page_state(page, latest):<16}  {checked:<26}  "
            f"{changed:<28}  {_next_check(page, now)}"
        )
        if watch.name:
            print(f"  {watch.url}")
        if page is not None and found_by.get(page.id or 0):
            print(f"  from {', '.join(found_by[page.id or 0])}")


def _print_tiers(store: Store) -> int:
    """Pages per age tier (fastest first), retired pages, and the rest on every/cron."""
    from watcher.service.tiers import tier_label

    try:
        counts = store.sources.tier_counts()
        active = sum(1 for page in store.all_pages() if page.is_active)
    finally:
        store.close()
    print(f"{'TIER':<10}  PAGES")
    for every, count in sorted(counts.items(), key=lambda kv: (kv[0] is None, kv[0] or 0)):
        print(f"{tier_label(every):<10}  {count}")
    print(f"{'every/cron':<10}  {active - sum(counts.values())}")
    return EXIT_OK


def _page_state(page: Page | None, latest: Snapshot | None) -> str:
    if page is None:
        return "never checked"
    if not page.is_active:
        return "inactive"  # re-added; active again once the daemon or check syncs
    if page.consecutive_errors:
        return f"error streak {page.consecutive_errors}"
    if latest is not None and latest.state == "removed":
        return f"removed:{latest.removal or 'unknown'}"
    if page.last_checked_at is None:
        return "never checked"
    return "ok"


def _listing_json(
    watch: Watch, page: Page | None, latest: Snapshot | None, change: Change | None
) -> dict[str, object]:
    def iso(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment else None

    return {
        "url": watch.url,
        "name": watch.name,
        "tags": watch.tags,
        "state": _page_state(page, latest),
        "removal": latest.removal if latest and latest.state == "removed" else None,
        "last_checked_at": iso(page.last_checked_at) if page else None,
        "last_status": page.last_status if page else None,
        "last_error": page.last_error if page else None,
        "consecutive_errors": page.consecutive_errors if page else 0,
        "last_change_id": change.id if change else None,
        "last_change_kind": change.kind if change else None,
        "last_change_at": iso(change.detected_at) if change else None,
        "last_change_summary": change.summary if change else None,
        "next_check_at": iso(page.next_check_at) if page and page.is_active else None,
    }


def _moment(moment: datetime | None, now: datetime) -> str:
    """``2026-11-29 20:12 (3m ago)``: exact for the record, relative for the reader."""
    return f"{moment:%Y-%m-%d %H:%M} ({_ago(moment, now)})" if moment else "-"


def _next_check(page: Page | None, now: datetime) -> str:
    if page is None or not page.is_active or page.next_check_at is None:
        return "-"
    return "due" if page.next_check_at <= now else _ago(page.next_check_at, now)


def _ago(moment: datetime, now: datetime) -> str:
    """``3m ago`` or ``in 12m``, in the largest whole unit."""
    seconds = int((now - moment).total_seconds())
    amount = abs(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if amount >= size or unit == "s":
            text = f"{amount // size}{unit}"
            break
    return f"{text} ago" if seconds >= 0 else f"in {text}"


def _cmd_inspect(args: argparse.Namespace) -> int:
    import requests

    from watcher.check.reading import compare_rules, fetch_options, read_article, start_readers
    from watcher.fetch import fetch_page
    from watcher.read.normalize import normalize_article

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
    if args.body:
        store = _open_store(args, watchlist)
        try:
            fetched = _stored_fetch(store, watch.url, args.body)
        finally:
            store.close()
    else:
        with requests.Session() as session:
            fetched = fetch_page(session, watch.url, fetch_options(watchlist.settings, watch))
    with start_readers(watchlist.settings, processes=1, warm=False) as readers:
        article = (
            readers.run(read_article, fetched.text, watch, fetched.final_url)
            if fetched.text
            else None
        )
    normalized = normalize_article(article, compare_rules(watch)) if article else None
    if args.browser:
        from watcher.cli_browser import inspect_in_browser

        print(inspect_in_browser(watchlist.settings, watch, fetched, normalized))
        return EXIT_OK
    print(render_inspect(fetched, normalized, watch))
    from watcher.cli_browser import shell_hint

    hint = shell_hint(fetched, normalized)
    if hint:
        print(f"\n{hint}")
    return EXIT_OK


def _stored_fetch(store: Store, url: str, sha256_prefix: str) -> FetchResult:
    """A stored body presented as a fetch of ``url``, for ``inspect --body``."""
    from datetime import UTC, datetime

    from watcher.fetch import FetchResult
    from watcher.read.decode import decode_body

    sha256, body = store.body_by_prefix(sha256_prefix)
    text, encoding = decode_body(body, None)
    print(f"stored body {sha256} ({len(body)} bytes, {encoding})", file=sys.stderr)
    return FetchResult(
        url=url,
        final_url=url,
        status=200,
        headers={},
        body=body,
        text=text,
        encoding=encoding,
        redirects=(),
        fetched_at=datetime.now(UTC),
        elapsed_seconds=0.0,
    )


def _cmd_test_notify(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from watcher.alerts.notify import send_test

    watchlist = load_watchlist(args.config)
    names = [args.route] if args.route else sorted(watchlist.notify)
    if not names:
        raise ConfigError(f"{args.config}: no [notify.*] routes defined")
    failed = 0
    for name in names:
        for outcome in send_test(watchlist, name, datetime.now(UTC)):
            if outcome.error is None:
                print(f"{name}: sent to {outcome.target}")
            else:
                failed += 1
                print(f"{name}: FAILED {outcome.error}")
    return EXIT_ERRORS if failed else EXIT_OK


def _cmd_schema(args: argparse.Namespace) -> int:
    sys.stdout.write(schema_text())
    return EXIT_OK
