"""The Prometheus metrics of a musicrec front end (the bot, later the HTTP API).

Mental model: one :class:`ServiceMetrics` per process holds every metric in a registry of
its own (never the process-global default, so tests and several front ends in one process
do not share counts). A front end reports events through its methods (a request answered,
a stage timed, a refusal, a cache lookup) and copies gauges it already computes elsewhere
(queue depth, catalog, budget, shard latency) with the ``set_*`` methods.
:func:`serve_metrics` exposes the registry over HTTP on a daemon thread, so scraping never
blocks an event loop.

Every label value comes from a fixed tuple below (or is a shard number), checked on each
call: member ids, server ids, titles and other outside text never become labels, which
keeps the series few and the exposition free of anything about the people using the bot.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Final
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.exposition import start_http_server

ENTRY_POINTS: Final = (
    "recommend",
    "context_menu",
    "link",
    "more_like",
    "discover",
    "mix",
    "path",
    "mix_from",
    "api_recommend",
    "api_similar",
    "api_mix",
    "api_path",
    "api_discover",
)
"""Where a request came in: a slash command, the context menu, a pasted link, a button."""
OUTCOMES: Final = ("ok", "refused", "failed", "deadline")
"""How a request ended: answered, refused at admission, failed while working, or cut off
by the request deadline."""
STAGES: Final = ("fetch", "decode", "embed", "search", "titles")
"""The timed stages of a request's work."""
REFUSAL_REASONS: Final = (
    "queue_full",
    "member_limit",
    "youtube_budget",
    "shared_state_busy",
    "bad_input",
)
"""Why a request was refused before any work started."""
CACHES: Final = ("clip", "title")
"""The caches whose lookups are counted (``result`` is ``hit`` or ``miss``)."""

STAGE_BUCKETS_S: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 150)
"""Histogram buckets for stage durations, in seconds (a cached search to a slow fetch)."""


def _checked(value: str, allowed: tuple[str, ...], label: str) -> str:
    if value not in allowed:
        raise ValueError(f"{label} must be one of {', '.join(allowed)}, not {value!r}")
    return value


