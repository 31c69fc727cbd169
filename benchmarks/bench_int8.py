"""bfloat16 and int8 against float32 in the same run: VGGish (speed) and musicnn (speed and
agreement).

Run: ``nice python benchmarks/bench_int8.py [--corpus DIR] [--rounds 5] [--queries 200]``

- **VGGish** uses the official weights when they are installed, else a synthetic checkpoint
  of the same shapes (same work per clip) in a temporary folder with its own cache. float32
  is the product's path (:class:`VGGishModel`, TensorFlow); int8 is
  :func:`~musicrec_core.embedders.vggish.int8.quantize_int8`'s model run by onnxruntime, the
  model ``MUSICREC_PRECISION=int8`` runs after a passing check. The agreement check itself
  runs on ``--vggish-library`` / ``--vggish-queries`` generated clips; on synthetic weights
  its figures say nothing about the real model (that is what ``musicrec quantize check`` is
  for on the operator's machine) and are printed only to show the check at work.
- **musicnn** (real weights, ``--model``): float32 is the product's onnxruntime network
  (:class:`OnnxMusicnnNetwork`, the baseline of the ratios) and the numpy reference;
  bfloat16 is :class:`Bfloat16MusicnnNetwork` (TensorFlow), the network
  ``MUSICREC_PRECISION=bfloat16`` runs after a passing check; int8 (unless
  ``--skip-musicnn-int8``) is the product's ONNX graph (``onnx_graph.py``) quantized the
  same way as VGGish (calibrated on the check's generated clips). Agreement with the numpy
  reference on real music: 10-s windows of the corpus tracks (``scripts/fetch_corpus.py``)
  every 10 s; windows alternate between library and queries until ``--queries`` queries;
  clip vectors are the mean of the patch embeddings; top-10 neighbour overlap (exact
  search), relative L2 error of the patch embeddings, and the top-5 tags of each clip.
- **Speed**: one 10-s clip (VGGish: 10 examples; musicnn: 3 patches), model only, after a
  warm-up. Each round times every model back to back (best of 3 calls each): wall ms per
  clip, and CPU seconds of the process (all threads) per clip. The table shows the median
  over rounds and the ratio to float32 of the medians. musicnn is timed on a batch of 16
  patches too (CPU-ms per patch), the batch a library build runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "scripts"))

from fetch_corpus import default_corpus_dir  # noqa: E402
from int8_musicnn import quantize_musicnn  # noqa: E402
from quality_data import load_corpus  # noqa: E402

from musicrec_core.audio import load_clip  # noqa: E402
from musicrec_core.clip import CLIP_SECONDS  # noqa: E402
from musicrec_core.embedders.musicnn.bf16_network import Bfloat16MusicnnNetwork  # noqa: E402
from musicrec_core.embedders.musicnn.checkpoint import read_variables  # noqa: E402
from musicrec_core.embedders.musicnn.embedder import MAX_BATCH_PATCHES  # noqa: E402
from musicrec_core.embedders.musicnn.frontend import waveform_to_patches  # noqa: E402
from musicrec_core.embedders.musicnn.model import (  # noqa: E402
    MusicnnNetwork,
    NetworkOutput,
    variable_shapes,
)
from musicrec_core.embedders.musicnn.onnx_graph import (  # noqa: E402
    INPUT_NAME,
    OUTPUTS,
    musicnn_graph,
)
from musicrec_core.embedders.musicnn.onnx_network import OnnxMusicnnNetwork  # noqa: E402
from musicrec_core.embedders.musicnn.tags import get_variant  # noqa: E402
from musicrec_core.embedders.musicnn.weights import resolve_checkpoint  # noqa: E402
from musicrec_core.embedders.vggish.checkpoint import load_weights  # noqa: E402
from musicrec_core.embedders.vggish.frontend import waveform_to_examples  # noqa: E402
from musicrec_core.embedders.vggish.int8 import OnnxVGGishModel, quantize_int8  # noqa: E402
from musicrec_core.embedders.vggish.model import VGGishModel  # noqa: E402
from musicrec_core.embedders.vggish.postprocess import load_pca_params  # noqa: E402
from musicrec_core.embedders.vggish.weights import resolve_paths  # noqa: E402
from musicrec_core.errors import WeightsMissingError  # noqa: E402
from musicrec_core.quantized.check_clips import excerpt  # noqa: E402
from musicrec_core.quantized.musicnn_check import embedding_agreement  # noqa: E402
from musicrec_core.quantized.vggish_check import (  # noqa: E402
    CALIBRATION_FIRST_SONG,
    CALIBRATION_SONGS,
    compare,
)

Model = Callable[[np.ndarray], object]


def timed(
    models: dict[str, Model], batch: np.ndarray, rounds: int
) -> dict[str, tuple[float, float]]:
    """name -> (median wall s, median CPU s) of one call on ``batch``, best of 3 per round."""
    for model in models.values():
        model(batch)
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in models}
    for _ in range(rounds):
        for name, model in models.items():
            best = (float("inf"), float("inf"))
            for _ in range(3):
                wall, cpu = time.perf_counter(), time.process_time()
                model(batch)
                best = min(best, (time.perf_counter() - wall, time.process_time() - cpu))
            samples[name].append(best)
    return {
        name: (statistics.median(w for w, _ in pairs), statistics.median(c for _, c in pairs))
        for name, pairs in samples.items()
    }


def print_speed(title: str, figures: dict[str, tuple[float, float]], baseline: str) -> None:
    base_wall, base_cpu = figures[baseline]
    print(f"\n{title}: one 10-s clip, model only (median of rounds)")
    print(f"  {'model':<16} {'ms/clip':>8} {'CPU-s/clip':>11} {'x float32 CPU':>14}")
    for name, (wall, cpu) in figures.items():
        print(f"  {name:<16} {wall * 1000:8.1f} {cpu:11.3f} {cpu / base_cpu:14.2f}")
    del base_wall


def calibration_clips(count: int) -> list[np.ndarray]:
    """The check's calibration songs (generated music), as waveforms."""
    return [excerpt(CALIBRATION_FIRST_SONG + song, 0) for song in range(count)]


