"""What the API's access log writes and costs per request: musicrec's bounded line against
uvicorn's own access log (what the API logged before), same run.

Run: ``python benchmarks/bench_api_access_log.py [--requests 500] [--query-kib 10]``

Two real uvicorn servers on 127.0.0.1 in this process serve the same trivial route
(``GET /echo``, a small JSON answer, no key): one as
:func:`~musicrec_core.api.runner.server_config` builds it (musicrec's
:class:`~musicrec_core.api.access_log.AccessLog`, uvicorn's access log off), the baseline
with uvicorn's access log on instead and musicrec's off. Each log's lines go to a file of
its own through a plain ``logging.FileHandler``. uvicorn decides per connection whether
to log (its logger has handlers or not), so the servers take turns, a new keep-alive
connection each turn, first with a short query, then with a hostile one of
``--query-kib`` KiB (long ``exclude`` lists). Prints, for each query, the bytes written
per request by each log and their ratio, and the p50 time per request in ms of each
server and their ratio.
"""

from __future__ import annotations

import argparse
import http.client
import logging
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import uvicorn  # noqa: E402
from fastapi import FastAPI  # noqa: E402

from musicrec_core.api.runner import server_config  # noqa: E402
from musicrec_core.api.settings import ApiSettings  # noqa: E402


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/echo")
    async def echo(n: int = 1) -> dict[str, int]:
        return {"n": n}

    return app


ROUNDS = 5
"""The servers take turns this many times per query, so both see the same machine."""


def _server(*, ours: bool) -> uvicorn.Server:
    settings = ApiSettings(_env_file=None, port=0, access_log=ours)
    return uvicorn.Server(server_config(_app(), settings))


def _started(server: uvicorn.Server) -> int:
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    return int(server.servers[0].sockets[0].getsockname()[1])


def _file_log(logger_name: str, path: Path) -> logging.FileHandler:
    """A plain file handler for ``logger_name``'s lines (not attached yet)."""
    logging.getLogger(logger_name).setLevel(logging.INFO)
    logging.getLogger(logger_name).propagate = False
    return logging.FileHandler(path)


def _turn(port: int, target: str, requests: int) -> list[float]:
    """``requests`` GETs of ``target`` on one new keep-alive connection: ms each."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    times = []
    try:
        for _ in range(requests):
            started = time.perf_counter()
            connection.request("GET", target)
            response = connection.getresponse()
            response.read()
            assert response.status == 200, response.status
            times.append((time.perf_counter() - started) * 1000)
    finally:
        connection.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--query-kib", type=int, default=10)
    args = parser.parse_args()
    per_turn = max(1, args.requests // ROUNDS)
    ours, theirs = _server(ours=True), _server(ours=False)
    ports = {"musicrec": _started(ours), "uvicorn": _started(theirs)}
    hostile = "/echo?n=1&exclude=" + ",".join(["dQw4w9WgXcQ"] * (args.query_kib * 1024 // 12))
    with tempfile.TemporaryDirectory() as work:
        files = {"musicrec": Path(work) / "musicrec.log", "uvicorn": Path(work) / "uvicorn.log"}
        ours_log = _file_log("musicrec_core.api.access", files["musicrec"])
        logging.getLogger("musicrec_core.api.access").handlers = [ours_log]
        theirs_log = _file_log("uvicorn.access", files["uvicorn"])
        uvicorn_access = logging.getLogger("uvicorn.access")
        for label, target in (("short query", "/echo?n=1"), ("hostile query", hostile)):
            written = {name: path.stat().st_size for name, path in files.items()}
            times: dict[str, list[float]] = {name: [] for name in ports}
            for _ in range(ROUNDS):
                for name, port in ports.items():
                    # uvicorn logs on a connection if its logger has handlers when it opens
                    uvicorn_access.handlers = [theirs_log] if name == "uvicorn" else []
                    times[name] += _turn(port, target, per_turn)
            time.sleep(0.2)  # the last line is written just after its answer was sent
            for handler in (ours_log, theirs_log):
                handler.flush()
            count = per_turn * ROUNDS
            per_request = {
                name: (path.stat().st_size - written[name]) / count for name, path in files.items()
            }
            p50 = {name: statistics.median(found) for name, found in times.items()}
            print(f"{label} ({len(target)} characters), {count} requests each:")
            print(
                f"  log bytes per request: musicrec {per_request['musicrec']:.0f}, "
                f"uvicorn (before) {per_request['uvicorn']:.0f}, "
                f"ratio {per_request['musicrec'] / per_request['uvicorn']:.3f}"
            )
            print(
                f"  p50 ms per request: musicrec {p50['musicrec']:.3f}, "
                f"uvicorn (before) {p50['uvicorn']:.3f}, "
                f"ratio {p50['musicrec'] / p50['uvicorn']:.2f}"
            )
    for server in (ours, theirs):
        server.should_exit = True


if __name__ == "__main__":
    main()
