"""VGGish speed and memory against the float32 GEMM floor measured in the same run.

Run: ``python benchmarks/bench_embed.py [--repeats 10]``

Uses the official weights when they are installed (``musicrec models download vggish`` or
``MUSICREC_VGGISH_CHECKPOINT`` / ``MUSICREC_VGGISH_PCA``), else a synthetic checkpoint of the
same shapes (same FLOPs) written to a temporary folder with its own cache.

- Floor: the best float32 GFLOP/s numpy reaches on a 2048 x 2048 matmul in this process,
  sampled before, between and after the other timings (the machine is shared, so the best
  sample is the one least disturbed, like the best-of times it is compared with); the floor
  time of a workload is its FLOPs divided by that rate. The network does
  1.728 GFLOP per example (2 per multiply-add over every conv and fc layer), 17.28 GFLOP
  for the 10 examples of a 10-s clip.
- Model: ``embedder.model(examples)`` on the 10 examples of a 10-s clip. Goal <= 1.3x floor.
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
Times are best-of and median over the repeats, after one warm-up call.
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


def timings(function: Callable[[], object], repeats: int) -> tuple[float, float]:
    """(best, median) wall seconds of ``function`` over ``repeats`` calls after a warm-up."""
    function()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return min(samples), statistics.median(samples)


def matmul_gflops(repeats: int) -> float:
    """Best float32 GFLOP/s of a square numpy matmul."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((MATMUL_SIZE, MATMUL_SIZE), dtype=np.float32)
    b = rng.standard_normal((MATMUL_SIZE, MATMUL_SIZE), dtype=np.float32)
    best, _ = timings(lambda: a @ b, repeats)
    return 2 * MATMUL_SIZE**3 / best / 1e9


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
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="musicrec-bench-"))
    try:
        run(scratch, args.repeats)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def run(scratch: Path, repeats: int) -> None:
    gflops = matmul_gflops(repeats)
    checkpoint, pca, description = weight_files(scratch)
    start = time.perf_counter()
    embedder = VGGishEmbedder.from_files(checkpoint=checkpoint, pca=pca)
    first_load_s = time.perf_counter() - start

    samples = music_like(CLIP_SECONDS)
    examples = waveform_to_examples(samples)
    gflops = max(gflops, matmul_gflops(repeats))
    model_best, model_median = timings(lambda: embedder.model(examples), repeats)
    gflops = max(gflops, matmul_gflops(repeats))
    flops = params.FLOPS_PER_EXAMPLE * examples.shape[0]
    floor_s = flops / (gflops * 1e9)
    front_best, front_median = timings(lambda: waveform_to_examples(samples), repeats)

    mp3 = generate_media(scratch / "clip.mp3", seconds=CLIP_SECONDS, tone_hz=None)
    path_best, path_median = timings(
        lambda: embedder.embed(audio.load_clip(mp3, start_s=0.0)), repeats
    )
    path_goal_s = 1.5 * floor_s + 0.080
    decode_best, decode_median = timings(lambda: audio.load_clip(mp3, start_s=0.0), repeats)
    clip = audio.load_clip(mp3, start_s=0.0)
    embed_best, embed_median = timings(lambda: embedder.embed(clip), repeats)
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

    print(f"VGGish benchmark: {description}; embedder version {embedder.version}")
    print(f"CPU threads: {os.cpu_count()}; OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')}")
    print(f"numpy float32 matmul {MATMUL_SIZE}^3: {gflops:.1f} GFLOP/s (best of 3 x {repeats})")
    print(f"model FLOPs for {examples.shape[0]} examples: {flops / 1e9:.2f} GFLOP")
    print(f"GEMM floor for them: {floor_s * 1e3:.1f} ms")
    print()
    header = f"{'measure':<40}{'best':>10}{'median':>10}{'baseline':>12}{'ratio':>9}{'goal':>9}"
    print(header)
    print("-" * len(header))

    def line(name: str, best: float, median: float, baseline: float, goal: str) -> None:
        print(
            f"{name:<40}{best * 1e3:>8.1f}ms{median * 1e3:>8.1f}ms"
            f"{baseline * 1e3:>10.1f}ms{best / baseline:>8.2f}x{goal:>9}"
        )

    line("model, 10 examples / GEMM floor", model_best, model_median, floor_s, "<=1.30x")
    line("frontend, 10-s clip / model time", front_best, front_median, model_best, "<=0.05x")
    line("decode+embed 10-s MP3 / (1.5 floor+80ms)", path_best, path_median, path_goal_s, "<=1.00x")
    line("  of which decode (audio.load_clip)", decode_best, decode_median, path_goal_s, "")
    line("  of which embed (frontend+model+PCA)", embed_best, embed_median, path_goal_s, "")
    line("load from cache (fresh process) / 3 s", fresh["load_s"], fresh["load_s"], 3.0, "<=1.00x")
    print()
    print(f"first load in this process (parse checkpoint, build cache): {first_load_s:.2f} s")
    print(f"import tensorflow + musicrec in a fresh process: {fresh['import_s']:.2f} s")
    print(f"peak RSS, fresh process (load + one 10-s embed): {fresh['peak_rss_mib']:.0f} MiB")
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.2f}")
    print(f"peak RSS, this benchmark process: {bench_rss_mib:.0f} MiB")


if __name__ == "__main__":
    main()
