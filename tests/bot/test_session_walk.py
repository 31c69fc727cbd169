"""The sessions cog's walk: gone videos are left out and the walk goes on in their place,
the titles found are kept for the pages, the session is stored for its buttons, and a
steered /path steps only on tracks carrying its words."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path
from types import SimpleNamespace

import pytest

from bot.cogs.sessions import SessionsCog
from bot.session_seeds import HeardSeed
from bot.session_store import SessionStore
from musicrec_core.catalog.index import CatalogIndex
from musicrec_core.recommender import Recommender
from musicrec_core.sessions import mix
from musicrec_core.steering import Vocabulary
from musicrec_core.steering.filter import LabelSteering
from musicrec_core.titles.cache import TitleCache
from musicrec_core.titles.lookup import TitleLookup
from musicrec_core.titles.oembed import OEmbedClient
from tests.bot.helpers import make_interaction
from tests.core.sessions.catalogs import arc_ends, build_arc_catalog, build_catalog, random_unit
from tests.helpers.band_embedder import BandEnergyEmbedder
from tests.helpers.http_server import LocalHTTPServer
from tests.helpers.oembed import OEmbedStandIn, video

ITEMS = 12


@pytest.fixture
def catalog(tmp_path: Path) -> Iterator[CatalogIndex]:
    build_catalog(tmp_path / "index", random_unit(ITEMS, seed=11), [video(n) for n in range(ITEMS)])
    with CatalogIndex.load(tmp_path / "index") as index:
        yield index


@pytest.fixture
def stand_in(http_server: LocalHTTPServer) -> OEmbedStandIn:
    stand_in = OEmbedStandIn(http_server)
    for n in (*range(ITEMS), 99):
        stand_in.found(video(n), f"Song {n}", channel=f"Band {n}")
    return stand_in


@pytest.fixture
def titles(stand_in: OEmbedStandIn, tmp_path: Path) -> Iterator[TitleLookup]:
    client = OEmbedClient(stand_in.endpoint, timeout_s=10)
    client.ask(video(99))  # the endpoint has answered once: a 404 now means gone
    with TitleLookup(client, TitleCache(tmp_path / "titles.sqlite3"), budget_s=30) as lookup:
        yield lookup


async def test_a_gone_video_is_replaced_and_titles_are_kept(catalog, stand_in, titles) -> None:
    service = SimpleNamespace(recommender=Recommender(catalog, BandEnergyEmbedder()), titles=titles)
    store = SessionStore()
    cog = SessionsCog(SimpleNamespace(service=service), store)
    seed = HeardSeed("seed", catalog.vector(0), frozenset({video(0)}))
    interaction = make_interaction(None, user_id=42)

    plain = mix(catalog, [seed.vector], 5, exclude_groups=seed.own_groups)
    walked = [item.meta.group for item in plain.items]
    gone = walked[1]
    stand_in.gone(gone)

    session_id, stored = await cog._mixed(interaction, [seed], [], 5, None)
    groups = [item.meta.group for item in stored.session.items]
    assert len(groups) == 5 and gone not in groups and groups[0] == walked[0]
    assert stored.session.shortfall is None
    assert stored.answers[groups[0]].title == f"Song {int(groups[0][3:])}"
    assert store.get(session_id, member=42, catalog=catalog.fingerprint) is stored


@pytest.fixture
def arc(tmp_path: Path) -> Iterator[tuple[CatalogIndex, dict[str, str]]]:
    tags = build_arc_catalog(tmp_path / "arc")
    with CatalogIndex.load(tmp_path / "arc") as index:
        yield index, tags


def served(index: CatalogIndex) -> SimpleNamespace:
    """A service serving ``index`` (held as the recommender holds it), no title lookup."""
    return SimpleNamespace(
        recommender=SimpleNamespace(held_index=lambda: nullcontext(index)), titles=None
    )


async def test_a_steered_path_steps_only_on_tracks_carrying_the_words(arc) -> None:
    index, tags = arc
    cog = SessionsCog(SimpleNamespace(service=served(index)), SessionStore())
    a, b = (HeardSeed(name, end, frozenset()) for name, end in zip("AB", arc_ends(), strict=True))
    steering = LabelSteering.from_words(Vocabulary.for_tags("mtt"), ["piano"], [])
    interaction = make_interaction(None)

    _, stored = await cog._pathed(interaction, [a, b], 6, steering)
    assert stored.kind == "path" and len(stored.session.items) >= 4
    assert {tags[item.meta.group] for item in stored.session.items} == {"piano"}
    assert "Steering: more piano" in "\n".join(stored.notes)
    _, plain = await cog._pathed(interaction, [a, b], 6, None)
    assert {tags[item.meta.group] for item in plain.session.items} == {"piano", "techno"}
