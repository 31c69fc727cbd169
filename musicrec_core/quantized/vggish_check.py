"""The agreement check that must pass before bfloat16 or int8 VGGish runs: make, compare,
record.

:func:`check_vggish` loads the operator's weight files, makes the reduced-precision model
(bfloat16: the network with bfloat16 weights and activations; int8:
:func:`~musicrec_core.embedders.vggish.int8.quantize_int8`, calibrated on songs the check
never searches), embeds the project's generated clips (:mod:`.check_clips`) with the float32
network and with that model, and compares them (:mod:`.agreement`):

- library and queries: :func:`~.check_clips.library_and_queries`;
- calibration: excerpt 0 of :data:`CALIBRATION_SONGS` songs numbered from
  :data:`CALIBRATION_FIRST_SONG`.

A pass is recorded for the precision and the files' sha256s
(:func:`~musicrec_core.quantized.outcome.settle`); a failure removes any
earlier record of that precision for that checkpoint and changes nothing else. At the
defaults (400 library clips, 200 queries) the check embeds 600 ten-second clips twice: a
few minutes on two cores.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from musicrec_core import paths
from musicrec_core.embedders.precision import Precision
from musicrec_core.embedders.vggish.checked import EMBEDDER, weight_files
from musicrec_core.embedders.vggish.frontend import waveform_to_examples
from musicrec_core.embedders.vggish.int8 import OnnxVGGishModel, Quantizer, quantize_int8
from musicrec_core.embedders.vggish.postprocess import PCAParams, dequantize, quantize
from musicrec_core.errors import MusicrecError
from musicrec_core.quantized.agreement import (
    Agreement,
    neighbour_overlap,
    values_within_one,
)
from musicrec_core.quantized.check_clips import (
    DEFAULT_LIBRARY,
    DEFAULT_QUERIES,
    check_sizes,
    excerpt,
    library_and_queries,
)
from musicrec_core.quantized.outcome import CheckResult, settle

CALIBRATION_SONGS = 32
"""Songs whose excerpts set the int8 activation ranges."""
CALIBRATION_FIRST_SONG = 1_000_000
"""First calibration song: far from the numbers of the clips the check compares."""
BATCH_EXAMPLES = 64
"""Examples per model call."""

RawModel = Callable[[np.ndarray], np.ndarray]
"""float32 [n, 96, 64] log-mel examples -> float32 [n, 128] raw embeddings."""


def check_vggish(
    checkpoint: Path | None = None,
    pca: Path | None = None,
    *,
    precision: Precision = Precision.BFLOAT16,
    library: int = DEFAULT_LIBRARY,
    queries: int = DEFAULT_QUERIES,
    quantizer: Quantizer = quantize_int8,
    calibration_songs: int = CALIBRATION_SONGS,
    progress: Callable[[str], None] = lambda _: None,
) -> CheckResult[Agreement]:
    """Make the ``precision`` model of these weight files, compare it with float32, and
    record a pass.

    Args:
        checkpoint, pca: the weight files (None: the configured or cached ones).
        precision: bfloat16 or int8.
        library: library clips (at least NEIGHBOURS).
        queries: query clips (1 .. library).
        quantizer: makes the int8 model to check (tests pass others).
        calibration_songs: songs whose excerpts calibrate the quantizer.
        progress: called with a short line before each long step.

    Raises:
        MusicrecError: sizes out of range, or float32 asked for (nothing to check).
        WeightsMissingError / CheckpointError: the weight files are absent or unusable.
    """
    if precision is Precision.FLOAT32:
        raise MusicrecError("float32 is the reference; check bfloat16 or int8.")
    check_sizes(library, queries)
    from musicrec_core.embedders.vggish.checkpoint import load_weights
    from musicrec_core.embedders.vggish.model import VGGishModel
    from musicrec_core.embedders.vggish.postprocess import load_pca_params
    from musicrec_core.embedders.vggish.weights import resolve_paths

    checkpoint_path, pca_path = resolve_paths(checkpoint=checkpoint, pca=pca)
    files = weight_files(checkpoint_path, pca_path)
    pca_params = load_pca_params(pca_path)
    weights = load_weights(checkpoint_path)
    progress(f"making {library + queries} ten-second clips")
    library_clips, query_clips = library_and_queries(library, queries)
    library_examples = [waveform_to_examples(samples) for samples in library_clips]
    query_examples = [waveform_to_examples(samples) for samples in query_clips]

    def calibration() -> np.ndarray:
        return np.concatenate(
            [
                waveform_to_examples(excerpt(CALIBRATION_FIRST_SONG + song, 0))
                for song in range(calibration_songs)
            ]
        )

    reference = VGGishModel(weights)
    if precision is Precision.BFLOAT16:
        progress("embedding the clips in float32 and bfloat16")
        candidate = VGGishModel(weights, compute_dtype=precision.value)
        agreement = compare(reference, candidate, pca_params, library_examples, query_examples)
        return settle(EMBEDDER, precision, files, None, agreement)
    scratch_parent = paths.models_dir("vggish")
    scratch_parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="musicrec-", dir=scratch_parent) as scratch:
        model_path = Path(scratch) / "candidate.onnx"
        progress("quantizing (calibration)")
        quantizer(weights, calibration(), model_path)
        progress("embedding the clips in float32 and int8")
        candidate = OnnxVGGishModel(model_path)
        agreement = compare(reference, candidate, pca_params, library_examples, query_examples)
        return settle(EMBEDDER, precision, files, model_path, agreement)


def compare(
    reference: RawModel,
    candidate: RawModel,
    pca: PCAParams,
    library: Sequence[np.ndarray],
    queries: Sequence[np.ndarray],
) -> Agreement:
    """The agreement of ``candidate`` with ``reference`` on these clips.

    Args:
        reference, candidate: the two networks.
        pca: the PCA that turns raw embeddings into uint8 codes.
        library, queries: each clip's examples, float32 [n_i, 96, 64].
    """
    clips = [*library, *queries]
    counts = [len(examples) for examples in clips]
    bounds = np.cumsum(counts)[:-1]
    stacked = np.concatenate(clips)
    codes = [quantize(_raw(model, stacked), pca) for model in (reference, candidate)]
    vectors = [
        np.stack([dequantize(part).mean(axis=0) for part in np.split(model_codes, bounds)])
        for model_codes in codes
    ]
    split = len(library)
    overlap = neighbour_overlap(
        (vectors[0][:split], vectors[0][split:]), (vectors[1][:split], vectors[1][split:])
    )
    return Agreement(
        values_within_one=values_within_one(*codes),
        neighbour_overlap=overlap,
        values=int(codes[0].size),
        queries=len(queries),
        library=len(library),
    )


def _raw(model: RawModel, examples: np.ndarray) -> np.ndarray:
    """``model`` over ``examples`` in batches of BATCH_EXAMPLES."""
    return np.concatenate(
        [
            model(examples[start : start + BATCH_EXAMPLES])
            for start in range(0, len(examples), BATCH_EXAMPLES)
        ]
    )
