"""Scheduling maths: interval grids with per-URL phase, cron, backoff and Retry-After."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from watcher.config import Settings, Watch
from watcher.fetch import RETRY_AFTER_CAP, parse_retry_after
from watcher.service.schedule import (
    BACKOFF_CAP,
    CRON_JITTER_CAP,
    Cron,
    Interval,
    backoff_delay,
    backoff_due,
    due_after,
    next_due,
    period,
    phase,
    schedule_of,
)

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)

urls = st.text(min_size=1, max_size=40).map(lambda path: f"https://news.example/{path}")
# hypothesis takes naive bounds and attaches the zone itself
instants = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001
    max_value=datetime(2100, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)
intervals = st.integers(min_value=1, max_value=7 * 86400).map(lambda s: timedelta(seconds=s))


@given(url=urls, instant=instants, every=intervals)
def test_interval_slot_is_on_the_grid_and_within_one_interval(
    url: str, instant: datetime, every: timedelta
) -> None:
    """The next slot is after the instant, at most one interval later, on the URL's grid."""
    slot = due_after(Interval(every), url, instant)
    assert instant < slot <= instant + every
    assert due_after(Interval(every), url, slot) == slot + every
    assert due_after(Interval(every), url, slot - timedelta(microseconds=1)) == slot


@given(url=urls, instant=instants, every=intervals)
def test_next_due_keeps_at_least_half_an_interval(
    url: str, instant: datetime, every: timedelta
) -> None:
    """After a check, the next one is between half and one and a half intervals away."""
    slot = next_due(Interval(every), url, instant)
    assert instant + every / 2 < slot <= instant + every * 3 / 2


@given(url=urls, instant=instants, every=intervals, late=st.floats(0, 0.49))
def test_a_check_on_time_lands_on_the_following_slot(
    url: str, instant: datetime, every: timedelta, late: float
) -> None:
    """No drift: a check up to half an interval late still keeps the nominal grid."""
    slot = due_after(Interval(every), url, instant)
    started = slot + every * late
    assert next_due(Interval(every), url, started) == slot + every


def test_phases_spread_evenly_over_the_interval() -> None:
    """A thousand pages with one interval fill ten equal buckets of it about equally."""
    every = timedelta(minutes=10)
    buckets = Counter(
        int((due_after(Interval(every), f"https://news.example/{i}", T0) - T0) / every * 10)
        for i in range(1000)
    )
    assert set(buckets) == set(range(10))
    assert max(buckets.values()) <= 140
    assert min(buckets.values()) >= 60
    per_second = Counter(
        due_after(Interval(every), f"https://n.example/{i}", T0) for i in range(1000)
    )
    assert max(per_second.values()) <= 3


@given(url=urls)
def test_phase_is_stable(url: str) -> None:
    """The phase depends on the URL alone, so restarts never reshuffle the schedule."""
    assert phase(url) == phase(url)
    assert 0 <= phase(url) < 1


def test_cron_fires_on_schedule_with_bounded_jitter() -> None:
    """Cron slots are the expression's fire times plus under a tenth of the gap."""
    schedule = Cron("*/5 6-22 * * *")
    after = T0 + timedelta(seconds=31)  # past the 12:00 fire and any jitter of it
    slots = {due_after(schedule, f"https://n.example/{i}", after) for i in range(200)}
    for slot in slots:
        assert timedelta(minutes=5) <= slot - T0 < timedelta(minutes=5, seconds=30)
    assert len(slots) > 150  # spread, not all at 12:05:00
    night = datetime(2026, 11, 29, 22, 56, tzinfo=UTC)
    morning = due_after(schedule, "https://n.example/a", night)
    assert datetime(2026, 11, 30, 6, 0, tzinfo=UTC) <= morning
    assert morning < datetime(2026, 11, 30, 6, 0, 30, tzinfo=UTC)


