"""When a page is next due: interval grids, cron and error backoff (pure maths).

Times are computed from the nominal schedule, never from "last run + jitter", so they do not
drift (APScheduler 3.x interval jitter does) and a restart does not reshuffle them. Every
function here is deterministic: the same URL, schedule and instant give the same answer.

Intervals: each URL owns a fixed phase inside its interval (a SHA-256 of the URL), so its
slots are ``EPOCH + phase + k * every``. Pages sharing an interval are spread evenly over
the whole interval instead of firing on the same second, and the slots survive restarts.

Cron: the expression's fire times (UTC) plus a per-URL offset of up to a tenth of the gap
between fires, at most ``CRON_JITTER_CAP``, so a thousand ``*/5`` pages do not start at :00.

Backoff after ``n`` consecutive errors: the first slot after ``min(period * 2**(n-1), cap)``,
with ``cap = max(period, min(4 * period, 6 h))``: a failing page slows down to at most four
times its interval, never past six hours unless its own interval is longer, and stays on its
own grid (a cron page keeps to its hours). A server's Retry-After is read by
``fetch.parse_retry_after``.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.triggers.cron import CronTrigger

from watcher.config import Settings, Watch

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CRON_JITTER_CAP = timedelta(minutes=5)
BACKOFF_CAP = timedelta(hours=6)
BACKOFF_FACTOR_CAP = 4
_MICROSECOND = timedelta(microseconds=1)
_PHASE_SPACE = 1 << 64


@dataclass(frozen=True, slots=True)
class Interval:
    """Every ``every``, on the page's own phase."""

    every: timedelta


@dataclass(frozen=True, slots=True)
class Cron:
    """A five-field crontab expression, evaluated in UTC."""

    expression: str


Schedule = Interval | Cron


def schedule_of(watch: Watch, settings: Settings) -> Schedule:
    """The watch's own ``cron`` or ``every``, else the default interval."""
    if watch.cron is not None:
        return Cron(watch.cron)
    return Interval(watch.every or settings.every)


def phase(url: str) -> float:
    """A stable fraction in [0, 1) derived from the URL: where in its interval it fires."""
    digest = hashlib.sha256(url.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / _PHASE_SPACE


def period(schedule: Schedule, at: datetime) -> timedelta:
    """The interval, or for cron the gap between the two fire times following ``at``."""
    if isinstance(schedule, Interval):
        return schedule.every
    trigger = _trigger(schedule.expression)
    first = _fire_after(trigger, at)
    return _fire_after(trigger, first) - first


def due_after(schedule: Schedule, url: str, instant: datetime) -> datetime:
    """The page's first slot strictly after ``instant``."""
    if isinstance(schedule, Interval):
        every_us = max(1, schedule.every // _MICROSECOND)
        offset_us = _phase_int(url) % every_us
        instant_us = (instant - EPOCH) // _MICROSECOND
        k = (instant_us - offset_us) // every_us + 1
        return EPOCH + timedelta(microseconds=offset_us + k * every_us)
    trigger = _trigger(schedule.expression)
    fraction = phase(url)
    fire = _fire_at_or_after(trigger, instant - CRON_JITTER_CAP)
    while True:
        following = _fire_after(trigger, fire)
        offset = min((following - fire) / 10, CRON_JITTER_CAP) * fraction
        if fire + offset > instant:
            return fire + offset
        fire = following


def next_due(schedule: Schedule, url: str, checked_at: datetime) -> datetime:
    """When to check again after a good check at ``checked_at``.

    The first slot after half a period: a check that ran late still leaves at least half an
    interval before the next one, and a check on time lands on the following slot.
    """
    return due_after(schedule, url, checked_at + period(schedule, checked_at) / 2)


def backoff_delay(schedule: Schedule, errors: int, at: datetime) -> timedelta:
    """How long to wait after ``errors`` consecutive failures: doubling, capped."""
    base = period(schedule, at)
    cap = max(base, min(base * BACKOFF_FACTOR_CAP, BACKOFF_CAP))
    if errors <= 1:
        return base
    # The cap is at most 4x the base, so doubling past 8x is pointless (and a long streak's
    # 2**n would overflow timedelta).
    return min(base * (1 << min(errors - 1, 3)), cap)


def backoff_due(schedule: Schedule, url: str, errors: int, checked_at: datetime) -> datetime:
    """When to retry after ``errors`` consecutive failures, on the page's own grid."""
    base = period(schedule, checked_at)
    delay = backoff_delay(schedule, errors, checked_at)
    return due_after(schedule, url, checked_at + delay - base / 2)


def _phase_int(url: str) -> int:
    digest = hashlib.sha256(url.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big")


@functools.lru_cache(maxsize=256)
def _trigger(expression: str) -> CronTrigger:
    # Parsing costs more than computing a fire time; triggers are immutable once built.
    return CronTrigger.from_crontab(expression, timezone=UTC)


def _fire_at_or_after(trigger: CronTrigger, instant: datetime) -> datetime:
    fire = trigger.get_next_fire_time(None, instant)
    if fire is None:  # pragma: no cover - a crontab expression always fires again
        raise ValueError("cron expression never fires")
    moment: datetime = fire.astimezone(UTC)
    return moment


def _fire_after(trigger: CronTrigger, instant: datetime) -> datetime:
    return _fire_at_or_after(trigger, instant + _MICROSECOND)
