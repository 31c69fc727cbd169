"""The fake Discord enforces what the real one does: deadlines, token lifetime, limits;
and reads file uploads as Discord does."""

from __future__ import annotations

import asyncio
import io
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import aiohttp
import discord
import pytest
from discord.webhook.async_ import interaction_message_response_params

from tests.fake_discord.server import FakeDiscord
from tests.fake_discord.uploads import MAX_FILE_BYTES

TOKEN = "fake.token.value"


@pytest.fixture
def fake() -> Iterator[FakeDiscord]:
    with FakeDiscord(token=TOKEN, ack_deadline_s=0.3, token_ttl_s=0.6) as server:
        yield server


def call(url: str, method: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token is not None:
        request.add_header("Authorization", f"Bot {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.headers["Content-Type"] in ("application/json", None)
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def pending_interaction(fake: FakeDiscord) -> tuple[str, str]:
    """Register an interaction as the fake does when it dispatches one (no bot needed)."""
    from tests.fake_discord.server import _Interaction

    interaction_id = fake._ids.next()
    token = f"itoken-{interaction_id}"
    with fake._changed:
        fake._interactions[interaction_id] = _Interaction(
            interaction_id, token, time.monotonic(), fake.channel_id
        )
    return interaction_id, token


def test_login_needs_the_right_token(fake: FakeDiscord) -> None:
    assert call(fake.api_url + "/users/@me", "GET", token=TOKEN)[1]["id"] == fake.application_id
    status, body = call(fake.api_url + "/users/@me", "GET", token="wrong")
    assert status == 401 and fake.violations


def test_a_late_acknowledgement_is_an_unknown_interaction(fake: FakeDiscord) -> None:
    interaction_id, token = pending_interaction(fake)
    time.sleep(0.4)
    url = f"{fake.api_url}/interactions/{interaction_id}/{token}/callback?with_response=1"
    status, body = call(url, "POST", {"type": 5})
    assert (status, body["code"]) == (404, 10062)
    assert "acknowledged after" in fake.violations[-1]


def test_deferral_then_follow_up_then_expired_token(fake: FakeDiscord) -> None:
    interaction_id, token = pending_interaction(fake)
    url = f"{fake.api_url}/interactions/{interaction_id}/{token}/callback?with_response=1"
    status, body = call(url, "POST", {"type": 5})
    assert status == 200 and body["interaction"]["response_message_loading"] is True
    assert call(url, "POST", {"type": 5})[0] == 400  # a second acknowledgement
    hook = f"{fake.api_url}/webhooks/{fake.application_id}/{token}"
    status, message = call(hook, "POST", {"content": "done"})
    assert status == 200 and message["content"] == "done"
    assert fake.wait_reply(interaction_id)["kind"] == "followup"
    time.sleep(0.7)
    status, body = call(hook, "POST", {"content": "too late"})
    assert (status, body["code"]) == (401, 50027)
    assert "token expired" in fake.violations[-1]


def test_messages_over_the_limits_are_refused(fake: FakeDiscord) -> None:
    interaction_id, token = pending_interaction(fake)
    url = f"{fake.api_url}/interactions/{interaction_id}/{token}/callback?with_response=1"
    too_big = {
        "content": "x" * 2001,
        "embeds": [{"title": "t", "fields": [{"name": "n", "value": "v" * 1025}] * 26}],
        "components": [
            {"type": 1, "components": [{"type": 2, "style": 5, "label": "a", "url": "ftp://x"}]}
        ]
        * 6,
    }
    status, body = call(url, "POST", {"type": 4, "data": too_big})
    assert (status, body["code"]) == (400, 50035)
    text = "\n".join(fake.violations)
    for expected in ("2001 > 2000", "26 > 25 fields", "1025 > 1024", "6 > 5 action rows", "url"):
        assert expected in text
    assert fake.acknowledgement(interaction_id) is None


def autocomplete_interaction(fake: FakeDiscord) -> tuple[str, str]:
    """Register an autocomplete interaction (type 4) as :meth:`FakeDiscord.autocomplete`
    does when it dispatches one (no bot needed)."""
    from tests.fake_discord.server import INTERACTION_AUTOCOMPLETE

    interaction_id, token = pending_interaction(fake)
    with fake._changed:
        fake._interactions[interaction_id].kind = INTERACTION_AUTOCOMPLETE
    return interaction_id, token


def test_autocomplete_is_answered_with_at_most_25_choices_in_limits(fake: FakeDiscord) -> None:
    interaction_id, token = autocomplete_interaction(fake)
    url = f"{fake.api_url}/interactions/{interaction_id}/{token}/callback?with_response=1"
    too_many = [{"name": f"word {n}", "value": f"word {n}"} for n in range(26)]
    bad = [{"name": "", "value": "x"}, {"name": "n" * 101, "value": "v" * 101}, {"name": "ok"}]
    for choices in (too_many, bad):
        status, body = call(url, "POST", {"type": 8, "data": {"choices": choices}})
        assert (status, body["code"]) == (400, 50035)
    text = "\n".join(fake.violations)
    for expected in ("26 > 25 choices", "name has 0", "name has 101", "value has 101", "value"):
        assert expected in text
    assert fake.acknowledgement(interaction_id) is None
    good = [{"name": "jazz", "value": "jazz"}, {"name": "jazz, piano", "value": "jazz, piano"}]
    status, body = call(url, "POST", {"type": 8, "data": {"choices": good}})
    assert status == 200 and body["resource"] == {"type": 8}
    reply = fake.wait_reply(interaction_id)
    assert reply["kind"] == "autocomplete" and reply["choices"] == good


def test_autocomplete_cannot_be_deferred_nor_answered_with_a_message(fake: FakeDiscord) -> None:
    for kind in (4, 5):
        interaction_id, token = autocomplete_interaction(fake)
        url = f"{fake.api_url}/interactions/{interaction_id}/{token}/callback?with_response=1"
        status, _ = call(url, "POST", {"type": kind, "data": {"content": "hi"}})
        assert status == 400
        assert f"answered with type {kind}" in fake.violations[-1]


def test_choices_answer_only_an_autocomplete_interaction(fake: FakeDiscord) -> None:
    interaction_id, token = pending_interaction(fake)
    url = f"{fake.api_url}/interactions/{interaction_id}/{token}/callback?with_response=1"
    status, _ = call(url, "POST", {"type": 8, "data": {"choices": []}})
    assert status == 400 and "not an autocomplete" in fake.violations[-1]


def test_autocomplete_dispatch_needs_one_focused_option(fake: FakeDiscord) -> None:
    with pytest.raises(ValueError, match="exactly one focused"):
        fake.autocomplete("recommend", [{"name": "more", "type": 3, "value": "ja"}])


def post_files(url: str, files: list[discord.File], **message: Any) -> tuple[int, Any]:
    """POST an interaction response (type 4) with ``files`` built and sent as discord.py
    builds and sends it (its own multipart parameters, an aiohttp form)."""
    params = interaction_message_response_params(type=4, files=files, **message)

    async def send() -> tuple[int, Any]:
        form = aiohttp.FormData(quote_fields=False)
        for part in params.multipart or []:
            form.add_field(**part)
        async with aiohttp.ClientSession() as session, session.post(url, data=form) as answer:
            return answer.status, await answer.json()

    return asyncio.run(send())


def test_files_are_recorded_with_their_names_and_bytes(fake: FakeDiscord) -> None:
    interaction_id, token = pending_interaction(fake)
    url = f"{fake.api_url}/interactions/{interaction_id}/{token}/callback?with_response=1"
    files = [
        discord.File(io.BytesIO(b"#EXTM3U\n"), filename="mix.m3u8"),
        discord.File(io.BytesIO(bytes(range(256))), filename="raw.bin"),
    ]
    status, _ = post_files(
        url, files, content="two files", flags=discord.MessageFlags(ephemeral=True)
    )
    assert status == 200 and fake.violations == []
    reply = fake.wait_reply(interaction_id)
    assert reply["payload"]["content"] == "two files" and reply["ephemeral"] is True
    assert [(f.index, f.filename, f.data) for f in reply["files"]] == [
        (0, "mix.m3u8", b"#EXTM3U\n"),
        (1, "raw.bin", bytes(range(256))),
    ]
    assert reply["files"][0].text() == "#EXTM3U\n"
    (record,) = [r for r in fake.records if r.kind == "callback"]
    assert record.body["data"]["attachments"] == [
        {"id": 0, "filename": "mix.m3u8"},
        {"id": 1, "filename": "raw.bin"},
    ]
    assert record.uploads == tuple(reply["files"])


def test_too_many_or_too_large_files_are_refused(fake: FakeDiscord) -> None:
    interaction_id, token = pending_interaction(fake)
    url = f"{fake.api_url}/interactions/{interaction_id}/{token}/callback?with_response=1"
    eleven = [discord.File(io.BytesIO(b"x"), filename=f"{n}.txt") for n in range(11)]
    status, body = post_files(url, eleven)
    assert (status, body["code"]) == (400, 50035)
    assert "11 files, more than 10" in fake.violations[-1]
    huge = discord.File(io.BytesIO(b"\0" * (MAX_FILE_BYTES + 1)), filename="huge.bin")
    status, body = post_files(url, [huge])
    assert (status, body["code"]) == (400, 50035)
    assert f"files[0]: {MAX_FILE_BYTES + 1} bytes" in fake.violations[-1]
    assert fake.acknowledgement(interaction_id) is None
