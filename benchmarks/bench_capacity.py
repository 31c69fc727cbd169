"""Capacity on paper: CPU per request and memory per bot process, measured on the core path.

Run: ``python benchmarks/bench_capacity.py [--items 200000] [--requests 6]``

What is measured, in one run (the core path directly, not through Discord: what the bot's
workers run for a request, without the event loop, the gateway and the reply):

* **attachments**: a 10-s window decoded from a 3-minute MP3 (``clip_from_file``),
  embedded with VGGish (the real weights from the model cache, else synthetic ones of the
  same size) and searched in the index (``recommend``, k=5); twice in the same run: read
  by the long-lived decode workers (the default where PyAV is installed), and by
  ffprobe/ffmpeg processes (the fallback, ``set_default_workers(False)``);
* **links**: the same after a YouTube fetch through yt-dlp (the test seam serving a
  4-minute Opus/WebM "video" from 127.0.0.1, so no network cost); twice, interleaved
  request by request: in a long-lived yt-dlp worker (the default) and in a process
  started for the link (the fallback, ``YtDlpWorkers(keep=False)``), with their ratio,
  and the memory an idle worker holds;
* the **baseline** in the same run: VGGish alone on the decoded clip.

CPU time is counted over the whole process tree (:func:`cpu_seconds`): this process, its
finished children (``getrusage``) and its live descendants (``/proc/<pid>/stat``: the
decode workers stay up between requests), so the figure is requests per CPU-second,
i.e. per core, whatever else runs on the machine. Requests are run one at a time (the bot
batches concurrent ones, which only helps).

* **memory**: an index of ``--items`` random 128-d items (AudioSet-shaped metadata) built
  with IndexBuilder, opened by two child processes as the bot opens it (Recommender.open
  for serving, VGGish loaded), every page of its vectors file touched (the worst case:
  a long-running bot under load). PSS from ``/proc/<pid>/smaps_rollup`` counts a page
  shared by two processes half in each, so ``own = PSS - index pages / 2`` is what one more
  process costs; N processes take ``N x own + index``. The full AudioSet (about 1M music /
  2M all segments) is an extrapolation: mapped index pages scale with the items.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402

from musicrec_core.audio.decode_workers import (  # noqa: E402
    default_workers,
    set_default_workers,
)
from musicrec_core.catalog.index import VECTORS_FILE, IndexBuilder, ItemMeta  # noqa: E402
from musicrec_core.catalog.index.builder import estimate_index_bytes  # noqa: E402
from musicrec_core.catalog.pooling import DEFAULT_POOLING  # noqa: E402
from musicrec_core.embedders import WeightFiles  # noqa: E402
from musicrec_core.recommender import Recommender  # noqa: E402
from musicrec_core.sources.ytdlp_workers import YtDlpWorkers  # noqa: E402

VIDEO_ID = "capacity001"
MiB = 2**20
PAGE = os.sysconf("SC_PAGE_SIZE")


def cpu_seconds() -> float:
    """CPU time of this process, its waited-for children and its live descendants, in
    seconds (a live process's time moves into ``RUSAGE_CHILDREN`` once it is reaped; the
    processes a live descendant has reaped, a yt-dlp worker's ffmpeg, are in its own
    ``cutime``/``cstime``)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    finished = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
    return finished + sum(ticks for _, ticks in live_descendants()) / os.sysconf("SC_CLK_TCK")


