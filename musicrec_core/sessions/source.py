"""Where a session reads its catalog: a Recommender's current index (held for the call, as
a query holds it, so a reload meanwhile does not close it) or a CatalogIndex itself."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from musicrec_core.catalog.index import CatalogIndex
from musicrec_core.recommender import Recommender

IndexSource = Recommender | CatalogIndex


@contextmanager
def held(source: IndexSource) -> Iterator[CatalogIndex]:
    """The index ``source`` stands for, for the ``with`` block."""
    if isinstance(source, Recommender):
        with source.held_index() as index:
            yield index
    else:
        yield source
