"""Runs the watcher command line with apprise's real Slack plugin posting to a local stand-in.

Used as ``python tests/faults/launch.py ARGS…`` by tests that start watcher as a real
process: ``$WATCHER_TEST_SLACK`` (``http://127.0.0.1:PORT/services``) replaces Slack's
webhook address, the way the ``slack`` fixture does in-process. With
``$WATCHER_TEST_DELIVER_SECONDS`` the daemon's delivery job runs that often instead of every
5 s, so a daemon that lives only a few seconds in a kill loop delivers too. Nothing else
differs from ``python -m watcher``.
"""

from __future__ import annotations

import functools
import os
import sys

from apprise.plugins.slack import NotifySlack

import watcher.service.daemon
from watcher.cli import main

if __name__ == "__main__":
    NotifySlack.webhook_url = os.environ["WATCHER_TEST_SLACK"]
    NotifySlack.request_rate_per_sec = 0
    if "WATCHER_TEST_DELIVER_SECONDS" in os.environ:
        every = float(os.environ["WATCHER_TEST_DELIVER_SECONDS"])
        options = functools.partial(watcher.service.daemon.DaemonOptions, deliver_seconds=every)
        watcher.service.daemon.DaemonOptions = options  # type: ignore[misc]
    sys.exit(main(sys.argv[1:]))
