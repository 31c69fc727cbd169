"""What ``musicrec recommend`` costs on a musicnn library: per query in-process, and the CPU
of one more 3-minute file in one call, against today's paths in the same run.

Run: ``nice -n 19 python benchmarks/bench_recommend_cpu.py [--repeats 7] [--baseline REV]``

- Library: six generated 40-s songs (``tests/helpers/music.py``), two windows each, indexed
  with the real musicnn weights (``MSD``) in a temporary folder. Queries: a 10-s MP3 and a
  3-minute MP3 (44.1 kHz stereo, 192 kbit/s) of another generated song; the 3-minute one
  makes the decoder read the loudest of four candidate windows.
- In-process (one process, one ``Recommender``, the model loaded): file -> clip ->
  recommendations (``clip_from_source`` + ``recommend``, k=5), through a decode worker
  and through the ffmpeg/ffprobe programs (the fallback, and the path before the workers),
  interleaved (``load_clip`` is handed the one pool or none in turn), median of
  ``--repeats`` after one warm-up; the current path's stages too (clip, ``embed_many``,
  the rest of ``recommend``), and each path's CPU seconds per query (this process, its
  ffmpeg children and the worker; on a busy machine the milliseconds grow, CPU much less).
  Goals: 10-s clip <= 150 ms, 3-minute track <= 250 ms.
- One more file: CPU seconds (user + system of the command and every process under it) of
  ``python -m musicrec_core.cli recommend F... --index DIR -k 5 --no-titles`` with three
  3-minute files less the same call with one, halved, for: the ffmpeg programs (this tree,
  workers switched off), git revision ``--baseline`` (default ``main``: workers, one per
  query decoded at once) and this tree. This process is a child subreaper
  (``PR_SET_CHILD_SUBREAPER``), so a worker that outlives its command is reaped here and
  counted. Interleaved, median of ``--repeats``. Goal: this tree <= 40 % of the ffmpeg
  programs.

Prints both tables, the ratios and the load average.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_cli import baseline_tree  # noqa: E402
from proc_tree import children  # noqa: E402

from musicrec_core.audio import decode  # noqa: E402
from musicrec_core.audio.decode_workers import DecodeWorkers, set_default_workers  # noqa: E402
from musicrec_core.catalog.library import build_library  # noqa: E402
from musicrec_core.embedders.musicnn import MusicnnEmbedder  # noqa: E402
from musicrec_core.recommender import Recommender  # noqa: E402
from musicrec_core.sources import clip_from_source  # noqa: E402
from tests.helpers.music import generate_music  # noqa: E402

SONGS = [
    ((262.0, 330.0, 392.0), 2.0, 0.0), ((55.0, 82.5), None, 0.02), ((1760.0,), 8.0, 0.3),
    ((440.0, 554.0), 4.0, 0.05), ((110.0, 220.0, 330.0), 1.0, 0.1), ((880.0,), 3.0, 0.0),
]  # fmt: skip
"""(chord in Hz, clicks per second, noise level) of each library song."""
QUERY_SONG = {"notes_hz": (196.0, 247.0, 294.0), "pulse_hz": 2.5, "noise": 0.05}
MP3 = ("-ac", "2", "-c:a", "libmp3lame", "-b:a", "192k")
EXTRA_FILES = 2
"""Files added to the one-file call; the marginal cost is the difference over this."""
FFMPEG_PROGRAMS = (
    "import sys\n"
    "from musicrec_core.audio.decode_workers import set_default_workers\n"
    "set_default_workers(False)\n"
    "from musicrec_core.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)
PR_SET_CHILD_SUBREAPER = 36


def build(work: Path) -> tuple[Path, Path, list[Path]]:
    """(index folder, 10-s query, 3-minute queries) generated under ``work``."""
    songs = work / "songs"
    songs.mkdir()
    for number, (notes, pulse, noise) in enumerate(SONGS):
        generate_music(songs / f"song{number}.mp3", seconds=40, notes_hz=notes,
                       pulse_hz=pulse, noise=noise)  # fmt: skip
    clip = generate_music(work / "clip10s.mp3", seconds=10, sample_rate=44_100,
                          codec_args=MP3, **QUERY_SONG)  # fmt: skip
    track = generate_music(work / "track0.mp3", seconds=180, sample_rate=44_100,
                           codec_args=MP3, **QUERY_SONG)  # fmt: skip
    tracks = [track]
    for number in range(1, EXTRA_FILES + 1):  # distinct files: nothing is shared by name
        tracks.append(work / f"track{number}.mp3")
        shutil.copyfile(track, tracks[-1])
    index = work / "index"
    build_library([str(songs)], index, MusicnnEmbedder.load("msd"), windows=2,
                  cache_root=work / "cache")  # fmt: skip
    return index, clip, tracks


def stopwatch(times: dict[str, list[float]]) -> Callable[..., Any]:
    """``timed(stage, work, *args)``: ``work(*args)``, its seconds appended to times[stage]."""

    def timed(stage: str, work: Callable[..., Any], *args: object) -> Any:
        start = time.perf_counter()
        value = work(*args)
        times.setdefault(stage, []).append(time.perf_counter() - start)
        return value

    return timed


def cpu_s(pool: DecodeWorkers) -> float:
    """CPU seconds so far of this process, its reaped children (ffmpeg, ffprobe) and the
    pool's idle workers (``/proc/PID/stat`` utime + stime)."""
    used = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        used += usage.ru_utime + usage.ru_stime
    for pid in pool.idle_pids():
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        used += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return used


