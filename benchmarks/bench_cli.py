"""How long ``musicrec recommend`` takes, as a fresh process and in-process, against a baseline.

Run: ``python benchmarks/bench_cli.py --index DIR QUERY... [--baseline REV] [--repeats 5]``

- Queries: each QUERY file is cut to a 10-s excerpt (from 30 s in, or the start of a
  shorter file) with ffmpeg into a temporary MP3 first, the length of a query people send;
  the first one also runs as the whole file (the decoder then looks for its loudest window).
- Fresh process: wall time of ``python -m musicrec_core.cli recommend Q --index DIR -k 5
  --no-titles`` from start to exit, median of ``--repeats``; the code under test and the
  baseline run interleaved (one of each per round), so machine load slows both alike.
- Several queries: all excerpts in one call against one call per excerpt (current code).
- In-process: in one process per version, ``Recommender.open`` once, then file -> clip ->
  recommendations for the first excerpt (and for the first whole file), back to back,
  median of ``--repeats`` after one warm-up call; three such processes per version,
  interleaved, and the median of their medians (process-wide settings such as OpenBLAS's
  idle spin differ between versions).
- Stages (current code, one fresh process): importing the command, opening index and
  model, decoding the query, embedding and searching.
- Baseline: the same commands run on the code of git revision REV (default ``HEAD``,
  checked out into a temporary worktree and put first on ``PYTHONPATH``, same virtual
  environment and same index); the code under test is this working tree.

Prints a table and writes ``bench_cli.json`` next to the index unless ``--json PATH``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXCERPT_SECONDS = 10.0
EXCERPT_START_S = 30.0

IN_PROCESS = """
import statistics, sys, time
from pathlib import Path
from musicrec_core.recommender import Recommender
from musicrec_core.sources import clip_from_source
index, query, repeats = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
with Recommender.open(index) as recommender:
    recommender.recommend(clip_from_source(query), 5)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        recommender.recommend(clip_from_source(query), 5)
        times.append(time.perf_counter() - start)
print(statistics.median(times))
"""

STAGES = """
import sys, time
start = time.perf_counter()
from musicrec_core.cli import main  # noqa: F401  (the command's own imports)
from musicrec_core.recommender import Recommender
from musicrec_core.sources import clip_from_source
imported = time.perf_counter()
recommender = Recommender.open(__import__("pathlib").Path(sys.argv[1]))
opened = time.perf_counter()
clip = clip_from_source(sys.argv[2])
decoded = time.perf_counter()
recommender.recommend(clip, 5)
done = time.perf_counter()
print(imported - start, opened - imported, decoded - opened, done - decoded)
"""


def cut_excerpt(source: Path, target: Path) -> Path:
    """A 10-s MP3 excerpt of ``source`` (from 30 s in, or from 0 when that fails)."""
    for start in (EXCERPT_START_S, 0.0):
        command = ["ffmpeg", "-v", "error", "-y", "-ss", str(start), "-t", str(EXCERPT_SECONDS)]
        command += ["-i", str(source), "-ac", "1", "-ar", "44100", "-b:a", "128k", str(target)]
        done = subprocess.run(command, capture_output=True, check=False)
        if done.returncode == 0 and target.stat().st_size > 10_000:
            return target
    raise SystemExit(f"could not cut a 10-s excerpt of {source}")


@contextlib.contextmanager
def baseline_tree(revision: str) -> Iterator[Path]:
    """A temporary git worktree of ``revision``; removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="bench-cli-base-"))
    subprocess.run(
        ["git", "worktree", "add", "--detach", "-q", str(folder), revision], cwd=ROOT, check=True
    )
    try:
        yield folder
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(folder)], cwd=ROOT, check=False)


def run_python(code_root: Path, args: list[str]) -> tuple[float, str]:
    """(wall seconds, stdout) of ``python ARGS`` with ``code_root`` first on the path."""
    env = {**os.environ, "PYTHONPATH": str(code_root)}
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, *args], cwd=code_root, env=env, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{args} failed in {code_root}:\n{done.stderr[-2000:]}")
    return elapsed, done.stdout


def recommend_args(queries: list[Path], index: Path) -> list[str]:
    return ["-m", "musicrec_core.cli", "recommend", *map(str, queries), "--index", str(index)]


