"""``GET /v1/similar`` under an autoplay load against the same service call in process,
same run (issue 21: p95 at most 20 ms, 0 errors, at most 3 ms API overhead at p50).

Run: ``nice python benchmarks/bench_api_similar.py [--items 1000000] [--backend annoy]
[--rate 100] [--clients 50] [--keys 10] [--seconds 20] [--rounds 3] [-n 10] [--work DIR]``

The catalog (:mod:`api_bench_setup`): ``--items`` random 128-d items in a ``--backend``
index (annoy or usearch, at its default settings), built once into ``--work`` and reused,
served by ``musicrec serve`` in its own process. ``--seeds`` "YouTube" seeds not in the
catalog, each with its pooled vector in the clip cache (the window a link without ``t=``
asks for) and an ``exclude`` of the ``--exclude`` items it is nearest to (the tracks a
session already played); the titles of every result the requests can get are put in the
title cache as found answers. So every request is the
autoplay call's warm path: clip-cache hit, index search, title-cache read; nothing is
fetched and the network is never asked.

Load: ``--clients`` clients, spread over ``--keys`` API keys, each sending one request
every ``clients / rate`` seconds on its own kept-alive connection, staggered so the whole
sends ``--rate`` requests a second; open loop (a request is due at its time whether or not
the one before was answered, and its latency counts from when it was due). The load
generator is this process's event loop, on the same CPUs as the server.

Measured in ``--rounds`` rounds, each for ``--seconds``, interleaved so both see the same
machine:

- baseline, in process: the same load of the same calls made on a
  :class:`~musicrec_core.service.service.RecommendService` in this process on the same
  catalog and caches (``admitted`` then ``recommend``, as the endpoint does), without HTTP,
  key checks or JSON;
- the API: ``GET /v1/similar?seed=&n=&exclude=`` with a Bearer key, over HTTP.

An answer counts as an error unless it is a 200 with ``n`` titled items. CPU per request
is this process's (service and load generator) in process, the server process's over HTTP.
Prints each round's p50/p95/p99, CPU and errors, then the medians over the rounds, the
p50 overhead (API minus baseline) and ratio, and the load average before and after. The
same comparison with one client (``--quiet-rate`` requests a second) gives the overhead on
an idle server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from api_bench_setup import (  # noqa: E402
    KEY_LIMITS,
    ServerProcess,
    add_keys,
    add_workspace_arguments,
    in_process_service,
    load_line,
    percentile,
    prepare,
    unit_rows,
)

from musicrec_core.api.auth import Caller  # noqa: E402
from musicrec_core.api.served import requester_for  # noqa: E402
from musicrec_core.clip import Provenance  # noqa: E402
from musicrec_core.clip_cache import CachedQuery, ClipCache, vector_space, window_key  # noqa: E402
from musicrec_core.service.request import AudioRequest  # noqa: E402
from musicrec_core.service.service import RecommendService  # noqa: E402
from musicrec_core.sources.youtube import parse_youtube_link  # noqa: E402
from musicrec_core.titles.cache import TitleCache  # noqa: E402
from musicrec_core.titles.lookup import candidate_count  # noqa: E402
from musicrec_core.titles.oembed import VideoAnswer  # noqa: E402

WATCH = "https://www.youtube.com/watch?v="


@dataclass(frozen=True)
class Job:
    """One autoplay request: the seed's id and the catalog ids it excludes."""

    seed: str
    exclude: tuple[str, ...]


@dataclass
class Outcome:
    """One load run: latency of each request in ms (from when it was due), and errors."""

    latencies_ms: list[float]
    errors: Counter[str]
    cpu_ms: float = 0.0
    """CPU time per request of the process doing the work (this one in process, the
    server's over HTTP), in ms."""

    def line(self, name: str) -> str:
        p50, p95, p99 = (percentile(self.latencies_ms, q) for q in (50, 95, 99))
        return (
            f"  {name:<12} p50 {p50:6.2f} ms  p95 {p95:6.2f} ms  p99 {p99:6.2f} ms  "
            f"CPU {self.cpu_ms:5.2f} ms/request  "
            f"{len(self.latencies_ms)} requests, {self.errors.total()} errors "
            f"{dict(self.errors) or ''}"
        )


Call = Callable[[int, Job], Awaitable[str | None]]
"""One request by client ``c`` for a job; None when it was answered as expected, else
what was wrong."""