def live_descendants() -> list[tuple[int, int]]:
    """(pid, CPU clock ticks) of every live descendant of this process: its user and
    system time and those of the children it has waited for."""
    parents: dict[int, tuple[int, int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # it has just exited
            continue
        if fields[0] != "Z":
            parents[int(entry)] = (int(fields[1]), sum(int(f) for f in fields[11:15]))
    found, frontier = [], [os.getpid()]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, ticks) in parents.items():
            if ppid == parent:
                found.append((pid, ticks))
                frontier.append(pid)
    return found


def weights_for(work: Path) -> tuple[WeightFiles, str]:
    """The real VGGish weights from the model cache, else synthetic ones of the same size."""
    from musicrec_core.embedders.vggish import VGGishEmbedder

    try:
        VGGishEmbedder.from_files()
        return WeightFiles(None, None), "real VGGish weights"
    except Exception:
        from tests.helpers.vggish_files import write_synthetic_vggish

        checkpoint, pca = write_synthetic_vggish(work / "vggish")
        return WeightFiles(checkpoint, pca), "synthetic VGGish weights (same network size)"


def build_index(target: Path, items: int, weights: WeightFiles) -> float:
    """An index of ``items`` random unit vectors under VGGish's id; returns the build time."""
    from musicrec_core.embedders.vggish import VGGishEmbedder

    embedder = VGGishEmbedder.from_files(weights.vggish_checkpoint, weights.vggish_pca)
    rng = np.random.default_rng(0)
    started = time.perf_counter()
    with IndexBuilder(target, embedder=embedder.id, pooling=DEFAULT_POOLING) as builder:
        for start in range(0, items, 10_000):
            block = rng.standard_normal((min(10_000, items - start), 128), dtype=np.float32)
            for offset, vector in enumerate(block):
                number = start + offset
                builder.add(
                    vector,
                    ItemMeta(
                        group=f"v{number:010d}",
                        start_s=30.0,
                        end_s=40.0,
                        labels=("Music", "Pop music", "Guitar"),
                        kind="youtube",
                        source=f"https://www.youtube.com/watch?v=v{number:010d}",
                    ),
                )
        builder.commit()
    return time.perf_counter() - started


def per_request(work: Callable[[int], None], count: int) -> tuple[float, float]:
    """Median CPU seconds and wall seconds of ``work(i)`` over ``count`` runs (after one
    warm-up)."""
    work(-1)
    cpu, wall = [], []
    for number in range(count):
        cpu_before, wall_before = cpu_seconds(), time.perf_counter()
        work(number)
        cpu.append(cpu_seconds() - cpu_before)
        wall.append(time.perf_counter() - wall_before)
    return float(np.median(cpu)), float(np.median(wall))


def interleaved(variants: dict[str, Callable[[int], None]], count: int) -> dict:
    """:func:`per_request` of each variant, their runs taken in turn (one of each, then the
    next round), so a machine that gets busier mid-run weighs on all of them alike."""
    for work in variants.values():
        work(-1)
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    wall: dict[str, list[float]] = {name: [] for name in variants}
    for number in range(count):
        for name, work in variants.items():
            cpu_before, wall_before = cpu_seconds(), time.perf_counter()
            work(number)
            cpu[name].append(cpu_seconds() - cpu_before)
            wall[name].append(time.perf_counter() - wall_before)
    return {name: (float(np.median(cpu[name])), float(np.median(wall[name]))) for name in cpu}


def measure_cpu(index_dir: Path, weights: WeightFiles, work: Path, count: int) -> tuple[dict, int]:
    """(name -> (median CPU s, median wall s) per request, PSS in bytes of an idle yt-dlp
    worker after the links)."""
    from musicrec_core.sources.attachment import clip_from_file
    from musicrec_core.sources.youtube import fetch_youtube_clip, parse_youtube_link
    from musicrec_core.sources.ytdlp_fetch import _serve_test_video
    from tests.helpers.http_server import LocalHTTPServer
    from tests.helpers.media import generate_media, video_soundtrack

    recommender = Recommender.open(index_dir, weights=weights, serving=True)
    songs = [
        generate_media(work / f"song{n}.mp3", seconds=180, tone_hz=200.0 + 37 * n)
        for n in range(count + 1)
    ]

    def attachment(number: int) -> None:
        clip = clip_from_file(songs[number], filename="song.mp3")
        recommender.recommend(clip, 5)

    clip = clip_from_file(songs[0], filename="song.mp3")

    def model_only(number: int) -> None:
        recommender.embedder.embed_many([clip])

    video = video_soundtrack(work / "video.webm", seconds=240)
    link = parse_youtube_link(f"https://youtu.be/{VIDEO_ID}")

    def youtube_in(workers: YtDlpWorkers) -> Callable[[int], None]:
        def youtube(number: int) -> None:
            start = 20.0 + 10 * max(number, 0)
            recommender.recommend(fetch_youtube_clip(link, start_s=start, workers=workers), 5)

        return youtube

    figures = {"model": per_request(model_only, count)}
    if default_workers() is not None:
        figures["attachment"] = per_request(attachment, count)
    set_default_workers(False)
    figures["attachment, ffmpeg"] = per_request(attachment, count)
    set_default_workers(True)
    with LocalHTTPServer() as server:
        url = server.add("/video.webm", video.read_bytes(), content_type="audio/webm")
        long_lived, per_fetch = YtDlpWorkers(), YtDlpWorkers(keep=False)
        with _serve_test_video(VIDEO_ID, url):
            variants = {"link": youtube_in(long_lived), "link, child": youtube_in(per_fetch)}
            figures |= interleaved(variants, count)
        worker_pss = rollup(long_lived.idle_pids()[0])["Pss"]
        long_lived.close()
    recommender.close()
    return figures, worker_pss


# Memory ------------------------------------------------------------------------------


def child(index_dir: Path, weights: WeightFiles) -> None:
    """Open the index as the bot does, touch every page of its vectors file, wait."""
    recommender = Recommender.open(index_dir, weights=weights, serving=True)
    vectors = str((recommender.index.directory / VECTORS_FILE).resolve())
    for line in Path("/proc/self/maps").read_text().splitlines():
        fields = line.split(maxsplit=5)
        if len(fields) == 6 and fields[5] == vectors:
            low, high = (int(part, 16) for part in fields[0].split("-"))
            for address in range(low, high, PAGE):
                ctypes.string_at(address, 1)
    print("ready", flush=True)
    sys.stdin.readline()


def rollup(pid: int) -> dict[str, int]:
    """``/proc/<pid>/smaps_rollup`` in bytes."""
    values = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value = line.split(":", 1)
        values[name] = int(value.split()[0]) * 1024
    return values


def mapping_rss(pid: int, suffix: str) -> int:
    """Resident bytes of the mappings of files whose path ends with ``suffix``."""
    total, inside = 0, False
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        first = line.split(maxsplit=5)
        if "-" in first[0] and len(first) >= 5 and ":" not in first[0]:
            inside = len(first) == 6 and first[5].endswith(suffix)
        elif inside and line.startswith("Rss:"):
            total += int(line.split()[1]) * 1024
    return total


def measure_memory(index_dir: Path, weights: WeightFiles) -> list[dict[str, int]]:
    command = [sys.executable, __file__, "--child", str(index_dir)]
    if weights.vggish_checkpoint is not None:
        command += [
            "--checkpoint",
            str(weights.vggish_checkpoint),
            "--pca",
            str(weights.vggish_pca),
        ]
    processes = [
        subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    try:
        for process in processes:
            assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        return [
            rollup(process.pid) | {"index": mapping_rss(process.pid, VECTORS_FILE)}
            for process in processes
        ]
    finally:
        for process in processes:
            process.communicate("\n", timeout=60)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=6)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--checkpoint", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--pca", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, WeightFiles(args.checkpoint, args.pca))
        return 0

    with tempfile.TemporaryDirectory(prefix="musicrec-bench-capacity-") as scratch:
        work = Path(scratch)
        weights, which = weights_for(work)
        print(f"{which}; {os.cpu_count()} CPUs seen; building a {args.items:,}-item index...")
        build_s = build_index(work / "index", args.items, weights)
        size = sum(p.stat().st_size for p in (work / "index").rglob("*") if p.is_file())
        print(f"  built in {build_s:.1f} s, {size / MiB:.0f} MiB on disk")

        figures, worker_pss = measure_cpu(work / "index", weights, work, args.requests)
        print(f"\nCPU per request (median of {args.requests}, one at a time):")
        for name, (cpu, wall) in figures.items():
            label = {
                "model": "VGGish alone (baseline)",
                "attachment": "attachment (3-min MP3), workers",
                "attachment, ffmpeg": "attachment, ffmpeg processes",
                "link": "YouTube link (loopback), worker",
                "link, child": "YouTube link, a process per link",
            }
            print(
                f"  {label[name]:34s} "
                f"{cpu * 1000:7.0f} ms CPU  {wall * 1000:7.0f} ms wall  "
                f"= {1 / cpu:5.1f} requests/s per core"
            )
        ratio = figures["link"][0] / figures["link, child"][0]
        print(
            f"  a YouTube link in a worker costs {ratio:.2f} x the CPU of a process per link;"
            f" an idle yt-dlp worker holds {worker_pss / MiB:.0f} MiB PSS"
        )

        reports = measure_memory(work / "index", weights)
        print("\nMemory of two processes mapping the same index (MiB):")
        owns = []
        for number, report in enumerate(reports):
            own = report["Pss"] - report["index"] / 2
            owns.append(own)
            print(
                f"  process {number}: RSS {report['Rss'] / MiB:6.0f}"
                f"  PSS {report['Pss'] / MiB:6.0f}"
                f"  index pages {report['index'] / MiB:5.0f} (shared)  own {own / MiB:5.0f}"
            )
        own = max(owns)
        per_item = max(report["index"] for report in reports) / args.items
        print("\nExtrapolated (mapped index pages grow with the items; N processes = N x own")
        print("+ the index once; estimate_index_bytes gives the disk size):")
        for items in (args.items, 1_000_000, 2_000_000):
            index = per_item * items
            print(
                f"  {items:>9,} items: index pages {index / MiB:6.0f} MiB "
                f"(disk {estimate_index_bytes(items, 128) / MiB:5.0f}); 1 process "
                f"{(own + index) / MiB:6.0f} MiB, 2: {(2 * own + index) / MiB:6.0f}, "
                f"8: {(8 * own + index) / MiB:6.0f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
