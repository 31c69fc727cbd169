"""The API's access log: one bounded line per request, in place of uvicorn's.

Mental model: uvicorn's access log writes each request's whole target, up to the request
head cap (``MUSICREC_API_MAX_HEADER_KIB``, 16 KiB by default), so a client repeating long
``exclude`` lists could fill the operator's disk. :class:`AccessLog` wraps the app and,
once a request's answer has been sent (or the connection dropped), logs one line at INFO
on the ``musicrec_core.api.access`` logger::

    127.0.0.1 jukebox "GET /v1/similar?seed=dQw4w9WgXcQ&n=5&exclude=a,b,c...(+10071B)" 200 12 ms

the client address, the API key's name (``-`` without one: anonymous, or refused before the
key check passed; the check leaves it in the request's state under :data:`KEY_NAME_STATE`),
the method, the path and the query, each of these cut to a fixed length
(:data:`KEY_NAME_CHARS`, :data:`METHOD_CHARS`, :data:`PATH_CHARS`, :data:`QUERY_CHARS`),
a cut one ending with ``...(+NB)``, N the bytes left out; the status (``-`` when the app
sent none: it failed and uvicorn answered 500, or the client had gone); and the time from
the request's headers to its answer's last byte, in milliseconds. So a line stays under 300
characters, whatever the target. Every byte of the target outside printable ASCII, and
``"`` and ``\\``, is written as ``\\xNN``, so a target cannot forge a line or move a
terminal's cursor. No header is read: never ``Authorization``, so never a key.

``MUSICREC_API_ACCESS_LOG=false`` turns the line off
(:func:`~musicrec_core.api.runner.server_config`); uvicorn's own access log is always off.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "KEY_NAME_CHARS",
    "KEY_NAME_STATE",
    "METHOD_CHARS",
    "PATH_CHARS",
    "QUERY_CHARS",
    "AccessLog",
    "access_line",
]

log = logging.getLogger("musicrec_core.api.access")

METHOD_CHARS = 16
"""Longest method written (characters); real methods are at most 7."""
PATH_CHARS = 64
"""Longest path written (characters, escapes included)."""
QUERY_CHARS = 90
"""Longest query string written (characters, escapes included)."""
CLIENT_CHARS = 45
"""Longest client address written (an IPv6 address is at most 45 characters)."""
KEY_NAME_CHARS = 16
"""Longest key name written (characters, escapes included)."""
KEY_NAME_STATE = "api_key_name"
"""The request-state attribute where the key check leaves the caller's key name."""


class AccessLog:
    """ASGI middleware: one :func:`access_line` per HTTP request, logged when it ends
    (other scopes, such as the lifespan, pass through untouched)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status: int | None = None
        scope.setdefault("state", {})  # shared with the app's copies of the scope

        async def noted_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, noted_send)
        finally:
            if log.isEnabledFor(logging.INFO):
                elapsed_ms = (time.perf_counter() - started) * 1000
                log.info("%s", access_line(scope, status, elapsed_ms))


def access_line(scope: Scope, status: int | None, elapsed_ms: float) -> str:
    """The log line for the HTTP request ``scope`` answered with ``status`` (None: no
    answer was sent) after ``elapsed_ms`` milliseconds (the module shows its shape)."""
    client = scope.get("client")
    host = _printable(str(client[0]).encode(), CLIENT_CHARS) if client else "-"
    method = _printable(str(scope.get("method", "-")).encode(), METHOD_CHARS)
    raw_path = scope.get("raw_path") or str(scope.get("path", "")).encode()
    target = _printable(raw_path, PATH_CHARS)
    query = scope.get("query_string") or b""
    if query:
        target += "?" + _printable(query, QUERY_CHARS)
    state = scope.get("state")
    key_name = state.get(KEY_NAME_STATE) if isinstance(state, dict) else None
    key = _printable(key_name.encode(), KEY_NAME_CHARS) if key_name else "-"
    shown = "-" if status is None else str(status)
    return f'{host} {key} "{method} {target}" {shown} {elapsed_ms:.0f} ms'


def _printable(raw: bytes, limit: int) -> str:
    """``raw`` as printable ASCII (other bytes, ``"`` and ``\\`` as ``\\xNN``) in at most
    ``limit`` characters; a cut one then ends with ``...(+NB)``, N the bytes left out (no
    space: a line splits on its spaces)."""
    pieces: list[str] = []
    length = 0
    for position, byte in enumerate(raw):
        piece = chr(byte) if 0x20 < byte < 0x7F and byte not in _ESCAPED else f"\\x{byte:02x}"
        if length + len(piece) > limit:
            return "".join(pieces) + f"...(+{len(raw) - position}B)"
        pieces.append(piece)
        length += len(piece)
    return "".join(pieces)


_ESCAPED = frozenset(b'"\\')
