"""The HTTP API served from inside a process that already runs the request service: the
bot, with ``MUSICREC_BOT_SERVES_API=true``.

Mental model: ``musicrec serve`` is a process of its own, which shares the machine's
YouTube budget and caches with the bot through their files, but not its queue, its fair
pools or its CPU: a key flooding it slows the bot's members as any other program on the
machine would (docs/api.md). Served from the bot's own event loop instead, an API request
is admitted by the very service the bot's members use
(:class:`~musicrec_core.service.service.RecommendService`): one queue, one set of fair
pools turned member by member and key by key, one micro-batching model thread.

:func:`start_embedded_api` starts uvicorn on the running loop with the same caps and
routers as ``musicrec serve`` (:func:`~musicrec_core.api.serve.api_app`). The host keeps
its signals (uvicorn's handlers are not installed) and stops the server with
:meth:`EmbeddedApi.stop`. A port that cannot be bound is logged and the host runs on
without the API, as it does without its metrics port.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator

from musicrec_core.api.keys import ApiKeyStore
from musicrec_core.api.runner import ListeningServer, server_config
from musicrec_core.api.serve import api_app
from musicrec_core.api.settings import ApiSettings
from musicrec_core.service.service import RecommendService

__all__ = ["EmbeddedApi", "start_embedded_api"]

log = logging.getLogger(__name__)

START_WAIT_S = 10.0
"""Longest wait for the server to bind and start, in seconds."""


class _HostedServer(ListeningServer):
    """uvicorn's server without its signal handlers: the host process owns its signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class EmbeddedApi:
    """The API server running on the host's event loop, and how to stop it."""

    def __init__(self, server: _HostedServer, task: asyncio.Task[None], keys: ApiKeyStore):
        self._server = server
        self._task = task
        self._keys = keys

    @property
    def port(self) -> int:
        """The TCP port it listens on (the one the system picked for port 0)."""
        return int(self._server.servers[0].sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Answer the requests in progress, then close the listening socket and the keys."""
        self._server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._keys.close()


async def start_embedded_api(service: RecommendService, api: ApiSettings) -> EmbeddedApi | None:
    """Serve the API on the running loop from ``service`` (its metrics too) with the
    ``MUSICREC_API_*`` settings ``api``; None (logged) when it could not start, e.g. its
    port is taken."""
    keys = ApiKeyStore(api.keys_path)
    app = api_app(api, keys, service.metrics)
    app.state.service = service
    server = _HostedServer(server_config(app, api))
    task = asyncio.create_task(_serve(server), name="musicrec-api")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_WAIT_S
    while not server.started and not task.done() and loop.time() < deadline:
        await asyncio.sleep(0.02)
    if not server.started:
        server.should_exit = True
        await task
        keys.close()
        log.error("the HTTP API is off: it could not start on %s:%d", api.host, api.port)
        return None
    return EmbeddedApi(server, task, keys)


async def _serve(server: _HostedServer) -> None:
    """Run ``server`` until it is told to exit; uvicorn's exit on a port it cannot bind
    (SystemExit) ends only this task, never the host."""
    try:
        await server.serve()
    except SystemExit:
        log.error("the HTTP API server stopped at start-up (see the line above)")
