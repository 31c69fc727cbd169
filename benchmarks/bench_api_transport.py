"""What the HTTP transport adds to an answer: a real uvicorn server against the same work
done in process, same run.

Run: ``python benchmarks/bench_api_transport.py [--requests 2000] [--items 10]``

The server (a subprocess, so client and server do not share a GIL) serves one async route
built as the ``/v1`` endpoints will be (a sync ``def`` route adds a thread hand-off, about
0.6 ms more at p50 here): ``require_caller`` (key lookup, token bucket, in-flight
count) and :func:`~musicrec_core.api.answers.answer_from` on a fixed
:class:`~musicrec_core.recommendation.RecommendationSet` of ``--items`` YouTube items (the
request service's work is left out: this measures what the API adds to it). Measured,
interleaved in rounds so both see the same machine:

- baseline, in process: the key check and limits, ``answer_from`` and its JSON, per call;
- over HTTP: one keep-alive connection (``http.client``) sending ``GET /bench/answer``
  with a Bearer key and reading the answer.

Prints p50 and p95 of each in milliseconds, the p50 overhead (HTTP minus baseline; issue 21
allows 3 ms) and the ratio.
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402
from fastapi import APIRouter, Depends  # noqa: E402

from musicrec_core.api.answers import Answer, answer_from  # noqa: E402
from musicrec_core.api.app import create_app  # noqa: E402
from musicrec_core.api.auth import Caller, CallerGate, require_caller  # noqa: E402
from musicrec_core.api.health import CatalogStatus  # noqa: E402
from musicrec_core.api.key_limits import KeyLimits  # noqa: E402
from musicrec_core.api.keys import ApiKeyStore  # noqa: E402
from musicrec_core.api.runner import run_server  # noqa: E402
from musicrec_core.api.settings import ApiSettings  # noqa: E402
from musicrec_core.metrics import ServiceMetrics  # noqa: E402
from musicrec_core.recommendation import Recommendation, RecommendationSet  # noqa: E402
from musicrec_core.recommender import youtube_url  # noqa: E402

ROUNDS = 5
UNLIMITED = KeyLimits(rate=1000, burst=10_000, inflight=1000)


def _results(n_items: int) -> RecommendationSet:
    items = tuple(
        Recommendation(
            rank=rank,
            group=f"vid{rank:08d}",
            title=f"A video title number {rank}",
            start_s=30.0,
            end_s=40.0,
            score=0.9 - rank / 100,
            window_cosine=0.9 - rank / 100,
            labels=("Music", "Jazz", "Piano"),
            url=youtube_url(f"vid{rank:08d}", 30.0),
            source=None,
            item_id=rank,
            channel="A channel",
        )
        for rank in range(1, n_items + 1)
    )
    return RecommendationSet(None, np.zeros(128, np.float32), (), items, "bench-catalog")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--items", type=int, default=10)
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        serve_on(args.serve, args.items, args.port)
        return
    with tempfile.TemporaryDirectory() as tmp:
        keys_path = Path(tmp) / "keys.sqlite3"
        store = ApiKeyStore(keys_path)
        key = store.add("bench", UNLIMITED)
        port = _free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--serve",
                str(keys_path),
                "--port",
                str(port),
                "--items",
                str(args.items),
            ],
            stderr=subprocess.DEVNULL,
        )
        try:
            connection = _connect(port)
            gate = CallerGate(store)
            results = _results(args.items)
            in_process: list[float] = []
            over_http: list[float] = []
            per_round = max(1, args.requests // ROUNDS)
            headers = {"Authorization": f"Bearer {key}"}
            for _ in range(ROUNDS):
                for _ in range(per_round):
                    start = time.perf_counter()
                    caller = gate.identify(_Credentials(key), "127.0.0.1")
                    running = gate.admit(caller)
                    answer_from(results).model_dump_json()
                    running.leave()
                    in_process.append(time.perf_counter() - start)
                for _ in range(per_round):
                    start = time.perf_counter()
                    connection.request("GET", "/bench/answer", headers=headers)
                    response = connection.getresponse()
                    response.read()
                    over_http.append(time.perf_counter() - start)
                    assert response.status == 200, response.status
        finally:
            server.terminate()
            server.wait(10)
            store.close()
    _report(in_process, over_http, args.items)


class _Credentials:
    """What HTTPBearer hands the gate: the key as ``credentials``."""

    def __init__(self, key: str) -> None:
        self.credentials = key


def serve_on(keys_path: Path, n_items: int, port: int) -> None:
    """The server side (the ``--serve`` subprocess): serve the bench route until killed."""
    results = _results(n_items)
    router = APIRouter()

    @router.get("/bench/answer", response_model=Answer)
    async def bench_answer(caller: Caller = Depends(require_caller)) -> Answer:  # noqa: B008
        return answer_from(results)

    settings = ApiSettings(_env_file=None, port=port, keys_path=keys_path)
    app = create_app(
        settings=settings,
        keys=ApiKeyStore(keys_path),
        probe=lambda: CatalogStatus("bench-catalog", n_items),
        metrics=ServiceMetrics(),
        routers=[router],
    )
    run_server(app, settings)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _connect(port: int) -> http.client.HTTPConnection:
    deadline = time.monotonic() + 30
    while True:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            connection.request("GET", "/healthz")
            connection.getresponse().read()
            return connection
        except OSError:
            connection.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _report(in_process: list[float], over_http: list[float], n_items: int) -> None:
    rows = [("baseline: in process", in_process), ("over HTTP (keep-alive)", over_http)]
    print(f"{n_items} items per answer, {len(over_http)} requests each, {ROUNDS} rounds")
    print(f"{'path':<26}{'p50 ms':>10}{'p95 ms':>10}")
    for name, values in rows:
        print(
            f"{name:<26}{_percentile(values, 0.5) * 1e3:>10.3f}"
            f"{_percentile(values, 0.95) * 1e3:>10.3f}"
        )
    base = statistics.median(in_process)
    http_p50 = statistics.median(over_http)
    print(
        f"p50 overhead of HTTP: {(http_p50 - base) * 1e3:.3f} ms "
        f"({http_p50 / base:.1f}x the in-process call)"
    )


if __name__ == "__main__":
    main()
