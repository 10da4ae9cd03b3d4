"""``watcher demo``: the offline demonstration catches its edit and removal, and nothing else."""

from __future__ import annotations

import io

from watcher.demo import DemoTiming, run_demo


def test_demo_detects_one_edit_one_removal_and_no_false_alarm() -> None:
    """On a fast schedule the demo reports exactly one edit and one removal."""
    out = io.StringIO()
    timing = DemoTiming(every=1.0, edit_after=3.0, remove_after=6.0, settle=3.0, timeout=40.0)
    outcome = run_demo(out, timing)
    report = out.getvalue()
    assert outcome.is_as_expected, report
    assert outcome.checks >= 9, report  # three pages, several rounds each
    assert "CHANGED: Minister resigns over bridge contract" in report
    assert "[-at least 14-]{+several+}" in report
    assert "REMOVED: Flood relief audit" in report
    assert "FALSE ALARM" not in report
