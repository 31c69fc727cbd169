"""The request service measured: each entry point's requests counted by outcome, refusals
by reason, stages timed (in the core service, :mod:`musicrec_core.service.service`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from unittest.mock import MagicMock

import pytest

from bot.service import RequestService
from musicrec_core.service.admission import CooldownError
from musicrec_core.service.request import AudioRequest
from musicrec_core.service.service import DeadlineError
from tests.bot.helpers import ServiceMaker, make_interaction
from tests.bot.test_service_admission import (
    FINGERPRINT,
    FLOODER,
    LINK,
    SlowFetch,
    member_message,
    prepare,
)


@pytest.fixture
async def make_service(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[ServiceMaker, SlowFetch]]:
    fetch = SlowFetch()
    monkeypatch.setattr("musicrec_core.service.youtube_links.fetch_youtube_clip", fetch)
    maker = ServiceMaker(tmp_path, prepare)
    yield maker, fetch
    fetch.release.set()
    await maker.close()


def requests(service: RequestService, entry: str, outcome: str) -> float | None:
    labels = {"entry_point": entry, "outcome": outcome}
    return service.metrics.registry.get_sample_value("musicrec_requests_total", labels)


def sample(service: RequestService, name: str, **labels: str) -> float | None:
    return service.metrics.registry.get_sample_value(name, labels)


async def test_answers_and_refusals_are_counted_by_entry_point_and_reason(
    make_service: tuple[ServiceMaker, SlowFetch],
) -> None:
    make, _ = make_service
    service = make(recommend_cooldown_s=60)
    button = make_interaction(None, user_id=FLOODER)
    await service.answer_more_like(button, FINGERPRINT, 7, 3)
    button.followup.send.assert_awaited_once()  # answered as before
    assert requests(service, "more_like", "ok") == 1
    assert sample(service, "musicrec_stage_seconds_count", stage="search") == 1
    with pytest.raises(CooldownError):
        await service.answer(
            make_interaction(None, user_id=FLOODER), AudioRequest(link=LINK), count=5
        )
    await service.answer_in_chat(member_message(FLOODER), AudioRequest(link=LINK))  # only logged
    assert requests(service, "recommend", "refused") == 1
    assert requests(service, "link", "refused") == 1
    assert requests(service, "recommend", "ok") == 0
    assert sample(service, "musicrec_refusals_total", reason="member_limit") == 2


async def test_a_request_past_its_deadline_is_counted_and_its_fetch_timed(
    make_service: tuple[ServiceMaker, SlowFetch],
) -> None:
    make, _ = make_service
    service = make(recommend_cooldown_s=0, request_deadline_s=0.05)
    with pytest.raises(DeadlineError):
        await service.answer(make_interaction(None), AudioRequest(link=LINK), count=5)
    assert requests(service, "recommend", "deadline") == 1
    assert sample(service, "musicrec_stage_seconds_count", stage="fetch") == 1
    labels = {"cache": "clip", "result": "miss"}
    assert sample(service, "musicrec_cache_lookups_total", **labels) == 1


@pytest.mark.parametrize(("command", "entry"), [("discover", "discover"), (None, "mix_from")])
async def test_other_commands_are_counted_under_their_own_name(
    make_service: tuple[ServiceMaker, SlowFetch], command: str | None, entry: str
) -> None:
    make, _ = make_service
    service = make(recommend_cooldown_s=0)
    interaction = make_interaction(None)
    if command is not None:
        interaction.command = MagicMock()
        interaction.command.name = command
    async with service.admitted(interaction):
        pass
    with pytest.raises(RuntimeError):
        async with service.admitted(interaction):
            raise RuntimeError("the command's own work failed")
    assert requests(service, entry, "ok") == 1
    assert requests(service, entry, "failed") == 1
