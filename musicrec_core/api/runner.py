"""Running the API app under uvicorn with the connection caps of :class:`ApiSettings`.

:func:`server_config` builds the ``uvicorn.Config``: uvicorn's h11 protocol with the
header deadline, connection limit and JSON errors of
:mod:`~musicrec_core.api.connection_guard`; the request head capped at ``max_header_kib``
(h11's largest incomplete event); idle kept-alive connections closed after
``keepalive_s``; no ``Server`` header; ``X-Forwarded-For`` ignored (the peer address is the
TCP peer, which the anonymous loopback check relies on). :func:`run_server` serves until
SIGINT or SIGTERM.
"""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from musicrec_core.api.connection_guard import configure
from musicrec_core.api.settings import ApiSettings

__all__ = ["run_server", "server_config"]


def server_config(app: FastAPI, settings: ApiSettings) -> uvicorn.Config:
    """The uvicorn configuration serving ``app`` on ``settings.host:settings.port``."""
    protocol = configure(
        header_timeout_s=settings.header_timeout_s, max_connections=settings.max_connections
    )
    return uvicorn.Config(
        app,
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
        log_config=None,
    )


def run_server(app: FastAPI, settings: ApiSettings) -> None:
    """Serve ``app`` until SIGINT/SIGTERM (blocking; finishes requests in progress first).

    Raises:
        SystemExit: uvicorn could not bind the address (it logs why).
    """
    uvicorn.Server(server_config(app, settings)).run()
