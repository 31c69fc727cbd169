"""VGGish speed and memory against the float32 GEMM floor measured in the same run.

Run: ``python benchmarks/bench_embed.py [--rounds 7]``

Uses the official weights when they are installed (``musicrec models download vggish`` or
``MUSICREC_VGGISH_CHECKPOINT`` / ``MUSICREC_VGGISH_PCA``), else a synthetic checkpoint of the
same shapes (same FLOPs) written to a temporary folder with its own cache.

- Rounds: the machine is shared (another process taking a core halves a 2-thread run), so
  in each of ``--rounds`` rounds every workload is timed back to back with its own GEMM
  baseline (best of 3 calls each, after a warm-up) and its ratio computed from that pair.
  The table shows, per workload, the round with the lowest ratio (the least disturbed
  pair) and the median ratio over all rounds. The frontend is compared with the model
  time of the same round.
- Floor: float32 GFLOP/s of a 2048 x 2048 numpy matmul; the floor time of a workload is its
  FLOPs divided by that rate. The network does 1.728 GFLOP per example (2 per
  multiply-add over every conv and fc layer): 17.28 GFLOP for the 10 examples of a 10-s clip.
- Model: ``embedder.model(examples)`` on those 10 examples. Goal <= 1.3x floor.
- Frontend: ``waveform_to_examples`` on the same clip. Goal <= 5 % of the model time.
- Whole path: ``audio.load_clip`` of a 10-s MP3 (ffmpeg decode + resample) then
  ``embedder.embed`` (frontend, model, PCA, quantization), model already loaded.
  Goal <= 1.5x floor + 80 ms. Its two parts are also timed on their own.
- Load from cache: a fresh Python process, after importing TensorFlow and musicrec, times
  ``VGGishEmbedder.from_files`` with the weights cache already built (md5 memo hit, .npy
  files memory-mapped, constants built, one warm-up call). Goal <= 3 s. The same process
  then embeds the clip once and reports its peak RSS: VmHWM from /proc/self/status, since
  Linux carries a parent's ru_maxrss over fork + exec into the child's.
- Peak RSS of this process: ru_maxrss, including the first load that parses the checkpoint
  and writes the cache.
"""

from __future__ import annotations

import argparse
import json
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

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from musicrec_core import audio  # noqa: E402
from musicrec_core.clip import SAMPLE_RATE_HZ  # noqa: E402
from musicrec_core.embedders.vggish import VGGishEmbedder, params  # noqa: E402
from musicrec_core.embedders.vggish.frontend import waveform_to_examples  # noqa: E402
from musicrec_core.embedders.vggish.weights import resolve_paths  # noqa: E402
from musicrec_core.errors import WeightsMissingError  # noqa: E402
from tests.helpers.media import generate_media  # noqa: E402
from tests.helpers.vggish_files import write_synthetic_vggish  # noqa: E402

MATMUL_SIZE = 2048
CLIP_SECONDS = 10.0

LOAD_SCRIPT = """
import json, sys, time
t0 = time.perf_counter()
import tensorflow
from pathlib import Path
from musicrec_core.audio import load_clip
from musicrec_core.embedders.vggish import VGGishEmbedder
t1 = time.perf_counter()
embedder = VGGishEmbedder.from_files(checkpoint=Path(sys.argv[1]), pca=Path(sys.argv[2]))
t2 = time.perf_counter()
embedder.embed(load_clip(Path(sys.argv[3]), start_s=0.0))
status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
print(json.dumps({"import_s": t1 - t0, "load_s": t2 - t1,
                  "peak_rss_mib": int(status["VmHWM"].split()[0]) / 1024}))
"""


def best_time(function: Callable[[], object], calls: int = 3) -> float:
    """Best wall seconds of ``function`` over ``calls`` calls after one warm-up call."""
    function()
    samples = []
    for _ in range(calls):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return min(samples)


