"""``musicrec serve``: the HTTP API as a process of its own, beside the bot or alone.

Mental model: the server loads the catalog the settings name (``MUSICREC_INDEX_DIR``, else
the default catalog) and starts the same request service the bot runs
(:class:`~musicrec_core.service.service.RecommendService`, with the ``MUSICREC_`` limits),
then serves the ``/v1`` routers, ``/healthz`` and ``/metrics``
(:func:`~musicrec_core.api.app.create_app`). Everything it shares with the machine's other
musicrec processes goes through their files, exactly as between two bot processes: the
hourly YouTube budget and its shares, the clip cache, the title cache and the API keys. So
a key spends the same budget a Discord member does, and a link either front end heard is
answered from the clip cache by the other.

The catalog loads before the first request is served (``/healthz`` answers ``ready``
once it has); SIGHUP reloads it in place through the process's
:class:`~musicrec_core.service.catalog_reload.CatalogReloads`, as the bot's reloads go (one
at a time; a new index is proven first; a failure is logged and the old catalog keeps
serving; stopping waits for a reload in flight). The queue, the catalog size and the
YouTube budget are copied into the metrics every :data:`GAUGE_INTERVAL_S` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI

from musicrec_core.api.app import create_app
from musicrec_core.api.health import CatalogStatus
from musicrec_core.api.keys import ApiKeyStore
from musicrec_core.api.recommend_routes import recommend_router
from musicrec_core.api.session_routes import session_router
from musicrec_core.api.settings import ApiSettings
from musicrec_core.metrics import ServiceMetrics
from musicrec_core.recommender import Recommender
from musicrec_core.service.catalog_reload import CatalogReloads
from musicrec_core.service.service import RecommendService
from musicrec_core.service.settings import ServiceSettings
from musicrec_core.service.workers import prestart_workers

__all__ = ["GAUGE_INTERVAL_S", "api_app", "serving_app"]

log = logging.getLogger(__name__)

GAUGE_INTERVAL_S = 5.0
"""How often the queue, catalog and budget gauges are refreshed, in seconds."""


def serving_app(settings: ServiceSettings, api: ApiSettings) -> FastAPI:
    """The API app serving ``settings.index_dir`` (set it first:
    :meth:`~musicrec_core.service.settings.ServiceSettings.with_catalog`); the catalog is
    loaded and the service started when the server starts the app, and both are closed
    when it stops. The process's workers are its entry point's to configure
    (:func:`~musicrec_core.service.workers.configure_workers`)."""
    metrics = ServiceMetrics()
    keys = ApiKeyStore(api.keys_path)
    app = api_app(api, keys, metrics)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        index_dir = settings.index_dir
        assert index_dir is not None, "serving_app needs settings.with_catalog()"
        recommender = await asyncio.to_thread(
            Recommender.open, index_dir, weights=settings.weight_files, serving=True
        )
        service = RecommendService.start(recommender, settings, metrics)
        app.state.service = service
        await asyncio.to_thread(prestart_workers)
        gauges = asyncio.create_task(_refresh_gauges(service))
        reloads = CatalogReloads(recommender, index_dir)
        reloads.handle_sighup()
        index = recommender.index
        log.info("serving %d catalog items from %s on the API", len(index), index.directory)
        try:
            yield
        finally:
            gauges.cancel()
            await reloads.close()
            await service.close()
            recommender.close()
            keys.close()

    app.router.lifespan_context = lifespan
    return app


def api_app(api: ApiSettings, keys: ApiKeyStore, metrics: ServiceMetrics) -> FastAPI:
    """The API app with every ``/v1`` router, answering from the request service its
    host puts on ``app.state.service`` (until then ``/healthz`` says not ready)."""
    app = create_app(
        settings=api,
        keys=keys,
        probe=lambda: _catalog_status(app),
        metrics=metrics,
        routers=[recommend_router(), session_router()],
    )
    return app


def _catalog_status(app: FastAPI) -> CatalogStatus | None:
    """The served catalog's fingerprint and size; None until the service started."""
    service: RecommendService | None = getattr(app.state, "service", None)
    if service is None:
        return None
    index = service.recommender.index
    return CatalogStatus(fingerprint=index.fingerprint, items=len(index))


async def _refresh_gauges(service: RecommendService) -> None:
    """Copy the queue, the catalog and the YouTube budget into the metrics, forever."""
    metrics = service.metrics
    while True:
        stats = service.stats()
        metrics.set_queue(depth=stats.admitted, capacity=stats.capacity)
        index = service.recommender.index
        metrics.set_catalog(fingerprint=index.fingerprint, items=len(index))
        await service.observe_budget()
        await asyncio.sleep(GAUGE_INTERVAL_S)
