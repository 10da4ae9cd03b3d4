"""Runs the watcher command line with apprise's real Slack plugin posting to a local stand-in.

Used as ``python tests/faults/launch.py ARGS…`` by tests that start watcher as a real
process: ``$WATCHER_TEST_SLACK`` (``http://127.0.0.1:PORT/services``) replaces Slack's
webhook address, the way the ``slack`` fixture does in-process. Nothing else differs
from ``python -m watcher``.
"""

from __future__ import annotations

import os
import sys

from apprise.plugins.slack import NotifySlack

from watcher.cli import main

if __name__ == "__main__":
    NotifySlack.webhook_url = os.environ["WATCHER_TEST_SLACK"]
    NotifySlack.request_rate_per_sec = 0
    sys.exit(main(sys.argv[1:]))
