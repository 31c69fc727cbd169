"""The fake Discord shards as Discord does: IDENTIFY's shard field checked, events routed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from tests.bot.test_fake_discord import call
from tests.fake_discord.payloads import shard_of
from tests.fake_discord.server import INVALID_SHARD, FakeDiscord

TOKEN = "fake.token.value"


@pytest.fixture
def fake() -> Iterator[FakeDiscord]:
    with FakeDiscord(token=TOKEN, guild_shards=2, extra_guilds=2) as server:
        yield server


class Session:
    """A bare gateway client: IDENTIFY with a shard field, then collect dispatches."""

    def __init__(self, fake: FakeDiscord, shard: Any) -> None:
        self.fake = fake
        self.shard = shard
        self.events: list[dict[str, Any]] = []
        self.close_code: int | None = None

    async def run(self, until: asyncio.Event) -> None:
        async with aiohttp.ClientSession() as http, http.ws_connect(self.fake.gateway_url) as ws:
            hello = await ws.receive_json()
            assert hello["op"] == 10
            identify = {"token": TOKEN, "intents": 1, "properties": {}}
            if self.shard is not None:
                identify["shard"] = self.shard
            await ws.send_json({"op": 2, "d": identify})
            while not until.is_set():
                try:
                    frame = await ws.receive(timeout=0.05)
                except TimeoutError:
                    continue
                if frame.type != aiohttp.WSMsgType.TEXT:
                    self.close_code = ws.close_code
                    return
                self.events.append(json.loads(frame.data))

    def names(self, event: str) -> list[str]:
        return [e["d"]["id"] for e in self.events if e.get("t") == event]


def run_sessions(fake: FakeDiscord, shards: list[Any], during: Any = None) -> list[Session]:
    """Connect one session per shard field in turn, run ``during(sessions)`` in a thread
    once they all settled, then disconnect."""
    sessions = [Session(fake, shard) for shard in shards]

    async def main() -> None:
        done = asyncio.Event()
        tasks = []
        for session in sessions:
            tasks.append(asyncio.create_task(session.run(done)))
            await asyncio.sleep(0.3)
        if during is not None:
            await asyncio.to_thread(during, sessions)
            await asyncio.sleep(0.3)
        done.set()
        await asyncio.gather(*tasks)

    asyncio.run(main())
    return sessions


def test_each_shard_gets_its_own_servers_and_their_events(fake: FakeDiscord) -> None:
    assert [shard_of(guild["id"], 2) for guild in fake.guilds] == [0, 1, 0, 1]
    status, gateway = call(fake.api_url + "/gateway/bot", "GET", token=TOKEN)
    assert status == 200 and gateway["shards"] == 2
    sent: dict[str, int] = {}

    def send(_: list[Session]) -> None:
        for guild in fake.guilds:
            sent[fake.slash_command("recommend", guild=guild["id"])] = shard_of(guild["id"], 2)

    sessions = run_sessions(fake, [[0, 2], [1, 2]], send)
    for shard_id, session in enumerate(sessions):
        ready = next(e["d"] for e in session.events if e.get("t") == "READY")
        mine = [g["id"] for g in fake.guilds if shard_of(g["id"], 2) == shard_id]
        assert ready["shard"] == [shard_id, 2]
        assert [g["id"] for g in ready["guilds"]] == mine
        assert session.names("GUILD_CREATE") == mine
        assert session.names("INTERACTION_CREATE") == [i for i, s in sent.items() if s == shard_id]
    assert fake.dispatched_to == sent
    assert fake.identified_shards == [(0, 2), (1, 2)]
    assert fake.violations == []


def test_an_identify_without_a_shard_field_is_shard_0_of_1_with_every_server() -> None:
    with FakeDiscord(token=TOKEN, extra_guilds=1) as fake:
        (session,) = run_sessions(fake, [None])
        assert session.names("GUILD_CREATE") == [g["id"] for g in fake.guilds]
        assert fake.identified_shards == [(0, 1)] and fake.violations == []


@pytest.mark.parametrize(
    ("shards", "violation"),
    [
        ([[2, 2]], "IDENTIFY with shard 2 of 2"),
        ([[0, 0]], "IDENTIFY with shard 0 of 0"),
        ([[0, 2], [0, 2]], "IDENTIFY for shard 0 of 2, already connected"),
        ([[0, 2], [1, 3]], "IDENTIFY with 3 shards while a session runs 2"),
        ([["0", 2]], "malformed shard field"),
    ],
)
def test_a_bad_shard_is_refused_with_4010(
    fake: FakeDiscord, shards: list[Any], violation: str
) -> None:
    sessions = run_sessions(fake, shards)
    assert sessions[-1].close_code == INVALID_SHARD
    assert not sessions[-1].names("READY")
    assert len(fake.violations) == 1 and violation in fake.violations[0], fake.violations


def test_an_event_for_a_shard_nobody_runs_is_an_error(fake: FakeDiscord) -> None:
    failures: list[str] = []

    def send(_: list[Session]) -> None:
        with pytest.raises(RuntimeError) as caught:
            fake.slash_command("recommend", elsewhere=True)  # the second server: shard 1
        failures.append(str(caught.value))

    run_sessions(fake, [[0, 2]], send)
    assert failures and "shard" in failures[0]
