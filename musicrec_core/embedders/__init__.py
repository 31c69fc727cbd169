"""Embedders and the registry that builds one by name (and variant).

``load_embedder("vggish")`` or ``load_embedder("musicnn", variant="msd")`` returns a ready
:class:`~musicrec_core.embedders.base.Embedder` (an index manifest's
:class:`~musicrec_core.embedders.base.EmbedderId` gives both). Model code is imported only
when asked for, so importing this package does not import TensorFlow.

What an embedder is comes from its name and variant; :class:`WeightFiles` only says where
weight files lie when they are not in the model cache (VGGish's checkpoint and PCA file),
and which arithmetic to run (``MUSICREC_PRECISION``, :mod:`musicrec_core.embedders.precision`):
float32, or the reduced-precision model checked for those files on this CPU (VGGish:
bfloat16 or int8; musicnn: bfloat16).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from musicrec_core.embedders.base import Embedder, EmbedderId, Embedding, Tag
from musicrec_core.embedders.precision import Precision, precision_from_env

EMBEDDER_NAMES = ("vggish", "musicnn")

__all__ = [
    "EMBEDDER_NAMES",
    "Embedder",
    "EmbedderId",
    "Embedding",
    "Tag",
    "WeightFiles",
    "load_embedder",
]


@dataclass(frozen=True)
class WeightFiles:
    """Weight files to use instead of the configured or cached ones (None: the default).

    Attributes:
        vggish_checkpoint: VGGish's TF1 checkpoint file.
        vggish_pca: VGGish's PCA parameters (.npz).
        precision: the embedder's arithmetic (None: ``MUSICREC_PRECISION``, else float32).
    """

    vggish_checkpoint: Path | None = None
    vggish_pca: Path | None = None
    precision: Precision | None = None


def load_embedder(
    name: str, *, variant: str | None = None, weights: WeightFiles | None = None
) -> Embedder:
    """Build the embedder called ``name`` from the model cache (or the given files).

    Args:
        name: one of EMBEDDER_NAMES.
        variant: musicnn's weights ("mtt" or "msd"; None: the default); VGGish has none.
        weights: weight file locations to use instead of the configured or cached ones.

    Raises:
        ValueError: an unknown name or variant, or a variant for VGGish.
        WeightsMissingError / CheckpointError: when the weights are absent or unusable.
        PrecisionNotCheckedError: bfloat16 or int8 asked for, but no check passed for the
            weights on this CPU.
        MusicrecError: ``MUSICREC_PRECISION`` names no precision, or int8 for musicnn.
    """
    files = weights or WeightFiles()
    if name == "vggish":
        if variant is not None:
            raise ValueError(f"vggish has no variants, got {variant!r}")
        from musicrec_core.embedders.vggish import VGGishEmbedder

        return VGGishEmbedder.from_files(
            checkpoint=files.vggish_checkpoint,
            pca=files.vggish_pca,
            precision=files.precision or precision_from_env(),
        )
    if name == "musicnn":
        from musicrec_core.embedders.musicnn import MusicnnEmbedder

        return MusicnnEmbedder.load(
            model=variant, precision=files.precision or precision_from_env()
        )
    raise ValueError(f"unknown embedder {name!r}; choose one of {', '.join(EMBEDDER_NAMES)}")
