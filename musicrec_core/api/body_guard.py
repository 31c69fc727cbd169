"""The ASGI middleware that caps a request's head, body and time, and turns bugs into a
bare 500.

Mental model: :class:`BodyGuard` wraps the whole FastAPI app and watches each HTTP
request's head and its two streams:

- **Head.** A request line and headers over ``max_header_bytes`` in all are answered 431.
  (h11 refuses a head that grows past the same cap while still incomplete, so a head is
  never held whole in memory above it; one that arrived in a single read is caught here.)

- **Reading.** The body cap depends on the declared type: a ``multipart/form-data`` body
  (an upload) may be ``max_upload_bytes`` long, any other body ``max_json_bytes``. A
  ``Content-Length`` over the cap is answered 413 before a byte of the body is read; a
  chunked body is counted as it arrives and refused the moment it passes the cap. The whole
  body must arrive within ``body_timeout_s`` of the headers, else 408. uvicorn hands the
  body over in pieces of at most 64 KiB and stops reading the socket while a piece waits, so
  nothing here holds more than one piece in memory.
- **Answering.** The app must have answered within ``request_timeout_s`` of the headers
  (the body's arrival included), else it is cancelled: the client gets 503, or, if the
  answer had begun, the connection is closed.

A refused body makes the read raise :class:`BodyRefused` inside the app. Whatever the app
then answers (FastAPI turns a failed JSON read into a 400) is dropped, and the guard sends
the refusal instead, with ``Connection: close`` since the rest of the body was never read.
A client that hangs up before its body is whole (Starlette raises ``ClientDisconnect``
from the read) is no error of the server's: it is logged at INFO and gets no answer, since
nobody is left to read one. Any other exception that escapes the app is logged with its
traceback and answered as a generic 500 (when no answer has started).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass

import anyio
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from musicrec_core.api.http_errors import ApiError, error_body

__all__ = ["BodyGuard", "BodyRefused", "body_limit_for"]

log = logging.getLogger(__name__)

MULTIPART = "multipart/form-data"


class BodyRefused(Exception):
    """Raised from ``receive`` when the body passed its cap or its deadline; the guard
    answers :attr:`error`."""

    def __init__(self, error: ApiError) -> None:
        super().__init__(error.message)
        self.error = error


def body_limit_for(content_type: str, *, max_json_bytes: int, max_upload_bytes: int) -> int:
    """The body cap, in bytes, for a request declaring ``content_type``: the upload cap for
    ``multipart/form-data``, the JSON cap for anything else."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    return max_upload_bytes if media_type == MULTIPART else max_json_bytes


@dataclass
class _Exchange:
    """One request's progress as the guard sees it."""

    limit: int
    read_deadline: float
    received: int = 0
    body_done: bool = False
    started: bool = False
    refusal: ApiError | None = None


