"""Small indexes of each catalog kind for the steering tests, built from random vectors
(no model): an AudioSet one (VGGish id, label names), a musicnn MTT library with its track
tags, and a VGGish library (no labels, no tags). Also the real AudioSet metadata put where
``musicrec models download audioset-labels`` would put it."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from musicrec_core.catalog import labels
from musicrec_core.catalog.audioset.build import AUDIOSET_EMBEDDER
from musicrec_core.catalog.index import IndexBuilder, ItemMeta
from musicrec_core.catalog.index.label_items import LABEL_ITEMS_FILE, LABEL_OFFSETS_FILE
from musicrec_core.catalog.index.manifest import CURRENT_FILE, MANIFEST_FILE
from musicrec_core.catalog.pooling import DEFAULT_POOLING, pooled_dim
from musicrec_core.embedders.base import Tag
from musicrec_core.embedders.vggish import VGGishEmbedder
from tests.helpers.shared_data import AUDIOSET_METADATA
from tests.helpers.small_index import MUSICNN_MTT

AUDIOSET_ITEMS = (("Music", "Jazz"), ("Music", "Piano"), ("Speech",))
CLI_LABELS = (("Music", "Jazz"), ("Music", "Jazz", "Singing"), ("Music", "Piano"), ("Speech",))
"""Segment i of :func:`build_cli_catalog` carries CLI_LABELS[i % 4]: 3 of its 12 are jazz
without singing."""
CLI_SEGMENTS = 12
TRACK_TAGS = {
    "track-a": (Tag("piano", 0.8125), Tag("classical", 0.5), Tag("drums", 0.0625)),
    "track-b": (Tag("techno", 0.75), Tag("drums", 0.625), Tag("piano", 0.03125)),
}


def _vectors(count: int, dim: int) -> np.ndarray:
    return np.random.default_rng(1).normal(size=(count, dim)).astype(np.float32)


def build_audioset_index(
    target: Path, segments: Sequence[tuple[str, tuple[str, ...]]] | None = None
) -> Path:
    """Segments labelled like AudioSet's, published as an AudioSet build does: the given
    (video id, label names) pairs, each video's segments 10 s apart, or by default one
    segment of its own video for each of :data:`AUDIOSET_ITEMS`."""
    if segments is None:
        segments = [(f"vid{i}", names) for i, names in enumerate(AUDIOSET_ITEMS)]
    starts: dict[str, float] = {}
    metas = []
    for group, names in segments:
        start = starts[group] = starts.get(group, 20.0) + 10.0
        metas.append(ItemMeta(group=group, start_s=start, end_s=start + 10, labels=names))
    with IndexBuilder(target, embedder=AUDIOSET_EMBEDDER, pooling="mean") as builder:
        builder.add_many(_vectors(len(metas), AUDIOSET_EMBEDDER.dim), metas)
        builder.commit({"source": "audioset"})
    return target


def build_tagged_library(target: Path) -> Path:
    """Two musicnn MTT tracks of two windows each, with :data:`TRACK_TAGS`."""
    metas = [
        ItemMeta(group=group, start_s=10.0 * w, end_s=10.0 * w + 10, labels=(tags[0].name,))
        for group, tags in TRACK_TAGS.items()
        for w in range(2)
    ]
    with IndexBuilder(target, embedder=MUSICNN_MTT, pooling="mean") as builder:
        builder.add_many(_vectors(len(metas), MUSICNN_MTT.dim), metas)
        for group, tags in TRACK_TAGS.items():
            builder.set_track_tags(group, tags)
        builder.commit({"library": {"tracks": len(TRACK_TAGS)}})
    return target


def build_vggish_library(target: Path) -> Path:
    """A VGGish library of two files: neither labels nor tags."""
    metas = [
        ItemMeta(group=f"file{i}", start_s=0.0, end_s=10.0, labels=(), kind="file")
        for i in range(2)
    ]
    with IndexBuilder(target, embedder=AUDIOSET_EMBEDDER, pooling="mean") as builder:
        builder.add_many(_vectors(len(metas), AUDIOSET_EMBEDDER.dim), metas)
        builder.commit({"library": {"tracks": 2}})
    return target


def build_cli_catalog(target: Path, vggish_files: tuple[Path, Path]) -> Path:
    """An AudioSet-style catalog of CLI_SEGMENTS labelled segments (random vectors) for the
    VGGish weights ``vggish_files`` (checkpoint, PCA), as the CLI's steering tests need."""
    install_audioset_metadata()
    identity = VGGishEmbedder.from_files(*vggish_files).id
    dim = pooled_dim(identity.dim, DEFAULT_POOLING)
    vectors = np.random.default_rng(3).standard_normal((CLI_SEGMENTS, dim)).astype(np.float32)
    metas = [
        ItemMeta(f"video{n:06d}", 30.0, 40.0, CLI_LABELS[n % len(CLI_LABELS)])
        for n in range(CLI_SEGMENTS)
    ]
    with IndexBuilder(target, embedder=identity, pooling=DEFAULT_POOLING) as builder:
        builder.add_many(vectors, metas)
        return builder.commit({"source": "audioset"})


def install_audioset_metadata() -> None:
    """Copy the real labels CSV and ontology into the current cache (their pins match)."""
    for path in (labels.default_labels_path(), labels.default_ontology_path()):
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(AUDIOSET_METADATA / path.name, path)


def strip_label_index(index_dir: Path) -> Path:
    """Make a freshly built index look published before the label index existed: delete
    its label index files and their manifest entries. Returns the version folder."""
    version = index_dir / (index_dir / CURRENT_FILE).read_text().strip()
    manifest = json.loads((version / MANIFEST_FILE).read_text())
    for name in (LABEL_OFFSETS_FILE, LABEL_ITEMS_FILE):
        del manifest["files"][name]
        (version / name).unlink()
    (version / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n")
    return version
