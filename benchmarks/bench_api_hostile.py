"""1,000 hostile requests against the real ``musicrec serve``, and what they cost the server
and a polite client.

Run: ``nice -n 19 python benchmarks/bench_api_hostile.py [--requests 1000] [--rate 40]``

The server is ``musicrec serve`` in its own process (the tests-only launcher, so one local
"YouTube" video can be fetched) on the seven-video catalog of tests/fake_discord/world.py
embedded with the synthetic VGGish, with its default caps except the header and body
deadlines (2 s instead of 10 s and 60 s, so slow senders are cut off within the run). Keys
are made with ``musicrec api-key add``: ``polite``, ``attacker`` (rate high enough that its
requests reach validation instead of 429) and ``doomed``, revoked with ``musicrec api-key
revoke`` while the attack runs.

Two phases in one run: a polite client alone (``GET /v1/similar`` of a seed in the clip
cache every ``--polite-every-s``), then the same while ``--requests`` hostile requests
(benchmarks/hostile_requests.py: oversized and truncated bodies, slow senders, wrong types,
bad and revoked keys, 10,000-item exclude lists, path tricks, malformed multipart, non-JSON,
huge numbers, protocol abuse) go out at ``--rate`` a second over ``--threads`` connections.
The polite client runs in a process of its own, apart from the attack's threads.

Prints a table per kind (expected status, got, count), then the figures against their goals:
wrong answers 0, 5xx 0 (statuses and the server's log), the PSS of the server and every
process under it (decode and fetch workers) before and after the attack (growth < 5 %), the
polite client's p95 during the attack over its p95 alone (<= 1.5x), no upload file left.
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
import os
import random
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "benchmarks"))

from api_process import ApiProcess, api_key  # noqa: E402
from hostile_requests import Attack, attacks  # noqa: E402
from proc_tree import kib_field, tree_pss_bytes  # noqa: E402

from musicrec_core.embedders.vggish import VGGishEmbedder  # noqa: E402
from tests.fake_discord.world import build_catalog  # noqa: E402
from tests.helpers.api_server import raw_exchange  # noqa: E402
from tests.helpers.http_server import PROXY_VARIABLES, LocalHTTPServer  # noqa: E402
from tests.helpers.media import generate_media  # noqa: E402
from tests.helpers.vggish_files import write_synthetic_vggish  # noqa: E402

POLITE_SEED = "seedsong440"
"""A "YouTube" video outside the catalog: fetched once, then answered from the clip cache."""
REVOKE_REACH_S = 1.5
"""How long after ``api-key revoke`` returns the revoked key's requests start (the server
sees a revocation within a second)."""


def server_environment(work: Path, checkpoint: Path, pca: Path) -> dict[str, str]:
    """``musicrec serve``'s environment: nothing inherited of MUSICREC_* or proxies."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("MUSICREC_") and key not in PROXY_VARIABLES
    }
    env.update(
        {
            "MUSICREC_INDEX_DIR": str(work / "index"),
            "MUSICREC_VGGISH_CHECKPOINT": str(checkpoint),
            "MUSICREC_VGGISH_PCA": str(pca),
            "MUSICREC_CACHE_DIR": str(work / "cache"),
            "MUSICREC_OEMBED_URL": "http://127.0.0.1:9/oembed",  # closed port: never YouTube
            "MUSICREC_TITLE_LOOKUP": "false",
            "MUSICREC_API_HEADER_TIMEOUT_S": "2",
            "MUSICREC_API_BODY_TIMEOUT_S": "2",
            "MUSICREC_API_UPLOAD_DIR": str(work / "uploads"),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


PHASES = ("alone", "attack")


def polite_request(port: int, key: str) -> tuple[int, float]:
    """One polite ``GET /v1/similar`` on a fresh connection: status and seconds taken."""
    request = (
        f"GET /v1/similar?seed={POLITE_SEED}&n=5 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Connection: close\r\nAuthorization: Bearer {key}\r\n\r\n"
    ).encode()
    began = time.perf_counter()
    answer = raw_exchange(port, request, read_timeout_s=60)
    return answer.status, time.perf_counter() - began


def _polite_loop(port: int, key: str, every_s: float, phase: Any, stop: Any, out: Any) -> None:
    """The polite client's process: a request every ``every_s`` until ``stop``; then its
    samples (phase, status, seconds) on ``out``."""
    samples = []
    next_at = time.monotonic()
    while not stop.is_set():
        tag = PHASES[phase.value]
        samples.append((tag, *polite_request(port, key)))
        next_at += every_s
        stop.wait(max(0.0, next_at - time.monotonic()))
    out.put(samples)


class PoliteClient:
    """:func:`polite_request` every ``every_s`` in a process of its own (so the attack's
    threads in this one do not slow its side of the exchange); latencies (s) of answered
    requests and statuses, by the phase current when each was sent."""

    def __init__(self, port: int, key: str, every_s: float) -> None:
        context = multiprocessing.get_context("fork")
        self._phase = context.Value("i", 0)
        self._stop = context.Event()
        self._out = context.SimpleQueue()
        self._process = context.Process(
            target=_polite_loop,
            args=(port, key, every_s, self._phase, self._stop, self._out),
            daemon=True,
        )
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.statuses: dict[str, Counter[int]] = defaultdict(Counter)

    def start(self) -> None:
        self._process.start()

    def attack_begins(self) -> None:
        self._phase.value = PHASES.index("attack")

    def stop(self) -> None:
        """Stop, and collect the samples."""
        self._stop.set()
        for phase, status, seconds in self._out.get():
            self.statuses[phase][status] += 1
            if status == 200:
                self.latency[phase].append(seconds)
        self._process.join()


def send(port: int, attack: Attack, revoked: threading.Event) -> int:
    """One hostile request; the status answered (0: none)."""
    if attack.needs_revoked:
        revoked.wait()
    if attack.hang_up:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            for piece in attack.pieces:
                sock.sendall(piece)
        return 0
    return raw_exchange(port, attack.pieces, pause_s=attack.pause_s, read_timeout_s=30).status


def run_attack(
    port: int, kinds: list[Attack], total: int, rate: float, threads: int, revoke: threading.Event
) -> list[tuple[Attack, int]]:
    """``total`` requests drawn round-robin from ``kinds`` (shuffled), started ``rate`` a
    second over at most ``threads`` connections; each with its status."""
    order = list(itertools.islice(itertools.cycle(kinds), total))
    random.Random(21).shuffle(order)
    with ThreadPoolExecutor(max_workers=threads) as pool:
        began = time.monotonic()
        futures = []
        for number, attack in enumerate(order):
            time.sleep(max(0.0, began + number / rate - time.monotonic()))
            futures.append(pool.submit(send, port, attack, revoke))
        return [(attack, future.result()) for attack, future in zip(order, futures, strict=True)]


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of ``values`` (fraction in [0, 1])."""
    ordered = sorted(values)
    return ordered[max(1, round(fraction * len(ordered))) - 1]


def print_table(results: list[tuple[Attack, int]]) -> int:
    """The table per kind; returns how many answers were not among the expected."""
    got: dict[str, Counter[int]] = defaultdict(Counter)
    by_kind = {attack.kind: attack for attack, _ in results}
    for attack, status in results:
        got[attack.kind][status] += 1
    wrong = 0
    print(f"\n{'group':<20}{'kind':<36}{'expected':<10}{'got':<22}{'count':>6}  ok")
    for kind, attack in sorted(by_kind.items(), key=lambda item: (item[1].group, item[0])):
        statuses = got[kind]
        bad = sum(n for status, n in statuses.items() if status not in attack.expected)
        wrong += bad
        shown = ", ".join(f"{status}x{n}" for status, n in sorted(statuses.items()))
        expected = "/".join(str(status) for status in attack.expected)
        print(f"{attack.group:<20}{kind:<36}{expected:<10}{shown:<22}"
              f"{sum(statuses.values()):>6}  {'yes' if not bad else 'NO'}")  # fmt: skip
    return wrong


def memory(pid: int) -> tuple[int, int]:
    """(PSS of the server and every process under it, RSS of the server) in bytes."""
    return tree_pss_bytes(pid), kib_field(f"/proc/{pid}/status", "VmRSS")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=40.0, help="hostile requests a second")
    parser.add_argument("--threads", type=int, default=24, help="hostile connections at once")
    parser.add_argument("--alone-s", type=float, default=20.0, help="polite client alone")
    parser.add_argument("--polite-every-s", type=float, default=0.2)
    parser.add_argument("--server-log", type=Path, help="write the server's output here")
    args = parser.parse_args()
    print(f"1-min load average at the start: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")
    with tempfile.TemporaryDirectory(prefix="musicrec-bench-hostile-") as scratch:
        work = Path(scratch)
        checkpoint, pca = write_synthetic_vggish(work / "vggish")
        build_catalog(work / "index", work / "media", VGGishEmbedder.from_files(checkpoint, pca))
        (work / "uploads").mkdir()
        song = generate_media(work / "seed.mp3", seconds=14, tone_hz=440.0).read_bytes()
        env = server_environment(work, checkpoint, pca)
        polite_key = api_key(env, "add", "polite", "--rate", "50", "--burst", "50")
        attacker = api_key(env, "add", "attacker", "--rate", "1000", "--burst", "10000",
                           "--inflight", "1000")  # fmt: skip
        doomed = api_key(env, "add", "doomed")
        with LocalHTTPServer() as media:
            url = media.add(f"/{POLITE_SEED}.mp3", song, content_type="audio/mpeg")
            with ApiProcess(env, serve_videos={POLITE_SEED: url}) as api:
                figures = attack_run(api, env, args, polite_key, attacker, doomed)
                if args.server_log:
                    args.server_log.write_text("\n".join(api.lines) + "\n")
        figures["uploads_left"] = len(list((work / "uploads").iterdir()))
    return report(figures)


def attack_run(
    api: ApiProcess, env: dict[str, str], args: argparse.Namespace, *keys: str
) -> dict[str, object]:
    """The two phases against the running ``api``; the figures."""
    polite_key, attacker, doomed = keys
    polite = PoliteClient(api.port, polite_key, args.polite_every_s)
    # The seed is fetched once here; every later polite request hits the clip cache.
    status, seconds = polite_request(api.port, polite_key)
    assert status == 200, f"the polite warm-up got {status}:\n" + "\n".join(api.lines)
    print(f"polite warm-up (the seed fetched and embedded): {seconds:.2f} s")
    assert (
        api.get(f"/v1/similar?seed={POLITE_SEED}", {"Authorization": f"Bearer {doomed}"})[0] == 200
    ), "the doomed key works before its revocation"
    polite.start()
    time.sleep(args.alone_s)
    before = memory(api.pid)
    polite.attack_begins()
    revoked = threading.Event()

    def revoke() -> None:
        time.sleep(2.0)  # the attack is under way
        api_key(env, "revoke", "doomed")
        time.sleep(REVOKE_REACH_S)
        revoked.set()

    revoker = threading.Thread(target=revoke, daemon=True)
    revoker.start()
    began = time.monotonic()
    results = run_attack(
        api.port, attacks(attacker, doomed), args.requests, args.rate, args.threads, revoked
    )
    attack_s = time.monotonic() - began
    polite.stop()
    revoker.join()
    time.sleep(2.0)  # the last connections closed, workers idle
    after = memory(api.pid)
    log_errors = [line for line in api.lines if "unexpected error" in line or "Traceback" in line]
    return {
        "results": results,
        "attack_s": attack_s,
        "before": before,
        "after": after,
        "polite": polite,
        "log_errors": log_errors,
        "evil_file": Path("/tmp/musicrec-evil").exists(),
    }


def report(figures: dict[str, object]) -> int:
    """The table and the figures; exit status 0 when every goal is met."""
    results = figures["results"]
    assert isinstance(results, list)
    wrong = print_table(results)
    polite = figures["polite"]
    assert isinstance(polite, PoliteClient)
    server_5xx = sum(1 for _, status in results if status >= 500)
    polite_5xx = sum(n for c in polite.statuses.values() for s, n in c.items() if s >= 500)
    (pss0, rss0), (pss1, rss1) = figures["before"], figures["after"]  # type: ignore[misc]
    growth = (pss1 - pss0) / pss0
    alone = percentile(polite.latency["alone"], 0.95)
    attacked = percentile(polite.latency["attack"], 0.95)
    ratio = attacked / alone
    print(f"\n{len(results)} hostile requests in {figures['attack_s']:.1f} s; "
          f"{wrong} not answered as expected (goal 0); {server_5xx} answered 5xx (goal 0); "
          f"server log errors: {len(figures['log_errors'])}")  # type: ignore[arg-type]  # fmt: skip
    for line in figures["log_errors"][:5]:  # type: ignore[index]
        print(f"  log: {line}")
    print(f"server + processes under it, PSS: {pss0 / 2**20:.1f} MiB before, "
          f"{pss1 / 2**20:.1f} MiB after: {growth:+.1%} (goal < +5%); server RSS "
          f"{rss0 / 2**20:.1f} -> {rss1 / 2**20:.1f} MiB")  # fmt: skip
    print(f"polite client: p95 {alone * 1000:.1f} ms alone ({len(polite.latency['alone'])} "
          f"requests), {attacked * 1000:.1f} ms during the attack "
          f"({len(polite.latency['attack'])}): {ratio:.2f}x (goal <= 1.5x); p50 "
          f"{statistics.median(polite.latency['alone']) * 1000:.1f} -> "
          f"{statistics.median(polite.latency['attack']) * 1000:.1f} ms; statuses "
          f"{dict(polite.statuses['alone'])} / {dict(polite.statuses['attack'])}")  # fmt: skip
    print(f"upload files left: {figures['uploads_left']}; /tmp/musicrec-evil written: "
          f"{figures['evil_file']}")  # fmt: skip
    print(f"1-min load average at the end: {os.getloadavg()[0]:.2f}")
    ok = not wrong and not server_5xx and not polite_5xx and not figures["log_errors"]
    ok = ok and growth < 0.05 and ratio <= 1.5 and not figures["uploads_left"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
