"""The variety rules of a listening session: no item, video or track twice, and, when on,
never two items of one owner in a row and at most a third of the session from any one.

An item's *owner* is what a listener would hear as "the same source again": a YouTube
channel, a library album or artist. Neither is known here: AudioSet's channels are not in
the offline files, and a library index keeps no album or artist tags (``ItemMeta`` holds
the track key, title, window and file path only), so :func:`group_owner` makes each video
or track its own owner. A caller that knows owners passes its own function.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection

from musicrec_core.catalog.index import ItemMeta

Owner = Callable[[ItemMeta], str]


def group_owner(meta: ItemMeta) -> str:
    """Each video or track its own owner (no channel or album is known offline)."""
    return meta.group


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
        self._last: str | None = None

    def allows(self, meta: ItemMeta) -> bool:
        """Whether ``meta``'s item may come next."""
        if meta.group in self._used:
            return False
        if not self._rules:
            return True
        owner = self._owner(meta)
        return owner != self._last and self._counts[owner] < self._cap

    def take(self, meta: ItemMeta) -> None:
        """Record ``meta``'s item as the next one played."""
        owner = self._owner(meta)
        self._used.add(meta.group)
        self._counts[owner] += 1
        self._last = owner
