"""A steering that judges ranked candidates but cannot name its qualifying items (as a
text-audio model's would): the recommender falls back to the fixed-width post-filter. The
tests use it to show that path, the steering benchmark as its same-run baseline."""

from __future__ import annotations

from collections.abc import Sequence

from musicrec_core.catalog.index import CatalogIndex
from musicrec_core.catalog.ranking import Found
from musicrec_core.steering.filter import Steering
from musicrec_core.steering.qualifying import Qualifying


class WidthOnly:
    """``inner`` without its :meth:`~Steering.qualifying`: only :meth:`admits` is used."""

    def __init__(self, inner: Steering) -> None:
        self.inner = inner

    def qualifying(self, index: CatalogIndex) -> Qualifying | None:
        return None

    def admits(self, index: CatalogIndex, candidates: Sequence[Found]) -> list[bool]:
        return self.inner.admits(index, candidates)

    def describe(self) -> str:
        return self.inner.describe()

    def to_json(self) -> dict[str, object]:
        return self.inner.to_json()
