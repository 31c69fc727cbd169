"""The bot's metrics endpoint: its per-process port, gauges copied from the health report,
and a real HTTP scrape of a started endpoint."""

from __future__ import annotations

import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.health import Report
from bot.metrics_exposition import MetricsEndpoint, copy_report, metrics_port
from musicrec_core.metrics import ServiceMetrics
from tests.bot.helpers import make_settings

REPORT: Report = {
    "ready": True,
    "shards": [
        {"id": 2, "latency_ms": 41.5, "guilds": 10, "connected": True},
        {"id": 3, "latency_ms": None, "guilds": 0, "connected": False},
    ],
    "catalog": "3f9a0c12",
    "catalog_items": 1200,
    "queue": {"admitted": 3, "capacity": 32, "waiting": 1},
}


@pytest.mark.parametrize(
    ("settings", "port"),
    [
        ({}, None),
        ({"metrics_port": 9464}, 9464),
        ({"metrics_port": 9464, "shard_count": 8, "shard_ids": "4-7"}, 9468),
        ({"metrics_port": 9464, "shard_count": 4, "shard_ids": "3,1"}, 9465),
    ],
)
def test_each_process_gets_the_base_port_plus_its_lowest_shard(
    tmp_path: Path, settings: dict[str, object], port: int | None
) -> None:
    assert metrics_port(make_settings(tmp_path, **settings)) == port


def test_metrics_are_off_and_loopback_by_default(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    assert settings.metrics_port is None and settings.metrics_host == "127.0.0.1"


def test_gauges_are_copied_from_the_health_report() -> None:
    metrics = ServiceMetrics()
    copy_report(metrics, REPORT)
    value = metrics.registry.get_sample_value
    assert value("musicrec_queue_depth") == 3
    assert value("musicrec_queue_capacity") == 32
    assert value("musicrec_catalog_info", {"fingerprint": "3f9a0c12"}) == 1
    assert value("musicrec_catalog_items") == 1200
    assert value("musicrec_shard_gateway_latency_seconds", {"shard": "2"}) == 0.0415
    assert value("musicrec_shard_gateway_latency_seconds", {"shard": "3"}) is None


def test_a_report_before_the_catalog_loads_sets_nothing() -> None:
    metrics = ServiceMetrics()
    copy_report(metrics, {"ready": False, "shards": [], "catalog": None, "queue": None})
    assert metrics.registry.get_sample_value("musicrec_catalog_items") == 0


def endpoint_on(port: int, refresh: Callable[[], Awaitable[None]]) -> MetricsEndpoint:
    return MetricsEndpoint(
        ServiceMetrics(),
        host="127.0.0.1",
        port=port,
        interval_s=60,
        report=lambda: REPORT,
        refresh=refresh,
    )


async def test_a_started_endpoint_is_scraped_and_a_busy_port_is_refused() -> None:
    refreshed: list[bool] = []

    async def refresh() -> None:
        refreshed.append(True)

    endpoint = endpoint_on(0, refresh)
    endpoint.start()
    try:
        await endpoint.refresh()
        url = f"http://127.0.0.1:{endpoint.port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: ASYNC210
            text = response.read().decode()
        with pytest.raises(OSError):
            endpoint_on(endpoint.port or 0, refresh).start()
    finally:
        port = endpoint.port
        await endpoint.stop()
    samples = {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    assert samples["musicrec_queue_depth"] == 3
    assert refreshed
    again = endpoint_on(port or 0, refresh)  # stopped: the port can be served again
    again.start()
    await again.stop()
