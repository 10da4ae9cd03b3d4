"""The fault-injection suite's table: one row per scenario, printed after the run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.faults.harness import TABLE_HEAD, Outcome, reap

OUTCOMES: list[Outcome] = []


@pytest.fixture(autouse=True)
def _reap_watchers() -> Iterator[None]:
    """Whatever a test leaves running is killed when it ends."""
    yield
    reap()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Faults injected and what held, per scenario (this process's scenarios only)."""
    if not OUTCOMES:
        return
    terminalreporter.section("faults injected")
    for line in TABLE_HEAD.splitlines():
        terminalreporter.write_line(line)
    for outcome in OUTCOMES:
        terminalreporter.write_line(outcome.row())
        for note in outcome.notes:
            terminalreporter.write_line(f"  {outcome.scenario}: {note}")
