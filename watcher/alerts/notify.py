"""Deliver outbox alerts through apprise (edge, I/O), with retry, backoff and give-up.

An alert is marked sent only when apprise reports success (it returns False rather than
raising). Route URLs hold secrets: they are only ever logged masked (apprise's
``url(privacy=True)``), and apprise's own debug log, which prints webhook URLs whole, is
kept quiet while sending.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

import apprise

from watcher.alerts import wayback
from watcher.alerts.message import AlertItem, Format, Message, render_message
from watcher.config import Route, Watchlist
from watcher.errors import NotifyError, StoreError
from watcher.store.models import Alert
from watcher.store.outbox import Recorder
from watcher.store.store import Store

logger = logging.getLogger(__name__)

LEASE_SECONDS = 300.0  # longer than any send: apprise's own timeouts are well under it
_FIRST_RETRY = timedelta(seconds=30)
_MAX_RETRY = timedelta(hours=1)
_DIGEST_BATCH = 500
_RECORD_RETRY_PAUSES = (0.1, 0.5, 2.0)  # seconds between attempts to record an accept
_FORMATS: Mapping[Format, str] = {
    "slack": apprise.NotifyFormat.MARKDOWN,
    "html": apprise.NotifyFormat.HTML,
    "text": apprise.NotifyFormat.TEXT,
}


@dataclass(frozen=True, slots=True)
class Target:
    """One apprise URL of a route; ``shown`` is the masked form, safe to log."""

    url: str
    shown: str
    fingerprint: str  # identifies the URL in the outbox without storing the secret


@dataclass(frozen=True, slots=True)
class TargetResult:
    target: str  # masked
    error: str | None


def route_targets(route: Route, environ: Mapping[str, str] | None = None) -> list[Target]:
    """The route's apprise URLs: inline, then from ``urls_env``, then from ``urls_file``.

    Read at send time, so a rotated credential is picked up without a restart.
    """
    env = os.environ if environ is None else environ
    urls = list(route.urls)
    if route.urls_env:
        value = env.get(route.urls_env)
        if not value:
            raise NotifyError(f"environment variable {route.urls_env} is not set")
        urls += value.split()
    if route.urls_file:
        try:
            lines = Path(route.urls_file).read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise NotifyError(f"cannot read {route.urls_file}: {exc.strerror}") from None
        urls += [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    return [_target(url) for url in urls]


def send_message(target: Target, message_for: Mapping[Format, Message]) -> str | None:
    """Send to one target in the format it takes; None on success, else apprise's error."""
    _guard_logs(target.url)
    sender = apprise.Apprise()
    if not sender.add(target.url):
        return f"{target.shown}: apprise cannot use this URL"
    fmt = _format_for(sender[0])
    message = message_for[fmt]
    try:
        result = sender.notify(
            body=message.body, title=message.title, body_format=_FORMATS[message.format]
        )
    except apprise.exception.AppriseException as exc:
        return f"{target.shown}: {exc}"
    if result:
        return None
    problems = [
        entry.message
        for entry in getattr(result, "logs", lambda: ())()
        if entry.level in ("WARNING", "ERROR", "CRITICAL")
    ]
    return f"{target.shown}: {'; '.join(problems) or 'apprise reported a failure'}"


def deliver_due(
    store: Store,
    watchlist: Watchlist,
    *,
    now: datetime | None = None,
    owner: str,
    limit: int = 50,
) -> int:
    """Send what is due: single alerts in order, digests whose window has closed.

    Returns how many alerts were delivered. A failing route is held back as a whole
    (its later alerts wait too, so they still arrive in order) with exponential backoff;
    an alert still failing ``settings.alert_give_up`` after it was written is given up
    with an error in the log. Safe to run from several daemons at once.
    """
    moment = now or datetime.now(UTC)
    digests = {name: route.digest for name, route in watchlist.notify.items() if route.digest}
    sent = 0
    claimed = store.outbox.claim_alerts(
        moment, owner=owner, lease_seconds=LEASE_SECONDS, limit=limit, exclude=list(digests)
    )
    held: set[str] = set()
    for alert in claimed:
        if alert.route in held:
            continue  # defer_alerts already released it; it keeps its place in line
        if _deliver(store, watchlist, [alert], moment, owner):
            sent += 1
        else:
            held.add(alert.route)
    for name, period in digests.items():
        window = store.outbox.pending_alert_window(name)
        if window is None or window[0] > moment - period or window[1] > moment:
            continue
        batch = store.outbox.claim_alerts(
            moment, owner=owner, lease_seconds=LEASE_SECONDS, limit=_DIGEST_BATCH, route=name
        )
        if batch and _deliver(store, watchlist, batch, moment, owner):
            sent += len(batch)
    return sent


