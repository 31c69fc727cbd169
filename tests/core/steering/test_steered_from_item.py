"""A "More like" re-query keeps its reply's steering: ``recommend_from_item(steering=)``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from musicrec_core.catalog.index import CatalogIndex, IndexBuilder, ItemMeta
from musicrec_core.recommender import Recommender
from musicrec_core.steering import LabelSteering, Vocabulary
from tests.helpers.band_embedder import BandEnergyEmbedder

LABELS = (("Music", "Jazz"), ("Music", "Piano"))
"""Segment i carries LABELS[i % 2]: the odd ones are piano."""


def test_a_steered_requery_from_an_item_keeps_only_qualifying_groups(
    tmp_path: Path, audioset_vocabulary: Vocabulary
) -> None:
    embedder = BandEnergyEmbedder()
    angles = np.linspace(0.0, 1.4, 12)
    vectors = np.zeros((12, 16), dtype=np.float32)
    vectors[:, 0], vectors[:, 1] = np.cos(angles), np.sin(angles)
    metas = [
        ItemMeta(group=f"vid{i:02d}", start_s=0.0, end_s=10.0, labels=LABELS[i % 2])
        for i in range(12)
    ]
    with IndexBuilder(tmp_path / "index", embedder=embedder.id, pooling="mean") as builder:
        builder.add_many(vectors, metas)
        builder.commit({"source": "audioset"})
    steering = LabelSteering.from_words(audioset_vocabulary, ["piano"], [])
    with Recommender(CatalogIndex.load(tmp_path / "index"), embedder) as recommender:
        plain = recommender.recommend_from_item(0, 3)
        result = recommender.recommend_from_item(0, 3, steering=steering)
    assert [item.group for item in plain.items] == ["vid01", "vid02", "vid03"]
    assert plain.steering is None
    assert [item.group for item in result.items] == ["vid01", "vid03", "vid05"]
    assert result.steering is not None and result.steering.qualified == 6
    assert result.steering.steering is steering
