"""The interface every embedder implements, what it returns, and who it is.

An embedder turns a :class:`~musicrec_core.clip.Clip` into a sequence of fixed-size vectors,
one per frame of its own frame rate (VGGish: one per 0.96 s; musicnn: one per 3-s patch).
The catalog pools those frames into one vector per clip with the rule its manifest names.

An :class:`EmbedderId` says which embedder made a vector space: an index manifest records
it, and a query embedder may search that index only when its own id is equal.
"""

from __future__ import annotations

import abc
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from musicrec_core.clip import Clip

_LEGACY_VARIANT = {"musicnn": re.compile(r"^musicnn-([a-z0-9]+)-")}
"""Manifests written before the variant was recorded: the pattern of the embedder's version
string that names it (musicnn's versions read "musicnn-<variant>-<distribution version>")."""


@dataclass(frozen=True)
class EmbedderId:
    """Which embedder made a vector space: equal ids embed into the same space.

    Stored in index manifests as ``{"name", "version", "dim"}`` plus ``"model"`` when the
    embedder has variants (the key musicnn's ``--model`` option and ``musicrec tag --json``
    use for it).

    Attributes:
        name: registry name ("vggish", "musicnn"; tests use others).
        version: changes whenever weights or post-processing change.
        dim: width of one frame vector (before pooling).
        variant: which published weights of a multi-variant embedder (musicnn: "mtt" or
            "msd"); None for embedders with one set of weights.
    """

    name: str
    version: str
    dim: int
    variant: str | None = None

    def __str__(self) -> str:
        return f"{self.name} {self.version} ({self.dim}-d)"

    def to_json(self) -> dict[str, object]:
        """The manifest form: {"name", "version", "dim"} and "model" when there is a variant."""
        document: dict[str, object] = {"name": self.name, "version": self.version, "dim": self.dim}
        if self.variant is not None:
            document["model"] = self.variant
        return document

    @classmethod
    def from_json(cls, document: Mapping[str, object]) -> EmbedderId:
        """Read the manifest form; a musicnn entry without "model" takes it from its version.

        Raises:
            ValueError: a missing or mistyped name, version, dim or model.
        """
        name, version, dim = document.get("name"), document.get("version"), document.get("dim")
        variant = document.get("model")
        if not isinstance(name, str) or not isinstance(version, str):
            raise ValueError(f"an embedder id needs string 'name' and 'version', got {document!r}")
        if not isinstance(dim, int) or isinstance(dim, bool) or dim < 1:
            raise ValueError(f"an embedder id needs a positive integer 'dim', got {document!r}")
        if variant is None and name in _LEGACY_VARIANT:
            found = _LEGACY_VARIANT[name].match(version)
            variant = found.group(1) if found else None
        if variant is not None and not isinstance(variant, str):
            raise ValueError(f"an embedder id's 'model' must be a string, got {document!r}")
        return cls(name=name, version=version, dim=dim, variant=variant)


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

    @property
    def id(self) -> EmbedderId:
        """Which vector space this embedder embeds into (recorded in index manifests)."""
        return EmbedderId(name=self.name, version=self.version, dim=self.dim)
