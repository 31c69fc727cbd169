"""An upload ``POST /v1/recommend`` of a 10-s MP3 against the same service call in process
plus the transfer of the same bytes, same run (issue 21: within 10 %).

Run: ``nice python benchmarks/bench_api_upload.py [--items 1000000] [--repeats 15]
[--seconds 10] [-n 10] [--work DIR]``

The catalog and server are :mod:`api_bench_setup`'s (``musicrec serve`` in its own
process, synthetic VGGish weights: the real model's shapes and cost). The upload: a
``--seconds`` MP3 (ffmpeg, a 440 Hz tone at 128 kb/s) in a ``multipart/form-data`` body with
``n``; the titles of its results are put in the title cache first, so nothing reaches the
network. Measured ``--repeats`` times, the three interleaved so all see the same machine:

- in process: the service work of the endpoint on a
  :class:`~musicrec_core.service.service.RecommendService` in this process on the same
  catalog and settings, the file already on disk (``admitted``, then ``recommend``:
  decode in a worker, embed, search, titles);
- transfer: the same request bytes (head and body) sent on a fresh connection to a sink
  process that reads the head, reads the whole body, and answers ``204`` (what loopback
  TCP and reading the bytes cost, without any HTTP framework);
- the API: the same bytes sent to ``POST /v1/recommend`` on a fresh connection, until the
  whole answer is read (a 200 with ``n`` items).

Prints the median of each in ms, the ratio API / (in process + transfer) (goal at most
1.10) and the load average before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import multiprocessing
import socket
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from api_bench_setup import (  # noqa: E402
    KEY_LIMITS,
    ServerProcess,
    add_keys,
    add_workspace_arguments,
    in_process_service,
    load_line,
    prepare,
)

from musicrec_core.api.auth import Caller  # noqa: E402
from musicrec_core.api.served import requester_for  # noqa: E402
from musicrec_core.recommender import RecommendationSet  # noqa: E402
from musicrec_core.service.request import AudioRequest, LocalFile  # noqa: E402
from musicrec_core.service.service import RecommendService  # noqa: E402
from musicrec_core.titles.cache import TitleCache  # noqa: E402
from musicrec_core.titles.lookup import candidate_count  # noqa: E402
from musicrec_core.titles.oembed import VideoAnswer  # noqa: E402
from tests.helpers.api_server import multipart  # noqa: E402
from tests.helpers.media import generate_media  # noqa: E402


def request_bytes(song: bytes, n: int, key: str) -> tuple[bytes, bytes]:
    """The upload request's head and body (multipart: ``n`` and ``file``)."""
    boundary = uuid.uuid4().hex
    body = multipart({"n": str(n)}, {"file": ("song.mp3", song)}, boundary)
    head = (
        "POST /v1/recommend HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {key}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    return head, body


def _sink(listener: socket.socket) -> None:
    """Answer each connection's request with 204 once its whole body is read (forever)."""
    while True:
        connection, _ = listener.accept()
        with connection:
            received = b""
            while b"\r\n\r\n" not in received:
                received += connection.recv(65536)
            head, _, rest = received.partition(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length:", 1)[1].split(b"\r\n", 1)[0])
            while len(rest) < length:
                rest += connection.recv(max(65536, length - len(rest)))
            connection.sendall(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")


def exchange(port: int, head: bytes, body: bytes) -> tuple[float, int, bytes]:
    """Send ``head`` + ``body`` on a new connection; seconds until the whole answer was
    read, its status and body."""
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(head + body)
        response = http.client.HTTPResponse(sock)
        response.begin()
        answer = response.read()
    return time.perf_counter() - started, response.status, answer


async def in_process(
    service: RecommendService, song: Path, n: int, *, titled: bool = True
) -> tuple[float, RecommendationSet]:
    """Seconds the endpoint's service work takes for the upload at ``song``, and its result."""
    requester = requester_for(Caller("in-process", KEY_LIMITS))
    audio = AudioRequest(upload=LocalFile(path=song, filename="song.mp3"))
    started = time.perf_counter()
    async with service.admitted(requester, "api_recommend", request=audio) as plan:
        count = n if titled else candidate_count(n)
        result = await service.recommend(requester, audio, count, plan, None, titled=titled)
    return time.perf_counter() - started, result


async def measure(args: argparse.Namespace) -> None:
    workspace = prepare(args.work, args.items, args.backend)
    (key,) = add_keys(workspace, 1)
    service = await in_process_service(workspace)
    listener = socket.create_server(("127.0.0.1", 0))
    sink = multiprocessing.Process(target=_sink, args=(listener,), daemon=True)
    sink.start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            song = generate_media(Path(folder) / "song.mp3", seconds=args.seconds)
            _, candidates = await in_process(service, song, args.n, titled=False)
            with TitleCache() as titles:
                for item in candidates.items:
                    titles.put(VideoAnswer(item.group, "found", f"Track {item.group}", "Bench"))
            head, body = request_bytes(song.read_bytes(), args.n, key)
            with ServerProcess(workspace) as server:
                print(
                    f"{len(body):,}-byte upload; server up (pid {server.pid}); {load_line()}",
                    flush=True,
                )
                times = await rounds(args, service, song, server.port, listener, head, body)
            report(args, times, len(body))
    finally:
        sink.terminate()
        listener.close()
        await service.close()
        service.recommender.close()


async def rounds(
    args: argparse.Namespace,
    service: RecommendService,
    song: Path,
    port: int,
    listener: socket.socket,
    head: bytes,
    body: bytes,
) -> dict[str, list[float]]:
    """``--repeats`` interleaved measurements of each (after one warm-up), in seconds."""
    sink_port = listener.getsockname()[1]
    times: dict[str, list[float]] = {"in process": [], "transfer": [], "HTTP": []}
    for repeat in range(args.repeats + 1):
        local, result = await in_process(service, song, args.n)
        if len(result.items) != args.n:
            raise RuntimeError(f"in process: {len(result.items)} items")
        transfer, status, _ = await asyncio.to_thread(exchange, sink_port, head, body)
        if status != 204:
            raise RuntimeError(f"sink answered {status}")
        served, status, answer = await asyncio.to_thread(exchange, port, head, body)
        if status != 200 or len(json.loads(answer)["items"]) != args.n:
            raise RuntimeError(f"the API answered {status}: {answer[:300]!r}")
        if repeat:  # the first is the warm-up
            for name, seconds in (("in process", local), ("transfer", transfer), ("HTTP", served)):
                times[name].append(seconds)
            print(
                f"  {repeat:2d}: in process {local * 1e3:7.1f} ms  transfer "
                f"{transfer * 1e3:5.2f} ms  HTTP {served * 1e3:7.1f} ms",
                flush=True,
            )
    return times


def report(args: argparse.Namespace, times: dict[str, list[float]], size: int) -> None:
    medians = {name: statistics.median(values) * 1e3 for name, values in times.items()}
    baseline = medians["in process"] + medians["transfer"]
    print(
        f"\n{args.seconds:g}-s MP3 ({size:,} bytes sent), n={args.n}, {args.items:,} items, "
        f"medians of {args.repeats}:"
    )
    for name, value in medians.items():
        print(f"  {name:<11} {value:8.2f} ms")
    print(
        f"  HTTP / (in process + transfer) = {medians['HTTP']:.1f} / {baseline:.1f} = "
        f"{medians['HTTP'] / baseline:.3f} (goal <= 1.10)"
    )
    print(f"after: {load_line()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the MP3")
    add_workspace_arguments(parser)
    asyncio.run(measure(parser.parse_args()))


if __name__ == "__main__":
    main()