def vggish_part(args: argparse.Namespace, scratch: Path) -> None:
    try:
        checkpoint, pca = resolve_paths()
        kind = "official weights"
    except WeightsMissingError:
        from tests.helpers.vggish_files import write_synthetic_vggish

        checkpoint, pca = write_synthetic_vggish(scratch / "vggish")
        kind = "SYNTHETIC weights"
    cache = os.environ.get("MUSICREC_CACHE_DIR")
    os.environ["MUSICREC_CACHE_DIR"] = str(scratch / "cache")  # the weights cache, this run's
    try:
        weights = load_weights(checkpoint)
    finally:
        if cache is None:
            del os.environ["MUSICREC_CACHE_DIR"]
        else:
            os.environ["MUSICREC_CACHE_DIR"] = cache
    calibration = np.concatenate(
        [waveform_to_examples(samples) for samples in calibration_clips(CALIBRATION_SONGS)]
    )
    started = time.perf_counter()
    quantize_int8(weights, calibration, scratch / "vggish-int8.onnx")
    print(f"VGGish ({kind}): int8 quantized in {time.perf_counter() - started:.0f} s")
    models = {
        "float32 (TF)": VGGishModel(weights),
        "bfloat16 (TF)": VGGishModel(weights, compute_dtype="bfloat16"),
        "int8 (onnxrt)": OnnxVGGishModel(scratch / "vggish-int8.onnx"),
    }
    clip = waveform_to_examples(excerpt(0, 0))
    print_speed("VGGish", timed(models, clip, args.rounds), "float32 (TF)")
    library = [waveform_to_examples(excerpt(song, 0)) for song in range(args.vggish_library)]
    queries = [waveform_to_examples(excerpt(song, 1)) for song in range(args.vggish_queries)]
    for name in ("bfloat16 (TF)", "int8 (onnxrt)"):
        agreement = compare(
            models["float32 (TF)"], models[name], load_pca_params(pca), library, queries
        )
        print(f"  {name} agreement ({kind}): {agreement.summary()}")


