#!/usr/bin/env bash
# Set up watcher in a virtualenv on a fresh machine and run one pass over the watchlist
# (the SQLite default, next to watcher.toml). Extra arguments go to `watcher check`.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e .
exec .venv/bin/watcher --config "${WATCHER_CONFIG:-watcher.toml}" check "$@"
