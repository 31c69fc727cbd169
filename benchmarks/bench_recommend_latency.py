"""Where the time of an in-process ``recommend`` goes, stage by stage, against a baseline.

Run: ``python benchmarks/bench_recommend_latency.py [--index DIR] [--baseline REV]
[--repeats 7] [--json PATH]`` (under ``flock /tmp/coord/bench.lock`` on a shared machine).

- Queries: files of several formats and lengths made from one corpus track with ffmpeg
  (``scripts/fetch_corpus.py``'s corpus): 10-s excerpts (MP3, Ogg Vorbis, FLAC, WAV, and a
  300-3400 Hz mono 32 kbps MP3 like ``bench_quality.py``'s phone-like queries), a 15-s MP3
  (just over the window: four candidate windows, one of them at 0), and the whole 6-min
  track (Ogg, MP3, FLAC, WAV: the loudest of four windows).
- One process, one ``Recommender`` (the musicnn library index of ``bench_quality.py``),
  two versions of the path from a file to a clip: the baseline's ``musicrec_core.sources``
  (git revision REV, default ``HEAD``, checked out into a temporary worktree and imported
  under its own copy of the package) and this working tree's. They run interleaved, one
  of each per round, so machine load slows both alike; every figure is the median of
  ``--repeats`` rounds after one warm-up.
- Stages of the current path: ffprobe alone (``probe_audio``), the clip
  (``clip_from_source``: probe and decodes, then the file's sha256), the embedding
  (``embed_many``) and the rest of ``recommend`` (pooling, landmarks, search, ranking).
  Total = clip + recommend, as ``bench_quality.py``'s in-process figure.
- Process-wide settings are shared by both columns: OpenBLAS's idle spin
  (:mod:`musicrec_core.blas_threads`) is measured across two runs, one with
  ``OPENBLAS_THREAD_TIMEOUT=28`` (OpenBLAS's own default) in the environment, or by
  ``bench_cli.py``'s in-process row (one process per version).
- Equivalence: for every query the baseline's and the current clip must hold the same
  samples (bit for bit) and start, and the recommendations the same tracks in the same
  order; the run stops otherwise.

Prints a table and writes JSON (default ``bench_recommend_latency.json`` next to the index).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import TypeVar

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_cli import baseline_tree  # noqa: E402
from fetch_corpus import default_corpus_dir  # noqa: E402

from musicrec_core import paths  # noqa: E402
from musicrec_core.audio import probe_audio  # noqa: E402
from musicrec_core.clip import Clip  # noqa: E402
from musicrec_core.recommender import RecommendationSet, Recommender  # noqa: E402
from musicrec_core.sources import clip_from_source  # noqa: E402

T = TypeVar("T")
PACKAGE = "musicrec_core"
TRACK = Path("nexuiz") / "infight.ogg"
"""The corpus track the queries are made from (6 min, loud throughout)."""
EXCERPT_START_S = 30.0

QUERIES: dict[str, list[str]] = {
    "10s.mp3": ["-t", "10", "-c:a", "libmp3lame", "-b:a", "128k"],
    "10s-phone.mp3": [
        "-t", "10", "-af", "highpass=f=300,lowpass=f=3400", "-ac", "1",
        "-c:a", "libmp3lame", "-b:a", "32k",
    ],
    "10s.ogg": ["-t", "10", "-c:a", "libvorbis"],
    "10s.flac": ["-t", "10"],
    "10s.wav": ["-t", "10"],
    "15s.mp3": ["-t", "15", "-c:a", "libmp3lame", "-b:a", "128k"],
    "whole.ogg": [],
    "whole.mp3": ["-c:a", "libmp3lame", "-b:a", "192k"],
    "whole.flac": [],
    "whole.wav": [],
}  # fmt: skip
"""Query name -> ffmpeg output options (excerpts start EXCERPT_START_S into the track)."""


def make_query(track: Path, name: str, folder: Path) -> Path:
    """Write query ``name`` (see :data:`QUERIES`) made from ``track`` into ``folder``."""
    target = folder / name
    seek = [] if name.startswith("whole") else ["-ss", str(EXCERPT_START_S)]
    command = ["ffmpeg", "-v", "error", "-y", *seek, "-i", str(track), *QUERIES[name]]
    subprocess.run([*command, str(target)], check=True)
    return target


def import_copy(tree: Path, module: str) -> ModuleType:
    """``module`` imported from ``tree``'s copy of the package, beside the current one.

    The current package's modules are set aside while the copy imports (so the copy's
    modules import each other), then the copy's are set aside and the current ones put
    back; the returned module keeps its references to the copy.
    """

    def ours() -> dict[str, ModuleType]:
        return {
            name: mod
            for name, mod in sys.modules.items()
            if name == PACKAGE or name.startswith(PACKAGE + ".")
        }

    current = ours()
    for name in current:
        del sys.modules[name]
    sys.path.insert(0, str(tree))
    try:
        return importlib.import_module(module)
    finally:
        sys.path.remove(str(tree))
        for name in ours():
            del sys.modules[name]
        sys.modules.update(current)


def median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=paths.cache_root() / "bench-quality/index")
    parser.add_argument("--corpus", type=Path, default=default_corpus_dir())
    parser.add_argument("--baseline", default="HEAD", metavar="REV")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory(prefix="bench-latency-") as folder,
        baseline_tree(args.baseline) as base,
        Recommender.open(args.index) as recommender,
    ):
        queries = [make_query(args.corpus / TRACK, name, Path(folder)) for name in QUERIES]
        loaders: dict[str, Callable[[str], Clip]] = {
            "baseline": import_copy(base, f"{PACKAGE}.sources").clip_from_source,
            "current": clip_from_source,
        }
        print(f"{'ms, median':<15}" + "".join(f"{label:>11}" for label, _ in COLUMNS) + "  ratio")
        results = {
            query.name: measure(recommender, loaders, query, args.repeats) for query in queries
        }
    print(f"1-min load average at the end: {os.getloadavg()[0]:.1f}")
    target = args.json or args.index.parent / "bench_recommend_latency.json"
    document = {"baseline_revision": args.baseline, "repeats": args.repeats, "ms": results}
    target.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {target}")


def measure(
    recommender: Recommender, loaders: dict[str, Callable[[str], Clip]], query: Path, repeats: int
) -> dict[str, float]:
    """Median milliseconds of every stage for one query (see the module docstring); prints
    the row. Stops when the versions disagree."""
    times: dict[str, list[float]] = {}

    def timed(stage: str, work: Callable[..., T], *work_args: object) -> T:
        start = time.perf_counter()
        value = work(*work_args)
        times.setdefault(stage, []).append(time.perf_counter() - start)
        return value

    for _ in range(repeats + 1):
        answers = {}
        for version, load in loaders.items():
            clip = timed(f"{version} clip", load, str(query))
            found = timed(f"{version} recommend", recommender.recommend, clip, 5)
            answers[version] = (clip, found)
        timed("probe", probe_audio, query)
        timed("embed", recommender.embedder.embed_many, [clip])
        check_equivalent(query.name, answers)
    row = {stage: median_ms(values[1:]) for stage, values in times.items()}  # [0]: warm-up
    for version in loaders:
        pairs = zip(times[f"{version} clip"], times[f"{version} recommend"], strict=True)
        row[f"{version} total"] = median_ms([c + r for c, r in pairs][1:])
    cells = "".join(f"{row[key]:11.0f}" for _, key in COLUMNS)
    print(f"{query.name:<15}{cells}  {row['current total'] / row['baseline total']:5.2f}")
    return row


COLUMNS = (
    ("probe", "probe"),
    ("clip base", "baseline clip"),
    ("clip now", "current clip"),
    ("embed", "embed"),
    ("recommend", "current recommend"),
    ("total base", "baseline total"),
    ("total now", "current total"),
)
"""(printed label, stage key) of the table's columns; the ratio is total now / total base."""


def check_equivalent(name: str, answers: dict[str, tuple[Clip, RecommendationSet]]) -> None:
    """Stop unless both versions gave the same clip samples, start and recommendations."""
    (old_clip, old_found), (new_clip, new_found) = answers["baseline"], answers["current"]
    same_clip = np.array_equal(old_clip.samples, new_clip.samples)
    same_start = old_clip.provenance.start_s == new_clip.provenance.start_s
    same_items = [i.group for i in old_found.items] == [i.group for i in new_found.items]
    if not (same_clip and same_start and same_items):
        raise SystemExit(f"{name}: the baseline and the current path disagree")


if __name__ == "__main__":
    main()
