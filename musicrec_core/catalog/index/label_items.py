"""The label index of a catalog: which items carry each label (label -> item ids).

Layout: ``offsets`` int64 [label_count + 1] and ``items`` int32 [pairs]; the items carrying
the index's label id ``l`` (the ``labels`` table's id in ``meta.sqlite``) are
``items[offsets[l]:offsets[l + 1]]``, ascending. One label's items are one slice, so
asking for a label costs a few microseconds plus copying its ids, whatever the catalog's
size.

An index built with this module keeps the two arrays as :data:`LABEL_OFFSETS_FILE` and
:data:`LABEL_ITEMS_FILE` beside its other files, listed in the manifest (size, sha256) and
published with them; they are memory-mapped on first use. An index published before has
neither: :meth:`LabelItems.from_meta` derives the same arrays from its own metadata
(about a second per million items), kept in memory by the loaded index, never written
into the published folder (its files are immutable and proved by the manifest).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from musicrec_core.catalog.index.manifest import META_FILE

LABEL_OFFSETS_FILE = "label_offsets.npy"
"""Per index label id, where its items start in :data:`LABEL_ITEMS_FILE` (int64)."""
LABEL_ITEMS_FILE = "label_items.npy"
"""The item ids of each label in turn, ascending within a label (int32)."""


class LabelItems:
    """label id -> the ids of the items carrying it (see the module docstring).

    Attributes:
        offsets: int64 [label_count + 1].
        items: int32 [pairs].
    """

    def __init__(self, offsets: np.ndarray, items: np.ndarray) -> None:
        self.offsets = offsets
        self.items = items

    @property
    def label_count(self) -> int:
        return len(self.offsets) - 1

    def count(self, label_id: int) -> int:
        """How many items carry label ``label_id`` (0 for an id the index lacks)."""
        if not 0 <= label_id < self.label_count:
            return 0
        return int(self.offsets[label_id + 1] - self.offsets[label_id])

    def items_with_any(self, label_ids: Iterable[int], item_count: int) -> np.ndarray:
        """The sorted, distinct ids (int32) of the items carrying any of ``label_ids``, in
        an index of ``item_count`` items. One label is one slice copied; several are
        marked in a boolean mask [item_count] (a few ms for 1M items, where sorting their
        concatenation took hundreds)."""
        slices = self._slices(label_ids)
        if len(slices) == 1:
            return np.array(slices[0], dtype=np.int32)
        return np.flatnonzero(self.mask(slices, item_count)).astype(np.int32)

    def mask(self, slices: list[np.ndarray], item_count: int) -> np.ndarray:
        """bool [item_count]: True for the items in any of ``slices``."""
        marked = np.zeros(item_count, dtype=bool)
        for items in slices:
            marked[items] = True
        return marked

    def _slices(self, label_ids: Iterable[int]) -> list[np.ndarray]:
        return [
            self.items[self.offsets[i] : self.offsets[i + 1]]
            for i in label_ids
            if 0 <= i < self.label_count
        ]

    def mask_of(self, label_ids: Iterable[int], item_count: int) -> np.ndarray:
        """bool [item_count]: True for the items carrying any of ``label_ids``."""
        return self.mask(self._slices(label_ids), item_count)

    @classmethod
    def from_label_texts(
        cls, item_ids: np.ndarray, label_texts: list[str], label_count: int
    ) -> LabelItems:
        """Build from each item's ``label_ids`` column text ("3,17", "" for none).

        Args:
            item_ids: int [n], ascending.
            label_texts: n comma-separated label id lists.
            label_count: the number of label ids (the ``labels`` table's rows).
        """
        per_item = np.fromiter(
            (text.count(",") + 1 if text else 0 for text in label_texts),
            dtype=np.int64,
            count=len(label_texts),
        )
        joined = ",".join(text for text in label_texts if text)
        labels = np.array(joined.split(",") if joined else [], dtype=np.int64)
        owners = np.repeat(np.asarray(item_ids, dtype=np.int32), per_item)
        order = np.argsort(labels, kind="stable")  # items stay ascending within a label
        counts = np.bincount(labels, minlength=label_count)
        offsets = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        return cls(offsets, owners[order])

    @classmethod
    def from_meta(cls, db: sqlite3.Connection) -> LabelItems:
        """Derive from an index's metadata database (its ``items`` and ``labels``)."""
        (label_count,) = db.execute("SELECT count(*) FROM labels").fetchone()
        rows = db.execute("SELECT id, label_ids FROM items ORDER BY id").fetchall()
        item_ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
        return cls.from_label_texts(item_ids, [row[1] for row in rows], label_count)

    @classmethod
    def of_version(cls, directory: Path, *, stored: bool) -> LabelItems:
        """A published version folder's label index: its files, memory-mapped, or when not
        ``stored`` (an index built before them) derived from its metadata database through
        a read-only connection of its own, so the loaded index's connection stays free."""
        if stored:
            return cls.load(directory)
        meta = (directory / META_FILE).resolve().as_uri()
        db = sqlite3.connect(f"{meta}?mode=ro&immutable=1", uri=True)
        try:
            return cls.from_meta(db)
        finally:
            db.close()

    def save(self, directory: Path) -> tuple[str, str]:
        """Write both files into ``directory``; returns their names."""
        np.save(directory / LABEL_OFFSETS_FILE, self.offsets)
        np.save(directory / LABEL_ITEMS_FILE, self.items)
        return LABEL_OFFSETS_FILE, LABEL_ITEMS_FILE

    @classmethod
    def load(cls, directory: Path) -> LabelItems:
        """Memory-map both files of a version folder (read-only)."""
        return cls(
            np.load(directory / LABEL_OFFSETS_FILE, mmap_mode="r"),
            np.load(directory / LABEL_ITEMS_FILE, mmap_mode="r"),
        )
