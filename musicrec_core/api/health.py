"""``GET /healthz`` and ``GET /metrics``: is the server ready, on which catalog, and its
Prometheus metrics. Neither needs a key (a reverse proxy should keep ``/metrics`` to the
operator's network; docs/operations.md).

Both read the served catalog through a :data:`CatalogProbe`, a callable the app factory is
given (the request service supplies one; tests pass a lambda), so this module knows nothing
of how the catalog is loaded.

- ``/healthz``: 200 ``{"ready": true, "catalog": {"fingerprint": str, "items": int}}`` once
  a catalog is served; 503 ``{"ready": false, "catalog": null}`` before (load balancers and
  ``curl --fail`` read the status).
- ``/metrics``: the text exposition of :class:`~musicrec_core.metrics.ServiceMetrics`'
  registry, with the catalog gauges refreshed from the probe at each scrape.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from musicrec_core.metrics import ServiceMetrics

__all__ = ["CatalogProbe", "CatalogStatus", "Health", "health_router"]


@dataclass(frozen=True)
class CatalogStatus:
    """The served catalog: its fingerprint and item count, or None while none is ready."""

    fingerprint: str
    items: int


CatalogProbe = Callable[[], CatalogStatus | None]
"""Returns the catalog served now, or None while it loads; called on every probe, so cheap."""


class CatalogInfo(BaseModel):
    fingerprint: str
    items: int


class Health(BaseModel):
    """The ``/healthz`` answer."""

    ready: bool
    catalog: CatalogInfo | None


def health_router(probe: CatalogProbe, metrics: ServiceMetrics) -> APIRouter:
    """The router serving ``/healthz`` from ``probe`` and ``/metrics`` from ``metrics``."""
    router = APIRouter()

    @router.get("/healthz", response_model=Health, responses={503: {"model": Health}})
    def healthz() -> JSONResponse:
        status = probe()
        if status is None:
            return JSONResponse(Health(ready=False, catalog=None).model_dump(), status_code=503)
        info = CatalogInfo(fingerprint=status.fingerprint, items=status.items)
        return JSONResponse(Health(ready=True, catalog=info).model_dump())

    @router.get("/metrics", response_class=Response)
    def prometheus_metrics() -> Response:
        status = probe()
        if status is not None:
            metrics.set_catalog(fingerprint=status.fingerprint, items=status.items)
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return router
