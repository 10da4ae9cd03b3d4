"""Test servers listen on 127.0.0.1, which the network guard refuses by default.

A test that fetches from one opts in explicitly, in one line, the way a user watches an
intranet page on purpose:

- a watchlist in TOML: ``allow_private = true`` under ``[settings]`` (``LOOPBACK_SETTING``);
- the models: ``Settings(allow_private=True)`` or ``Watch(url=..., allow_private=True)``;
- ``fetch_page`` itself: ``FetchOptions(network=LOOPBACK)``.
"""

from __future__ import annotations

from watcher.guard import NetworkPolicy

LOOPBACK = NetworkPolicy(allow_private=True)
# One line for the [settings] table of a test's watchlist.
LOOPBACK_SETTING = "allow_private = true  # test servers listen on 127.0.0.1"


def only_loopback_port(port: int) -> dict[str, object]:
    """Settings that open one port of 127.0.0.1 and nothing else: a test site is reachable,
    while a beacon on another port or loopback address is still refused by the guard."""
    return {"allow_networks": ["127.0.0.1/32"], "allowed_ports": [port]}
