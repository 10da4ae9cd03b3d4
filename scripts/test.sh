#!/usr/bin/env bash
# Set up everything the test suite needs on a fresh machine, then run it:
# Debian packages, PostgreSQL, a virtualenv with watcher and its test tools, lint, types, tests.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

apt_updated=""
need_deb() {  # need_deb COMMAND PACKAGE
    command -v "$1" >/dev/null 2>&1 && return 0
    if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$2" >/dev/null
}

# systemd-analyze checks systemd/watcher.service (tests/test_systemd.py).
need_deb systemd-analyze systemd

# Chromium: the browser fetcher (fetch = "browser") and the browser tests of `watcher serve`
# drive Debian's build through Playwright (Playwright's own browser download is not
# reachable from CI); tests/test_browser_fetch.py fails in CI without it, never skips.
need_deb chromium chromium

# PostgreSQL: the store tests run on it as well as on SQLite, never skipped in CI.
need_deb pg_isready postgresql
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
    for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/python -m pytest -n 4 --cov --cov-report=term:skip-covered "$@"
