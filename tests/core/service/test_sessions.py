"""Sessions served (the walks /mix, /path, /v1/mix and /v1/path run): seeds heard together,
one that fails named while the others go on; gone videos are left out and the walk goes on
in their place, the titles found kept; and a steered path steps only on tracks carrying its
words."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path
from types import SimpleNamespace
from unittest.mock import MagicMock

import numpy as np
import pytest

from musicrec_core.catalog.index import CatalogIndex
from musicrec_core.clip import Provenance
from musicrec_core.errors import FetchError, SessionError
from musicrec_core.recommender import RecommendationSet, Recommender
from musicrec_core.service.request import AudioRequest, LocalFile, Requester
from musicrec_core.service.sessions import (
    FailedSeed,
    HeardSeed,
    SeedRequest,
    hear_seeds,
    walk_mix,
    walk_path,
)
from musicrec_core.sessions import mix
from musicrec_core.sources.youtube import parse_youtube_link
from musicrec_core.steering import Vocabulary
from musicrec_core.steering.filter import LabelSteering
from musicrec_core.titles.cache import TitleCache
from musicrec_core.titles.lookup import TitleLookup
from musicrec_core.titles.oembed import OEmbedClient
from tests.core.sessions.catalogs import arc_ends, build_arc_catalog, build_catalog, random_unit
from tests.helpers.band_embedder import BandEnergyEmbedder
from tests.helpers.http_server import LocalHTTPServer
from tests.helpers.oembed import OEmbedStandIn, video

ITEMS = 12
LINK = "https://youtu.be/dQw4w9WgXcQ"


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
    seed = HeardSeed("seed", catalog.vector(0), frozenset({video(0)}))

    plain = mix(catalog, [seed.vector], 5, exclude_groups=seed.own_groups)
    walked = [item.meta.group for item in plain.items]
    gone = walked[1]
    stand_in.gone(gone)

    session = await walk_mix(service, [seed], 5)
    groups = [item.meta.group for item in session.session.items]
    assert len(groups) == 5 and gone not in groups and groups[0] == walked[0]
    assert session.session.shortfall is None
    assert session.answers[groups[0]].title == f"Song {int(groups[0][3:])}"
    assert session.catalog == catalog.fingerprint


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
    service = served(index)
    a, b = (HeardSeed(name, end, frozenset()) for name, end in zip("AB", arc_ends(), strict=True))
    steering = LabelSteering.from_words(Vocabulary.for_tags("mtt"), ["piano"], [])

    steered = await walk_path(service, a, b, 6, steering)
    assert len(steered.session.items) >= 4
    assert {tags[item.meta.group] for item in steered.session.items} == {"piano"}
    plain = await walk_path(service, a, b, 6)
    assert {tags[item.meta.group] for item in plain.session.items} == {"piano", "techno"}


async def test_a_seed_that_cannot_be_heard_is_named_and_the_others_go_on() -> None:
    vector = np.ones(4, np.float32)
    asked: list[Requester] = []

    async def seed(requester: Requester, request: AudioRequest) -> RecommendationSet:
        asked.append(requester)
        if request.link is not None:
            raise FetchError("That video is private.")
        query = Provenance("attachment", "a.mp3", content_sha256="ab" * 32)
        return RecommendationSet(query, vector, (), (), "0123abcd")

    requests = [
        SeedRequest("a.mp3", AudioRequest(upload=LocalFile(Path("a.mp3"), "a.mp3"))),
        SeedRequest(LINK, AudioRequest(link=parse_youtube_link(LINK))),
    ]
    member = Requester(member=42, server=1)
    heard, failed = await hear_seeds(SimpleNamespace(seed=seed), member, requests)
    assert [(s.name, s.own_groups) for s in heard] == [("a.mp3", frozenset({"ab" * 32}))]
    assert [(f.name, f.reason) for f in failed] == [(LINK, "That video is private.")]
    assert asked == [member, member]
    refused = [FailedSeed("b.mp3", "That file is too large.")]
    with pytest.raises(SessionError, match="heard. Skipped b.mp3: .*large. Skipped .*private"):
        await hear_seeds(SimpleNamespace(seed=seed), member, requests[1:], refused)


async def test_anything_but_a_musicrec_error_propagates() -> None:
    async def seed(requester: Requester, request: AudioRequest) -> RecommendationSet:
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError):
        await hear_seeds(
            SimpleNamespace(seed=seed), Requester(member=1), [SeedRequest("x", MagicMock())]
        )
