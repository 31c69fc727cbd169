"""YouTube channels as owners: the channels a title lookup names after a walk are passed to
the next walk, so a crowded channel is spread out and capped, within MAX_WALKS walks."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pytest

from musicrec_core.catalog.index import CatalogIndex
from musicrec_core.sessions import mix, owner_cap
from musicrec_core.sessions.playable import MAX_WALKS, looked_up_session, playable_session
from musicrec_core.sessions.variety import ChannelOf
from musicrec_core.titles.cache import TitleCache
from musicrec_core.titles.lookup import TitleLookup
from musicrec_core.titles.oembed import OEmbedClient, VideoAnswer
from tests.core.sessions.catalogs import build_catalog, random_unit
from tests.helpers.oembed import OEmbedStandIn, video

ITEMS = 30
LENGTH = 9
SEED = video(0)


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> CatalogIndex:
    target = tmp_path_factory.mktemp("channels") / "index"
    build_catalog(target, random_unit(ITEMS, seed=5), [video(n) for n in range(ITEMS)])
    with CatalogIndex.load(target) as index:
        yield index


class Walks:
    """A mix of LENGTH from item 0 that records what each walk was given."""

    def __init__(self, catalog: CatalogIndex, *, variety: bool = True) -> None:
        self.catalog = catalog
        self.variety = variety
        self.excluded: list[frozenset[str]] = []

    def __call__(self, excluded: frozenset[str], channels: ChannelOf):
        self.excluded.append(excluded)
        return mix(
            self.catalog,
            [self.catalog.vector(0)],
            LENGTH,
            exclude_groups={SEED, *excluded},
            variety=self.variety,
            channels=channels,
        )


def answering(channel: Callable[[str], str | None]):
    """An answer source: every video asked is found, of ``channel(video)``."""
    asked: list[list[str]] = []

    def ask(groups: Sequence[str]) -> Mapping[str, VideoAnswer]:
        asked.append(list(groups))
        return {g: VideoAnswer(g, "found", f"Song {g}", channel(g)) for g in groups}

    return ask, asked


def channels_played(session, channel: Callable[[str], str | None]) -> list[str | None]:
    return [channel(item.meta.group) for item in session.items]


def holds_channel_rules(played: list[str | None]) -> bool:
    known = [c for c in played if c is not None]
    in_a_row = any(a is not None and a == b for a, b in zip(played, played[1:], strict=False))
    return not in_a_row and max(Counter(known).values(), default=0) <= owner_cap(LENGTH)


def plain_groups(catalog: CatalogIndex) -> list[str]:
    session = mix(catalog, [catalog.vector(0)], LENGTH, exclude_groups={SEED})
    return [item.meta.group for item in session.items]


def test_a_crowded_channel_is_spread_out_and_capped(catalog) -> None:
    crowd = set(plain_groups(catalog)[:6])  # the first six a walk without channels plays

    def channel(group: str) -> str:
        return "Crowd" if group in crowd else f"Band {group}"

    ask, asked = answering(channel)
    walks = Walks(catalog)
    session = playable_session(walks, ask)
    assert not holds_channel_rules([channel(g) for g in asked[0]])  # the first walk broke them
    played = channels_played(session, channel)
    assert holds_channel_rules(played) and played.count("Crowd") == owner_cap(LENGTH)
    assert len(session.items) == LENGTH and session.shortfall is None
    assert 2 <= len(walks.excluded) <= MAX_WALKS


def test_channel_names_differing_in_case_are_one_channel(catalog) -> None:
    crowd = plain_groups(catalog)[:6]

    def channel(group: str) -> str:
        return ("CROWD", "crowd")[crowd.index(group) % 2] if group in crowd else group

    session = playable_session(Walks(catalog), answering(channel)[0])
    played = [c.casefold() for c in channels_played(session, channel)]
    assert played.count("crowd") == owner_cap(LENGTH)


def test_unknown_channels_count_as_their_own(catalog) -> None:
    walks = Walks(catalog)
    session = playable_session(walks, answering(lambda group: None)[0])
    assert [item.meta.group for item in session.items] == plain_groups(catalog)
    assert len(walks.excluded) == 1


def test_no_variety_turns_the_channel_rules_off(catalog) -> None:
    walks = Walks(catalog, variety=False)
    session = playable_session(walks, answering(lambda group: "Crowd")[0], variety=False)
    assert len(session.items) == LENGTH and len(walks.excluded) == 1


def test_the_walk_bound_holds_and_the_last_clashes_are_dropped(catalog) -> None:
    walks = Walks(catalog)  # every video of one channel: each walk learns of more of it
    session = playable_session(walks, answering(lambda group: "Crowd")[0])
    assert len(walks.excluded) == MAX_WALKS
    played = channels_played(session, lambda group: "Crowd")
    assert holds_channel_rules(played) and 0 < len(played) < LENGTH
    assert f"left out: their YouTube channel, found after {MAX_WALKS} tries" in (
        session.shortfall or ""
    )


def test_channels_in_the_title_cache_rule_the_first_walk(catalog) -> None:
    crowd = set(plain_groups(catalog)[:6])

    def channel(group: str) -> str:
        return "Crowd" if group in crowd else f"Band {group}"

    def cached(groups: Sequence[str]) -> Mapping[str, VideoAnswer]:
        return {g: VideoAnswer(g, "found", "Song", channel(g)) for g in groups}

    walks = Walks(catalog)
    session = playable_session(walks, answering(channel)[0], cached=cached)
    assert len(walks.excluded) == 1
    assert holds_channel_rules(channels_played(session, channel))


def test_a_title_lookup_gives_the_channels(catalog, http_server, tmp_path: Path) -> None:
    crowd = set(plain_groups(catalog)[:6])
    stand_in = OEmbedStandIn(http_server)
    for n in range(ITEMS):
        group = video(n)
        stand_in.found(group, f"Song {n}", channel="Crowd" if group in crowd else f"Band {n}")
    cache = TitleCache(tmp_path / "titles.sqlite")
    with TitleLookup(OEmbedClient(stand_in.endpoint), cache, budget_s=10.0) as titles:
        session, answers = looked_up_session(Walks(catalog), titles)
    played = [answers[item.meta.group].channel for item in session.items]
    assert holds_channel_rules(played) and played.count("Crowd") == owner_cap(LENGTH)
    assert len(session.items) == LENGTH