def corpus_windows(corpus: Path, count: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(library, queries) waveforms: 10-s windows every 10 s of each track, alternating."""
    library: list[np.ndarray] = []
    queries: list[np.ndarray] = []
    for track in load_corpus(corpus):
        start = 0.0
        while start + CLIP_SECONDS <= track.duration_s and len(queries) < count:
            samples = load_clip(track.path, start_s=start).samples
            (queries if len(library) > len(queries) else library).append(samples)
            start += CLIP_SECONDS
    return library, queries


def musicnn_part(args: argparse.Namespace, scratch: Path) -> None:
    variant = get_variant(args.model)
    variables = read_variables(resolve_checkpoint(variant.key), variable_shapes())
    network = MusicnnNetwork(variables)
    models: dict[str, Model] = {
        "float32 (numpy)": network,
        "float32 (onnxrt)": OnnxMusicnnNetwork(variables),  # the product's float32 network
        "bfloat16 (TF)": Bfloat16MusicnnNetwork(variables),
    }
    print(f"\nmusicnn ({variant.key}, real weights)")
    if not args.skip_musicnn_int8:
        import onnx
        import onnxruntime

        float_path, int8_path = scratch / "musicnn.onnx", scratch / "musicnn-int8.onnx"
        onnx.save(musicnn_graph(variables), float_path)
        calibration = np.concatenate(
            [waveform_to_patches(samples)[0] for samples in calibration_clips(CALIBRATION_SONGS)]
        )
        started = time.perf_counter()
        quantize_musicnn(float_path, int8_path, calibration)
        print(f"  int8 quantized in {time.perf_counter() - started:.0f} s")
        session = onnxruntime.InferenceSession(str(int8_path), providers=["CPUExecutionProvider"])
        names = list(OUTPUTS)

        def int8(patches: np.ndarray) -> NetworkOutput:
            embedding, probabilities, dense = session.run(names, {INPUT_NAME: patches})
            return NetworkOutput(probabilities, embedding, dense)

        models["int8 (onnxrt)"] = int8
    baseline = "float32 (onnxrt)"
    patches, _ = waveform_to_patches(excerpt(0, 0))
    print_speed(f"musicnn {variant.key}", timed(models, patches, args.rounds), baseline)
    batch = np.concatenate([waveform_to_patches(excerpt(song, 0))[0] for song in range(6)])
    batch = batch[:MAX_BATCH_PATCHES]
    per_batch = timed(models, batch, args.rounds)
    print(f"  a batch of {len(batch)} patches (a library build's batch), CPU-ms per patch:")
    for name, (_, cpu) in per_batch.items():
        ratio = per_batch[baseline][1] / cpu
        print(f"    {name:<16} {1000 * cpu / len(batch):6.1f}   {ratio:.2f}x {baseline}'s speed")

    library, queries = corpus_windows(args.corpus, args.queries)
    clips = [waveform_to_patches(samples)[0] for samples in library + queries]
    reference = [network(patches) for patches in clips]
    for name in [name for name in models if not name.startswith("float32")]:
        candidate = [models[name](patches) for patches in clips]
        overlap, median, p95 = embedding_agreement(
            [output.embedding for output in reference],
            [output.embedding for output in candidate],
            len(library),
        )
        tags = [
            len(
                set(np.argsort(-ours.probabilities.mean(0))[:5])
                & set(np.argsort(-theirs.probabilities.mean(0))[:5])
            )
            / 5
            for ours, theirs in zip(reference, candidate, strict=True)
        ]
        print(
            f"  {name} agreement on real music ({len(queries)} queries, library of "
            f"{len(library)} windows of {args.corpus.name}): top-10 neighbour overlap "
            f"{overlap:.1%} (bar 95%); patch embedding relative L2 error median {median:.2%}, "
            f"p95 {p95:.2%}; top-5 tags in common {np.mean(tags):.1%}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=default_corpus_dir())
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--model", default="mtt", help="musicnn variant (mtt or msd)")
    parser.add_argument("--vggish-library", type=int, default=30)
    parser.add_argument("--vggish-queries", type=int, default=10)
    parser.add_argument("--skip-vggish", action="store_true")
    parser.add_argument("--skip-musicnn", action="store_true")
    parser.add_argument("--skip-musicnn-int8", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="musicrec-bench-int8-") as scratch:
        if not args.skip_vggish:
            vggish_part(args, Path(scratch))
        if not args.skip_musicnn:
            musicnn_part(args, Path(scratch))


if __name__ == "__main__":
    main()