@given(url=urls, instant=instants)
def test_cron_slot_is_after_the_instant_and_jitter_capped(url: str, instant: datetime) -> None:
    """Daily cron: the next slot is within a day plus the jitter cap."""
    slot = due_after(Cron("0 3 * * *"), url, instant)
    assert instant < slot <= instant + timedelta(days=1) + CRON_JITTER_CAP
    assert slot.hour == 3
    assert slot.minute < 5


def test_cron_period_is_the_gap_between_fires() -> None:
    """The backoff base of a cron watch is the gap between its next two fires."""
    assert period(Cron("*/5 * * * *"), T0) == timedelta(minutes=5)
    assert period(Cron("0 3 * * *"), T0) == timedelta(days=1)


@given(
    every=intervals,
    errors=st.integers(min_value=1, max_value=10_000),
)
def test_backoff_grows_and_is_capped(every: timedelta, errors: int) -> None:
    """Backoff doubles per error, never shrinks, never exceeds max(interval, min(4x, 6h))."""
    schedule = Interval(every)
    delay = backoff_delay(schedule, errors, T0)
    assert delay >= every
    assert delay >= backoff_delay(schedule, errors - 1, T0) if errors > 1 else True
    assert delay <= max(every, min(every * 4, BACKOFF_CAP))


@given(url=urls, every=intervals, errors=st.integers(min_value=1, max_value=50))
def test_backoff_due_is_monotonic(url: str, every: timedelta, errors: int) -> None:
    """More consecutive errors never bring the retry closer, and it stays on the grid."""
    schedule = Interval(every)
    first = backoff_due(schedule, url, errors, T0)
    second = backoff_due(schedule, url, errors + 1, T0)
    assert T0 < first <= second
    assert due_after(schedule, url, first - timedelta(microseconds=1)) == first


def test_backoff_sequence_for_ten_minutes() -> None:
    """every = 10m: 10, 20, 40, then 40 minutes for as long as the page fails."""
    schedule = Interval(timedelta(minutes=10))
    minutes = [backoff_delay(schedule, n, T0) / timedelta(minutes=1) for n in range(1, 6)]
    assert minutes == [10, 20, 40, 40, 40]
    day = Interval(timedelta(days=1))
    assert backoff_delay(day, 5, T0) == timedelta(days=1)  # never slower than its own interval


def test_backoff_keeps_cron_hours() -> None:
    """A failing cron watch is retried at one of its own fire times, never at night."""
    schedule = Cron("*/5 6-22 * * *")
    for errors in range(1, 8):
        retry = backoff_due(
            schedule, "https://n.example/x", errors, datetime(2026, 11, 29, 22, 50, tzinfo=UTC)
        )
        assert 6 <= retry.hour <= 22


def test_retry_after_seconds_and_dates() -> None:
    """Retry-After as seconds or an HTTP date; garbage is ignored, huge values capped."""
    assert parse_retry_after("120", T0) == 120
    assert parse_retry_after(" 0 ", T0) == 0
    assert parse_retry_after("Sun, 29 Nov 2026 12:02:00 GMT", T0) == 120
    assert parse_retry_after("Sun, 29 Nov 2026 11:00:00 GMT", T0) == 0
    assert parse_retry_after("99999999", T0) == RETRY_AFTER_CAP.total_seconds()
    assert parse_retry_after("soon", T0) is None
    assert parse_retry_after("-5", T0) is None
    assert parse_retry_after(None, T0) is None
    assert parse_retry_after("", T0) is None


def test_schedule_of_prefers_the_watch() -> None:
    """cron beats every, every beats the default interval."""
    settings = Settings(every=timedelta(minutes=15))
    assert schedule_of(Watch(url="https://a.example/"), settings) == Interval(settings.every)
    assert schedule_of(Watch(url="https://a.example/", every="2m"), settings) == Interval(
        timedelta(minutes=2)
    )
    assert schedule_of(Watch(url="https://a.example/", cron="0 * * * *"), settings) == Cron(
        "0 * * * *"
    )
