"""systemd's notify protocol (READY, STATUS, WATCHDOG, STOPPING) over ``$NOTIFY_SOCKET``.

A few lines of stdlib instead of the ``sdnotify`` package, which encodes latin-1 and
swallows errors. Outside systemd (no ``NOTIFY_SOCKET``) every call is a no-op.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping


def notify(message: str, environ: Mapping[str, str] | None = None) -> bool:
    """Send ``message`` (e.g. ``"READY=1"``); False when not run under systemd.

    Raises ``OSError`` if the socket is set but unusable, so the caller can log it; a
    receiver that stopped reading (its queue full) is one of those, never a wait: the
    status and watchdog jobs must not hang on it.
    """
    env = os.environ if environ is None else environ
    address = env.get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):  # abstract namespace socket
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
        sock.setblocking(False)
        sock.connect(address)
        sock.send(message.encode("utf-8"))
    return True


def watchdog_seconds(environ: Mapping[str, str] | None = None) -> float | None:
    """systemd's watchdog timeout (``WATCHDOG_USEC``) for this process, or None if off."""
    env = os.environ if environ is None else environ
    usec = env.get("WATCHDOG_USEC", "")
    pid = env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid and pid != str(os.getpid()):  # meant for another process (e.g. our parent)
        return None
    return int(usec) / 1_000_000
