"""Per-host politeness: slots per host, spacing between starts, Retry-After rests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from watcher.service.politeness import HostLimits, host_of

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
NO_DELAY = timedelta(0)


def test_per_host_slots_are_counted_per_host() -> None:
    """A full host refuses a start until one of its checks finishes; other hosts are free."""
    limits = HostLimits()
    assert limits.try_start("a", T0, 2, NO_DELAY)
    assert limits.try_start("a", T0, 2, NO_DELAY)
    assert not limits.try_start("a", T0, 2, NO_DELAY)
    assert limits.try_start("b", T0, 2, NO_DELAY)
    limits.finish("a")
    assert limits.try_start("a", T0, 2, NO_DELAY)


def test_finish_of_an_idle_host_is_harmless() -> None:
    """Finishing more checks than were started never leaves a negative count behind."""
    limits = HostLimits()
    limits.finish("a")
    assert limits.try_start("a", T0, 1, NO_DELAY)
    assert not limits.try_start("a", T0, 1, NO_DELAY)


def test_delay_spaces_starts_on_one_host() -> None:
    """After a start, the host waits ``delay`` before the next, and next_turn says when."""
    limits = HostLimits()
    delay = timedelta(seconds=10)
    assert limits.next_turn("a", T0) == T0
    assert limits.try_start("a", T0, 4, delay)
    assert not limits.try_start("a", T0 + timedelta(seconds=9), 4, delay)
    assert limits.next_turn("a", T0 + timedelta(seconds=9)) == T0 + delay
    assert limits.try_start("a", T0 + delay, 4, delay)
    assert limits.next_turn("b", T0) == T0


def test_rest_holds_a_host_off_until_it_ends() -> None:
    """Retry-After rests a host; a shorter rest never cuts a longer one, and it expires."""
    limits = HostLimits()
    until = T0 + timedelta(hours=1)
    limits.rest("a", until)
    limits.rest("a", T0 + timedelta(minutes=5))
    assert limits.resting_until("a", T0) == until
    assert not limits.try_start("a", T0 + timedelta(minutes=30), 4, NO_DELAY)
    assert limits.next_turn("a", T0) == until
    assert limits.resting_until("a", until) is None
    assert limits.try_start("a", until, 4, NO_DELAY)
    assert limits.resting_until("b", T0) is None


def test_host_of_keys_on_host_and_port() -> None:
    """Politeness counts per host and port, whatever the case, path or scheme."""
    assert host_of("https://News.Example/a?b=1") == "news.example"
    assert host_of("http://news.example:8080/x") == "news.example:8080"
    assert host_of("https://news.example/b") == host_of("http://NEWS.example/c")
