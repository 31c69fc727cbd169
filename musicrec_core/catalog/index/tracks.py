"""A library index's tracks, read once per loaded index: each item's group, each track's
first item and tags.

Ranking (track profiles), steering and discovery on a library need, per query, which
items make up which track and which tags each track carries. An index is immutable once
published, so both tables are read on first use (one pass over the ``items`` table: about
2 s per 100k items; the ``track_tags`` table) and kept while the loaded index lives.
Meant for library indexes (at most a few hundred thousand items): an AudioSet catalog's
million groups would be held as a million strings.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import TypeVar

import numpy as np

from musicrec_core.catalog.index.loaded import CatalogIndex
from musicrec_core.catalog.index.manifest import TrackTag

__all__ = ["first_items", "first_items_if_read", "item_groups", "items_of_groups", "tags_by_track"]

_META_CHUNK = 5_000
"""Items whose metadata one SQLite query fetches."""

_T = TypeVar("_T")
_lock = threading.RLock()  # tags_by_track reads item_groups while holding it
_groups: weakref.WeakKeyDictionary[CatalogIndex, tuple[str, ...]] = weakref.WeakKeyDictionary()
_first: weakref.WeakKeyDictionary[CatalogIndex, dict[str, int]] = weakref.WeakKeyDictionary()
_tags: weakref.WeakKeyDictionary[CatalogIndex, dict[str, tuple[TrackTag, ...]]] = (
    weakref.WeakKeyDictionary()
)


def item_groups(index: CatalogIndex) -> tuple[str, ...]:
    """The group (track key, video id) of each item ``0..len(index)-1``."""
    return _cached(_groups, index, _read_groups)


def first_items(index: CatalogIndex) -> dict[str, int]:
    """Each group's first (lowest) item id, groups in the order of those ids (the caller
    must not change the dict: it is kept for the next)."""
    return _cached(_first, index, _first_of_groups)


def first_items_if_read(index: CatalogIndex) -> dict[str, int] | None:
    """:func:`first_items` of ``index`` when something already read it, else None; never
    waits (not even for a read in progress), so an event loop may call it."""
    return _first.get(index)


def items_of_groups(index: CatalogIndex, groups: set[str]) -> np.ndarray:
    """The ascending ids (int32) of every item belonging to one of ``groups``."""
    return np.array(
        [item_id for item_id, group in enumerate(item_groups(index)) if group in groups],
        dtype=np.int32,
    )


def tags_by_track(index: CatalogIndex) -> dict[str, tuple[TrackTag, ...]]:
    """Every track's stored tags, best first (:meth:`CatalogIndex.track_tags`); tracks
    without tags are left out."""
    return _cached(_tags, index, lambda opened: opened.track_tags(first_items(opened)))


def _cached(
    cache: weakref.WeakKeyDictionary[CatalogIndex, _T],
    index: CatalogIndex,
    read: Callable[[CatalogIndex], _T],
) -> _T:
    with _lock:
        if index not in cache:
            cache[index] = read(index)
        return cache[index]


def _first_of_groups(index: CatalogIndex) -> dict[str, int]:
    first: dict[str, int] = {}
    for item_id, group in enumerate(item_groups(index)):
        first.setdefault(group, item_id)
    return first


def _read_groups(index: CatalogIndex) -> tuple[str, ...]:
    total = len(index)
    return tuple(
        meta.group
        for start in range(0, total, _META_CHUNK)
        for meta in index.metas(range(start, min(total, start + _META_CHUNK)))
    )