def gemm_gflops() -> float:
    """Float32 GFLOP/s of a square numpy matmul (best of 3)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((MATMUL_SIZE, MATMUL_SIZE), dtype=np.float32)
    b = rng.standard_normal((MATMUL_SIZE, MATMUL_SIZE), dtype=np.float32)
    return 2 * MATMUL_SIZE**3 / best_time(lambda: a @ b) / 1e9


def music_like(seconds: float) -> np.ndarray:
    """A chord with a beat and some noise, float32 [seconds * 16 kHz] in [-1, 1]."""
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * SAMPLE_RATE_HZ)) / SAMPLE_RATE_HZ
    chord = sum(np.sin(2 * np.pi * hz * t) for hz in (220.0, 277.2, 329.6)) / 4
    beat = np.exp(-12 * (t % 0.5)) * np.sin(2 * np.pi * 60 * t)
    samples = chord + 0.4 * beat + 0.05 * rng.standard_normal(t.size)
    return np.clip(samples, -1, 1).astype(np.float32)


def weight_files(scratch: Path) -> tuple[Path, Path, str]:
    """(checkpoint, pca, description): the official files, or synthetic ones in ``scratch``."""
    try:
        checkpoint, pca = resolve_paths()
        return checkpoint, pca, "official weights"
    except WeightsMissingError:
        os.environ["MUSICREC_CACHE_DIR"] = str(scratch / "cache")
        checkpoint, pca = write_synthetic_vggish(scratch / "weights")
        return checkpoint, pca, "synthetic checkpoint (official weights not installed)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="musicrec-bench-"))
    try:
        run(scratch, args.rounds)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def run(scratch: Path, rounds: int) -> None:
    checkpoint, pca, description = weight_files(scratch)
    start = time.perf_counter()
    embedder = VGGishEmbedder.from_files(checkpoint=checkpoint, pca=pca)
    first_load_s = time.perf_counter() - start

    samples = music_like(CLIP_SECONDS)
    examples = waveform_to_examples(samples)
    flops = params.FLOPS_PER_EXAMPLE * examples.shape[0]
    mp3 = generate_media(scratch / "clip.mp3", seconds=CLIP_SECONDS, tone_hz=None)
    clip = audio.load_clip(mp3, start_s=0.0)
    workloads: dict[str, Callable[[], object]] = {
        "model": lambda: embedder.model(examples),
        "frontend": lambda: waveform_to_examples(samples),
        "path": lambda: embedder.embed(audio.load_clip(mp3, start_s=0.0)),
        "decode": lambda: audio.load_clip(mp3, start_s=0.0),
        "embed": lambda: embedder.embed(clip),
    }
    # rounds_measured[i][name] = (best seconds, GFLOP/s of the GEMM timed right after it)
    rounds_measured: list[dict[str, tuple[float, float]]] = []
    for _ in range(rounds):
        rounds_measured.append(
            {name: (best_time(function), gemm_gflops()) for name, function in workloads.items()}
        )
    bench_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    child = subprocess.run(
        [sys.executable, "-c", LOAD_SCRIPT, str(checkpoint), str(pca), str(mp3)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    fresh = json.loads(child.stdout.strip().splitlines()[-1])

    def floor_s(gflops: float) -> float:
        return flops / (gflops * 1e9)

    baselines: dict[str, Callable[[dict[str, tuple[float, float]], str], float]] = {
        "floor": lambda measured, name: floor_s(measured[name][1]),
        "model": lambda measured, name: measured["model"][0],
        "path goal": lambda measured, name: 1.5 * floor_s(measured[name][1]) + 0.080,
    }
    rates = [measured["model"][1] for measured in rounds_measured]
    print(f"VGGish benchmark: {description}; embedder version {embedder.version}")
    print(f"CPU threads: {os.cpu_count()}; OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')}")
    print(
        f"numpy float32 matmul {MATMUL_SIZE}^3: best {max(rates):.1f}, median "
        f"{statistics.median(rates):.1f} GFLOP/s over {rounds} rounds; "
        f"{flops / 1e9:.2f} GFLOP per 10 examples"
    )
    print()
    header = (
        f"{'measure (best round)':<42}{'time':>10}{'baseline':>11}"
        f"{'ratio':>8}{'median':>8}{'goal':>8}"
    )
    print(header)
    print("-" * len(header))

    def line(label: str, name: str, baseline: str, goal: str) -> None:
        pairs = [
            (measured[name][0], baselines[baseline](measured, name)) for measured in rounds_measured
        ]
        ratios = [time_s / base_s for time_s, base_s in pairs]
        time_s, base_s = pairs[ratios.index(min(ratios))]
        print(
            f"{label:<42}{time_s * 1e3:>8.1f}ms{base_s * 1e3:>9.1f}ms"
            f"{min(ratios):>7.2f}x{statistics.median(ratios):>7.2f}x{goal:>8}"
        )

    line("model, 10 examples / GEMM floor", "model", "floor", "<=1.30")
    line("frontend, 10-s clip / model time", "frontend", "model", "<=0.05")
    line("decode+embed 10-s MP3 / (1.5 floor + 80 ms)", "path", "path goal", "<=1.00")
    line("  of which decode (audio.load_clip)", "decode", "path goal", "")
    line("  of which embed (frontend+model+PCA)", "embed", "path goal", "")
    print(
        f"{'load from cache, fresh process / 3 s':<42}{fresh['load_s'] * 1e3:>8.1f}ms"
        f"{3000.0:>9.1f}ms{fresh['load_s'] / 3.0:>7.2f}x{'':>8}{'<=1.00':>8}"
    )
    print()
    print(f"first load in this process (parse checkpoint, build cache): {first_load_s:.2f} s")
    print(f"import tensorflow + musicrec in a fresh process: {fresh['import_s']:.2f} s")
    print(f"peak RSS, fresh process (load + one 10-s embed): {fresh['peak_rss_mib']:.0f} MiB")
    print(f"peak RSS, this benchmark process: {bench_rss_mib:.0f} MiB")
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
