"""A send a service accepted is recorded at once: a process killed while it sends the same
alert to the route's next target never sends it to the first target again."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from tests.conftest import SlackEndpoint, SmtpServer
from tests.loopback import LOOPBACK_SETTING
from tests.test_notify import store_alert
from tests.test_outbox import black_hole, slack_watchlist
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


# Delivers what is due, as the daemon's job does, with apprise's Slack plugin posting to argv[2].
_DELIVER = """
import sys
from apprise.plugins.slack import NotifySlack
from watcher.alerts.notify import deliver_due
from watcher.config import Watchlist
from watcher.store.store import Store
NotifySlack.webhook_url, NotifySlack.request_rate_per_sec = sys.argv[2], 0
watchlist = Watchlist.model_validate(
    {"notify": {"desk": {"urls": ["slack://T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX"]}}}
)
with Store(sys.argv[1]) as store:
    deliver_due(store, watchlist, owner="sender")
"""


@pytest.mark.parametrize(
    "db_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_the_record_of_a_send_is_written_before_the_service_has_it(
    db: Store, db_url: str, slack: SlackEndpoint
) -> None:
    """PostgreSQL: while the service receives an alert, the sender has already marked it
    sent in a transaction it has not committed, so after the accept only a COMMIT is left
    (the window in which a kill makes a duplicate). Killed before the service answers, the
    sender's mark is rolled back: the alert is not lost, the next deliverer sends it."""
    store_alert(db, "desk", when=datetime.now(UTC), text="a0")
    (alert,) = db.outbox.alerts()
    seen: list[str] = []
    sender: list[subprocess.Popen[bytes]] = []

    class Service(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with db.engine.connect() as connection:
                try:
                    connection.execute(
                        text("SELECT id FROM alert WHERE id = :id FOR UPDATE NOWAIT"),
                        {"id": alert.id},
                    )
                    seen.append("free")
                except OperationalError:
                    seen.append("marked, not committed")
            sender[0].kill()  # before the service answers: the send is not known to be done

        def log_message(self, format: str, *args: Any) -> None:
            pass

    service = ThreadingHTTPServer(("127.0.0.1", 0), Service)
    threading.Thread(target=service.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{service.server_address[1]}/services"
        sender.append(subprocess.Popen([sys.executable, "-c", _DELIVER, db_url, url]))
        assert sender[0].wait(120) == -9
    finally:
        service.shutdown()
        service.server_close()

    assert seen == ["marked, not committed"]
    (after,) = db.outbox.alerts()
    assert after.sent_at is None
    assert after.due_at is not None
    watchlist = slack_watchlist(slack)
    assert deliver_due(db, watchlist, now=datetime.now(UTC), owner="next") == 1
    assert len(slack.payloads) == 1
