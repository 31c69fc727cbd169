"""Decode workers against ffmpeg processes: CPU per upload, and a loop of hostile files.

Run: ``python benchmarks/bench_decode_workers.py [--requests 10] [--rounds 30]``

In one run:

* **CPU per upload**: ``clip_from_file`` of a 3-minute MP3 (probe, loudest of four
  windows, decode; no model), one request at a time, first through the decode workers,
  then through ffprobe/ffmpeg processes (``set_default_workers(False)``), then the workers
  again (interleaved, so a drifting machine shows). CPU is counted over the whole process
  tree (``bench_capacity.cpu_seconds``: live workers included).
* **Hostile loop**: the hostile corpus of the tests (``tests/helpers/hostile_media.py``:
  empty, random bytes, truncated, text, PNG, video without sound, 0.3 s, a 3-hour
  silent MP3, NaN/inf WAVs, playlists) ``--rounds`` times through the workers, each file
  expecting the outcome the tests expect. Reported: files that did not give it, this
  process's open descriptors and live descendants at the start and the end, ``musicrec-*``
  entries left in the temp folder, and the workers' summed PSS after the first tenth of
  the files and at the end (growth in %).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "benchmarks"))

import numpy as np  # noqa: E402
from bench_capacity import cpu_seconds, live_descendants  # noqa: E402

from musicrec_core.audio.decode_workers import default_workers, set_default_workers  # noqa: E402
from musicrec_core.sources.attachment import clip_from_file  # noqa: E402
from tests.helpers.hostile_media import hostile_files  # noqa: E402
from tests.helpers.media import generate_media  # noqa: E402


def cpu_per_upload(songs: list[Path]) -> tuple[float, float]:
    """Median (CPU s, wall s) of ``clip_from_file`` over ``songs`` (after one warm-up)."""
    clip_from_file(songs[0], filename="song.mp3")
    cpu, wall = [], []
    for song in songs[1:]:
        cpu_before, wall_before = cpu_seconds(), time.perf_counter()
        clip_from_file(song, filename="song.mp3")
        cpu.append(cpu_seconds() - cpu_before)
        wall.append(time.perf_counter() - wall_before)
    return float(np.median(cpu)), float(np.median(wall))


def pss_bytes(pids: list[int]) -> int:
    """Summed proportional set size of ``pids`` (``/proc/<pid>/smaps_rollup``)."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


def hostile_loop(folder: Path, rounds: int) -> None:
    files = list(hostile_files(folder).values())
    temp = Path(tempfile.gettempdir())
    ours = {p.name for p in temp.iterdir() if p.name.startswith("musicrec-")}
    fds_before = len(os.listdir("/proc/self/fd"))
    tree_before = {pid for pid, _ in live_descendants()}
    wrong: list[str] = []
    total = rounds * len(files)
    tenth_pss = 0
    started = time.perf_counter()
    for number in range(total):
        path, expected = files[number % len(files)]
        try:
            clip_from_file(path, filename=path.name)
            if expected is not None:
                wrong.append(f"{path.name}: a clip, expected {expected.__name__}")
        except Exception as exc:
            if expected is None or not isinstance(exc, expected):
                wrong.append(f"{path.name}: {type(exc).__name__}: {exc}")
        if number + 1 == max(total // 10, 1):
            tenth_pss = pss_bytes([pid for pid, _ in live_descendants()])
    end_pss = pss_bytes([pid for pid, _ in live_descendants()])
    tree_after = {pid for pid, _ in live_descendants()}
    left = {p.name for p in temp.iterdir() if p.name.startswith("musicrec-")} - ours
    print(f"\nHostile loop: {total} files ({len(files)} kinds x {rounds}) in "
          f"{time.perf_counter() - started:.0f} s")  # fmt: skip
    print(f"  wrong outcomes: {len(wrong)}" + "".join(f"\n    {w}" for w in wrong[:5]))
    waiting = len(default_workers().idle_pids())
    print(f"  descriptors: {fds_before} before, {len(os.listdir('/proc/self/fd'))} after "
          f"(one socket per waiting worker: {waiting})")  # fmt: skip
    print(f"  live child processes: {len(tree_before)} before, {len(tree_after)} after "
          f"(decode workers waiting: {waiting})")  # fmt: skip
    print(f"  temp entries left: {len(left)}")
    growth = 100 * (end_pss - tenth_pss) / tenth_pss if tenth_pss else float("nan")
    print(f"  workers' PSS: {tenth_pss / 2**20:.1f} MiB after {max(total // 10, 1)} files, "
          f"{end_pss / 2**20:.1f} MiB after {total} ({growth:+.1f} %)")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    if default_workers() is None:
        print("PyAV or soxr is not installed: no decode workers to measure")
        return 1
    with tempfile.TemporaryDirectory(prefix="musicrec-bench-workers-") as scratch:
        work = Path(scratch)
        songs = [
            generate_media(work / f"song{n}.mp3", seconds=180, tone_hz=200.0 + 37 * n)
            for n in range(args.requests + 1)
        ]
        print(f"CPU per upload (3-min MP3, clip_from_file, median of {args.requests}):")
        rows = []
        for label, enabled in (("workers", True), ("ffmpeg", False), ("workers again", True)):
            set_default_workers(enabled)
            cpu, wall = cpu_per_upload(songs)
            rows.append(cpu)
            print(f"  {label:14s} {cpu * 1000:6.0f} ms CPU  {wall * 1000:6.0f} ms wall")
        workers = (rows[0] + rows[2]) / 2
        print(f"  ffmpeg / workers: {rows[1] / workers:.1f}x the CPU")
        set_default_workers(True)
        hostile_loop(work / "hostile", args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