def in_process(index: Path, queries: list[Path], repeats: int) -> None:
    """The in-process table (see the module docstring)."""
    print(f"\nin-process recommend, model loaded (ms, median of {repeats})")
    print(f"{'query':<14}{'ffmpeg':>9}{'workers':>9}{'ratio':>7}{'clip':>7}{'embed':>7}"
          f"{'rest':>7}  goal   CPU-s: ffmpeg workers")  # fmt: skip
    pool = DecodeWorkers()
    pools = {"ffmpeg": None, "workers": pool}
    with Recommender.open(index) as recommender:
        for query, goal in zip(queries, (150, 250), strict=True):
            times: dict[str, list[float]] = {}
            cpu: dict[str, list[float]] = {"ffmpeg": [], "workers": []}
            timed = stopwatch(times)
            for _ in range(repeats + 1):
                for path in ("ffmpeg", "workers"):
                    decode.default_workers = lambda path=path: pools[path]
                    before = cpu_s(pool)
                    clip = timed(f"{path} clip", clip_from_source, str(query))
                    timed(f"{path} recommend", recommender.recommend, clip, 5)
                    cpu[path].append(cpu_s(pool) - before)
                timed("embed", recommender.embedder.embed_many, [clip])
            ms = {stage: statistics.median(values[1:]) * 1e3 for stage, values in times.items()}
            total = {p: ms[f"{p} clip"] + ms[f"{p} recommend"] for p in ("ffmpeg", "workers")}
            rest = ms["workers recommend"] - ms["embed"]
            print(f"{query.name:<14}{total['ffmpeg']:9.0f}{total['workers']:9.0f}"
                  f"{total['workers'] / total['ffmpeg']:7.2f}{ms['workers clip']:7.0f}"
                  f"{ms['embed']:7.0f}{rest:7.0f}  <= {goal}"
                  f"{statistics.median(cpu['ffmpeg'][1:]):14.3f}"
                  f"{statistics.median(cpu['workers'][1:]):8.3f}")  # fmt: skip
    pool.close()


def command_cpu_s(tree: Path, args: list[str]) -> float:
    """CPU seconds of ``python ARGS`` (code from ``tree``) and of every process under it,
    the orphans this subreaper inherits included."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    own = set(children(os.getpid()))
    process = subprocess.Popen([sys.executable, *args], cwd=tree, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    stderr = process.stderr.read() if process.stderr else b""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{args} failed in {tree}:\n{stderr.decode()[-2000:]}")
    total = usage.ru_utime + usage.ru_stime
    for orphan in set(children(os.getpid())) - own:  # reparented here when it exited
        total += sum(os.wait4(orphan, 0)[2][:2])
    return total


def one_more_file(index: Path, tracks: list[Path], baseline: Path, repeats: int) -> None:
    """The marginal-CPU table (see the module docstring)."""
    variants = {
        "ffmpeg programs": (ROOT, ["-c", FFMPEG_PROGRAMS]),
        "baseline (workers)": (baseline, ["-m", "musicrec_core.cli"]),
        "this tree": (ROOT, ["-m", "musicrec_core.cli"]),
    }
    tail = ["--index", str(index), "-k", "5", "--no-titles"]
    cpu: dict[tuple[str, int], list[float]] = {}
    for _ in range(repeats):
        for name, (tree, program) in variants.items():
            for files in (tracks[:1], tracks):
                args = [*program, "recommend", *map(str, files), *tail]
                cpu.setdefault((name, len(files)), []).append(command_cpu_s(tree, args))
    print(f"\nmusicrec recommend, CPU-s (median of {repeats}), 3-minute MP3s")
    print(f"{'path':<20}{'1 file':>8}{f'{len(tracks)} files':>9}{'per extra':>11}{'ratio':>7}")
    extra = {}
    for name in variants:
        one, many = (statistics.median(cpu[(name, n)]) for n in (1, len(tracks)))
        extra[name] = (many - one) / (len(tracks) - 1)
        ratio = extra[name] / extra["ffmpeg programs"]
        print(f"{name:<20}{one:8.2f}{many:9.2f}{extra[name]:11.3f}{ratio:7.2f}")
    print("goal: this tree's extra file <= 0.40 of the ffmpeg programs'")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--baseline", default="main", metavar="REV")
    args = parser.parse_args()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise SystemExit("cannot become a child subreaper: worker CPU would go uncounted")
    print(f"1-min load average at the start: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")
    with (
        tempfile.TemporaryDirectory(prefix="bench-recommend-cpu-") as scratch,
        baseline_tree(args.baseline) as base,
    ):
        index, clip, tracks = build(Path(scratch))
        # Stop the build's workers: from here this process's only children are the
        # commands below and what they leave behind.
        set_default_workers(True)
        in_process(index, [clip, tracks[0]], args.repeats)
        one_more_file(index, tracks, base, args.repeats)
    print(f"1-min load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
