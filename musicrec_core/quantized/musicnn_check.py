"""The check that must pass before bfloat16 musicnn runs: it agrees with float32, and it is
faster on this CPU.

:func:`check_musicnn` reads a variant's installed weights, builds the product's float32
network (onnxruntime, or numpy where it is unavailable:
:func:`~musicrec_core.embedders.musicnn.onnx_network.build_network`) and the bfloat16 one
(:class:`~musicrec_core.embedders.musicnn.bf16_network.Bfloat16MusicnnNetwork`), and runs
both over the patches of the project's generated clips
(:func:`~.check_clips.library_and_queries`), a batch of :data:`BATCH_PATCHES` patches at a
time, the two networks taking turns on each batch, each call's CPU time (the process's,
all threads) added to its network's total. Figures (:class:`MusicnnAgreement`):

- **agreement**: clip vectors are the mean of a clip's patch embeddings; the top-10
  neighbour overlap (:func:`~.agreement.neighbour_overlap`) must reach 95 %; the relative
  L2 error of the patch embeddings (median, 95th percentile) is reported;
- **speed**: CPU-ms per patch of each network; bfloat16 must take at most
  1 / :data:`MIN_SPEEDUP` of float32's. A CPU without native bfloat16 (AVX512_BF16, AMX)
  has TensorFlow emulate it, slower than float32: the check refuses there.

A pass is recorded for the checkpoint's files and this CPU (:func:`~.outcome.settle`). At
the defaults (400 library clips, 200 queries: 1,800 patches) about two minutes of CPU.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musicrec_core.embedders.musicnn.checked import EMBEDDER, require_offered, weight_files
from musicrec_core.embedders.musicnn.embedder import MAX_BATCH_PATCHES
from musicrec_core.embedders.musicnn.frontend import waveform_to_patches
from musicrec_core.embedders.musicnn.model import NetworkOutput
from musicrec_core.embedders.precision import Precision
from musicrec_core.quantized.agreement import MIN_NEIGHBOUR_OVERLAP, NEIGHBOURS, neighbour_overlap
from musicrec_core.quantized.check_clips import (
    DEFAULT_LIBRARY,
    DEFAULT_QUERIES,
    check_sizes,
    library_and_queries,
)
from musicrec_core.quantized.outcome import CheckResult, settle

MIN_SPEEDUP = 1.1
"""Least float32 / bfloat16 ratio of CPU time per patch: bfloat16 must be faster, by more
than the timing noise of a busy machine, or it costs agreement for nothing."""
BATCH_PATCHES = MAX_BATCH_PATCHES
"""Patches per network call, as the embedder batches them."""

Network = Callable[[np.ndarray], NetworkOutput]
"""float32 patches [n, 187, 96] -> the network's outputs."""
NetworkMaker = Callable[[Mapping[str, np.ndarray]], Network]
"""Builds a network from the checkpoint's variables."""


@dataclass(frozen=True)
class MusicnnAgreement:
    """The figures of one comparison of bfloat16 with float32 musicnn.

    Attributes:
        neighbour_overlap: mean share of top-10 neighbours in common, in [0, 1].
        error_median, error_p95: relative L2 error of the patch embeddings
            (||bf16 - f32|| / ||f32||), median and 95th percentile.
        float32_cpu_ms, bfloat16_cpu_ms: CPU milliseconds per patch of each network.
        patches: patches each network embedded.
        queries, library: query and library clips.
    """

    neighbour_overlap: float
    error_median: float
    error_p95: float
    float32_cpu_ms: float
    bfloat16_cpu_ms: float
    patches: int
    queries: int
    library: int

    @property
    def speedup(self) -> float:
        """float32's CPU time per patch over bfloat16's (above 1: bfloat16 is faster)."""
        return self.float32_cpu_ms / self.bfloat16_cpu_ms

    @property
    def passed(self) -> bool:
        """The neighbours agree and bfloat16 is faster, both by the bar."""
        return self.neighbour_overlap >= MIN_NEIGHBOUR_OVERLAP and self.speedup >= MIN_SPEEDUP

    def summary(self) -> str:
        """One sentence with the figures, their bars and what they were measured on."""
        speed = (
            f"bfloat16 takes {self.bfloat16_cpu_ms:.1f} CPU-ms per patch against float32's "
            f"{self.float32_cpu_ms:.1f} ({self.speedup:.2f}x; at least {MIN_SPEEDUP}x needed"
        )
        if self.speedup < MIN_SPEEDUP:
            speed += ": this CPU has no fast bfloat16, so float32 is the better choice here"
        return (
            f"top-{NEIGHBOURS} neighbours of {self.queries} queries in a library of "
            f"{self.library} clips overlap {self.neighbour_overlap:.1%} (at least "
            f"{MIN_NEIGHBOUR_OVERLAP:.0%} needed); patch embeddings differ by "
            f"{self.error_median:.2%} (median) and {self.error_p95:.2%} (95th percentile) "
            f"over {self.patches:,} patches; {speed})"
        )

    def to_json(self) -> dict[str, float | int | bool]:
        """The figures as a JSON object (with ``speedup`` and ``passed``)."""
        return {
            "neighbour_overlap": self.neighbour_overlap,
            "error_median": self.error_median,
            "error_p95": self.error_p95,
            "float32_cpu_ms": self.float32_cpu_ms,
            "bfloat16_cpu_ms": self.bfloat16_cpu_ms,
            "speedup": self.speedup,
            "patches": self.patches,
            "queries": self.queries,
            "library": self.library,
            "passed": self.passed,
        }


