"""Fairness under a flood: four polite members against one member flooding every entry point.

Runs the real bot process (tests-only launcher) against tests/fake_discord with its default
admission policy (``MUSICREC_RECOMMEND_COOLDOWN_S=5``, one request in flight per member,
separate fetch and decode workers, the link channel cooldown at its default 30 s), the
seven-video catalog and the synthetic VGGish (VGGish-sized compute). Two phases in one run:

* baseline: four polite members each send /recommend (a 10-s MP3) every 6 s;
* flood: the same, while one member sends something every 0.5 s, cycling through every
  entry point with the most expensive inputs it may: /recommend and the "Find similar
  music" menu with a 12-minute 8-channel Opus upload (24 MiB, just under the 25 MiB cap;
  more channels are refused), "More like" clicks, a /recommend link and a pasted link to
  a "video" the local media server throttles.

Each run prints the polite members' p95 reply time (dispatch -> answer) in each phase and
their ratio (goal <= 1.5x), refusals of polite members (goal 0), how the flooder was
answered, the latest acknowledgement of any interaction (goal < 3 s; the fake also records
late ones as violations), the bot's peak event-loop lag in each phase as /musicrec status
reports it (goal < 50 ms), the bot process's peak RSS, and the memory of the bot with every
process under it (decode workers, ffmpeg, ffprobe and yt-dlp children): their PSS
(``/proc/PID/smaps_rollup``, shared pages split among their users) summed, sampled every
0.5 s from the bot being ready to the flood's last answer, peak and mean, with the peak
sample split by kind of process and the number of decode workers started. PSS splits a
shared library's pages among every process on the machine that maps it, so other work
here (tests loading the same TensorFlow) moves the bot's figure between runs; the mean USS
(private pages) of the processes under the bot, which no other process moves, is printed
beside it.

Two decode paths, ``--runs`` runs of each (default 3), interleaved (children, workers,
children, ...) so machine load falls on both alike: per-request ffprobe/ffmpeg children
(``MUSICREC_DECODE_IN_WORKERS=false``, the fallback and the path before the workers) and
the long-lived decode workers (the default). The summary gives each path's median p95 ratio
and median peak and mean PSS. Everything runs on 127.0.0.1.

Usage: ``nice -n 19 .venv/bin/python benchmarks/bench_fairness.py [--phase-s 36] [--runs 3]``
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "benchmarks"))

from proc_tree import command_line, descendants, pss_and_uss_bytes  # noqa: E402

from musicrec_core.embedders.vggish import VGGishEmbedder  # noqa: E402
from tests.fake_discord.bot_process import BotProcess, bot_environment  # noqa: E402
from tests.fake_discord.markdown import field_rows, visible  # noqa: E402
from tests.fake_discord.server import FakeDiscord  # noqa: E402
from tests.fake_discord.world import build_catalog  # noqa: E402
from tests.helpers.http_server import LocalHTTPServer  # noqa: E402
from tests.helpers.long_media import long_many_channel_opus  # noqa: E402
from tests.helpers.media import generate_media  # noqa: E402
from tests.helpers.vggish_files import write_synthetic_vggish  # noqa: E402

TOKEN = "MTAwMDAwMDAwMDAwMDAwMDAw.bench.token"
POLITE = ("admin", "dj", "owner", "guest")
FLOODER = "member"
POLITE_EVERY_S = 6.0
FLOOD_EVERY_S = 0.5
SLOW_VIDEO = "slowvid0001"
PATHS = {
    "per-request children": {"MUSICREC_DECODE_IN_WORKERS": "false"},
    "decode workers": {},
}
"""Decode path -> its settings: ffprobe/ffmpeg processes per request (the fallback, and
the path before the workers) or the long-lived workers (the default)."""
MEMORY_SAMPLE_S = 0.5
DEFAULTS = {
    "MUSICREC_RECOMMEND_COOLDOWN_S": "5",
    "MUSICREC_LINK_COOLDOWN_S": "30",
    "MUSICREC_QUEUE_SIZE": "32",
}


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of ``values`` (fraction in [0, 1])."""
    ordered = sorted(values)
    return ordered[max(1, round(fraction * len(ordered))) - 1]


def file_option(attachment: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"name": "file", "type": 11, "value": attachment["id"]}]


def status_lag_ms(fake: FakeDiscord) -> float:
    """The bot's loop-lag peak since the previous status (also starts a new period)."""
    reply = fake.wait_reply(fake.slash_command("musicrec status", who="owner"))
    rows = field_rows(reply["payload"]["embeds"][0])  # as a reader sees them (escapes read)
    match = re.match(r"([\d.]+) ms", rows["Loop lag peak"])
    return float(match.group(1)) if match else float("nan")