class ServiceMetrics:
    """Every metric of one front end process, in :attr:`registry`.

    Names (all prefixed ``musicrec_``): ``requests_total{entry_point,outcome}``,
    ``stage_seconds{stage}`` (histogram), ``queue_depth``, ``queue_capacity``,
    ``refusals_total{reason}``, ``youtube_fetches_in_window``,
    ``youtube_fetches_per_window``, ``cache_lookups_total{cache,result}``,
    ``catalog_info{fingerprint}``, ``catalog_items``, ``key_steps_waiting``,
    ``shard_gateway_latency_seconds{shard}``.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        """The registry to expose (this object's metrics and nothing else)."""
        registry = self.registry
        self._requests = Counter(
            "musicrec_requests",
            "Requests by entry point and how they ended.",
            ["entry_point", "outcome"],
            registry=registry,
        )
        self._stages = Histogram(
            "musicrec_stage_seconds",
            "Time spent in each stage of a request's work, in seconds.",
            ["stage"],
            buckets=STAGE_BUCKETS_S,
            registry=registry,
        )
        self._queue_depth = Gauge(
            "musicrec_queue_depth", "Requests holding a queue ticket now.", registry=registry
        )
        self._queue_capacity = Gauge(
            "musicrec_queue_capacity", "The most queue tickets at once.", registry=registry
        )
        self._refusals = Counter(
            "musicrec_refusals",
            "Requests refused before work started, by reason.",
            ["reason"],
            registry=registry,
        )
        self._fetches_used = Gauge(
            "musicrec_youtube_fetches_in_window",
            "YouTube fetches taken from the machine's budget in its current window.",
            registry=registry,
        )
        self._fetches_allowed = Gauge(
            "musicrec_youtube_fetches_per_window",
            "YouTube fetches the budget allows per window.",
            registry=registry,
        )
        self._cache = Counter(
            "musicrec_cache_lookups",
            "Cache lookups by cache and result (hit or miss).",
            ["cache", "result"],
            registry=registry,
        )
        self._catalog = Info("musicrec_catalog", "The catalog being served.", registry=registry)
        self._catalog_items = Gauge(
            "musicrec_catalog_items", "Items in the catalog being served.", registry=registry
        )
        self._key_steps_waiting = Gauge(
            "musicrec_key_steps_waiting",
            "API key steps waiting now for Discord members' requests on this machine.",
            registry=registry,
        )
        self._shard_latency = Gauge(
            "musicrec_shard_gateway_latency_seconds",
            "Time between a shard's gateway heartbeat and its acknowledgement, in seconds.",
            ["shard"],
            registry=registry,
        )
        for entry in ENTRY_POINTS:  # every series present from the start (rates need a 0)
            for outcome in OUTCOMES:
                self._requests.labels(entry, outcome)
        for stage in STAGES:
            self._stages.labels(stage)
        for reason in REFUSAL_REASONS:
            self._refusals.labels(reason)
        for cache in CACHES:
            for result in ("hit", "miss"):
                self._cache.labels(cache, result)

    # Events -----------------------------------------------------------------------------

    def count_request(self, entry_point: str, outcome: str) -> None:
        """One request from ``entry_point`` (of :data:`ENTRY_POINTS`) ended in ``outcome``."""
        self._requests.labels(
            _checked(entry_point, ENTRY_POINTS, "entry_point"),
            _checked(outcome, OUTCOMES, "outcome"),
        ).inc()

    def observe_stage(self, stage: str, seconds: float) -> None:
        """``stage`` (of :data:`STAGES`) of one request took ``seconds``."""
        self._stages.labels(_checked(stage, STAGES, "stage")).observe(seconds)

    @contextlib.contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        """Observe how long the ``with`` block takes as ``stage`` (also when it raises)."""
        _checked(stage, STAGES, "stage")
        began = time.perf_counter()
        try:
            yield
        finally:
            self.observe_stage(stage, time.perf_counter() - began)

    def count_refusal(self, reason: str) -> None:
        """One request refused for ``reason`` (of :data:`REFUSAL_REASONS`)."""
        self._refusals.labels(_checked(reason, REFUSAL_REASONS, "reason")).inc()

    def count_cache_lookups(self, cache: str, *, hits: int = 0, misses: int = 0) -> None:
        """``hits`` lookups in ``cache`` (of :data:`CACHES`) that found an entry and
        ``misses`` that did not (safe from any thread)."""
        _checked(cache, CACHES, "cache")
        self._cache.labels(cache, "hit").inc(hits)
        self._cache.labels(cache, "miss").inc(misses)

    # Gauges copied from figures computed elsewhere ----------------------------------------

    def set_queue(self, *, depth: int, capacity: int) -> None:
        """Tickets held now and the most at once."""
        self._queue_depth.set(depth)
        self._queue_capacity.set(capacity)

    def set_youtube_budget(self, *, used: int, allowed: int) -> None:
        """Fetches taken in the budget's current window, and the most it allows."""
        self._fetches_used.set(used)
        self._fetches_allowed.set(allowed)

    def set_catalog(self, *, fingerprint: str, items: int) -> None:
        """The served catalog's fingerprint (eight hex digits) and item count."""
        if len(fingerprint) > 64 or not fingerprint.isalnum():
            raise ValueError(f"not a catalog fingerprint: {fingerprint!r}")
        self._catalog.info({"fingerprint": fingerprint})
        self._catalog_items.set(items)

    def watch_key_steps_waiting(self, count: Callable[[], int]) -> None:
        """Report ``count()`` (key steps waiting for members now) at each scrape."""
        self._key_steps_waiting.set_function(count)

    def set_shard_latency(self, shard: int, seconds: float | None) -> None:
        """Shard ``shard``'s gateway latency; None (no heartbeat acknowledged) drops it."""
        if shard < 0:
            raise ValueError(f"a shard number is never negative, not {shard}")
        if seconds is None:
            with contextlib.suppress(KeyError):
                self._shard_latency.remove(str(shard))
            return
        self._shard_latency.labels(str(shard)).set(seconds)


def serve_metrics(metrics: ServiceMetrics, host: str, port: int) -> WSGIServer:
    """Serve ``metrics`` at ``http://host:port/metrics`` on a daemon thread.

    ``port`` 0 picks a free port (read it from ``server.server_port``). Stop it with
    ``server.shutdown(); server.server_close()``.

    Raises:
        OSError: the address cannot be bound (in use, or not this machine's).
    """
    server, _thread = start_http_server(port, addr=host, registry=metrics.registry)
    return server
