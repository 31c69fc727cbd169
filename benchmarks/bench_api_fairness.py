"""Fairness between an API client and Discord members: the bot's polite members while one
API key floods ``musicrec serve`` on the same machine.

Run: ``nice -n 19 python benchmarks/bench_api_fairness.py [--phase-s 36] [--runs 3]``

The real bot (against tests/fake_discord, bench_fairness.py's admission defaults, decode
workers) and ``musicrec serve`` (its own process, the tests-only launcher so local
"YouTube" videos can be fetched) run side by side with the same catalog (the seven-video
world, synthetic VGGish), the same cache folder (so the same YouTube budget and clip
cache, shared through their files) and the same settings. One API key, made with
``musicrec api-key add`` with the default limits (2 requests a second, burst 10, 4 in
flight, a quarter of the YouTube budget), floods at its rate limit, alternating
``POST /v1/recommend`` with a 12-minute 8-channel Opus upload (24 MiB, under the 25 MiB cap)
and ``GET /v1/similar`` of a link to a video not heard before (each a real fetch while the
key's budget share lasts).

Two phases per run, both with both processes up: four polite members each send /recommend
(a 10-s MP3) every 6 s (bench_fairness.py's schedule), first alone, then during the flood.
Prints each run's polite p95 reply time (dispatch -> answer) in both phases and their ratio
(goal <= 1.5x), polite refusals (goal 0), how the flood was answered, and the median ratio
of ``--runs`` runs. ``--api-nice N`` starts the server N steps below the bot's CPU priority
(an operator's remedy to try: the two processes' schedulers do not see each other).
``--api-in-bot`` serves the API from the bot's own process instead
(``MUSICREC_BOT_SERVES_API=true``): one request service, one queue and one set of fair pools
for the key and the members.

``--key-yield-s 0,2`` runs each value of ``MUSICREC_KEY_YIELD_S`` (how long each heavy step of
a key's request waits while a member's request is in progress on the machine; 0 = the key
never waits) ``--runs`` times, interleaved (0, 2, 0, 2, ...) so the machine's load falls on
both alike, and prints each value's median. Each run also prints the 1-min load average at
its start and end, and the CPU seconds the bot and the server (each with every process
under it) used in each phase.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "benchmarks"))

from api_process import ApiProcess, api_key, free_port  # noqa: E402
from bench_fairness import (  # noqa: E402
    DEFAULTS,
    POLITE,
    POLITE_EVERY_S,
    TOKEN,
    Media,
    file_option,
    latest_acknowledgement_s,
    percentile,
    polite_outcome,
    prepare,
    run_phase,
)
from proc_tree import tree_cpu_s  # noqa: E402

from tests.fake_discord.bot_process import BotProcess, bot_environment  # noqa: E402
from tests.fake_discord.server import FakeDiscord  # noqa: E402
from tests.helpers.api_server import multipart  # noqa: E402
from tests.helpers.http_server import LocalHTTPServer  # noqa: E402

FLOOD_RATE = 2.0
"""The flooding key's rate (requests a second): ``musicrec api-key add``'s default."""
FLOOD_CONNECTIONS = 8
"""Requests the flood keeps open at most (above the key's in-flight limit of 4, so the
server, not the client, is what holds it back)."""
LINK_VIDEOS = tuple(f"floodvid{n:03d}" for n in range(60))


class ApiFlood:
    """One key sending at ``FLOOD_RATE``, uploads and links in turn, until :meth:`stop`;
    ``answers`` counts (kind, status)."""

    def __init__(self, port: int, key: str, media: Media) -> None:
        self.port, self.key = port, key
        boundary = uuid.uuid4().hex
        self.upload = multipart({}, {"file": ("long.opus", media.long_opus)}, boundary)
        self.upload_type = f"multipart/form-data; boundary={boundary}"
        self.answers: Counter[tuple[str, int]] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="api-flood", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop sending and wait for every answer."""
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        with ThreadPoolExecutor(max_workers=FLOOD_CONNECTIONS) as pool:
            began, number = time.monotonic(), 0
            while not self._stop.is_set():
                pool.submit(self._one, number)
                number += 1
                self._stop.wait(max(0.0, began + number / FLOOD_RATE - time.monotonic()))

    def _one(self, number: int) -> None:
        headers = {"Authorization": f"Bearer {self.key}"}
        if number % 2 == 0:
            kind, method, path = "upload", "POST", "/v1/recommend"
            body: bytes | None = self.upload
            headers["Content-Type"] = self.upload_type
        else:
            video = LINK_VIDEOS[(number // 2) % len(LINK_VIDEOS)]
            kind, method, path, body = "link", "GET", f"/v1/similar?seed={video}", None
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            status = response.status
        except OSError:
            status = 0
        finally:
            connection.close()
        self.answers[(kind, status)] += 1


def one_run(
    media: Media, phase_s: float, api_nice: int, in_bot: bool, inflight: int, key_yield: str
) -> dict[str, Any]:
    """The bot and the API (its own server, or the bot's, ``in_bot``; keys' steps yielding
    to members at most ``key_yield`` s, "" = the default) through the polite phase and the
    flood phase."""
    work = media.work
    cache = Path(tempfile.mkdtemp(prefix="cache-", dir=work))
    with LocalHTTPServer() as server, FakeDiscord(token=TOKEN, extra_members=("guest",)) as fake:
        videos = {
            video: server.add(f"/{video}.mp3", media.link_audio, content_type="audio/mpeg")
            for video in LINK_VIDEOS
        }
        port = free_port()
        extra = {**DEFAULTS, "MUSICREC_TITLE_LOOKUP": "false", "MUSICREC_API_PORT": str(port)}
        if in_bot:
            extra["MUSICREC_BOT_SERVES_API"] = "true"
        if key_yield:
            extra["MUSICREC_KEY_YIELD_S"] = key_yield
        env = bot_environment(
            fake, index_dir=work / "index", checkpoint=media.checkpoint, pca=media.pca,
            cache_dir=cache, extra=extra,
        )  # fmt: skip
        key = api_key(env, "add", "flood", "--inflight", str(inflight))
        bot = BotProcess(env, serve_videos=videos if in_bot else None)
        try:
            with contextlib.ExitStack() as stack:
                pids = {"bot": bot.process.pid}
                if not in_bot:
                    api = stack.enter_context(ApiProcess(env, serve_videos=videos, nice=api_nice))
                    port, pids["server"] = api.port, api.process.pid
                bot.wait_ready()
                figures = phases(fake, port, key, media, phase_s, pids)
        finally:
            bot.stop()
        figures["violations"] = list(fake.violations)
    figures["ratio"] = figures["flood_p95"] / figures["base_p95"]
    return figures


def cpu_s(pids: dict[str, int]) -> dict[str, float]:
    """CPU seconds so far of each named process with every process under it."""
    return {name: tree_cpu_s(pid) for name, pid in pids.items()}


def phases(
    fake: FakeDiscord, port: int, key: str, media: Media, phase_s: float, pids: dict[str, int]
) -> dict[str, Any]:
    """Warm both front ends, then the two phases; the figures (``cpu``: CPU seconds of
    each process in ``pids`` in each phase)."""
    songs = [
        fake.add_attachment(path.read_bytes(), path.name, "audio/mpeg") for path in media.song_files
    ]
    warm = fake.slash_command("recommend", file_option(songs[0]), attachments=[songs[0]],
                              who="guest")  # fmt: skip
    fake.wait_reply(warm, timeout=300)
    warm_api = ApiFlood(port, key, media)  # one upload and one link: workers up
    time.sleep(1.0 / FLOOD_RATE * 1.5)
    warm_api.stop()
    time.sleep(5.5)  # past the warm-up member's cooldown
    last_sent: dict[str, float] = {}
    before = cpu_s(pids)
    base_ids, _ = run_phase(fake, songs, phase_s, None, last_sent)
    base_times, base_refused = polite_outcome(fake, base_ids)
    between = cpu_s(pids)
    flood = ApiFlood(port, key, media)
    try:
        flood_ids, _ = run_phase(fake, songs, phase_s, None, last_sent)
    finally:
        flood.stop()
    flood_times, flood_refused = polite_outcome(fake, flood_ids)
    after = cpu_s(pids)
    return {
        "base_p95": percentile(base_times, 0.95),
        "flood_p95": percentile(flood_times, 0.95),
        "base_p50": statistics.median(base_times),
        "flood_p50": statistics.median(flood_times),
        "answered": (len(base_times), len(flood_times)),
        "refused": base_refused + flood_refused,
        "flood": dict(flood.answers),
        "latest_ack_s": latest_acknowledgement_s(fake),
        "cpu": {name: (between[name] - before[name], after[name] - between[name]) for name in pids},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phase-s", type=float, default=36.0, help="length of each phase")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--api-nice", type=int, default=0, help="the server's extra niceness")
    parser.add_argument(
        "--api-in-bot", action="store_true", help="serve the API from the bot's own process"
    )
    parser.add_argument(
        "--key-inflight", type=int, default=4, help="the flooding key's in-flight limit"
    )
    parser.add_argument(
        "--key-yield-s",
        default="",
        help="MUSICREC_KEY_YIELD_S values to compare, comma-separated (default: the default)",
    )
    args = parser.parse_args()
    yields = args.key_yield_s.split(",")
    print(f"1-min load average at the start: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")
    print(f"polite /recommend, {len(POLITE)} members every {POLITE_EVERY_S:.0f} s, "
          f"{args.phase_s:.0f} s per phase; one API key flooding at {FLOOD_RATE:g}/s "
          f"({args.key_inflight} in flight); "
          + ("the API in the bot" if args.api_in_bot else
             f"the server {args.api_nice} nice steps below the bot"))  # fmt: skip
    runs: dict[str, list[dict[str, Any]]] = {value: [] for value in yields}
    with tempfile.TemporaryDirectory(prefix="musicrec-bench-api-fair-") as scratch:
        media = prepare(Path(scratch))
        for number in range(1, args.runs + 1):
            for value in yields:
                load_before = os.getloadavg()[0]
                figures = one_run(
                    media,
                    args.phase_s,
                    args.api_nice,
                    args.api_in_bot,
                    args.key_inflight,
                    value,
                )
                figures["load"] = (load_before, os.getloadavg()[0])
                runs[value].append(figures)
                report(number, yield_label(value), figures)
    failed = False
    for value, done in runs.items():
        failed |= summary(yield_label(value), done)
    print(f"1-min load average at the end: {os.getloadavg()[0]:.2f}")
    return 1 if failed else 0


def yield_label(value: str) -> str:
    return f"MUSICREC_KEY_YIELD_S={value}" if value else "MUSICREC_KEY_YIELD_S default"


def report(number: int, label: str, figures: dict[str, Any]) -> None:
    """One run's lines."""
    base_n, flood_n = figures["answered"]
    print(f"run {number} ({label}; load {figures['load'][0]:.1f} -> {figures['load'][1]:.1f}): "
          f"polite p95 {figures['base_p95']:.2f} s alone -> "
          f"{figures['flood_p95']:.2f} s during the API flood, ratio "
          f"{figures['ratio']:.2f}x (p50 {figures['base_p50']:.2f} -> "
          f"{figures['flood_p50']:.2f} s; {base_n} + {flood_n} answered, "
          f"{len(figures['refused'])} refused); latest ack "
          f"{figures['latest_ack_s']:.2f} s")  # fmt: skip
    cpu = ", ".join(
        f"{name} {alone:.1f} -> {flood:.1f}" for name, (alone, flood) in figures["cpu"].items()
    )
    print(f"  CPU-s alone -> during the flood: {cpu}")
    print(f"  API flood answers (kind, status): {figures['flood']}")
    for text in figures["refused"]:
        print(f"  polite refusal: {text}")
    for violation in figures["violations"]:
        print(f"  violation: {violation}")


def summary(label: str, runs: list[dict[str, Any]]) -> bool:
    """Print the median of ``runs``; whether they missed a goal."""
    ratios = [r["ratio"] for r in runs]
    print(f"\n{label}, median of {len(runs)} runs: polite p95 "
          f"{statistics.median(r['base_p95'] for r in runs):.2f} s alone, "
          f"{statistics.median(r['flood_p95'] for r in runs):.2f} s during the flood; "
          f"ratio {statistics.median(ratios):.2f}x (goal <= 1.5x; each run "
          f"{', '.join(f'{x:.2f}' for x in ratios)})")  # fmt: skip
    failed = any(r["refused"] or r["violations"] for r in runs)
    return failed or statistics.median(ratios) > 1.5


if __name__ == "__main__":
    sys.exit(main())
