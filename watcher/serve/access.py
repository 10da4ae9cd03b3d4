"""Who may use ``watcher serve``: the bind rule and the access token gate (edge).

Loopback needs no token; any other address needs one, from a file or the environment.
The token is compared in constant time and never logged, echoed or put in a URL.
"""

from __future__ import annotations

import base64
import hmac
import ipaddress
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from watcher.errors import ConfigError

TOKEN_ENV = "WATCHER_SERVE_TOKEN"
_MIN_TOKEN_CHARS = 16


def load_token(token_file: Path | None, environ: Mapping[str, str] | None = None) -> str | None:
    """The token from ``token_file`` (first line), else ``$WATCHER_SERVE_TOKEN``, else None."""
    env = os.environ if environ is None else environ
    if token_file is not None:
        try:
            token = token_file.read_text(encoding="utf-8").strip().splitlines()[0].strip()
        except (OSError, IndexError) as exc:
            raise ConfigError(
                f"{token_file}: cannot read an access token ({exc.__class__.__name__})"
            ) from None
    else:
        token = env.get(TOKEN_ENV, "").strip()
    if not token:
        return None
    if len(token) < _MIN_TOKEN_CHARS:
        raise ConfigError(f"the access token must be at least {_MIN_TOKEN_CHARS} characters")
    return token


def check_bind(host: str, token: str | None) -> None:
    """Refuse to listen beyond this machine without a token: evidence is not public."""
    if token is None and not is_loopback(host):
        raise ConfigError(
            f"serve: binding {host} needs an access token "
            f"(--token-file FILE or ${TOKEN_ENV}); 127.0.0.1 needs none"
        )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class TokenGate:
    """ASGI middleware: a request passes with ``Authorization: Bearer TOKEN`` or HTTP Basic
    with the token as password (browsers ask for it natively, no script needed)."""

    def __init__(self, app: Callable[..., Any], token: str) -> None:
        self.app = app
        self._token = token.encode()

    async def __call__(self, scope: Mapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or self._allows(dict(scope.get("headers", []))):
            await self.app(scope, receive, send)
            return
        body = b"access token required\n"
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"www-authenticate", b'Basic realm="watcher", charset="UTF-8"'),
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _allows(self, headers: Mapping[bytes, bytes]) -> bool:
        value = headers.get(b"authorization", b"")
        scheme, _, credentials = value.partition(b" ")
        offered = b""
        if scheme.lower() == b"bearer":
            offered = credentials.strip()
        elif scheme.lower() == b"basic":
            try:
                offered = base64.b64decode(credentials.strip(), validate=True).partition(b":")[2]
            except ValueError:
                return False
        return bool(offered) and hmac.compare_digest(offered, self._token)
