"""The FastAPI application of ``musicrec serve``, assembled from its parts.

:func:`create_app` wires together what the endpoints rely on and nothing of the request
service itself: the error shape (:mod:`~musicrec_core.api.http_errors`), the body and time
caps (:class:`~musicrec_core.api.body_guard.BodyGuard`), the key check
(:class:`~musicrec_core.api.auth.CallerGate`, read by
:func:`~musicrec_core.api.auth.require_caller`), the settings the upload dependency reads
(:func:`~musicrec_core.api.upload.receive_upload`), and ``/healthz`` and ``/metrics``
(:mod:`~musicrec_core.api.health`). The ``/v1`` endpoints come as routers. The connection
caps (headers, connections, keep-alive) belong to the server:
:func:`musicrec_core.api.runner.server_config`.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter, FastAPI

from musicrec_core.api.auth import CallerGate
from musicrec_core.api.body_guard import BodyGuard
from musicrec_core.api.health import CatalogProbe, health_router
from musicrec_core.api.http_errors import install_error_handlers
from musicrec_core.api.keys import ApiKeyStore
from musicrec_core.api.settings import ApiSettings
from musicrec_core.metrics import ServiceMetrics

__all__ = ["create_app"]


def create_app(
    *,
    settings: ApiSettings,
    keys: ApiKeyStore,
    probe: CatalogProbe,
    metrics: ServiceMetrics,
    routers: Sequence[APIRouter] = (),
) -> FastAPI:
    """The API app: ``/healthz``, ``/metrics``, the OpenAPI page at ``/docs`` and each of
    ``routers`` (whose endpoints depend on ``require_caller`` and, for files,
    ``receive_upload``).

    Args:
        settings: the server's settings (caps, anonymous access, upload folder).
        keys: the API key file, shared with ``musicrec api-key`` through SQLite.
        probe: the served catalog's fingerprint and size, or None while it loads.
        metrics: this process's metrics; ``/metrics`` exposes its registry.
        routers: the endpoints to serve besides health and metrics.
    """
    app = FastAPI(
        title="musicrec",
        summary="Music recommendations by how it sounds.",
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.api_settings = settings
    app.state.caller_gate = CallerGate(keys, anonymous_loopback=settings.anonymous_loopback)
    install_error_handlers(app)
    app.include_router(health_router(probe, metrics))
    for router in routers:
        app.include_router(router)
    app.add_middleware(
        BodyGuard,
        max_header_bytes=settings.max_header_bytes,
        max_json_bytes=settings.max_json_bytes,
        max_upload_bytes=settings.max_upload_bytes,
        body_timeout_s=settings.body_timeout_s,
        request_timeout_s=settings.request_timeout_s,
    )
    return app
