"""The variety rules of a listening session: no item, video or track twice, and, when on,
never two items of one owner in a row and at most a third of the session from any one.

An item's *owners* are what a listener would hear as "the same source again": a YouTube
channel, a library album, a library artist. A library index keeps each track's album and
artist tags (:mod:`musicrec_core.catalog.library.owners`), so :func:`catalog_owner` gives
a tagged track both (an album and an artist rule at once) and an untagged one itself.
AudioSet's channels are not in the offline files and an index built before owners were
kept has none, so there every video or track is its own owner (:func:`group_owner`). A
caller that knows owners (the channels of a titles lookup) passes its own function.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection

from musicrec_core.catalog.index import CatalogIndex, ItemMeta
from musicrec_core.catalog.library.owners import track_owners

Owner = Callable[[ItemMeta], str | tuple[str, ...]]
"""An item's owner, or several (each one ruled on its own): an album and an artist."""


def group_owner(meta: ItemMeta) -> str:
    """Each video or track its own owner."""
    return meta.group


def catalog_owner(index: CatalogIndex) -> Owner:
    """The owners ``index`` knows: a library track's album and artist tags (an album named
    alike by two artists is one album), its own group for a track without either;
    :func:`group_owner` for an index that keeps no tags."""
    owners = track_owners(index)
    if not owners:
        return group_owner

    def tagged(meta: ItemMeta) -> str | tuple[str, ...]:
        owner = owners.get(meta.group)
        if not owner:
            return meta.group
        keys = (("album", owner.album), ("artist", owner.artist))
        return tuple(f"{kind}:{name.casefold()}" for kind, name in keys if name)

    return tagged


def owner_cap(length: int) -> int:
    """Most items of one owner in a session of ``length``: a third, at least one."""
    return max(1, length // 3)


class Variety:
    """The rules for one session of ``length`` items (``rules``: the owner rules on).

    ``excluded`` groups (the seeds, A and B) are never allowed."""

    def __init__(
        self,
        length: int,
        *,
        rules: bool = True,
        owner: Owner = group_owner,
        excluded: Collection[str] = (),
    ) -> None:
        self._cap = owner_cap(length) if rules else length
        self._rules = rules
        self._owner = owner
        self._used: set[str] = set(excluded)
        self._counts: Counter[str] = Counter()
        self._last: tuple[str, ...] = ()

    def _owners(self, meta: ItemMeta) -> tuple[str, ...]:
        found = self._owner(meta)
        return (found,) if isinstance(found, str) else found

    def allows(self, meta: ItemMeta) -> bool:
        """Whether ``meta``'s item may come next."""
        if meta.group in self._used:
            return False
        if not self._rules:
            return True
        return all(
            owner not in self._last and self._counts[owner] < self._cap
            for owner in self._owners(meta)
        )

    def take(self, meta: ItemMeta) -> None:
        """Record ``meta``'s item as the next one played."""
        self._used.add(meta.group)
        self._last = self._owners(meta)
        self._counts.update(self._last)
