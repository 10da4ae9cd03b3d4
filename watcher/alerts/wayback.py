"""An independent copy at the Internet Archive: Save Page Now for confirmed changes (edge).

Delivered through the alert outbox as the route ``archive:wayback``, so a capture survives
restarts and outages and is retried with backoff like an alert. Captures are spaced at
least ``MIN_INTERVAL`` apart to respect the archive's limits. It only ever sends the page's
public URL, never stored evidence, and records where the capture is on the change.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urljoin

import requests

from watcher.config import ARCHIVE_ROUTE_PREFIX, Watchlist
from watcher.errors import NotifyError
from watcher.store.models import Alert
from watcher.store.store import Store

logger = logging.getLogger(__name__)

ROUTE = ARCHIVE_ROUTE_PREFIX + "wayback"
MIN_INTERVAL = timedelta(seconds=20)  # between two captures, whatever the archive allows
_FIRST_RETRY = timedelta(minutes=2)
_MAX_RETRY = timedelta(hours=6)
_TIMEOUT_SECONDS = 120.0  # Save Page Now answers once the capture is done


@dataclass(frozen=True, slots=True)
class Capture:
    """Where the archive keeps its copy."""

    url: str


def save_page(session: requests.Session, url: str, endpoint: str) -> Capture:
    """Ask Save Page Now to capture ``url``; raises ``NotifyError`` when it did not.

    The archive answers with a redirect to the capture or names it in Content-Location;
    a 429 or 5xx is worth retrying later, any other answer is not.
    """
    try:
        response = session.get(endpoint + url, timeout=_TIMEOUT_SECONDS, allow_redirects=False)
    except requests.RequestException as exc:
        raise NotifyError(f"Save Page Now: {exc.__class__.__name__}") from None
    with response:
        where = response.headers.get("location") or response.headers.get("content-location")
        if response.status_code < 400 and where and "/web/" in where:
            return Capture(urljoin(endpoint, where))
        permanent = response.status_code < 500 and response.status_code != 429
        raise CaptureError(f"Save Page Now answered {response.status_code}", permanent=permanent)


class CaptureError(NotifyError):
    """Save Page Now refused; ``permanent`` when asking again cannot help (a 4xx other
    than 429), so the capture is given up at once instead of retried for a day."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


def deliver_captures(
    store: Store, watchlist: Watchlist, alerts: Sequence[Alert], now: datetime, owner: str
) -> bool:
    """Capture the page of the first alert; True when the route may take its next row now.

    After a capture (or a failure) the route's other rows wait, ``MIN_INTERVAL`` or the
    backoff, so False tells the delivery loop to hold the route for this pass. Rows that
    report no change (unreachable, reachable) have nothing to capture and are finished.
    """
    alert = alerts[0]
    alert_id = alert.id or 0
    page = store.get_page(alert.page_id)
    if alert.change_id is None or page is None:
        store.outbox.mark_alerts_sent([alert_id], now)
        return True
    endpoint = watchlist.settings.wayback_endpoint
    try:
        with requests.Session() as session:
            session.headers["User-Agent"] = watchlist.settings.user_agent
            capture = save_page(session, page.url, endpoint)
    except NotifyError as exc:
        return _failed(store, watchlist, alert, now, owner, exc)
    store.record_capture(alert.change_id, capture.url)
    store.outbox.mark_alerts_sent([alert_id], now)
    store.outbox.defer_alerts(ROUTE, until=now + MIN_INTERVAL, owner=owner)
    logger.info("captured by the Internet Archive: %s url=%s", capture.url, page.url)
    return False


def _failed(
    store: Store, watchlist: Watchlist, alert: Alert, now: datetime, owner: str, exc: NotifyError
) -> bool:
    """Back off (2 min doubling to 6 h) or give up: a failed capture never blocks alerts."""
    alert_id = alert.id or 0
    deadline = alert.created_at + watchlist.settings.alert_give_up
    if (isinstance(exc, CaptureError) and exc.permanent) or now >= deadline:
        store.outbox.give_up_alert(alert_id, now=now, error=str(exc))
        logger.error("gave up capturing change %s: %s", alert.change_id, exc)
        return False
    retry_at = min(now + min(_FIRST_RETRY * 2 ** min(alert.attempts, 20), _MAX_RETRY), deadline)
    store.outbox.mark_alert_failed(alert_id, error=str(exc), retry_at=retry_at, delivered=[])
    store.outbox.defer_alerts(ROUTE, until=retry_at, owner=owner)
    logger.warning("capture of change %s failed, retry at %s: %s", alert.change_id, retry_at, exc)
    return False
