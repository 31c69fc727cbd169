"""musicnn: a music tagger whose 200-d penultimate layer is the embedding.

Mental model: a clip becomes log-mel patches of 187 frames (2.992 s, :mod:`.frontend`);
the network (:mod:`.model`, the numpy reference; run by onnxruntime through
:mod:`.onnx_network` where it is installed; weights read strictly by :mod:`.checkpoint` from
the files :mod:`.weights` installs) gives each patch a 200-d embedding and 50 tag probabilities;
the clip's tags are the patch probabilities averaged over its patches.

    embedder = MusicnnEmbedder.load("mtt")      # or "msd"; None = "mtt"
    embedding = embedder.embed(clip)
    embedding.vectors    # float32 [num_patches, 200]
    embedding.tags[:3]   # (Tag("techno", 0.585), Tag("electronic", 0.541), ...)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from musicrec_core.embedders.musicnn.tags import DEFAULT_MODEL, VARIANTS

if TYPE_CHECKING:
    from musicrec_core.embedders.musicnn.embedder import MusicnnEmbedder

__all__ = ["DEFAULT_MODEL", "VARIANTS", "MusicnnEmbedder"]


def __getattr__(name: str) -> object:
    """Import the embedder (and its network code) only when it is asked for, so that
    installing weights or listing tags imports nothing but this package."""
    if name == "MusicnnEmbedder":
        from musicrec_core.embedders.musicnn.embedder import MusicnnEmbedder

        return MusicnnEmbedder
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
