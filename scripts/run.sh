#!/usr/bin/env bash
# Set up watcher in a virtualenv on a fresh machine, then run it.
#   bash scripts/run.sh            the offline demo: the daemon watches a local news site
#   bash scripts/run.sh run        the daemon on ./watcher.toml (SQLite next to it)
#   bash scripts/run.sh check      one pass over ./watcher.toml
# Any other arguments are passed to the watcher command.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e .
if [ "$#" -eq 0 ]; then
    exec .venv/bin/watcher demo
fi
exec .venv/bin/watcher --config "${WATCHER_CONFIG:-watcher.toml}" "$@"
