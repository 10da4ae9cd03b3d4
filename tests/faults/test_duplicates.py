"""A send a service accepted is recorded at once: a process killed while it sends the same
alert to the route's next target never sends it to the first target again."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import SlackEndpoint, SmtpServer
from tests.loopback import LOOPBACK_SETTING
from tests.test_notify import store_alert
from tests.test_outbox import black_hole
from tests.test_pipeline import Site
from watcher.alerts.notify import deliver_due
from watcher.config import load_watchlist
from watcher.store.store import Store

__all__ = ["black_hole"]  # the fixture: a mail server that accepts and never answers

LAUNCH = Path(__file__).with_name("launch.py")


def test_killed_between_two_targets_never_resends_to_the_first(
    tmp_path: Path,
    httpserver: object,
    slack: SlackEndpoint,
    smtp: SmtpServer,
    black_hole: tuple[int, threading.Event],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Slack accepts, then `watcher check` is SIGKILLed while the mail server stalls: the
    next delivery sends the mail only; Slack got the alert exactly once."""
    site = Site(httpserver)  # type: ignore[arg-type]
    hole_port, connected = black_hole
    database = f"sqlite:///{tmp_path / 'w.db'}"
    config = tmp_path / "watcher.toml"
    config.write_text(
        f'[settings]\n{LOOPBACK_SETTING}\ndatabase = "{database}"\ntimeout = "5s"\n'
        '[notify.desk]\nurls_env = "WATCHER_TEST_DESK"\n'
        f'[[watch]]\nurl = "{site.url("/quiet")}"\n',
        encoding="utf-8",
    )
    with Store(database) as store:
        store.migrate()
        store_alert(store, "desk", when=datetime.now(UTC), text="a0")
    stuck = f"mailto://127.0.0.1:{hole_port}?from=watcher@example.org&to=desk@example.org"
    env = {
        **os.environ,
        "WATCHER_TEST_DESK": f"{slack.url()} {stuck}",
        "WATCHER_TEST_SLACK": f"http://127.0.0.1:{slack.port}/services",
    }
    env.pop("WATCHER_DATABASE", None)
    process = subprocess.Popen(
        [sys.executable, str(LAUNCH), "--config", str(config), "check"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert connected.wait(timeout=60), "the check never reached the second target"
    finally:
        process.kill()
        process.wait(timeout=10)
    assert len(slack.payloads) == 1

    monkeypatch.setenv("WATCHER_TEST_DESK", f"{slack.url()} {smtp.url()}")
    later = datetime.now(UTC) + timedelta(minutes=6)  # past any lease the dead one held
    with Store(database) as store:
        assert deliver_due(store, load_watchlist(config), now=later, owner="next") == 1
        assert store.outbox.alert_counts() == {"pending": 0, "sent": 1, "given_up": 0}
    assert len(slack.payloads) == 1
    assert len(smtp.messages) == 1
