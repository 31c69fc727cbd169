"""The bot's Prometheus endpoint: one port per bot process, gauges refreshed from the health
report.

Mental model: with ``MUSICREC_METRICS_PORT`` set, each bot process serves its
:class:`~musicrec_core.metrics.ServiceMetrics` at ``http://HOST:PORT/metrics``
(:func:`~musicrec_core.metrics.serve_metrics`, a daemon thread: a scrape never waits for
the event loop). The port is the setting plus the lowest shard id the process runs
(:func:`metrics_port`), so processes started from one settings file with different
``MUSICREC_SHARD_IDS`` each get their own. Counters and stage histograms move as requests
pass (:mod:`musicrec_core.service.service`); the gauges (queue, catalog, shard latency,
YouTube budget) are copied every ``health_interval_s`` seconds on the event loop from the
figures the bot already gathers for its health file and /musicrec status
(:meth:`bot.app.MusicrecBot.health_report`), never computed twice.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from wsgiref.simple_server import WSGIServer

from bot.health import Report
from bot.logging_setup import get_logger
from bot.settings import Settings
from musicrec_core.metrics import ServiceMetrics, serve_metrics

log = get_logger(__name__)


def metrics_port(settings: Settings) -> int | None:
    """The port this process serves metrics on: ``metrics_port`` plus the lowest of its
    ``shard_ids`` (plus 0 when it runs every shard); None when metrics are off."""
    if settings.metrics_port is None:
        return None
    return settings.metrics_port + min(settings.shard_ids, default=0)


def copy_report(metrics: ServiceMetrics, report: Report) -> None:
    """Set ``metrics``' gauges from a health report (:mod:`bot.health`'s keys)."""
    queue = report.get("queue")
    if queue is not None:
        metrics.set_queue(depth=queue["admitted"], capacity=queue["capacity"])
    if report.get("catalog") is not None:
        metrics.set_catalog(fingerprint=report["catalog"], items=report["catalog_items"])
    for shard in report.get("shards", ()):
        latency_ms = shard["latency_ms"]
        seconds = None if latency_ms is None else latency_ms / 1000.0
        metrics.set_shard_latency(shard["id"], seconds)


class MetricsEndpoint:
    """``metrics`` served on ``host``:``port``, its gauges refreshed every ``interval_s``
    seconds from ``report()`` and ``refresh()`` (e.g. the YouTube budget, read off the loop).
    """

    def __init__(
        self,
        metrics: ServiceMetrics,
        *,
        host: str,
        port: int,
        interval_s: float,
        report: Callable[[], Report],
        refresh: Callable[[], Awaitable[None]],
    ) -> None:
        self.metrics = metrics
        self._host = host
        self._port = port
        self._interval_s = interval_s
        self._report = report
        self._refresh = refresh
        self._server: WSGIServer | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def port(self) -> int | None:
        """The port being served (the chosen one when started with port 0)."""
        return None if self._server is None else self._server.server_port

    def start(self) -> None:
        """Bind the port and start refreshing (on the running event loop).

        Raises:
            OSError: the port cannot be bound.
        """
        self._server = serve_metrics(self.metrics, self._host, self._port)
        log.info("serving metrics on http://%s:%d/metrics", self._host, self.port)
        loop = asyncio.get_running_loop()
        self._task = loop.create_task(self._run(), name="musicrec-metrics")

    async def refresh(self) -> None:
        """Copy the gauges now."""
        copy_report(self.metrics, self._report())
        await self._refresh()

    async def stop(self) -> None:
        """Stop refreshing and close the port."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._server is not None:
            server, self._server = self._server, None
            await asyncio.to_thread(server.shutdown)
            server.server_close()

    async def _run(self) -> None:
        while True:
            try:
                await self.refresh()
            except Exception:  # a refresh that fails must not stop the next ones
                log.exception("could not refresh the metrics")
            await asyncio.sleep(self._interval_s)