def fill_caches(service: RecommendService, seeds: int, n: int, exclude: int) -> list[Job]:
    """Put ``seeds`` seeds' vectors in the clip cache and the titles of every result their
    requests can get in the title cache (found answers); returns their jobs."""
    recommender = service.recommender
    index = recommender.index
    space = vector_space(index.embedder, index.pooling, index.landmarks is not None)
    vectors = unit_rows(np.random.default_rng(1).standard_normal((seeds, index.dim)))
    jobs = []
    with ClipCache() as clips, TitleCache() as titles:
        for number, vector in enumerate(vectors.astype(np.float32)):
            seed = f"s{number:010d}"
            query = Provenance(kind="youtube", ref=seed, title=f"Seed {number}", duration_s=10.0)
            clips.put(seed, window_key(None), space, CachedQuery(query, vector, ()))
            nearest = recommender.recommend_vector(
                vector, exclude, pooling=index.pooling, query=query
            )
            played = tuple(item.group for item in nearest.items)
            results = recommender.recommend_vector(
                vector, candidate_count(n), pooling=index.pooling, query=query,
                exclude_groups=played,
            )  # fmt: skip
            for item in results.items:
                answer = VideoAnswer(item.group, "found", f"Track {item.group}", "Bench")
                titles.put(answer)
            jobs.append(Job(seed, played))
    return jobs


def in_process_call(service: RecommendService, keys: Sequence[str], n: int) -> Call:
    """The endpoint's service work for client ``c`` (its key's requester), in process."""
    requesters = [requester_for(Caller(f"in-process-{i}", KEY_LIMITS)) for i in range(len(keys))]

    async def call(client: int, job: Job) -> str | None:
        requester = requesters[client % len(requesters)]
        audio = AudioRequest(link=parse_youtube_link(WATCH + job.seed))
        async with service.admitted(requester, "api_similar", request=audio) as plan:
            result = await service.recommend(
                requester, audio, n, plan, None, exclude=frozenset(job.exclude)
            )
        return answer_error([item.title for item in result.items], n)

    return call


def answer_error(titles: list[str | None], n: int) -> str | None:
    """What is wrong with an answer whose items have ``titles``: too few, or untitled."""
    if len(titles) != n:
        return f"{len(titles)} items"
    return None if all(titles) else "untitled"


