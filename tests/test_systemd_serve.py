"""systemd/watcher-serve.service passes ``systemd-analyze verify`` and keeps its promises."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UNIT = ROOT / "systemd" / "watcher-serve.service"


def _verify(unit_text: str, folder: Path) -> subprocess.CompletedProcess[str]:
    """Verify a copy whose ExecStart points at a binary that exists on this machine."""
    tool = shutil.which("systemd-analyze")
    if tool is None:
        if os.environ.get("CI"):
            pytest.fail("systemd-analyze is missing in CI (scripts/test.sh installs systemd)")
        pytest.skip("systemd-analyze is not installed")
    binary = Path(sys.executable).with_name("watcher")
    if not binary.exists():
        binary = Path(sys.executable)
    lines = [
        f"ExecStart={binary} serve" if line.startswith("ExecStart=") else line
        for line in unit_text.splitlines()
    ]
    copy = folder / "watcher-serve.service"
    copy.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return subprocess.run(
        [tool, "verify", str(copy)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "SYSTEMD_LOG_COLOR": "0", "SYSTEMD_PAGER": ""},
    )


def _directives() -> dict[str, str]:
    return {
        line.split("=", 1)[0]: line.split("=", 1)[1]
        for line in UNIT.read_text(encoding="utf-8").splitlines()
        if "=" in line and not line.startswith("#")
    }


def test_serve_unit_verifies_cleanly(tmp_path: Path) -> None:
    """No warning at all: verify exits 0 even on typos, so stderr is what counts."""
    result = _verify(UNIT.read_text(encoding="utf-8"), tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_serve_verify_catches_a_typo(tmp_path: Path) -> None:
    """The check above can fail: a misspelt directive shows up on stderr."""
    broken = UNIT.read_text(encoding="utf-8").replace("ProtectSystem=", "ProtectSistem=")
    assert "ProtectSistem" in _verify(broken, tmp_path).stderr


def test_serve_unit_promises() -> None:
    """Loopback by default, an unprivileged user, a read-only system, the hardening."""
    directives = _directives()
    assert directives["ExecStart"].endswith("watcher serve --host 127.0.0.1 --port 8470")
    assert directives["User"] not in ("", "root")
    assert directives["Restart"] == "on-failure"
    assert directives["RestrictAddressFamilies"] == "AF_INET AF_INET6 AF_UNIX"
    assert directives["CapabilityBoundingSet"] == ""
    for key, value in {
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "NoNewPrivileges": "yes",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "ProtectKernelTunables": "yes",
        "RestrictNamespaces": "yes",
        "LockPersonality": "yes",
    }.items():
        assert directives[key] == value, key
