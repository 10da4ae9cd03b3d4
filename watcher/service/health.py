"""Whether the daemon is doing its job, for systemd's watchdog and STATUS (edge-free).

Doing its job means: a check was recorded, an alert delivered, or the database was asked
for due work and had none. A daemon that has done none of these for ``unhealthy_after``
(a database gone, a schema missing, every worker stuck) is unhealthy: it stops pinging
the watchdog, so systemd restarts it, and STATUS says why. Never decides that from the
sites it checks or the services it alerts: a site that fails is a recorded check.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Health:
    """The time of the last completed unit of work and the last reason work failed."""

    def __init__(
        self, unhealthy_after_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.unhealthy_after_seconds = unhealthy_after_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._last_done = clock()
        self._reason = ""

    def done(self) -> None:
        """A check was recorded, alerts were delivered, or nothing was due."""
        with self._lock:
            self._last_done = self._clock()
            self._reason = ""

    def failed(self, reason: str) -> None:
        """Work could not complete; ``reason`` is what STATUS will say if this goes on."""
        with self._lock:
            self._reason = reason

    def problem(self) -> str | None:
        """None while healthy; otherwise why not, in one line for STATUS and the log."""
        with self._lock:
            idle = self._clock() - self._last_done
            reason = self._reason
        if idle < self.unhealthy_after_seconds:
            return None
        line = f"unhealthy: no check or delivery completed for {_duration(idle)}"
        return f"{line} ({reason})" if reason else line


def _duration(seconds: float) -> str:
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m{rest:02d}s" if minutes else f"{rest}s"
