"""musicnn on a 30-s clip: time, FLOPs, ratio to the float32 matmul floor, peak RSS, cold
start; and the numpy network against onnxruntime's, per 10-s clip and per 3-minute track.

Run: ``python benchmarks/bench_musicnn.py [--model mtt|msd] [--repeats 5]``

- Time: best over repeats (after one warm-up call) of the frontend (waveform -> log-mel
  patches) and of the whole ``embed`` call (frontend + network + tag averaging), run
  interleaved with the baseline matmul so machine load affects both alike.
- FLOPs: counted analytically from the layer shapes (``model.flops_per_patch``: 2 FLOPs per
  multiply-add of every convolution and dense layer at every output position; element-wise
  ops left out) times the number of patches. The frontend's FLOPs are counted as
  5 N log2 N per 512-point FFT (the usual radix-2 estimate, halved for a real input) plus
  2 * 257 * 96 per frame for the mel matrix product.
- Floor: the best float32 GFLOP/s numpy reaches on a 1024 x 1024 matmul in this process;
  "x floor" is the measured time divided by FLOPs / that rate (1.0 = as fast as a plain
  matrix product could do the same arithmetic).
- Peak RSS: ``ru_maxrss`` of this process after the runs.
- numpy vs onnxruntime: the embedder's ``embed_many`` (frontend, network in batches of
  ``MAX_BATCH_PATCHES``, tags) with the numpy reference network and with the onnxruntime
  one (the product's default), on one 10-s clip (3 patches) and on the 30 10-s windows of a
  3-minute track batched in one call (90 patches). Each round calls every case once,
  interleaved; the table shows the median over ``--repeats`` rounds (after a warm-up) of
  wall ms and of this process's CPU seconds (all threads), and onnxruntime/numpy ratios.
- Cold start: a fresh Python process running ``musicrec tag`` on the clip written as WAV,
  from process start to the tags printed (imports, weight checks and load, decode,
  one forward pass).
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np

from musicrec_core.clip import SAMPLE_RATE_HZ, Clip
from musicrec_core.embedders.musicnn import MusicnnEmbedder, frontend, model, weights
from musicrec_core.embedders.musicnn.checkpoint import read_variables
from musicrec_core.embedders.musicnn.onnx_network import OnnxMusicnnNetwork
from musicrec_core.embedders.musicnn.tags import get_variant
from musicrec_core.errors import WeightsMissingError

CLIP_SECONDS = 30.0
MATMUL_SIZE = 1024
WINDOW_SECONDS = 10.0
TRACK_WINDOWS = 30


def music_like(seconds: float) -> np.ndarray:
    """A 120-bpm groove (kick, noise hats, a chord), float32 [seconds * 16 kHz] in [-1, 1]."""
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * SAMPLE_RATE_HZ)) / SAMPLE_RATE_HZ
    kick = np.sin(2 * np.pi * 60 * (t % 0.5)) * np.exp(-(t % 0.5) * 30)
    hats = rng.standard_normal(t.size) * np.exp(-((t + 0.25) % 0.5) * 80) * 0.3
    chord = sum(np.sin(2 * np.pi * 220 * ratio * t) for ratio in (1.0, 1.26, 1.5)) / 6
    return np.clip(0.5 * kick + hats + chord, -1, 1).astype(np.float32)


def best_seconds(functions: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Best wall time of each function over ``repeats`` rounds, after one warm-up call each.

    The functions run interleaved (one call of each per round), so a busy machine slows
    the baseline and the model alike, and the best time of each is the least disturbed.
    """
    for function in functions.values():
        function()
    best = dict.fromkeys(functions, math.inf)
    for _ in range(repeats):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def median_costs(
    functions: dict[str, Callable[[], object]], repeats: int
) -> dict[str, tuple[float, float]]:
    """name -> (median wall s, median CPU s of this process) of one call, over ``repeats``
    interleaved rounds after one warm-up call each."""
    for function in functions.values():
        function()
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            wall, cpu = time.perf_counter(), time.process_time()
            function()
            samples[name].append((time.perf_counter() - wall, time.process_time() - cpu))
    return {
        name: (statistics.median(w for w, _ in pairs), statistics.median(c for _, c in pairs))
        for name, pairs in samples.items()
    }


