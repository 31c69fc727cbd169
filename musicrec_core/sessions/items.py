"""What a listening session returns: its items, each with the cosines that show its flow,
and a note when the catalog could not fill it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from musicrec_core.catalog.index import ItemMeta


@dataclass(frozen=True)
class MixItem:
    """One track of a mix.

    Attributes:
        item_id: the catalog item that plays (one window or segment of its group).
        meta: that item's metadata.
        to_previous: its cosine, in [-1, 1], to the item before it (the first item: to the
            last seed).
        to_seeds: its cosine to the seeds' mean direction.
    """

    item_id: int
    meta: ItemMeta
    to_previous: float
    to_seeds: float

    def to_json(self) -> dict[str, object]:
        return {
            **_meta_json(self.item_id, self.meta),
            "to_previous": round(self.to_previous, 4),
            "to_seeds": round(self.to_seeds, 4),
        }


@dataclass(frozen=True)
class PathItem:
    """One step of a path from A to B.

    Attributes:
        item_id: the catalog item that plays.
        meta: that item's metadata.
        to_a: its cosine, in [-1, 1], to A.
        to_b: its cosine to B.
    """

    item_id: int
    meta: ItemMeta
    to_a: float
    to_b: float

    def to_json(self) -> dict[str, object]:
        return {
            **_meta_json(self.item_id, self.meta),
            "to_a": round(self.to_a, 4),
            "to_b": round(self.to_b, 4),
        }


Item = TypeVar("Item", MixItem, PathItem)


@dataclass(frozen=True)
class Session(Generic[Item]):
    """A mix or a path.

    Attributes:
        items: the tracks in play order.
        asked: how many were asked for (a mix's length, a path's steps).
        shortfall: why fewer than ``asked`` came back (None when all did).
    """

    items: tuple[Item, ...]
    asked: int
    shortfall: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "asked": self.asked,
            "returned": len(self.items),
            "shortfall": self.shortfall,
            "items": [item.to_json() for item in self.items],
        }


def _meta_json(item_id: int, meta: ItemMeta) -> dict[str, object]:
    return {
        "item_id": item_id,
        "group": meta.group,
        "kind": meta.kind,
        "title": meta.title,
        "labels": list(meta.labels),
        "source": meta.source,
        "start_s": meta.start_s,
        "end_s": meta.end_s,
    }