def peak_rss_mib(pid: int) -> float:
    """The process's peak resident set (VmHWM) in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_phase(
    fake: FakeDiscord,
    songs: list[dict[str, Any]],
    seconds: float,
    flood: Callable[[], str | None] | None,
    last_sent: dict[str, float],
) -> tuple[list[str], list[str]]:
    """Send the polite schedule (and the flood) for ``seconds``; returns both id lists.

    ``last_sent`` (polite member -> monotonic time of their last message) carries over
    from the previous phase, so no member writes sooner than every ``POLITE_EVERY_S``."""
    events: list[tuple[float, str]] = []
    for number, who in enumerate(POLITE):
        start = number * POLITE_EVERY_S / len(POLITE)
        events += [(start + k * POLITE_EVERY_S, who) for k in range(int(seconds / POLITE_EVERY_S))]
    if flood is not None:
        events += [(k * FLOOD_EVERY_S, FLOODER) for k in range(int(seconds / FLOOD_EVERY_S))]
    events.sort()
    polite_ids: list[str] = []
    flood_ids: list[str] = []
    began = time.monotonic()
    for at, who in events:
        due = began + at
        if who in last_sent:
            # One sender serves everyone: when a flood step held it up, a polite member's
            # next message still waits its full interval, as a person's would.
            due = max(due, last_sent[who] + POLITE_EVERY_S)
        time.sleep(max(0.0, due - time.monotonic()))
        if who != FLOODER:
            last_sent[who] = time.monotonic()
        if who == FLOODER and flood is not None:
            sent = flood()
            if sent is not None:
                flood_ids.append(sent)
        else:
            song = songs[POLITE.index(who)]
            polite_ids.append(
                fake.slash_command("recommend", file_option(song), attachments=[song], who=who)
            )
    return polite_ids, flood_ids


def polite_outcome(fake: FakeDiscord, ids: list[str]) -> tuple[list[float], list[str]]:
    """Reply times of answered requests, and the texts of refused ones."""
    times, refused = [], []
    for interaction in ids:
        reply = fake.wait_reply(interaction, timeout=300)
        if reply["payload"].get("embeds"):
            times.append(reply["at"] - fake.dispatched_at(interaction))
        else:
            refused.append(visible(str(reply["payload"].get("content"))))
    return times, refused


def latest_acknowledgement_s(fake: FakeDiscord) -> float:
    """The longest dispatch -> callback time of any interaction so far."""
    worst = 0.0
    for record in list(fake.records):
        if record.kind == "callback" and record.interaction_id is not None:
            worst = max(worst, record.at - fake.dispatched_at(record.interaction_id))
    return worst


@dataclass(frozen=True)
class Media:
    """The inputs every run sends (built once): the catalog, the polite songs, the upload
    and the link's audio."""

    work: Path
    checkpoint: Path
    pca: Path
    song_files: list[Path]
    long_opus: bytes
    link_audio: bytes


def process_kind(command: str) -> str:
    """What a process under the bot is, from its command line: "decode worker", "yt-dlp
    worker" or the program's name (ffmpeg, ffprobe, ...)."""
    if "_decode_worker.py" in command:
        return "decode worker"
    if "_ytdlp_worker.py" in command:
        return "yt-dlp worker"
    return Path(command.split(" ", 1)[0]).name or "gone"


class TreeMemory:
    """PSS of a process and every process under it, summed, sampled every
    ``MEMORY_SAMPLE_S`` in a thread until :meth:`stop`: bytes by kind of process ("bot"
    and :func:`process_kind`) in each sample, the USS of the processes under the bot in
    each sample, and the decode workers' process ids seen."""

    def __init__(self, pid: int) -> None:
        self.samples: list[Counter[str]] = []
        self.children_uss: list[int] = []
        self.decode_workers: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, args=(pid,), daemon=True)
        self._thread.start()

    def _sample(self, pid: int) -> None:
        while not self._stop.wait(MEMORY_SAMPLE_S):
            sample: Counter[str] = Counter({"bot": pss_and_uss_bytes(pid)[0]})
            uss, bot_command = 0, command_line(pid)
            for child in descendants(pid):
                command = command_line(child)
                if command == bot_command:  # forked, not yet exec'd: the bot's own pages
                    continue
                kind = process_kind(command)
                child_pss, child_uss = pss_and_uss_bytes(child)
                sample[kind] += child_pss
                uss += child_uss
                if kind == "decode worker":
                    self.decode_workers.add(child)
            self.samples.append(sample)
            self.children_uss.append(uss)

    def stop(self) -> tuple[Counter[str], float]:
        """The peak sample (bytes by kind) and the mean of the samples' sums, bytes."""
        self._stop.set()
        self._thread.join()
        totals = [sample.total() for sample in self.samples] or [0]
        peak = max(self.samples, key=Counter.total, default=Counter())
        return peak, statistics.fmean(totals)


