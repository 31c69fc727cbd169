"""/mix's and /path's options: checked before admission, each failure named; out-of-range
lengths, a missing or doubled end and /path's words the catalog cannot read refused
before any work."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from unittest.mock import MagicMock

import pytest

from bot.app import MusicrecBot
from bot.catalog_words import CatalogWords
from bot.cogs.sessions import SessionsCog
from bot.session_seeds import seed_requests
from musicrec_core.catalog.index import CatalogIndex
from musicrec_core.errors import (
    ContradictoryWordsError,
    SessionError,
    UnknownWordError,
)
from musicrec_core.service.request import RequestError
from musicrec_core.service.vocabulary import CatalogVocabulary
from tests.bot.helpers import make_attachment, make_interaction, make_settings
from tests.core.sessions.catalogs import build_arc_catalog

LINK = "https://youtu.be/dQw4w9WgXcQ"
OTHER_LINK = "https://youtu.be/abcdefghijk"


def test_options_become_requests_in_order_and_bad_ones_are_named() -> None:
    small, large = make_attachment(filename="a.mp3"), make_attachment(filename="b.mp3", size=9000)
    requests, failed = seed_requests(
        [small, None, large], [" ", "not a link", LINK], max_bytes=5000
    )
    assert [r.name for r in requests] == ["a.mp3", LINK]
    assert requests[0].request.attachment is small
    assert requests[1].request.link.video_id == "dQw4w9WgXcQ"
    assert [f.name for f in failed] == ["b.mp3", "not a link"]
    assert "limit" in failed[0].reason


@pytest.fixture
async def cog(tmp_path: Path):
    async with MusicrecBot(make_settings(tmp_path), load_engine=False) as bot:
        yield SessionsCog(bot)


@pytest.mark.parametrize("count", [0, 51])
async def test_a_mix_length_out_of_range_is_refused_before_any_work(cog, count: int) -> None:
    interaction = make_interaction(cog.bot)
    with pytest.raises(SessionError, match="1 to 50 tracks"):
        await cog.mix_command.callback(cog, interaction, link=LINK, count=count)


@pytest.mark.parametrize("steps", [0, 51])
async def test_path_steps_out_of_range_are_refused_before_any_work(cog, steps: int) -> None:
    interaction = make_interaction(cog.bot)
    with pytest.raises(SessionError, match="1 to 50 steps"):
        await cog.path_command.callback(cog, interaction, LINK, LINK, steps=steps)


async def test_a_path_end_given_twice_or_not_at_all_is_refused(cog) -> None:
    interaction = make_interaction(cog.bot)
    with pytest.raises(RequestError, match="Give `to` as one YouTube link or one file, not 0"):
        await cog.path_command.callback(cog, interaction, LINK, None)
    with pytest.raises(RequestError, match="Give `from` as one YouTube link or one file, not 2"):
        await cog.path_command.callback(cog, interaction, LINK, LINK, make_attachment())


async def test_path_words_the_catalog_cannot_read_are_refused_before_admission(
    tmp_path: Path,
) -> None:
    build_arc_catalog(tmp_path / "arc")
    with CatalogIndex.load(tmp_path / "arc") as index:
        admitted = MagicMock(side_effect=AssertionError("admitted"))
        service = SimpleNamespace(
            words=CatalogWords(CatalogVocabulary(SimpleNamespace(index=index))),
            admitted=admitted,
        )
        settings = SimpleNamespace(max_attachment_bytes=10**6)
        cog = SessionsCog(SimpleNamespace(service=service, settings=settings))
        interaction = make_interaction(None)
        with pytest.raises(UnknownWordError, match="zzyzx"):
            await cog.path_command.callback(cog, interaction, LINK, OTHER_LINK, more="zzyzx")
        with pytest.raises(ContradictoryWordsError):
            await cog.path_command.callback(
                cog, interaction, LINK, OTHER_LINK, more="piano", less="piano"
            )
    admitted.assert_not_called()
