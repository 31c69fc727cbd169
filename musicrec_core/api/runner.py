"""Running the API app under uvicorn with the connection caps of :class:`ApiSettings`.

:func:`server_config` builds the ``uvicorn.Config``: uvicorn's h11 protocol with the
header deadline, connection limit and JSON errors of
:mod:`~musicrec_core.api.connection_guard`; the request head capped at ``max_header_kib``
(h11's largest incomplete event); idle kept-alive connections closed after
``keepalive_s``; no ``Server`` header; ``X-Forwarded-For`` ignored (the peer address is the
TCP peer, which the anonymous loopback check relies on); uvicorn's access log off, the
app wrapped in musicrec's bounded one instead when ``access_log`` is on
(:mod:`~musicrec_core.api.access_log`). :func:`run_server` serves until
SIGINT or SIGTERM (SIGTERM, a supervisor's stop, ends it with status 0 once the requests in
progress are answered and the service closed; uvicorn would raise the signal again after
its clean shutdown, killing the process), and logs ``listening on http://HOST:PORT`` for
each address it bound once the app has started (the port it was given, or the one the
system picked for port 0), a line in musicrec's words that scripts and supervisors may
wait for.

A start-up that fails for a reason musicrec can name (its lifespan raised a
:class:`~musicrec_core.errors.MusicrecError`, such as no index at the configured folder)
ends :func:`run_server` with that error, so ``musicrec serve`` says it in one line and
exits 1, instead of uvicorn logging a traceback and exiting 3
(:class:`NamedStartupFailures` keeps the traceback out of the log).
"""

from __future__ import annotations

import logging
import signal
import socket
from typing import Any

import uvicorn
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from musicrec_core.api.access_log import AccessLog
from musicrec_core.api.connection_guard import configure
from musicrec_core.api.settings import ApiSettings
from musicrec_core.errors import MusicrecError

__all__ = [
    "ListeningServer",
    "NamedStartupFailures",
    "listening_url",
    "run_server",
    "server_config",
]

log = logging.getLogger(__name__)


def server_config(app: FastAPI, settings: ApiSettings) -> uvicorn.Config:
    """The uvicorn configuration serving ``app`` on ``settings.host:settings.port``."""
    protocol = configure(
        header_timeout_s=settings.header_timeout_s, max_connections=settings.max_connections
    )
    return uvicorn.Config(
        AccessLog(app) if settings.access_log else app,
        host=settings.host,
        port=settings.port,
        http=protocol,
        ws="none",
        lifespan="on",
        h11_max_incomplete_event_size=settings.max_header_bytes,
        timeout_keep_alive=settings.keepalive_s,
        limit_concurrency=None,
        proxy_headers=False,
        server_header=False,
        access_log=False,
        log_config=None,
    )


def run_server(app: FastAPI, settings: ApiSettings) -> None:
    """Serve ``app`` until SIGINT/SIGTERM (blocking; finishes requests in progress first;
    from the main thread, where signal handlers can be set).

    Raises:
        MusicrecError: the app's start-up failed for this reason (see the module).
        SystemExit: uvicorn could not bind the address, or the start-up failed otherwise
            (it logs why).
    """
    app.add_middleware(NamedStartupFailures)
    previous = signal.signal(signal.SIGTERM, _stopped)  # what uvicorn raises again after
    try:
        ListeningServer(server_config(app, settings)).run()
    except SystemExit:
        failure = getattr(app.state, NamedStartupFailures.STATE, None)
        if isinstance(failure, MusicrecError):
            raise failure from None
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)


def _stopped(_signal: int, _frame: object) -> None:
    """SIGTERM after uvicorn's clean shutdown: the stop was asked for, nothing to do."""
    log.info("stopped on SIGTERM")


class NamedStartupFailures:
    """ASGI middleware: when the lifespan's start-up fails with a
    :class:`MusicrecError`, keep it on ``app.state`` for :func:`run_server` and leave its
    traceback out of the ``lifespan.startup.failed`` message uvicorn logs."""

    STATE = "startup_failure"

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        state: Any = scope["app"].state

        async def named_send(message: Message) -> None:
            if message["type"] == "lifespan.startup.failed":
                message = {**message, "message": ""}
            await send(message)

        try:
            await self.app(scope, receive, named_send)
        except MusicrecError as failure:
            setattr(state, self.STATE, failure)
            raise


class ListeningServer(uvicorn.Server):
    """uvicorn's server, logging where it listens once the app has started."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if not self.started:
            return
        for server in self.servers:
            for bound in server.sockets:
                log.info("listening on %s", listening_url(bound.getsockname()))


def listening_url(address: tuple[str, int] | tuple[str, int, int, int]) -> str:
    """``http://HOST:PORT`` for a bound TCP address (IPv6 hosts in brackets)."""
    host, port = address[0], address[1]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
