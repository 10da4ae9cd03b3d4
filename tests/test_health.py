"""The daemon's health: done work keeps it healthy; a long enough stretch without any is
reported with the last reason work failed."""

from __future__ import annotations

from watcher.service.health import Health


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_healthy_while_work_completes_within_the_limit() -> None:
    """Failures inside the limit are not yet a problem; done work resets the clock."""
    clock = Clock()
    health = Health(600.0, clock)
    clock.now += 599
    health.failed("database: gone")
    assert health.problem() is None
    health.done()
    clock.now += 599
    assert health.problem() is None


def test_unhealthy_after_the_limit_says_why() -> None:
    """No work done for the limit: the problem names how long and the last failure."""
    clock = Clock()
    health = Health(600.0, clock)
    health.failed('database: relation "page" does not exist')
    clock.now += 602
    assert health.problem() == (
        "unhealthy: no check or delivery completed for 10m02s "
        '(database: relation "page" does not exist)'
    )
    health.done()
    assert health.problem() is None


def test_unhealthy_without_a_failure_still_says_how_long() -> None:
    """Stuck without any error (every worker hung): the problem says how long."""
    clock = Clock()
    health = Health(30.0, clock)
    clock.now += 45
    assert health.problem() == "unhealthy: no check or delivery completed for 45s"
