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
(an operator's remedy to try: the two processes' schedulers do not see each other; under
``nice -n 19`` it changes nothing, since 19 is the lowest step), ``--api-idle`` in the idle
CPU class (``chrt --idle 0``: it runs on CPU time nothing else wants).
``--api-in-bot`` serves the API from the bot's own process instead
(``MUSICREC_BOT_SERVES_API=true``): one request service, one queue and one set of fair pools
for the key and the members.

``--segments 3`` splits each phase into three pieces taken in turn (alone, flood, alone,
flood, ...), so that a change in the machine's other load falls on both phases alike; the
polite figures of a phase pool its pieces.

``--key-yield-s 0,2`` runs each value of ``MUSICREC_KEY_YIELD_S`` (how long each heavy step of
a key's request waits while a member's request is in progress on the machine, and how long
a key's running decode is stopped in its worker meanwhile; 0 = the key never waits)
``--runs`` times, interleaved (0, 2, 0, 2, ...) so the machine's load falls on
both alike, and prints each value's median. Each run also prints the 1-min load average at
its start and end, the CPU seconds the bot and the server (each with every process
under it) used in each phase, and the bot's mean decode and embed stage times in each
(from its /metrics), which say where a member's extra wait was spent (with the API in the
bot, the key's requests are in them too).
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
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

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
    media: Media,
    phase_s: float,
    segments: int,
    api_nice: int,
    api_idle: bool,
    in_bot: bool,
    inflight: int,
    key_yield: str,
) -> dict[str, Any]:
    """The bot and the API (its own server, or the bot's, ``in_bot``; keys' steps yielding
    to members at most ``key_yield`` s, "" = the default) through the polite phase and the
    flood phase, in ``segments`` pieces each."""
    work = media.work
    cache = Path(tempfile.mkdtemp(prefix="cache-", dir=work))
    with LocalHTTPServer() as server, FakeDiscord(token=TOKEN, extra_members=("guest",)) as fake:
        videos = {
            video: server.add(f"/{video}.mp3", media.link_audio, content_type="audio/mpeg")
            for video in LINK_VIDEOS
        }
        port = free_port()
        metrics_port = free_port()
        extra = {
            **DEFAULTS,
            "MUSICREC_TITLE_LOOKUP": "false",
            "MUSICREC_API_PORT": str(port),
            "MUSICREC_METRICS_PORT": str(metrics_port),
        }
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
                    server = ApiProcess(env, serve_videos=videos, nice=api_nice, idle=api_idle)
                    api = stack.enter_context(server)
                    port, pids["server"] = api.port, api.process.pid
                bot.wait_ready()
                figures = phases(fake, port, key, media, phase_s, pids, segments, metrics_port)
        finally:
            bot.stop()
        figures["violations"] = list(fake.violations)
    figures["ratio"] = figures["flood_p95"] / figures["base_p95"]
    figures["in_bot"] = in_bot
    return figures


def cpu_s(pids: dict[str, int]) -> dict[str, float]:
    """CPU seconds so far of each named process with every process under it."""
    return {name: tree_cpu_s(pid) for name, pid in pids.items()}


def bot_stages(metrics_port: int) -> Counter[str]:
    """The bot's stage totals so far (``<stage>_s``: seconds, ``<stage>_n``: count) from
    its /metrics."""
    connection = http.client.HTTPConnection("127.0.0.1", metrics_port, timeout=30)
    try:
        connection.request("GET", "/metrics")
        text = connection.getresponse().read().decode()
    finally:
        connection.close()
    totals: Counter[str] = Counter()
    for family in text_string_to_metric_families(text):
        if family.name != "musicrec_stage_seconds":
            continue
        for sample in family.samples:
            stage = sample.labels.get("stage", "")
            if sample.name.endswith("_sum"):
                totals[f"{stage}_s"] += sample.value
            elif sample.name.endswith("_count"):
                totals[f"{stage}_n"] += sample.value
    return totals


