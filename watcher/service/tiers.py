"""Age tiers: how often a page is checked as its article ages, and when it retires (pure).

Most edits and deletions happen in an article's first hours and days, so a schedule such as
``["5m for 6h", "30m for 2d", "6h for 30d", "retire"]`` checks every 5 minutes until the
article is 6 hours old, every 30 minutes until 2 days, every 6 hours until 30 days, then
stops (history kept). Age counts from the date the article states, or its discovery. A
change puts the page back on the first tier for a while. No tier is shorter than
``MIN_EVERY``: that is the politeness floor every page keeps, whatever the schedule says.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from watcher.config import MIN_EVERY, AgeSchedule, Settings, Tier, Watch
from watcher.store.models import Page


@dataclass(frozen=True, slots=True)
class TierStep:
    """The next check after one: when (None: retired now) and the tier it belongs to."""

    next_at: datetime | None
    every: timedelta | None


def tier_for(schedule: AgeSchedule, age: timedelta, *, is_fast: bool = False) -> Tier | None:
    """The tier for an article ``age`` old; the first while ``is_fast``; None if retired."""
    if is_fast:
        return schedule.tiers[0]
    for tier in schedule.tiers:
        if tier.until is None or age < tier.until:
            return tier
    return None if schedule.retire else schedule.tiers[-1]


def born_at(
    published_at: datetime | None, discovered_at: datetime | None, created_at: datetime
) -> datetime:
    """Where age counts from: the stated date, unless it is later than discovery."""
    seen = discovered_at or created_at
    return min(published_at, seen) if published_at is not None else seen


def next_tier_check(
    schedule: AgeSchedule, born: datetime, checked_at: datetime, fast_until: datetime | None
) -> TierStep:
    """After a check at ``checked_at``: the next one a tier's interval later, or retirement.

    Exactly one interval of the tier the page is in now, never less than ``MIN_EVERY``:
    so a page is never checked less often than its tier says, nor more often than the floor.
    """
    is_fast = fast_until is not None and checked_at < fast_until
    tier = tier_for(schedule, checked_at - born, is_fast=is_fast)
    if tier is None:
        return TierStep(None, None)
    every = max(tier.every, MIN_EVERY)
    return TierStep(checked_at + every, every)


def tier_label(every_seconds: int | None) -> str:
    """``300`` -> ``5m``; None -> ``retired``: how STATUS and ``watcher list`` name a tier."""
    if every_seconds is None:
        return "retired"
    seconds = every_seconds
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@dataclass(frozen=True, slots=True)
class TierPlan:
    """What a check of a page on an age schedule leaves behind for the store."""

    next_at: datetime | None  # None: retired
    every: timedelta | None
    fast_until: datetime | None


def plan_tier(
    page: Page, watch: Watch, settings: Settings, is_change: bool, checked_at: datetime
) -> TierPlan | None:
    """The next check of ``page`` by its watch's age schedule; None if it has none.

    A change (``is_change``: a confirmed edit, removal or restoration) puts the page on the
    first tier for ``settings.fast_after_change``.
    """
    schedule = watch.age_schedule
    if schedule is None:
        return None
    fast_until = page.fast_until
    if is_change:
        fast_until = checked_at + settings.fast_after_change
    born = born_at(page.published_at, page.discovered_at, page.created_at)
    step = next_tier_check(schedule, born, checked_at, fast_until)
    return TierPlan(step.next_at, step.every, fast_until)


def tier_summary(counts: Mapping[int | None, int]) -> str:
    """``5m:120 30m:340 6h:800 retired:50``: fastest tier first, retired last."""
    ordered = sorted(counts.items(), key=lambda kv: (kv[0] is None, kv[0] or 0))
    return " ".join(f"{tier_label(every)}:{count}" for every, count in ordered)