class HttpClient:
    """One kept-alive HTTP/1.1 connection to the server, reopened after a failure."""

    def __init__(self, port: int, key: str) -> None:
        self.port = port
        self.auth = f"Authorization: Bearer {key}\r\n"
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def get(self, target: str) -> tuple[int, bytes]:
        """Status and body of ``GET target``; sent again on a new connection when a kept
        one turns out closed by the server (idle too long) before any answer, as HTTP
        clients do."""
        reused = self._streams is not None
        try:
            return await self._exchange(target)
        except (asyncio.IncompleteReadError, ConnectionResetError) as exc:
            if not reused or getattr(exc, "partial", b""):
                raise
            return await self._exchange(target)

    async def _exchange(self, target: str) -> tuple[int, bytes]:
        if self._streams is None:
            self._streams = await asyncio.open_connection("127.0.0.1", self.port)
        reader, writer = self._streams
        try:
            writer.write(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n{self.auth}\r\n".encode())
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower()
            length = int(head.split("content-length:", 1)[1].split("\r\n", 1)[0])
            body = await reader.readexactly(length)
        except BaseException:
            self.close()
            raise
        if "connection: close" in head:
            self.close()
        return int(head.split(" ", 2)[1]), body

    def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None


def http_call(
    port: int, keys: Sequence[str], clients: int, n: int
) -> tuple[Call, list[HttpClient]]:
    """``GET /v1/similar`` for client ``c`` on its own connection with its key."""
    connections = [HttpClient(port, keys[c % len(keys)]) for c in range(clients)]

    async def call(client: int, job: Job) -> str | None:
        target = f"/v1/similar?seed={job.seed}&n={n}&exclude={','.join(job.exclude)}"
        status, body = await connections[client].get(target)
        if status != 200:
            return f"{status} {json.loads(body).get('error', {}).get('code')}"
        return answer_error([item["title"] for item in json.loads(body)["items"]], n)

    return call, connections


async def offered_load(
    call: Call,
    jobs: Sequence[Job],
    *,
    rate: float,
    clients: int,
    seconds: float,
    worker: int | None = None,
) -> Outcome:
    """``rate`` requests a second from ``clients`` clients for ``seconds``, open loop;
    CPU counted in process ``worker`` (None: this one)."""
    cpu_before = cpu_seconds(worker)
    loop = asyncio.get_running_loop()
    period = clients / rate
    per_client = max(1, round(seconds * rate / clients))
    began = loop.time() + 0.1
    latencies: list[float] = []
    errors: Counter[str] = Counter()

    async def client(number: int) -> None:
        for turn in range(per_client):
            due = began + number / rate + turn * period
            if (wait := due - loop.time()) > 0:
                await asyncio.sleep(wait)
            job = jobs[(number + turn * clients) % len(jobs)]
            try:
                error = await call(number, job)
            except Exception as exc:
                error = type(exc).__name__
            latencies.append((loop.time() - due) * 1000)
            if error is not None:
                errors[error] += 1

    await asyncio.gather(*(client(number) for number in range(clients)))
    cpu_ms = (cpu_seconds(worker) - cpu_before) * 1000 / len(latencies)
    return Outcome(latencies, errors, cpu_ms)


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU seconds of process ``pid`` so far (None: this process)."""
    if pid is None:
        return time.process_time()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def summary(name: str, runs: list[Outcome]) -> dict[str, float]:
    """Median over ``runs`` of each run's percentiles."""
    found = {
        f"p{q}": statistics.median(percentile(run.latencies_ms, q) for run in runs)
        for q in (50, 95, 99)
    } | {"cpu": statistics.median(run.cpu_ms for run in runs)}
    errors = sum(run.errors.total() for run in runs)
    requests = sum(len(run.latencies_ms) for run in runs)
    print(
        f"  {name:<12} p50 {found['p50']:6.2f} ms  p95 {found['p95']:6.2f} ms  "
        f"p99 {found['p99']:6.2f} ms  CPU {found['cpu']:5.2f} ms/request  "
        f"({requests} requests, {errors} errors)"
    )
    return found | {"errors": errors}


async def measure(args: argparse.Namespace) -> None:
    workspace = prepare(args.work, args.items, args.backend)
    keys = add_keys(workspace, args.keys)
    service = await in_process_service(workspace)
    try:
        started = time.perf_counter()
        jobs = await asyncio.to_thread(fill_caches, service, args.seeds, args.n, args.exclude)
        print(f"{len(jobs)} seeds cached in {time.perf_counter() - started:.1f} s", flush=True)
        baseline = in_process_call(service, keys, args.n)
        with ServerProcess(workspace) as server:
            api, connections = http_call(server.port, keys, args.clients, args.n)
            print(f"server up (pid {server.pid}); {load_line()}", flush=True)
            for call in (baseline, api):  # warm both: connections, caches, page cache
                await offered_load(call, jobs, rate=args.rate, clients=args.clients, seconds=3)
            loaded: dict[str, list[Outcome]] = {"in process": [], "HTTP": []}
            quiet: dict[str, list[Outcome]] = {"in process": [], "HTTP": []}
            for round_number in range(1, args.rounds + 1):
                print(f"round {round_number}: {load_line()}", flush=True)
                for name, call, worker in (
                    ("in process", baseline, None),
                    ("HTTP", api, server.pid),
                ):
                    run = await offered_load(
                        call,
                        jobs,
                        rate=args.rate,
                        clients=args.clients,
                        seconds=args.seconds,
                        worker=worker,
                    )
                    loaded[name].append(run)
                    print(run.line(name), flush=True)
                    alone = await offered_load(
                        call,
                        jobs,
                        rate=args.quiet_rate,
                        clients=1,
                        seconds=args.quiet_seconds,
                        worker=worker,
                    )
                    quiet[name].append(alone)
            for connection in connections:
                connection.close()
            report(args, loaded, quiet)
    finally:
        await service.close()
        service.recommender.close()


def report(
    args: argparse.Namespace, loaded: dict[str, list[Outcome]], quiet: dict[str, list[Outcome]]
) -> None:
    print(
        f"\n{args.items:,} items ({args.backend}), {args.clients} clients on {args.keys} keys, "
        f"{args.rate:g} requests/s, {args.seconds:g} s x {args.rounds} rounds, n={args.n}, "
        f"exclude {args.exclude} ids; medians over rounds:"
    )
    base, http = summary("in process", loaded["in process"]), summary("HTTP", loaded["HTTP"])
    overheads = [
        percentile(h.latencies_ms, 50) - percentile(b.latencies_ms, 50)
        for b, h in zip(loaded["in process"], loaded["HTTP"], strict=True)
    ]
    print(
        f"  HTTP p95 {http['p95']:.2f} ms (goal <= 20), errors {http['errors']:.0f} (goal 0); "
        f"p50 overhead {statistics.median(overheads):.2f} ms (goal <= 3), "
        f"ratio {http['p50'] / base['p50']:.2f}x"
    )
    print(f"\none client, {args.quiet_rate:g} requests/s, {args.quiet_seconds:g} s per round:")
    quiet_base = summary("in process", quiet["in process"])
    quiet_http = summary("HTTP", quiet["HTTP"])
    print(
        f"  p50 overhead {quiet_http['p50'] - quiet_base['p50']:.2f} ms, "
        f"ratio {quiet_http['p50'] / quiet_base['p50']:.2f}x"
    )
    print(f"after: {load_line()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=100.0, help="requests/s in all")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--keys", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=20.0, help="per round and side")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--exclude", type=int, default=3, help="ids each request excludes")
    parser.add_argument("--quiet-rate", type=float, default=20.0)
    parser.add_argument("--quiet-seconds", type=float, default=5.0)
    add_workspace_arguments(parser)
    asyncio.run(measure(parser.parse_args()))


if __name__ == "__main__":
    main()
