"""The index in service: replaced in one step, closed only when no query reads it.

Mental model: an :class:`IndexSlot` holds the one index new queries search. A query takes
the slot's index once (:meth:`IndexSlot.using`) and is counted in flight on *that* index
until it ends, so installing another index never changes the one under a running query.
The replaced index is then *retired* (:meth:`IndexSlot.retire`): wait a bounded time for
its queries, close it; if some still run after that, the last of them closes it. An index
is never closed while a query reads it, since Annoy would then read unmapped memory (a
segfault), and no caller waits without bound.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator

from musicrec_core.catalog.index.loaded import CatalogIndex

SWAP_WAIT_S = 60.0
"""Seconds :meth:`IndexSlot.retire` waits for the queries still on a replaced index; after
that the last of them closes it."""

logger = logging.getLogger(__name__)


class IndexSlot:
    """Holds the index new queries use; thread-safe.

    Args:
        index: the index to serve first.
    """

    def __init__(self, index: CatalogIndex) -> None:
        self._index = index
        self._state = threading.Condition()
        self._in_flight: dict[int, int] = {}  # id(index) -> queries running on it
        self._retiring: dict[int, CatalogIndex] = {}  # closed by the last query releasing it

    @property
    def index(self) -> CatalogIndex:
        """The index new queries use."""
        return self._index

    @contextlib.contextmanager
    def using(self) -> Iterator[CatalogIndex]:
        """The index to use for one whole query, counted as in flight until the block ends
        (a retired index whose last query this is gets closed on the way out)."""
        with self._state:
            index = self._index
            self._in_flight[id(index)] = self._in_flight.get(id(index), 0) + 1
        try:
            yield index
        finally:
            with self._state:
                remaining = self._in_flight.pop(id(index)) - 1
                if remaining:
                    self._in_flight[id(index)] = remaining
                retired = None if remaining else self._retiring.pop(id(index), None)
                self._state.notify_all()
            if retired is not None:
                _close(retired)

    def install(self, new_index: CatalogIndex) -> CatalogIndex:
        """Make ``new_index`` the one new queries use; returns the previous one (not closed)."""
        with self._state:
            old, self._index = self._index, new_index
            self._retiring.pop(id(new_index), None)
        return old

    def retire(self, old: CatalogIndex, wait_s: float = SWAP_WAIT_S) -> None:
        """Close ``old``, an index no longer installed, once no query uses it.

        Waits up to ``wait_s`` seconds for its queries; if some still run then, returns and
        leaves the closing to the last of them (logged). Never raises: a failing close is
        logged, since the swap it ends is already done.
        """
        with self._state:
            if old is self._index:
                return  # installed again meanwhile: it serves on
            if not self._state.wait_for(lambda: not self._in_flight.get(id(old)), wait_s):
                self._retiring[id(old)] = old
                logger.warning(
                    "queries on the replaced index %s still run after %.0f s; the last of "
                    "them will close it",
                    old.directory,
                    wait_s,
                )
                return
        _close(old)


def _close(index: CatalogIndex) -> None:
    """Close an index no query uses any more; a failure is logged."""
    try:
        index.close()
    except Exception:
        logger.exception("closing the replaced index %s failed", index.directory)