class BodyGuard:
    """ASGI middleware: body caps, body deadline, answer deadline, 500 for bugs.

    Args:
        app: the wrapped application.
        max_header_bytes: cap on the request target and headers together.
        max_json_bytes / max_upload_bytes: body caps (see :func:`body_limit_for`).
        body_timeout_s: seconds from the headers for the body to arrive whole.
        request_timeout_s: seconds from the headers for the app to answer.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_header_bytes: int,
        max_json_bytes: int,
        max_upload_bytes: int,
        body_timeout_s: float,
        request_timeout_s: float,
    ) -> None:
        self.app = app
        self.max_header_bytes = max_header_bytes
        self.max_json_bytes = max_json_bytes
        self.max_upload_bytes = max_upload_bytes
        self.body_timeout_s = body_timeout_s
        self.request_timeout_s = request_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _head_bytes(scope) > self.max_header_bytes:
            await _send_error(send, self._head_too_large())
            return
        headers = {name: value for name, value in scope["headers"]}
        limit = body_limit_for(
            headers.get(b"content-type", b"").decode("latin-1"),
            max_json_bytes=self.max_json_bytes,
            max_upload_bytes=self.max_upload_bytes,
        )
        declared = headers.get(b"content-length", b"0")
        if not declared.isdigit():  # h11 refuses these first; another server might not
            await _send_error(
                send, ApiError(400, "bad_http", "The Content-Length is not a number.")
            )
            return
        if int(declared) > limit:
            await _send_error(send, _too_large(limit))
            return
        exchange = _Exchange(limit, time.monotonic() + self.body_timeout_s)

        async def guarded_receive() -> Message:
            return await self._receive(exchange, receive)

        async def guarded_send(message: Message) -> None:
            if exchange.refusal is not None:
                return  # the app's answer to a body it never got; the refusal goes instead
            exchange.started = True
            await send(message)

        try:
            with anyio.move_on_after(self.request_timeout_s) as answer_deadline:
                await self.app(scope, guarded_receive, guarded_send)
        except BodyRefused:
            pass
        except ClientDisconnect:
            log.info("HTTP API: the client left during %s %s", scope["method"], scope["path"])
            return
        except Exception:
            if exchange.refusal is None:
                log.exception("HTTP API: unexpected error on %s %s", scope["method"], scope["path"])
                if not exchange.started:
                    exchange.started = True
                    await _send_error(send, _INTERNAL)
                return
        if exchange.refusal is not None:
            await _send_error(send, exchange.refusal)
        elif answer_deadline.cancelled_caught and not exchange.started:
            await _send_error(send, self._too_slow_to_answer())

    async def _receive(self, exchange: _Exchange, receive: Receive) -> Message:
        if exchange.body_done:
            return await receive()  # only http.disconnect is left to come
        if exchange.refusal is not None:
            raise BodyRefused(exchange.refusal)
        message: Message | None = None
        with anyio.move_on_after(max(0.0, exchange.read_deadline - time.monotonic())):
            message = await receive()
        if message is None:
            exchange.refusal = ApiError(
                408,
                "body_timeout",
                f"The request body did not arrive within {self.body_timeout_s:g} s.",
                headers={"Connection": "close"},
            )
            raise BodyRefused(exchange.refusal)
        if message["type"] == "http.request":
            exchange.received += len(message.get("body", b""))
            if exchange.received > exchange.limit:
                exchange.refusal = _too_large(exchange.limit)
                raise BodyRefused(exchange.refusal)
            exchange.body_done = not message.get("more_body", False)
        else:
            exchange.body_done = True
        return message

    def _head_too_large(self) -> ApiError:
        return ApiError(
            431,
            "headers_too_large",
            f"The request line and headers are larger than {_size(self.max_header_bytes)}.",
            headers={"Connection": "close"},
        )

    def _too_slow_to_answer(self) -> ApiError:
        return ApiError(
            503,
            "request_timeout",
            f"The answer took longer than {self.request_timeout_s:g} s; try again later.",
            headers={"Retry-After": "30"},
        )


_INTERNAL = ApiError(500, "internal", "Something went wrong on the server; it has been logged.")


def _head_bytes(scope: Scope) -> int:
    """About the bytes of the request's target and headers as sent (``name: value\\r\\n``)."""
    target = len(scope.get("raw_path", b"")) + len(scope.get("query_string", b""))
    return target + sum(len(name) + len(value) + 4 for name, value in scope["headers"])


def _too_large(limit: int) -> ApiError:
    return ApiError(
        413,
        "body_too_large",
        f"The request body is larger than {_size(limit)}.",
        headers={"Connection": "close"},
    )


def _size(n_bytes: int) -> str:
    if n_bytes >= 1024 * 1024 and n_bytes % (1024 * 1024) == 0:
        return f"{n_bytes // (1024 * 1024)} MiB"
    if n_bytes >= 1024 and n_bytes % 1024 == 0:
        return f"{n_bytes // 1024} KiB"
    return f"{n_bytes} bytes"


async def _send_error(send: Send, error: ApiError) -> None:
    body = json.dumps(error_body(error.code, error.message)).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *((name.lower().encode(), value.encode()) for name, value in error.headers.items()),
    ]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
