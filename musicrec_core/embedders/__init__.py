"""Embedders and the registry that builds one by name.

``load_embedder("vggish")`` or ``load_embedder("musicnn")`` returns a ready
:class:`~musicrec_core.embedders.base.Embedder`; model code is imported only when asked
for, so importing this package does not import TensorFlow.
"""

from __future__ import annotations

from pathlib import Path

from musicrec_core.embedders.base import Embedder, Embedding, Tag

EMBEDDER_NAMES = ("vggish", "musicnn")

__all__ = ["EMBEDDER_NAMES", "Embedder", "Embedding", "Tag", "load_embedder"]


def load_embedder(
    name: str,
    *,
    vggish_checkpoint: Path | None = None,
    vggish_pca: Path | None = None,
    musicnn_model: str | None = None,
) -> Embedder:
    """Build the embedder called ``name`` from the model cache (or the given files).

    Raises:
        ValueError: for an unknown name.
        WeightsMissingError / CheckpointError: when the weights are absent or unusable.
    """
    if name == "vggish":
        from musicrec_core.embedders.vggish import VGGishEmbedder

        return VGGishEmbedder.from_files(checkpoint=vggish_checkpoint, pca=vggish_pca)
    if name == "musicnn":
        from musicrec_core.embedders.musicnn import MusicnnEmbedder

        return MusicnnEmbedder.load(model=musicnn_model)
    raise ValueError(f"unknown embedder {name!r}; choose one of {', '.join(EMBEDDER_NAMES)}")