def embedding_agreement(
    reference: Sequence[np.ndarray], candidate: Sequence[np.ndarray], library: int
) -> tuple[float, float, float]:
    """(top-10 neighbour overlap, median and 95th-percentile relative L2 error of the patch
    embeddings) of ``candidate``'s embeddings against ``reference``'s.

    Args:
        reference, candidate: each clip's patch embeddings, float32 [patches_i, 200], the
            first ``library`` clips the library, the rest the queries.
        library: how many clips are the library.
    """
    ours, theirs = np.concatenate(reference), np.concatenate(candidate)
    error = np.linalg.norm(theirs - ours, axis=1) / np.linalg.norm(ours, axis=1)
    vectors = [np.stack([clip.mean(axis=0) for clip in clips]) for clips in (reference, candidate)]
    overlap = neighbour_overlap(
        (vectors[0][:library], vectors[0][library:]), (vectors[1][:library], vectors[1][library:])
    )
    return overlap, float(np.median(error)), float(np.percentile(error, 95))


def check_musicnn(
    model: str | None = None,
    *,
    checkpoint: Path | None = None,
    precision: Precision = Precision.BFLOAT16,
    library: int = DEFAULT_LIBRARY,
    queries: int = DEFAULT_QUERIES,
    candidate: NetworkMaker | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> CheckResult[MusicnnAgreement]:
    """Compare bfloat16 musicnn with float32 on this CPU for a variant's weights, and record
    a pass.

    Args:
        model: the variant ("mtt", "msd"; None: the default).
        checkpoint: a checkpoint prefix instead of the variant's installed weights.
        precision: bfloat16 (the only one musicnn offers).
        library: library clips (at least NEIGHBOURS).
        queries: query clips (1 .. library).
        candidate: builds the network to check (None: the bfloat16 network; tests pass
            other real networks).
        progress: called with a short line before each long step.

    Raises:
        MusicrecError: sizes out of range, or a precision musicnn does not offer.
        WeightsMissingError / CheckpointError: the weights are absent or unusable.
    """
    require_offered(precision)
    check_sizes(library, queries)
    from musicrec_core.embedders.musicnn.checkpoint import read_variables
    from musicrec_core.embedders.musicnn.model import variable_shapes
    from musicrec_core.embedders.musicnn.onnx_network import build_network
    from musicrec_core.embedders.musicnn.tags import get_variant
    from musicrec_core.embedders.musicnn.weights import resolve_checkpoint

    prefix = checkpoint if checkpoint is not None else resolve_checkpoint(get_variant(model).key)
    variables = read_variables(prefix, variable_shapes())
    if candidate is None:
        from musicrec_core.embedders.musicnn.bf16_network import Bfloat16MusicnnNetwork

        candidate = Bfloat16MusicnnNetwork
    progress(f"making {library + queries} ten-second clips")
    library_clips, query_clips = library_and_queries(library, queries)
    clips = [waveform_to_patches(samples)[0] for samples in [*library_clips, *query_clips]]
    progress("embedding the clips in float32 and bfloat16, taking turns")
    networks = (build_network(variables), candidate(variables))
    embeddings, cpu_s = _embed_in_turns(networks, np.concatenate(clips))
    bounds = np.cumsum([len(patches) for patches in clips])[:-1]
    overlap, median, p95 = embedding_agreement(
        *(np.split(rows, bounds) for rows in embeddings), library
    )
    patches = len(embeddings[0])
    agreement = MusicnnAgreement(
        neighbour_overlap=overlap,
        error_median=median,
        error_p95=p95,
        float32_cpu_ms=1000 * cpu_s[0] / patches,
        bfloat16_cpu_ms=1000 * cpu_s[1] / patches,
        patches=patches,
        queries=queries,
        library=library,
    )
    return settle(EMBEDDER, precision, weight_files(prefix), None, agreement)


def _embed_in_turns(
    networks: tuple[Network, Network], patches: np.ndarray
) -> tuple[list[np.ndarray], list[float]]:
    """Each network's embeddings float32 [n, 200] of ``patches`` [n, 187, 96] and its CPU
    seconds, the two taking turns on each batch of BATCH_PATCHES (after one untimed call
    each, so neither pays its first call's set-up)."""
    for network in networks:
        network(patches[:1])
    outputs: list[list[np.ndarray]] = [[], []]
    cpu_s = [0.0, 0.0]
    for start in range(0, len(patches), BATCH_PATCHES):
        batch = patches[start : start + BATCH_PATCHES]
        for index, network in enumerate(networks):
            began = time.process_time()
            outputs[index].append(network(batch).embedding)
            cpu_s[index] += time.process_time() - began
    return [np.concatenate(rows) for rows in outputs], cpu_s