def send_test(watchlist: Watchlist, route_name: str, now: datetime) -> list[TargetResult]:
    """Send a sample alert through every URL of a route; what each one answered."""
    route = watchlist.notify.get(route_name)
    if route is None:
        known = ", ".join(sorted(watchlist.notify)) or "none defined"
        raise NotifyError(f"no route named {route_name!r} (routes: {known})")
    item = AlertItem(
        kind="changed",
        page="watcher test alert",
        url="https://example.org/watcher-test",
        detected_at=now,
        event={
            "summary": "This is a test of the route; nothing has changed.",
            "parts": ["body"],
            "body": {"hunks": [[["=", "The route ", 0], ["-", "may", 0], ["+", "does", 0]]]},
        },
        route=route_name,
    )
    messages = _messages([item], route)
    return [
        TargetResult(target.shown, send_message(target, messages))
        for target in route_targets(route)
    ]


def _deliver(
    store: Store, watchlist: Watchlist, alerts: Sequence[Alert], now: datetime, owner: str
) -> bool:
    """Send ``alerts`` as one message to every target of their route; record the outcome."""
    name = alerts[0].route
    if name == wayback.ROUTE:  # an independent copy, not a message
        return wayback.deliver_captures(store, watchlist, alerts, now, owner)
    done = set.intersection(*(set(alert.delivered) for alert in alerts))
    ids = [alert.id for alert in alerts if alert.id is not None]
    route = watchlist.notify.get(name)
    error: str | None = None
    is_marked = False
    if route is None:
        error = f"no route named {name!r} in the watchlist"
    else:
        try:
            targets = route_targets(route)
            base_url = watchlist.settings.base_url
            messages = _messages([_item(store, alert, base_url) for alert in alerts], route)
        except NotifyError as exc:
            error = str(exc)
            targets = []
        # Targets in ``done`` accepted on an earlier attempt: they are never sent it again.
        waiting = [target for target in targets if target.fingerprint not in done]
        for position, target in enumerate(waiting):
            is_last = error is None and position == len(waiting) - 1
            with store.outbox.recorder() as recorder:  # connected before the send
                # Prepared before the send, committed right after the accept, each in its
                # own short transaction: a crash from then on repeats nothing accepted.
                if is_last:
                    recorder.prepare_sent(ids, now)
                else:
                    recorder.prepare_delivered(ids, sorted({*done, target.fingerprint}))
                problem = send_message(target, messages)
                if problem is not None:
                    recorder.discard()
                    error = problem if error is None else f"{error}; {problem}"
                    continue
                done.add(target.fingerprint)
                if is_last:
                    _record(recorder, store, "mark_alerts_sent", ids, now)
                    is_marked = True
                else:
                    _record(recorder, store, "note_delivered", ids, sorted(done))
    if error is None:
        if not is_marked:  # no target left to send to (all accepted earlier)
            store.outbox.mark_alerts_sent(ids, now)
        logger.info("sent %d alert(s) route=%s ids=%s", len(ids), name, ids)
        return True
    _retry_later(store, watchlist, alerts, now, owner, error, done)
    return False


def _record(
    recorder: Recorder,
    store: Store,
    what: Literal["mark_alerts_sent", "note_delivered"],
    ids: Sequence[int],
    value: datetime | Sequence[str],
) -> None:
    """Commit the accepted send's record prepared on the connection that waited for it;
    if the database failed it (a connection killed, a failover), write it again on fresh
    connections: until it is recorded, the send may be repeated."""
    try:
        recorder.commit()
        return
    except StoreError as exc:
        logger.warning("could not record an accepted alert, trying again: %s", exc)
    for pause in _RECORD_RETRY_PAUSES:
        try:
            getattr(store.outbox, what)(ids, value)
            return
        except StoreError as exc:
            logger.warning("could not record an accepted alert, trying again: %s", exc)
            time.sleep(pause)
    getattr(store.outbox, what)(ids, value)