def fresh_medians(
    trees: dict[str, Path], queries: list[Path], index: Path, repeats: int
) -> dict[str, float]:
    """Median wall time of one fresh ``musicrec recommend`` per code tree, interleaved."""
    times: dict[str, list[float]] = {name: [] for name in trees}
    args = [*recommend_args(queries, index), "-k", "5", "--no-titles"]
    for _ in range(repeats):
        for name, tree in trees.items():
            times[name].append(run_python(tree, args)[0])
    return {name: statistics.median(values) for name, values in times.items()}


def in_process_medians(
    trees: dict[str, Path], query: Path, index: Path, repeats: int, rounds: int = 3
) -> dict[str, float]:
    """Median over ``rounds`` interleaved processes per code tree of the in-process median."""
    medians: dict[str, list[float]] = {name: [] for name in trees}
    args = ["-c", IN_PROCESS, str(index), str(query), str(repeats)]
    for _ in range(rounds):
        for name, tree in trees.items():
            medians[name].append(float(run_python(tree, args)[1]))
    return {name: statistics.median(values) for name, values in medians.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("queries", nargs="+", type=Path, metavar="QUERY")
    parser.add_argument("--index", required=True, type=Path)
    parser.add_argument("--baseline", default="HEAD", metavar="REV")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory(prefix="bench-cli-") as folder,
        baseline_tree(args.baseline) as base,
    ):
        excerpts = [
            cut_excerpt(query, Path(folder) / f"q{number}.mp3")
            for number, query in enumerate(args.queries)
        ]
        trees = {"baseline": base, "current": ROOT}
        results: dict[str, object] = {"baseline_revision": args.baseline}
        results["fresh_10s_s"] = fresh_medians(trees, excerpts[:1], args.index, args.repeats)
        results["fresh_whole_file_s"] = fresh_medians(
            trees, args.queries[:1], args.index, args.repeats
        )
        results["in_process_s"] = in_process_medians(trees, excerpts[0], args.index, args.repeats)
        results["in_process_whole_file_s"] = in_process_medians(
            trees, args.queries[0], args.index, args.repeats
        )
        several = [*recommend_args(excerpts, args.index), "-k", "5", "--no-titles"]
        one_call = statistics.median(
            run_python(ROOT, several)[0] for _ in range(max(1, args.repeats // 2))
        )
        separate = sum(
            run_python(ROOT, [*recommend_args([q], args.index), "-k", "5", "--no-titles"])[0]
            for q in excerpts
        )
        results["several_queries"] = {
            "queries": len(excerpts),
            "one_call_s": one_call,
            "separate_calls_s": separate,
        }
        stage_args = ["-c", STAGES, str(args.index), str(excerpts[0])]
        stages = [[float(x) for x in run_python(ROOT, stage_args)[1].split()] for _ in range(3)]
        names = ("import_s", "open_s", "decode_s", "embed_search_s")
        results["stages_current_s"] = {
            name: statistics.median(stage[i] for stage in stages) for i, name in enumerate(names)
        }

    rows = [
        ("fresh process, 10-s query (s)", results["fresh_10s_s"], 1.0, ".2f"),
        ("fresh process, whole file (s)", results["fresh_whole_file_s"], 1.0, ".2f"),
        ("in-process, 10-s query (ms)", results["in_process_s"], 1e3, ".0f"),
        ("in-process, whole file (ms)", results["in_process_whole_file_s"], 1e3, ".0f"),
    ]
    print(f"{'':34} {'baseline':>10} {'current':>10}")
    for label, values, scale, spec in rows:
        print(
            f"{label:34} {values['baseline'] * scale:10{spec}} {values['current'] * scale:10{spec}}"
        )
    several_result = results["several_queries"]
    print(
        f"{several_result['queries']} queries: one call {several_result['one_call_s']:.2f} s, "
        f"one call each {several_result['separate_calls_s']:.2f} s"
    )
    print(
        "current stages: "
        + ", ".join(
            f"{name[:-2]} {value:.2f} s" for name, value in results["stages_current_s"].items()
        )
    )
    target = args.json or args.index.parent / "bench_cli.json"
    target.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
