"""Bot throughput through the fake Discord: 16 concurrent /recommend vs the same 16 in turn.

Runs the real bot process (``python -m bot`` via the tests-only launcher) against
tests/fake_discord with a seven-video catalog, VGGish-sized network weights (the synthetic
checkpoint, unless ``--checkpoint/--pca`` name real files: the compute is the same) and
16 different 10-second MP3 attachments. It measures, in one run:

* sequential: each /recommend sent after the previous one was answered;
* concurrent: all 16 sent at once (micro-batching embeds them in few model calls);
* latency p50/p95 per request (dispatch -> answer), throughput ratio concurrent/sequential
  (goal >= 1.5x), and the bot's peak event-loop lag during the concurrent burst as the bot
  itself reports it in /musicrec status (goal < 100 ms).

Usage: ``.venv/bin/python benchmarks/bench_bot.py [--checkpoint F --pca F] [--requests 16]``
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from musicrec_core.embedders.vggish import VGGishEmbedder  # noqa: E402
from tests.fake_discord.bot_process import BotProcess, bot_environment  # noqa: E402
from tests.fake_discord.markdown import field_rows  # noqa: E402
from tests.fake_discord.server import FakeDiscord  # noqa: E402
from tests.fake_discord.world import build_catalog  # noqa: E402
from tests.helpers.media import generate_media  # noqa: E402
from tests.helpers.vggish_files import write_synthetic_vggish  # noqa: E402

TOKEN = "MTAwMDAwMDAwMDAwMDAwMDAw.bench.token"


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of ``values`` (fraction in [0, 1])."""
    ordered = sorted(values)
    rank = max(1, round(fraction * len(ordered)))
    return ordered[rank - 1]


def send(fake: FakeDiscord, attachment: dict) -> str:
    option = {"name": "file", "type": 11, "value": attachment["id"]}
    return fake.slash_command("recommend", [option], attachments=[attachment])


def answer_latency(fake: FakeDiscord, interaction_id: str) -> float:
    reply = fake.wait_reply(interaction_id, timeout=600)
    if not reply["payload"].get("embeds"):
        raise RuntimeError(f"request {interaction_id} was not answered: {reply['payload']}")
    return reply["at"] - fake.dispatched_at(interaction_id)


def status(fake: FakeDiscord) -> dict[str, str]:
    reply = fake.wait_reply(fake.slash_command("musicrec status", who="admin"))
    return field_rows(reply["payload"]["embeds"][0])  # as a reader sees them (escapes read)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path)
    parser.add_argument("--pca", type=Path)
    parser.add_argument("--requests", type=int, default=16)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="musicrec-bench-bot-") as scratch:
        work = Path(scratch)
        if args.checkpoint and args.pca:
            checkpoint, pca = args.checkpoint, args.pca
        else:
            print("writing synthetic VGGish weights (same network size as the real ones)...")
            checkpoint, pca = write_synthetic_vggish(work / "vggish")
        embedder = VGGishEmbedder.from_files(checkpoint, pca)
        build_catalog(work / "index", work / "catalog-media", embedder)
        del embedder
        clips = [
            generate_media(work / f"q{n:02d}.mp3", seconds=10, tone_hz=200.0 + 97.0 * n)
            for n in range(args.requests + 1)
        ]

        with FakeDiscord(token=TOKEN) as fake:
            env = bot_environment(
                fake,
                index_dir=work / "index",
                checkpoint=checkpoint,
                pca=pca,
                cache_dir=work / "cache",
                extra={"MUSICREC_LINK_REPLIES": "false", "MUSICREC_QUEUE_SIZE": "32"},
            )
            bot = BotProcess(env)
            try:
                bot.wait_ready()
                attachments = [
                    fake.add_attachment(path.read_bytes(), path.name, "audio/mpeg")
                    for path in clips
                ]
                answer_latency(fake, send(fake, attachments[-1]))  # warm-up (first TF call)
                batch = attachments[: args.requests]

                started = time.monotonic()
                sequential = [answer_latency(fake, send(fake, item)) for item in batch]
                sequential_s = time.monotonic() - started

                before = status(fake)  # also starts a new lag-measurement period in the bot
                started = time.monotonic()
                ids = [send(fake, item) for item in batch]
                concurrent = [answer_latency(fake, interaction) for interaction in ids]
                concurrent_s = time.monotonic() - started
                after = status(fake)
            finally:
                bot.stop()
            violations = list(fake.violations)

    lag = re.match(r"([\d.]+) ms", after["Loop lag peak"])
    lag_ms = float(lag.group(1)) if lag else float("nan")
    n = args.requests
    ratio = sequential_s / concurrent_s
    print(
        f"requests: {n} x 10-s MP3 attachments, all answered; Discord rule violations: "
        f"{len(violations)}"
    )
    print(
        f"sequential: {sequential_s:6.2f} s total, {n / sequential_s:5.2f} req/s, "
        f"p50 {statistics.median(sequential):.2f} s, p95 {percentile(sequential, 0.95):.2f} s"
    )
    print(
        f"concurrent: {concurrent_s:6.2f} s total, {n / concurrent_s:5.2f} req/s, "
        f"p50 {statistics.median(concurrent):.2f} s, p95 {percentile(concurrent, 0.95):.2f} s"
    )
    print(f"throughput concurrent / sequential: {ratio:.2f}x (goal >= 1.5x)")
    print(f"batches before burst: {before['Batches']}; after: {after['Batches']}")
    print(f"bot event-loop lag peak during the burst: {lag_ms:.1f} ms (goal < 100 ms)")
    return 0 if not violations else 1


if __name__ == "__main__":
    sys.exit(main())
