"""The variety rules of a listening session: no item, video or track twice, and, when on,
never two items of one owner in a row and at most a third of the session from any one.

An item's *owners* are what a listener would hear as "the same source again": a YouTube
channel, a library album, a library artist. A library index keeps each track's album and
artist tags (:mod:`musicrec_core.catalog.library.owners`), so :func:`catalog_owner` gives
a tagged track both (an album and an artist rule at once) and an untagged one itself.
AudioSet's channels are not in the offline files and an index built before owners were
kept has none, so there every video or track is its own owner (:func:`group_owner`) until
a titles lookup names its channel: :func:`catalog_owner` with ``channels`` (what
:mod:`musicrec_core.sessions.playable` learns) makes a video of a known channel that
channel's (:func:`channel_owner`). A caller that knows other owners passes its own function.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Sequence

from musicrec_core.catalog.index import CatalogIndex, ItemMeta
from musicrec_core.catalog.library.owners import track_owners

Owner = Callable[[ItemMeta], str | tuple[str, ...]]
"""An item's owner, or several (each one ruled on its own): an album and an artist."""
ChannelOf = Callable[[str], str | None]
"""A group's YouTube channel name, or None where it is not known (a library track, a video
not looked up)."""


def group_owner(meta: ItemMeta) -> str:
    """Each video or track its own owner."""
    return meta.group


def channel_owner(channels: ChannelOf, otherwise: Owner = group_owner) -> Owner:
    """A video's channel where ``channels`` knows it (names compared without case: two
    channels named alike count as one, stricter, never looser), else ``otherwise``'s
    owners (an unknown channel: by default the video its own owner)."""

    def owner(meta: ItemMeta) -> str | tuple[str, ...]:
        channel = channels(meta.group)
        return otherwise(meta) if channel is None else f"channel:{channel.casefold()}"

    return owner


def catalog_owner(index: CatalogIndex, channels: ChannelOf | None = None) -> Owner:
    """The owners ``index`` knows: a library track's album and artist tags (an album named
    alike by two artists is one album), its own group for a track without either;
    :func:`group_owner` for an index that keeps no tags. ``channels``: the YouTube channels
    known, which take the place of those (:func:`channel_owner`)."""
    tagged = _tag_owner(index)
    return tagged if channels is None else channel_owner(channels, tagged)


def _tag_owner(index: CatalogIndex) -> Owner:
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


def rule_breakers(metas: Sequence[ItemMeta], length: int, owner: Owner) -> list[int]:
    """Positions in ``metas`` (a session of ``length`` asked, in play order) that the owner
    rules refuse when the others before them are kept: drop them and the rest holds."""
    rules = Variety(length, owner=owner)
    refused = []
    for position, meta in enumerate(metas):
        if rules.allows(meta):
            rules.take(meta)
        else:
            refused.append(position)
    return refused
