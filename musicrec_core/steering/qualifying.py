"""Every item of a catalog that carries a steering's labels or tags, named at once.

Steering and discovery both ask "which items qualify?" of the whole catalog:

- AudioSet: the label index (:meth:`CatalogIndex.label_items`: label -> the ids of its
  segments, one slice each) gives, per requirement, the segments carrying one of its
  labels; requirements intersect and exclusions are taken out in boolean masks.
- musicnn library: the tracks whose stored tags (read once per loaded index,
  :func:`~musicrec_core.catalog.index.tracks.tags_by_track`) satisfy ``carries``, and
  their items.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

import numpy as np

from musicrec_core.catalog.index import CatalogIndex
from musicrec_core.catalog.index.label_items import LabelItems
from musicrec_core.catalog.index.tracks import first_items, items_of_groups, tags_by_track
from musicrec_core.steering.carried_tags import carried_tags
from musicrec_core.steering.vocabulary import Vocabulary

__all__ = [
    "Qualifying",
    "label_id_sets",
    "qualifying_items",
    "qualifying_segments",
    "qualifying_tracks",
    "tracks_qualifying",
]


@dataclass(frozen=True)
class Qualifying:
    """The items of a catalog that qualify.

    Attributes:
        items: their ids, ascending, int32 [n] (every window of a qualifying track).
        count: how many qualify, in ``unit``s (segments; tracks for a library).
        unit: "segment" or "track".
    """

    items: np.ndarray
    count: int
    unit: str


def qualifying_segments(
    index: CatalogIndex,
    vocabulary: Vocabulary,
    required: Sequence[Collection[int | str]],
    excluded: Collection[int | str],
) -> Qualifying:
    """The segments of an AudioSet ``index`` carrying, for each of ``required``, one of its
    classes (the vocabulary's class indices), and none of ``excluded``."""
    wanted, unwanted = label_id_sets(index, vocabulary, required, excluded)
    items = qualifying_items(index.label_items(), wanted, unwanted, len(index))
    return Qualifying(items, len(items), "segment")


def tracks_qualifying(
    index: CatalogIndex, carries: Callable[[frozenset[int | str]], bool], threshold: float
) -> list[str]:
    """The library tracks whose carried tags (:func:`carried_tags` at ``threshold``) satisfy
    ``carries``, in the order of their first items."""
    tags = tags_by_track(index)
    return [
        group
        for group in first_items(index)
        if carries(carried_tags(tags.get(group, ()), threshold))
    ]


def qualifying_tracks(
    index: CatalogIndex, carries: Callable[[frozenset[int | str]], bool], threshold: float
) -> Qualifying:
    """Every item of the library tracks :func:`tracks_qualifying` names."""
    groups = tracks_qualifying(index, carries, threshold)
    return Qualifying(items_of_groups(index, set(groups)), len(groups), "track")


def qualifying_items(
    label_items: LabelItems,
    wanted: Sequence[Sequence[int]],
    unwanted: Sequence[int],
    item_count: int,
) -> np.ndarray:
    """The sorted ids (int32) of the items carrying, for each id list of ``wanted``, one of
    its labels, and none of ``unwanted`` (index label ids); all items when nothing is
    wanted."""
    if len(wanted) == 1 and not unwanted:
        return label_items.items_with_any(wanted[0], item_count)
    keep = np.ones(item_count, dtype=bool)
    for ids in wanted:
        keep &= label_items.mask_of(ids, item_count)
    if unwanted:
        keep &= ~label_items.mask_of(unwanted, item_count)
    return np.flatnonzero(keep).astype(np.int32)


def label_id_sets(
    index: CatalogIndex,
    vocabulary: Vocabulary,
    required: Sequence[Collection[int | str]],
    excluded: Collection[int | str],
) -> tuple[list[list[int]], list[int]]:
    """The index label ids of each requirement's classes, and of the excluded classes."""
    class_of: dict[int, int] = {}
    for label_id, name in enumerate(index.label_names):  # the builder numbers from 0
        try:
            class_of[label_id] = vocabulary.label_index(name)
        except KeyError:
            continue

    def ids_of(classes: Collection[int | str]) -> list[int]:
        return [label_id for label_id, index_class in class_of.items() if index_class in classes]

    return [ids_of(classes) for classes in required], ids_of(excluded)