def runtime_comparison(variant: str, repeats: int) -> None:
    """Print numpy vs onnxruntime embedding of a 10-s clip and of a 3-minute track."""
    variables = read_variables(weights.resolve_checkpoint(variant), model.variable_shapes())
    variant_tags = get_variant(variant)
    embedders = {
        "numpy": MusicnnEmbedder(model.MusicnnNetwork(variables), variant_tags),
        "onnxruntime": MusicnnEmbedder(OnnxMusicnnNetwork(variables), variant_tags),
    }
    track = music_like(WINDOW_SECONDS * TRACK_WINDOWS)
    window = int(WINDOW_SECONDS * SAMPLE_RATE_HZ)
    windows = [Clip(track[i * window : (i + 1) * window]) for i in range(TRACK_WINDOWS)]
    cases = {"10-s clip": windows[:1], "3-min track (30 windows)": windows}
    functions = {
        (case, runtime): (lambda e=embedder, c=clips: e.embed_many(c))
        for case, clips in cases.items()
        for runtime, embedder in embedders.items()
    }
    costs = median_costs(functions, repeats)
    print(f"  numpy vs onnxruntime, embed_many (median of {repeats} interleaved rounds):")
    print(f"    {'case':<26} {'runtime':<12} {'ms':>8} {'CPU-s':>8} {'x numpy CPU':>12}")
    for (case, runtime), (wall, cpu) in costs.items():
        base_cpu = costs[(case, "numpy")][1]
        print(f"    {case:<26} {runtime:<12} {wall * 1e3:8.1f} {cpu:8.3f} {cpu / base_cpu:12.2f}")


def square_matmul() -> Callable[[], object]:
    """A float32 MATMUL_SIZE x MATMUL_SIZE matrix product (2 n^3 FLOPs), ready to call."""
    rng = np.random.default_rng(1)
    a = rng.standard_normal((MATMUL_SIZE, MATMUL_SIZE)).astype(np.float32)
    b = rng.standard_normal((MATMUL_SIZE, MATMUL_SIZE)).astype(np.float32)
    return lambda: a @ b


def frontend_flops(num_samples: int) -> float:
    """FLOPs of the log-mel frontend for a waveform of ``num_samples`` samples."""
    frames = 1 + num_samples // frontend.STFT_HOP_SAMPLES
    n = frontend.STFT_WINDOW_SAMPLES
    return frames * (2.5 * n * math.log2(n) + 2 * frontend.FFT_BINS * frontend.MEL_BANDS)


def write_wav(path: Path, samples: np.ndarray) -> None:
    """16-bit mono WAV at 16 kHz."""
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(SAMPLE_RATE_HZ)
        handle.writeframes((samples * 32767).astype("<i2").tobytes())


def cold_start_seconds(wav: Path, variant: str) -> float:
    """Wall time of a fresh process running ``musicrec tag`` on ``wav``."""
    code = (
        "import sys; from musicrec_core.cli import main; "
        f"sys.exit(main(['tag', {str(wav)!r}, '--model', {variant!r}, '-k', '3']))"
    )
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        capture_output=True,
        cwd=Path(__file__).resolve().parents[1],
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="mtt", choices=["mtt", "msd"])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    try:
        weights.resolve_checkpoint(args.model)
    except WeightsMissingError:
        weights.download(progress=True)

    samples = music_like(CLIP_SECONDS)
    clip = Clip(samples)
    embedder = MusicnnEmbedder.load(args.model)
    num_patches = frontend.waveform_to_patches(samples)[0].shape[0]

    best = best_seconds(
        {
            "matmul": square_matmul(),
            "frontend": lambda: frontend.waveform_to_patches(samples),
            "embed": lambda: embedder.embed(clip),
        },
        args.repeats,
    )
    floor_gflops = 2 * MATMUL_SIZE**3 / best["matmul"] / 1e9
    frontend_s, embed_s = best["frontend"], best["embed"]
    network_s = embed_s - frontend_s
    net_flops = model.flops_per_patch() * num_patches
    fe_flops = frontend_flops(samples.size)
    top = ", ".join(f"{t.name} {t.probability:.2f}" for t in embedder.embed(clip).tags[:3])
    peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    with tempfile.TemporaryDirectory(prefix="musicrec-bench-") as folder:
        wav = Path(folder) / "clip.wav"
        write_wav(wav, samples)
        cold_s = cold_start_seconds(wav, args.model)

    def floor_ratio(seconds: float, flops: float) -> float:
        return seconds / (flops / (floor_gflops * 1e9))

    print(f"musicnn {args.model.upper()}, {CLIP_SECONDS:.0f}-s clip = {num_patches} patches")
    print(f"  tags: {top}")
    print(f"  float32 matmul floor ({MATMUL_SIZE}^2, numpy): {floor_gflops:.1f} GFLOP/s")
    rows = [
        ("frontend (log-mel)", frontend_s, fe_flops),
        ("network (by difference)", network_s, net_flops),
        ("embed total (tags + embedding)", embed_s, fe_flops + net_flops),
    ]
    for label, seconds, flops in rows:
        print(
            f"  {label:<31} {seconds * 1e3:8.1f} ms  {flops / 1e9:6.2f} GFLOP  "
            f"{flops / seconds / 1e9:6.1f} GFLOP/s  {floor_ratio(seconds, flops):5.2f} x floor"
        )
    print(f"  network FLOPs per patch: {model.flops_per_patch() / 1e9:.3f} GFLOP")
    print(f"  real-time factor: {CLIP_SECONDS / embed_s:.0f}x faster than real time")
    print(f"  peak RSS: {peak_rss_mib:.0f} MiB")
    print(f"  cold start (fresh process: musicrec tag on a WAV): {cold_s:.2f} s")
    runtime_comparison(args.model, args.repeats)


if __name__ == "__main__":
    main()