def one_run(media: Media, label: str, phase_s: float) -> dict[str, Any]:
    """One bot (decode path ``label``, see :data:`PATHS`) through the baseline and the flood
    phase; its figures."""
    work = media.work
    with LocalHTTPServer() as server, FakeDiscord(token=TOKEN, extra_members=("guest",)) as fake:
        # A throttled "video": 4 KiB, then a 20-s stall before the rest.
        slow_url = server.add(
            f"/{SLOW_VIDEO}.mp3", media.link_audio, content_type="audio/mpeg",
            stall_s=20.0, stall_after=4096,
        )  # fmt: skip
        env = bot_environment(
            fake,
            index_dir=work / "index",
            checkpoint=media.checkpoint,
            pca=media.pca,
            cache_dir=Path(tempfile.mkdtemp(prefix=f"cache-{label}-", dir=work)),
            extra={**DEFAULTS, **PATHS[label]},
        )
        bot = BotProcess(env, serve_videos={SLOW_VIDEO: slow_url})
        try:
            bot.wait_ready()
            memory = TreeMemory(bot.process.pid)
            songs = [
                fake.add_attachment(path.read_bytes(), path.name, "audio/mpeg")
                for path in media.song_files
            ]
            warm = fake.slash_command(
                "recommend", file_option(songs[0]), attachments=[songs[0]], who="guest"
            )
            warm_reply = fake.wait_reply(warm, timeout=300)
            time.sleep(5.5)  # past the warm-up member's cooldown
            upload = fake.add_attachment(media.long_opus, "long.opus", "audio/ogg")
            target = fake.post_message("listen to this", who=FLOODER, attachments=[upload])
            more_like = warm_reply["payload"]["components"][1]["components"][0]["custom_id"]
            link = f"https://youtu.be/{SLOW_VIDEO}"
            moves: list[Callable[[], str | None]] = [
                lambda: fake.slash_command(
                    "recommend", file_option(upload), attachments=[upload], who=FLOODER
                ),
                lambda: fake.message_command("Find similar music", target, who=FLOODER),
                lambda: fake.click(warm_reply["message"], more_like, who=FLOODER),
                lambda: fake.slash_command(
                    "recommend", [{"name": "link", "type": 3, "value": link}], who=FLOODER
                ),
                lambda: (fake.post_message(f"hear {link}", who=FLOODER), None)[1],
            ]
            cycle = itertools.cycle(moves)

            status_lag_ms(fake)
            last_sent: dict[str, float] = {}
            base_ids, _ = run_phase(fake, songs, phase_s, None, last_sent)
            base_times, base_refused = polite_outcome(fake, base_ids)
            base_lag = status_lag_ms(fake)

            flood_polite, flood_ids = run_phase(
                fake, songs, phase_s, lambda: next(cycle)(), last_sent
            )
            flood_times, flood_refused = polite_outcome(fake, flood_polite)
            flood_lag = status_lag_ms(fake)
            flooder = Counter(_kind(fake.wait_reply(i, timeout=300)["payload"]) for i in flood_ids)
            peak_pss, mean_pss = memory.stop()
            figures = {
                "base_p95": percentile(base_times, 0.95),
                "flood_p95": percentile(flood_times, 0.95),
                "answered": (len(base_times), len(flood_times)),
                "refused": base_refused + flood_refused,
                "lag_ms": (base_lag, flood_lag),
                "flooder": dict(flooder),
                "flood_sent": len(flood_ids),
                "latest_ack_s": latest_acknowledgement_s(fake),
                "rss_mib": peak_rss_mib(bot.process.pid),
                "peak_pss_mib": peak_pss.total() / 2**20,
                "peak_by_kind": {kind: size / 2**20 for kind, size in peak_pss.most_common()},
                "decode_workers_started": len(memory.decode_workers),
                "mean_pss_mib": mean_pss / 2**20,
                "children_uss_mib": statistics.fmean(memory.children_uss or [0]) / 2**20,
            }
        finally:
            bot.stop()
        figures["violations"] = list(fake.violations)
    figures["ratio"] = figures["flood_p95"] / figures["base_p95"]
    return figures


