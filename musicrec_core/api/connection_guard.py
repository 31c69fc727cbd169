"""uvicorn's HTTP/1.1 protocol (h11) with the connection-level caps the app cannot see.

:class:`GuardedH11Protocol` is uvicorn's ``H11Protocol`` with three changes, each answered
in the API's JSON error shape (:mod:`musicrec_core.api.http_errors`) and followed by closing
the connection:

- **Header deadline.** A connection must deliver a complete request line and headers
  within ``header_timeout_s`` of opening, and again of each answer it got (a client that
  trickles header bytes, or opens connections and says nothing, holds none for long):
  408. uvicorn alone only times out idle kept-alive connections.
- **Connection limit.** Past ``max_connections`` open connections, a new one is answered
  503 (``Retry-After``) as soon as it sends anything, and closed. (uvicorn's own
  ``limit_concurrency`` answers in plain text, so it is left off.)
- **Malformed or oversized head.** h11 refuses a request line and headers over the cap
  (uvicorn's ``h11_max_incomplete_event_size``) or malformed; uvicorn's plain-text 400
  becomes a JSON 400.

Pass the class as ``uvicorn.Config(http=...)`` after :func:`configure` set its limits
(:func:`musicrec_core.api.runner.server_config` does both).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any, ClassVar

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from musicrec_core.api.http_errors import error_body

__all__ = ["GuardedH11Protocol", "configure"]


def configure(*, header_timeout_s: float, max_connections: int) -> type[GuardedH11Protocol]:
    """A :class:`GuardedH11Protocol` subclass with these limits (one per server, so two
    servers in one process keep their own)."""
    return type(
        "ConfiguredH11Protocol",
        (GuardedH11Protocol,),
        {"header_timeout_s": header_timeout_s, "max_connections": max_connections},
    )


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a header deadline, a connection limit and JSON errors."""

    header_timeout_s: ClassVar[float] = 10.0
    """Seconds a connection has to send a request's line and headers."""
    max_connections: ClassVar[int] = 256
    """Open connections served at once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None
        self._over_limit = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:  # type: ignore[override]
        super().connection_made(transport)  # type: ignore[arg-type]
        self._over_limit = len(self.connections) > self.max_connections
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._over_limit:
            if not self.transport.is_closing():
                self._answer_and_close(
                    503,
                    "too_many_connections",
                    "The server has too many open connections; try again shortly.",
                    extra=[(b"retry-after", b"1")],
                )
            return
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._disarm_header_timer()  # the head is in: the body has its own deadline

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._arm_header_timer()

    def send_400_response(self, msg: str) -> None:
        self._answer_and_close(
            400,
            "bad_http",
            "The request line or headers are malformed or larger than the server accepts.",
        )

    def _arm_header_timer(self) -> None:
        self._disarm_header_timer()
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._header_overdue)

    def _disarm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_overdue(self) -> None:
        self._header_timer = None
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        if self.cycle is not None and not self.cycle.response_complete:
            return  # an answer is still being written; its completion re-arms the timer
        self._answer_and_close(
            408,
            "header_timeout",
            f"The request's headers did not arrive within {self.header_timeout_s:g} s.",
        )

    def _answer_and_close(
        self, status: int, code: str, message: str, extra: Sequence[tuple[bytes, bytes]] = ()
    ) -> None:
        """Write a whole JSON error answer straight to the socket and close it (used only
        where no request is being answered, so h11's state does not matter any more)."""
        body = json.dumps(error_body(code, message)).encode()
        head = [
            f"HTTP/1.1 {status} {_REASONS[status]}".encode(),
            b"content-type: application/json",
            b"content-length: " + str(len(body)).encode(),
            b"connection: close",
            *(name + b": " + value for name, value in extra),
        ]
        self.transport.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
        self.transport.close()


_REASONS = {400: "Bad Request", 408: "Request Timeout", 503: "Service Unavailable"}
