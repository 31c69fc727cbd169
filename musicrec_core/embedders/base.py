"""The interface every embedder implements, and what it returns.

An embedder turns a :class:`~musicrec_core.clip.Clip` into a sequence of fixed-size vectors,
one per frame of its own frame rate (VGGish: one per 0.96 s; musicnn: one per 3-s patch).
The catalog pools those frames into one vector per clip with the rule its manifest names.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from musicrec_core.clip import Clip


@dataclass(frozen=True)
class Tag:
    """A music tag and its probability in [0, 1]."""

    name: str
    probability: float


@dataclass(frozen=True)
class Embedding:
    """What an embedder computes for one clip.

    Attributes:
        vectors: float32 [num_frames, dim], in the space the catalog indexes. VGGish: the
            PCA-whitened, clipped, 8-bit-quantized and then dequantized embedding (so a query
            lands exactly where AudioSet's released uint8 features do). musicnn: the 200-d
            penultimate layer.
        raw: float32 [num_frames, raw_dim], the network output before any post-processing.
        quantized: uint8 [num_frames, dim] (VGGish only, AudioSet's release format), else None.
        tags: clip-level tags, best first (musicnn only), else empty.
        padded: True when the clip was shorter than one frame and was padded deliberately.
    """

    vectors: np.ndarray
    raw: np.ndarray
    quantized: np.ndarray | None = None
    tags: tuple[Tag, ...] = field(default=())
    padded: bool = False


class Embedder(abc.ABC):
    """A model that embeds clips. One instance is shared by every caller (thread-safe).

    Subclasses set the class attributes and implement :meth:`embed_many`.
    """

    name: str
    """Registry name ("vggish", "musicnn"); stored in index manifests."""
    version: str
    """Changes whenever weights or post-processing change; stored in index manifests."""
    frame_rate_hz: float
    """Frames per second of audio (VGGish 1/0.96; musicnn 16000/256/187)."""
    frame_seconds: float
    """Length of audio one frame covers, in seconds."""
    dim: int
    """Width of :attr:`Embedding.vectors`."""

    def embed(self, clip: Clip) -> Embedding:
        """Embed one clip. Raises AudioTooShortError when no frame fits (and no padding)."""
        return self.embed_many([clip])[0]

    @abc.abstractmethod
    def embed_many(self, clips: Sequence[Clip]) -> list[Embedding]:
        """Embed several clips in one batched model call; one Embedding per clip, in order."""

    def describe(self) -> dict[str, object]:
        """Identity for manifests and status displays."""
        return {"name": self.name, "version": self.version, "dim": self.dim}