def prepare(work: Path) -> Media:
    """Build the catalog and every input once."""
    print("building the catalog and the media (synthetic VGGish, ffmpeg)...")
    checkpoint, pca = write_synthetic_vggish(work / "vggish")
    build_catalog(
        work / "index", work / "catalog-media", VGGishEmbedder.from_files(checkpoint, pca)
    )
    song_files = [
        generate_media(work / f"polite{n}.mp3", seconds=10, tone_hz=250.0 + 110.0 * n)
        for n in range(len(POLITE))
    ]
    long_opus = long_many_channel_opus(work / "long.opus", seconds=720).read_bytes()
    link_audio = generate_media(work / "link.mp3", seconds=30, tone_hz=660).read_bytes()
    return Media(work, checkpoint, pca, song_files, long_opus, link_audio)


def report_run(number: int, label: str, figures: dict[str, Any]) -> None:
    """One run's lines."""
    (base_n, flood_n), (base_lag, flood_lag) = figures["answered"], figures["lag_ms"]
    print(f"run {number}, {label}: polite p95 {figures['base_p95']:.2f} s -> "
          f"{figures['flood_p95']:.2f} s under the flood, ratio {figures['ratio']:.2f}x "
          f"({base_n} + {flood_n} answered, {len(figures['refused'])} refused); "
          f"loop lag {base_lag:.1f} / {flood_lag:.1f} ms; latest ack "
          f"{figures['latest_ack_s']:.2f} s; bot + processes under it PSS peak "
          f"{figures['peak_pss_mib']:.0f} MiB, mean {figures['mean_pss_mib']:.0f} MiB; "
          f"bot peak RSS {figures['rss_mib']:.0f} MiB")  # fmt: skip
    print(f"  flooder: {figures['flood_sent']} interactions every {FLOOD_EVERY_S} s "
          f"(+ pasted links): {figures['flooder']}")  # fmt: skip
    split = ", ".join(f"{kind} {mib:.0f}" for kind, mib in figures["peak_by_kind"].items())
    print(f"  PSS peak by process kind (MiB): {split}; decode workers started: "
          f"{figures['decode_workers_started']}; processes under the bot: mean USS "
          f"{figures['children_uss_mib']:.0f} MiB")  # fmt: skip
    for text in figures["refused"]:
        print(f"  polite refusal: {text}")
    for violation in figures["violations"]:
        print(f"  violation: {violation}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phase-s", type=float, default=36.0, help="length of each phase")
    parser.add_argument("--runs", type=int, default=3, help="runs of each decode path")
    args = parser.parse_args()
    print(f"1-min load average at the start: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")
    print(f"polite /recommend, {len(POLITE)} members every {POLITE_EVERY_S:.0f} s, "
          f"{args.phase_s:.0f} s per phase, {args.runs} runs of each path interleaved")  # fmt: skip
    results: dict[str, list[dict[str, Any]]] = {label: [] for label in PATHS}
    with tempfile.TemporaryDirectory(prefix="musicrec-bench-fair-") as scratch:
        media = prepare(Path(scratch))
        for number in range(1, args.runs + 1):
            for label in PATHS:
                figures = one_run(media, label, args.phase_s)
                results[label].append(figures)
                report_run(number, label, figures)
    print(f"\nmedians of {args.runs} runs      p95 ratio  peak PSS MiB  mean PSS MiB"
          "  under the bot: mean USS MiB")  # fmt: skip
    for label, runs in results.items():
        print(f"{label:<28}{statistics.median(r['ratio'] for r in runs):9.2f}x"
              f"{statistics.median(r['peak_pss_mib'] for r in runs):14.0f}"
              f"{statistics.median(r['mean_pss_mib'] for r in runs):14.0f}"
              f"{statistics.median(r['children_uss_mib'] for r in runs):29.0f}")  # fmt: skip
    print(
        "goals: the workers' ratio no worse than the children's (and <= 1.5x); their PSS "
        "at most the children's; no polite refusal, no violation, acks < 3 s, lag < 50 ms"
    )
    print(f"1-min load average at the end: {os.getloadavg()[0]:.2f}")
    every = [r for runs in results.values() for r in runs]
    return 0 if not any(r["violations"] or r["refused"] for r in every) else 1


def _kind(payload: dict[str, Any]) -> str:
    """How one flooder interaction was answered, for the summary."""
    if payload.get("embeds"):
        return "answered"
    content = visible(str(payload.get("content") or ""))
    return content.split(":")[0] if content else "other"


if __name__ == "__main__":
    sys.exit(main())
