"""The musicnn embedder: clips -> per-patch 200-d embeddings and clip-level tags."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from musicrec_core.clip import Clip
from musicrec_core.embedders.base import Embedder, EmbedderId, Embedding, Tag
from musicrec_core.embedders.musicnn.checkpoint import read_variables
from musicrec_core.embedders.musicnn.frontend import PATCH_SECONDS, waveform_to_patches
from musicrec_core.embedders.musicnn.model import (
    EMBEDDING_DIM,
    MusicnnNetwork,
    NetworkOutput,
    variable_shapes,
)
from musicrec_core.embedders.musicnn.onnx_network import OnnxMusicnnNetwork, build_network
from musicrec_core.embedders.musicnn.tags import Variant, get_variant
from musicrec_core.embedders.musicnn.weights import embedder_version, resolve_checkpoint
from musicrec_core.embedders.precision import Precision

if TYPE_CHECKING:
    from musicrec_core.embedders.musicnn.bf16_network import Bfloat16MusicnnNetwork

MAX_BATCH_PATCHES = 16
"""Most patches per network call; larger batches are split to bound memory (each patch in
a call adds about 22 MB to the process's peak, measured with tracemalloc)."""


class MusicnnEmbedder(Embedder):
    """musicnn (MTT or MSD weights) behind the :class:`Embedder` interface.

    - ``Embedding.vectors``: float32 [num_patches, 200], the penultimate layer after its
      batch norm (the reference's "penultimate" feature), one row per 2.992-s patch.
    - ``Embedding.raw``: float32 [num_patches, 200], that layer before its batch norm
      (the ReLU output of the 200-unit dense layer).
    - ``Embedding.tags``: all 50 tags of the variant, probability = mean over patches of
      the per-patch sigmoid outputs, best first.
    - ``Embedding.padded``: the clip was shorter than one patch and was repeat-padded.

    One instance may be shared by several threads.
    """

    name = "musicnn"
    dim = EMBEDDING_DIM
    frame_seconds = PATCH_SECONDS
    frame_rate_hz = 1.0 / PATCH_SECONDS

    def __init__(
        self,
        network: OnnxMusicnnNetwork | MusicnnNetwork | Bfloat16MusicnnNetwork,
        variant: Variant,
        precision: Precision = Precision.FLOAT32,
    ) -> None:
        """Prefer :meth:`load`. ``network`` must hold ``variant``'s weights and compute in
        ``precision``."""
        self.variant = variant
        self.precision = precision
        self.version = embedder_version(variant.key)
        self._network = network
        self._lock = threading.Lock()

    @classmethod
    def load(
        cls,
        model: str | None = None,
        *,
        checkpoint: Path | None = None,
        precision: Precision = Precision.FLOAT32,
    ) -> MusicnnEmbedder:
        """Build the embedder for ``model`` ("mtt" or "msd"; None = "mtt"), its float32
        network run by onnxruntime, or by numpy where onnxruntime is unavailable
        (:func:`build_network`); with ``precision`` bfloat16, the bfloat16 network that
        ``musicrec quantize check`` checked for these weights on this CPU
        (:mod:`.checked`). The version stays the float32 one: the check proved they agree.

        Args:
            model: the variant.
            checkpoint: a checkpoint prefix to read instead of the installed weights of that
                variant (it must hold that variant's weights; tag names follow ``model``).
            precision: float32 or bfloat16 (int8 is refused).

        Raises:
            WeightsMissingError: the weights are not installed (says what to run).
            CheckpointError: the checkpoint is damaged or does not match the network.
            PrecisionNotCheckedError: bfloat16 asked for, but no check passed for these
                weights on this CPU.
            MusicrecError: int8 asked for.
            ValueError: unknown model name.
        """
        variant = get_variant(model)
        prefix = checkpoint if checkpoint is not None else resolve_checkpoint(variant.key)
        variables = read_variables(prefix, variable_shapes())
        if precision is Precision.FLOAT32:
            return cls(build_network(variables), variant)
        from musicrec_core.embedders.musicnn.checked import load_checked_network

        network = load_checked_network(precision, prefix, variables, variant.key)
        return cls(network, variant, precision)

    @property
    def id(self) -> EmbedderId:
        """Name, version (which names the variant too), dim and the variant's key."""
        return EmbedderId(
            name=self.name, version=self.version, dim=self.dim, variant=self.variant.key
        )

    def embed_many(self, clips: Sequence[Clip]) -> list[Embedding]:
        """Embed clips with all their patches batched together (split every
        MAX_BATCH_PATCHES); one Embedding per clip, in order.

        Raises:
            AudioTooShortError: a clip is shorter than one STFT window (32 ms).
        """
        if not clips:
            return []
        prepared = [waveform_to_patches(clip.samples) for clip in clips]
        patches = np.concatenate([clip_patches for clip_patches, _ in prepared])
        outputs = [
            self._run(patches[start : start + MAX_BATCH_PATCHES])
            for start in range(0, patches.shape[0], MAX_BATCH_PATCHES)
        ]
        probabilities = np.concatenate([output.probabilities for output in outputs])
        vectors = np.concatenate([output.embedding for output in outputs])
        raw = np.concatenate([output.dense for output in outputs])

        embeddings = []
        start = 0
        for clip_patches, padded in prepared:
            rows = slice(start, start + clip_patches.shape[0])
            start = rows.stop
            embeddings.append(
                Embedding(
                    vectors=vectors[rows].copy(),
                    raw=raw[rows].copy(),
                    tags=self._rank(probabilities[rows].mean(axis=0)),
                    padded=padded,
                )
            )
        return embeddings

    def _run(self, patches: np.ndarray) -> NetworkOutput:
        """One network call, serialised: one call already runs on every core."""
        with self._lock:
            return self._network(patches)

    def _rank(self, probabilities: np.ndarray) -> tuple[Tag, ...]:
        """Tags for clip-level probabilities [50], best first (ties keep logit order)."""
        order = np.argsort(-probabilities, kind="stable")
        return tuple(Tag(self.variant.tags[i], float(probabilities[i])) for i in order)
