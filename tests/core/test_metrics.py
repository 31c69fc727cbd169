"""The front ends' Prometheus metrics: bounded labels, values that move, HTTP exposition."""

from __future__ import annotations

import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from musicrec_core.metrics import (
    CACHES,
    ENTRY_POINTS,
    OUTCOMES,
    REFUSAL_REASONS,
    STAGES,
    ServiceMetrics,
    serve_metrics,
)


def _value(metrics: ServiceMetrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def test_each_registry_counts_only_its_own_events() -> None:
    first, second = ServiceMetrics(), ServiceMetrics()
    first.count_request("recommend", "ok")
    first.count_request("recommend", "ok")
    first.count_request("link", "refused")
    assert _value(first, "musicrec_requests_total", entry_point="recommend", outcome="ok") == 2
    assert _value(first, "musicrec_requests_total", entry_point="link", outcome="refused") == 1
    assert _value(second, "musicrec_requests_total", entry_point="recommend", outcome="ok") == 0


def test_every_bounded_series_exists_from_the_start() -> None:
    metrics = ServiceMetrics()
    for entry in ENTRY_POINTS:
        for outcome in OUTCOMES:
            labels = {"entry_point": entry, "outcome": outcome}
            assert _value(metrics, "musicrec_requests_total", **labels) == 0
    for reason in REFUSAL_REASONS:
        assert _value(metrics, "musicrec_refusals_total", reason=reason) == 0
    for cache in CACHES:
        assert _value(metrics, "musicrec_cache_lookups_total", cache=cache, result="hit") == 0


@pytest.mark.parametrize(
    ("call", "args"),
    [
        ("count_request", ("recommend", "member 1234")),
        ("count_request", ("Some Title", "ok")),
        ("observe_stage", ("download", 1.0)),
        ("count_refusal", ("guild 42",)),
    ],
)
def test_outside_text_is_never_a_label(call: str, args: tuple[object, ...]) -> None:
    metrics = ServiceMetrics()
    with pytest.raises(ValueError, match="must be one of"):
        getattr(metrics, call)(*args)
    with pytest.raises(ValueError):
        metrics.count_cache_lookups("titles of guild 42", hits=1)
    with pytest.raises(ValueError):
        metrics.set_catalog(fingerprint="a title, not a fingerprint", items=3)


def test_stages_refusals_and_caches_move() -> None:
    metrics = ServiceMetrics()
    metrics.observe_stage("fetch", 2.0)
    with pytest.raises(RuntimeError), metrics.timed("decode"):
        raise RuntimeError("a failed decode is still timed")
    metrics.count_refusal("queue_full")
    metrics.count_cache_lookups("clip", hits=1)
    metrics.count_cache_lookups("title", hits=3, misses=1)
    assert _value(metrics, "musicrec_stage_seconds_count", stage="fetch") == 1
    assert _value(metrics, "musicrec_stage_seconds_sum", stage="fetch") == 2.0
    assert _value(metrics, "musicrec_stage_seconds_count", stage="decode") == 1
    assert _value(metrics, "musicrec_stage_seconds_count", stage="embed") == 0
    assert _value(metrics, "musicrec_refusals_total", reason="queue_full") == 1
    assert _value(metrics, "musicrec_cache_lookups_total", cache="clip", result="hit") == 1
    assert _value(metrics, "musicrec_cache_lookups_total", cache="title", result="miss") == 1
    assert _value(metrics, "musicrec_cache_lookups_total", cache="title", result="hit") == 3
    assert set(STAGES) == {"fetch", "decode", "embed", "search", "titles"}


def test_gauges_follow_the_figures_they_copy() -> None:
    metrics = ServiceMetrics()
    metrics.set_queue(depth=3, capacity=32)
    metrics.set_youtube_budget(used=7, allowed=60)
    metrics.set_catalog(fingerprint="0a1b2c3d", items=1200)
    metrics.set_shard_latency(1, 0.042)
    assert _value(metrics, "musicrec_queue_depth") == 3
    assert _value(metrics, "musicrec_queue_capacity") == 32
    assert _value(metrics, "musicrec_youtube_fetches_in_window") == 7
    assert _value(metrics, "musicrec_catalog_info", fingerprint="0a1b2c3d") == 1
    assert _value(metrics, "musicrec_catalog_items") == 1200
    assert _value(metrics, "musicrec_shard_gateway_latency_seconds", shard="1") == 0.042
    metrics.set_catalog(fingerprint="ffff0000", items=10)  # reloaded: one fingerprint left
    assert _value(metrics, "musicrec_catalog_info", fingerprint="0a1b2c3d") is None
    metrics.set_shard_latency(1, None)  # disconnected: no stale latency
    assert _value(metrics, "musicrec_shard_gateway_latency_seconds", shard="1") is None


def test_exposition_is_scraped_over_http() -> None:
    metrics = ServiceMetrics()
    metrics.count_request("more_like", "ok")
    server = serve_metrics(metrics, "127.0.0.1", 0)
    try:
        url = f"http://127.0.0.1:{server.server_port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.status == 200
            text = response.read().decode()
    finally:
        server.shutdown()
        server.server_close()
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    key = ("musicrec_requests_total", (("entry_point", "more_like"), ("outcome", "ok")))
    assert samples[key] == 1
    assert not any(name.startswith("python_gc") for name, _ in samples)  # own registry only