def phases(
    fake: FakeDiscord,
    port: int,
    key: str,
    media: Media,
    phase_s: float,
    pids: dict[str, int],
    segments: int,
    metrics_port: int,
) -> dict[str, Any]:
    """Warm both front ends, then the two phases, each in ``segments`` pieces taken in turn
    (alone, flood, alone, flood, ...); the figures (``cpu``: CPU seconds of each process in
    ``pids`` in each phase; ``stages``: the bot's mean decode and embed times in each, ms)."""
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
    times: dict[str, list[float]] = {"alone": [], "flood": []}
    cpu = {name: {"alone": 0.0, "flood": 0.0} for name in pids}
    refused: list[str] = []
    answers: Counter[tuple[str, int]] = Counter()
    stages = {"alone": Counter[str](), "flood": Counter[str]()}
    for _ in range(segments):
        for phase in ("alone", "flood"):
            before, stages_before = cpu_s(pids), bot_stages(metrics_port)
            flood = ApiFlood(port, key, media) if phase == "flood" else None
            try:
                ids, _ = run_phase(fake, songs, phase_s / segments, None, last_sent)
            finally:
                if flood is not None:
                    flood.stop()
                    answers.update(flood.answers)
            answered, refusals = polite_outcome(fake, ids)
            times[phase] += answered
            refused += refusals
            for name, seconds in cpu_s(pids).items():
                cpu[name][phase] += seconds - before[name]
            stages[phase].update(bot_stages(metrics_port))
            stages[phase].subtract(stages_before)
    return {
        "base_p95": percentile(times["alone"], 0.95),
        "flood_p95": percentile(times["flood"], 0.95),
        "base_p50": statistics.median(times["alone"]),
        "flood_p50": statistics.median(times["flood"]),
        "answered": (len(times["alone"]), len(times["flood"])),
        "refused": refused,
        "flood": dict(answers),
        "latest_ack_s": latest_acknowledgement_s(fake),
        "cpu": {name: (spent["alone"], spent["flood"]) for name, spent in cpu.items()},
        "stages": {
            stage: tuple(
                1000 * totals[f"{stage}_s"] / max(1, totals[f"{stage}_n"])
                for totals in (stages["alone"], stages["flood"])
            )
            for stage in ("decode", "embed")
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phase-s", type=float, default=36.0, help="length of each phase")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--segments",
        type=int,
        default=1,
        help="pieces of each phase, taken in turn (alone, flood, alone, ...)",
    )
    parser.add_argument("--api-nice", type=int, default=0, help="the server's extra niceness")
    parser.add_argument("--api-idle", action="store_true", help="the server in the idle CPU class")
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
          f"{args.phase_s:.0f} s per phase in {args.segments} piece(s) taken in turn; "
          f"one API key flooding at {FLOOD_RATE:g}/s "
          f"({args.key_inflight} in flight); "
          + ("the API in the bot" if args.api_in_bot else
             f"the server {args.api_nice} nice steps below the bot"
             + (", in the idle CPU class" if args.api_idle else "")))  # fmt: skip
    runs: dict[str, list[dict[str, Any]]] = {value: [] for value in yields}
    with tempfile.TemporaryDirectory(prefix="musicrec-bench-api-fair-") as scratch:
        media = prepare(Path(scratch))
        for number in range(1, args.runs + 1):
            for value in yields:
                load_before = os.getloadavg()[0]
                figures = one_run(
                    media,
                    args.phase_s,
                    args.segments,
                    args.api_nice,
                    args.api_idle,
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
    means = ", ".join(
        f"{stage} {alone:.0f} -> {flood:.0f}" for stage, (alone, flood) in figures["stages"].items()
    )
    print(f"  the bot's mean stage times alone -> during the flood, ms: {means}"
          + (" (the key's requests included)" if figures["in_bot"] else ""))  # fmt: skip
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
