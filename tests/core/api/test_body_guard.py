""":class:`~musicrec_core.api.body_guard.BodyGuard` called as uvicorn calls it, for what a
real server cannot show deterministically: a client that hangs up in the middle of its body.

The wrapped app reads the body with Starlette's ``Request.body()``, as the ``/v1`` routes
do; the connection's messages are what uvicorn hands over when the peer closes mid-body
(a first piece, then ``http.disconnect``).
"""

from __future__ import annotations

import logging

import pytest
from starlette.requests import Request
from starlette.types import Message, Receive, Scope, Send

from musicrec_core.api.body_guard import BodyGuard

SCOPE: Scope = {
    "type": "http",
    "method": "POST",
    "path": "/v1/similar",
    "raw_path": b"/v1/similar",
    "query_string": b"",
    "headers": [(b"content-type", b"application/json"), (b"content-length", b"1000")],
}


async def reads_the_body(scope: Scope, receive: Receive, send: Send) -> None:
    body = await Request(scope, receive).body()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


def guarded(app: object) -> BodyGuard:
    return BodyGuard(
        app,  # type: ignore[arg-type]
        max_header_bytes=16 * 1024,
        max_json_bytes=1024 * 1024,
        max_upload_bytes=25 * 2**20,
        body_timeout_s=5,
        request_timeout_s=10,
    )


async def test_a_client_that_hangs_up_mid_body_gets_no_answer_and_logs_no_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    arriving: list[Message] = [
        {"type": "http.request", "body": b'{"seed": "tone0', "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        return arriving.pop(0) if arriving else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    with caplog.at_level(logging.INFO):
        await guarded(reads_the_body)(SCOPE, receive, send)
    assert sent == []  # nobody is left to answer, and no 500 is made up for them
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
