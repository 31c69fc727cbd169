"""A steered mix or path plays only tracks carrying its words (a library's stored tags)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from musicrec_core.catalog.index import CatalogIndex, IndexBuilder, ItemMeta
from musicrec_core.embedders.base import Tag
from musicrec_core.sessions import mix, path
from musicrec_core.steering import Vocabulary
from musicrec_core.steering.filter import LabelSteering
from tests.core.sessions.catalogs import arc_ends, build_arc_catalog
from tests.helpers.small_index import MUSICNN_MTT, random_vectors


def test_only_tracks_carrying_the_word_are_played(tmp_path: Path) -> None:
    tags = {f"track{i:02d}": "piano" if i % 2 else "techno" for i in range(20)}
    metas = [ItemMeta(group=g, start_s=0.0, end_s=10.0, labels=(t,)) for g, t in tags.items()]
    with IndexBuilder(tmp_path / "index", embedder=MUSICNN_MTT, pooling="mean") as builder:
        builder.add_many(random_vectors(20, MUSICNN_MTT.dim, seed=2), metas)
        for group, tag in tags.items():
            builder.set_track_tags(group, (Tag(tag, 0.75),))
        builder.commit({"library": {"tracks": 20}})
    steering = LabelSteering.from_words(Vocabulary.for_tags("mtt"), ["piano"], [])
    with CatalogIndex.load(tmp_path / "index") as index:
        seed = index.vector(0)  # a techno track
        steered = mix(index, [seed], 20, steering=steering, exclude_groups={"track00"})
        plain = mix(index, [seed], 20, exclude_groups={"track00"})
    assert {tags[item.meta.group] for item in steered.items} == {"piano"}
    assert len(steered.items) == 10 and "Only 10 of the 20" in steered.shortfall
    assert {tags[item.meta.group] for item in plain.items} == {"piano", "techno"}
    assert np.isfinite([item.to_seeds for item in steered.items]).all()


def test_a_steered_path_steps_only_on_tracks_carrying_the_word(tmp_path: Path) -> None:
    """24 tracks spread along the arc from A (axis 0) to B (axis 1), piano and techno in
    turn: the plain path steps on both, the steered one on piano only."""
    tags = build_arc_catalog(tmp_path / "index")
    steering = LabelSteering.from_words(Vocabulary.for_tags("mtt"), ["piano"], [])
    a, b = arc_ends()
    with CatalogIndex.load(tmp_path / "index") as index:
        steered = path(index, a, b, 6, steering=steering)
        plain = path(index, a, b, 6)
    assert len(steered.items) >= 4
    assert {tags[item.meta.group] for item in steered.items} == {"piano"}
    assert {tags[item.meta.group] for item in plain.items} == {"piano", "techno"}