def _retry_later(
    store: Store,
    watchlist: Watchlist,
    alerts: Sequence[Alert],
    now: datetime,
    owner: str,
    error: str,
    done: set[str],
) -> None:
    """Back off after a failed delivery, or give up on alerts past ``alert_give_up``."""
    name = alerts[0].route
    delay = min(_FIRST_RETRY * 2 ** min(alerts[0].attempts, 20), _MAX_RETRY)
    give_up = watchlist.settings.alert_give_up
    hold_until = now + delay
    for alert in alerts:
        alert_id = alert.id or 0
        deadline = alert.created_at + give_up
        if now >= deadline:
            store.outbox.give_up_alert(alert_id, now=now, error=error)
            logger.error(
                "gave up alert %d route=%s after %d attempts: %s",
                alert_id,
                name,
                alert.attempts + 1,
                error,
            )
            continue
        # the last try falls on the deadline itself, so give-up time is honoured
        retry_at = min(now + delay, deadline)
        hold_until = min(hold_until, retry_at)
        store.outbox.mark_alert_failed(
            alert_id, error=error, retry_at=retry_at, delivered=sorted(done)
        )
        logger.warning(
            "alert %d route=%s not delivered (attempt %d), retry at %s: %s",
            alert_id,
            name,
            alert.attempts + 1,
            retry_at.isoformat(),
            error,
        )
    # The route's later alerts wait as well, so they cannot overtake this one.
    store.outbox.defer_alerts(name, until=hold_until, owner=owner)


def _item(store: Store, alert: Alert, base_url: str | None = None) -> AlertItem:
    page = store.get_page(alert.page_id)
    url = page.url if page else ""
    link = ""
    if base_url and alert.change_id is not None:
        link = f"{base_url.rstrip('/')}/changes/{alert.change_id}"
    return AlertItem(
        change_url=link,
        kind=alert.kind,
        page=(page.name or page.url) if page else f"page {alert.page_id}",
        url=url,
        detected_at=alert.detected_at,
        event=alert.event,
        route=alert.route,
    )


def _messages(items: Sequence[AlertItem], route: Route) -> dict[Format, Message]:
    templates = {str(name): text for name, text in route.templates.items()}
    return {fmt: render_message(items, fmt, templates) for fmt in _FORMATS}


def _target(url: str) -> Target:
    fingerprint = hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]
    _guard_logs(url)
    plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    if plugin is None:
        return Target(url, f"{url.split(':', 1)[0]}://(unparsable)", fingerprint)
    shown = plugin.url(privacy=True)  # type: ignore[no-untyped-call]
    return Target(url, str(shown), fingerprint)


def _format_for(plugin: object) -> Format:
    """Email takes HTML (with a text part), Slack and other Markdown services Markdown."""
    declared = getattr(plugin, "notify_format", apprise.NotifyFormat.TEXT)
    formats = declared if isinstance(declared, tuple | list) else (declared,)
    if apprise.NotifyFormat.HTML in formats:
        return "html"
    if apprise.NotifyFormat.MARKDOWN in formats:
        return "slack"
    return "text"


class _Redactor(logging.Filter):
    """Masks route secrets in the records of the loggers that see request URLs.

    apprise logs whole webhook URLs at DEBUG and urllib3 logs every request path, and
    the tokens of a Slack or Discord webhook are in its path. Sends may run on apprise's
    own threads, so this filters by content rather than by thread.
    """

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            redacted = message
            for secret in self.secrets:
                redacted = redacted.replace(secret, "***")
            if redacted != message:
                record.msg, record.args = redacted, None
        return True


_REDACTOR = _Redactor()
_URL_PIECES = re.compile(r"[/:@?&=#,\s]+")


def _guard_logs(url: str) -> None:
    """Register ``url``'s pieces as secrets before apprise or urllib3 can log them."""
    pieces = _URL_PIECES.split(url.split("://", 1)[-1])
    _REDACTOR.secrets.update(piece for piece in pieces if len(piece) >= 6)
    for name in ("apprise", "urllib3.connectionpool"):
        target = logging.getLogger(name)
        if _REDACTOR not in target.filters:
            target.addFilter(_REDACTOR)
    apprise_logger = logging.getLogger("apprise")
    if apprise_logger.getEffectiveLevel() < logging.INFO:
        apprise_logger.setLevel(logging.INFO)  # its DEBUG lines dump payloads and URLs
