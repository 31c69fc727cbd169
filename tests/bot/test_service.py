"""The request service: one sequence (admit, acknowledge, work, reply) for every entry point."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from unittest.mock import MagicMock, create_autospec

import numpy as np
import pytest

from bot.service import RequestService
from musicrec_core.errors import CatalogError
from musicrec_core.recommender import RecommendationSet, Recommender
from musicrec_core.service.batching import BusyError, RecommendQueue
from musicrec_core.service.request import AudioRequest
from musicrec_core.sources.youtube import parse_youtube_link
from musicrec_core.titles import candidate_count
from tests.bot.helpers import make_interaction, make_message, make_settings, sent_text

FINGERPRINT = "0123abcd"
LINK = parse_youtube_link("https://youtu.be/abcdefghijk")
EMPTY = RecommendationSet(
    query=None,
    query_vector=np.zeros(4, dtype=np.float32),
    query_tags=(),
    items=(),
    catalog=FINGERPRINT,
)

ServiceFactory = Callable[[int], RequestService]


@pytest.fixture
async def make_service(tmp_path: Path) -> AsyncIterator[ServiceFactory]:
    """Services around a real queue (``queue_size`` tickets) and a spec'd recommender."""
    queues: list[RecommendQueue] = []

    def make(queue_size: int) -> RequestService:
        recommender = create_autospec(Recommender, instance=True)
        recommender.recommend_from_item.return_value = EMPTY
        recommender.index.fingerprint = FINGERPRINT
        queue = RecommendQueue(recommender, queue_size=queue_size, batch_window_s=0.01, max_batch=4)
        queues.append(queue)
        return RequestService(queue, make_settings(tmp_path))

    yield make
    for queue in queues:
        await queue.close()


async def test_a_full_queue_refuses_every_entry_point_before_acknowledging(
    make_service: ServiceFactory,
) -> None:
    service = make_service(0)
    interaction = make_interaction(None)
    with pytest.raises(BusyError):
        await service.answer(interaction, AudioRequest(link=LINK), count=5)
    with pytest.raises(BusyError):
        await service.answer_more_like(interaction, FINGERPRINT, 7, 5)
    interaction.response.defer.assert_not_awaited()
    message = make_message("https://youtu.be/abcdefghijk")
    await service.answer_in_chat(message, AudioRequest(link=LINK))
    typing: MagicMock = message.channel.typing.return_value
    typing.__aenter__.assert_not_awaited()
    assert sent_text(message.reply) == "musicrec is busy right now: try again in 1 s."
    assert message.reply.await_args.kwargs["mention_author"] is False


async def test_more_like_acknowledges_then_replies_with_the_served_fingerprint(
    make_service: ServiceFactory,
) -> None:
    service = make_service(1)
    interaction = make_interaction(None)
    await service.answer_more_like(interaction, FINGERPRINT, 7, 3)
    interaction.response.defer.assert_awaited_once_with(thinking=True)
    # over-fetched: room to replace videos the title lookups find gone
    service.recommender.recommend_from_item.assert_called_once_with(
        7, candidate_count(3), steering=None, exclude_groups=frozenset()
    )
    embed = interaction.followup.send.await_args.kwargs["embed"]
    assert embed.title == "More like this"
    assert embed.footer.text == f"musicrec · catalog {FINGERPRINT}"
    assert service.stats().admitted == 0  # the ticket was given back


async def test_a_button_of_another_catalog_is_refused_without_a_ticket(
    make_service: ServiceFactory,
) -> None:
    service = make_service(0)  # a ticket would be refused as busy
    interaction = make_interaction(None)
    with pytest.raises(CatalogError, match="rebuilt since this reply"):
        await service.answer_more_like(interaction, "ffffffff", 7, 3)
    interaction.response.defer.assert_not_awaited()
