"""Per-host politeness for the daemon: concurrency, spacing between starts, Retry-After rests.

Bookkeeping only, on the caller's clock and under the caller's lock: it never waits, sleeps
or does I/O, so a busy host can never hold up checks of the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit


@dataclass
class HostLimits:
    """Per-host politeness: at most ``per_host`` requests at once, ``delay`` between starts.

    Non-blocking: the dispatcher asks before it starts a check, so no worker ever sits
    waiting for a host while other hosts have work.
    """

    _active: dict[str, int] = field(default_factory=dict)
    _next_start: dict[str, datetime] = field(default_factory=dict)
    _resting_until: dict[str, datetime] = field(default_factory=dict)

    def try_start(self, host: str, now: datetime, per_host: int, delay: timedelta) -> bool:
        """Take a slot for ``host`` if it has one free and its spacing has passed."""
        if self._active.get(host, 0) >= per_host:
            return False
        if now < self._next_start.get(host, now):
            return False
        if now < self._resting_until.get(host, now):
            return False
        self._active[host] = self._active.get(host, 0) + 1
        self._next_start[host] = now + delay
        return True

    def next_turn(self, host: str, now: datetime) -> datetime:
        """When spacing and rest next allow a start on ``host`` (a full host may wait longer)."""
        return max(self._next_start.get(host, now), self._resting_until.get(host, now), now)

    def finish(self, host: str) -> None:
        """Give back the slot a finished check held on ``host``."""
        count = self._active.get(host, 0) - 1
        if count > 0:
            self._active[host] = count
        else:
            self._active.pop(host, None)

    def rest(self, host: str, until: datetime) -> None:
        """Hold off ``host`` until ``until`` (its Retry-After)."""
        self._resting_until[host] = max(until, self._resting_until.get(host, until))

    def resting_until(self, host: str, now: datetime) -> datetime | None:
        """The end of ``host``'s rest, or None once it is over (which forgets it)."""
        until = self._resting_until.get(host)
        if until is None or until <= now:
            self._resting_until.pop(host, None)
            return None
        return until


def host_of(url: str) -> str:
    """The key politeness is counted under: the URL's host and port, lower-cased."""
    return urlsplit(url).netloc.lower()
