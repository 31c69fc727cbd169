"""The ``/v1`` endpoints served for real: the session's API world (tests/helpers/api_world.py:
``serving_app`` on the end-to-end catalog embedded with the synthetic VGGish, under uvicorn
on 127.0.0.1, real HTTP, a real key file, real ffmpeg and yt-dlp fetching "YouTube" videos
from a local HTTP server, real AudioSet label files for the words)."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

import pytest

from musicrec_core.api.key_limits import KeyLimits
from musicrec_core.api.served import requester_for
from musicrec_core.service.request import API_ID_BASE
from tests.fake_discord.world import CATALOG_VIDEOS
from tests.helpers.api_world import BY_ID, OTHER, SEED, ApiWorld
from tests.helpers.shared_data import needs_audioset_metadata

pytestmark = [
    pytest.mark.slow,
    needs_audioset_metadata,
    pytest.mark.usefixtures("api_world_cache"),
]


def multipart(song: bytes, **fields: str) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.mp3"\r\n'
        "Content-Type: audio/mpeg\r\n\r\n".encode()
        + song
        + b"\r\n"
    )
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), boundary


def ids(answer: dict[str, Any]) -> list[str]:
    return [item["id"] for item in answer["items"]]


def test_health_says_ready_with_the_catalog(api_world: ApiWorld) -> None:
    status, _, body = api_world.call("GET", "/healthz", key=None)
    assert status == 200 and body["ready"] is True
    assert body["catalog"]["items"] == len(CATALOG_VIDEOS)


def test_an_upload_is_answered_by_public_id_and_leaves_no_file(api_world: ApiWorld) -> None:
    body, boundary = multipart(api_world.seed_song, n="3")
    status, _, answer = api_world.call(
        "POST",
        "/v1/recommend",
        body,
        **{"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert status == 200, answer
    assert len(answer["items"]) == 3 and set(ids(answer)) <= set(BY_ID)
    assert all(
        0 <= item["similarity"] <= 1 and item["kind"] == "youtube" for item in answer["items"]
    )
    assert BY_ID[ids(answer)[0]].tone_hz == 440.0  # Concert A sounds most like it
    assert list(api_world.upload_dir.iterdir()) == []


def test_similar_fetches_a_new_seed_once_then_answers_from_the_clip_cache(
    api_world: ApiWorld,
) -> None:
    hits = 'musicrec_cache_lookups_total{cache="clip",result="hit"}'
    answered = 'musicrec_requests_total{entry_point="api_similar",outcome="ok"}'
    before = api_world.metrics(hits, answered)
    status, _, first = api_world.call("GET", f"/v1/similar?seed={OTHER}&n=4")
    assert status == 200, first
    top = ids(first)[0]
    assert BY_ID[top].tone_hz == 880.0
    status, _, again = api_world.call("GET", f"/v1/similar?seed={OTHER}&n=4&exclude={top}")
    assert status == 200 and top not in ids(again) and len(again["items"]) == 4
    after = api_world.metrics(hits, answered)
    assert (after[0] - before[0], after[1] - before[1]) == (1, 2)
    link = quote(f"https://youtu.be/{OTHER}", safe="")
    status, _, linked = api_world.call("GET", f"/v1/similar?seed={link}&n=4")
    assert status == 200 and ids(linked) == ids(first)  # the same window: cached again


def test_a_catalog_video_seeded_without_a_start_is_answered_from_its_stored_window(
    api_world: ApiWorld,
) -> None:
    clip = 'musicrec_cache_lookups_total{cache="clip",result="%s"}'
    lookups = [clip % result for result in ("hit", "miss")]
    before = api_world.metrics(*lookups)
    status, _, answer = api_world.call("GET", "/v1/similar?seed=tone0880eee&n=6")
    assert status == 200, answer  # no fetch: the catalog's videos are not served here
    assert sorted(ids(answer)) == sorted(set(BY_ID) - {"tone0880eee"})
    assert api_world.metrics(*lookups) == before  # no link planned, no clip cache asked


def test_a_long_exclude_list_goes_by_post(api_world: ApiWorld) -> None:
    played = [video.video_id for video in CATALOG_VIDEOS[:3]]
    padding = [f"pad{n:08d}" for n in range(2000)]
    status, _, answer = api_world.call(
        "POST", "/v1/similar", {"seed": OTHER, "n": 3, "exclude": played + padding}
    )
    assert status == 200, answer
    assert not set(played) & set(ids(answer))
    too_many = ",".join(padding[:101])
    status, _, refused = api_world.call("GET", f"/v1/similar?seed={OTHER}&exclude={too_many}")
    assert status == 400 and "POST /v1/similar" in refused["error"]["message"]
    status, _, refused = api_world.call(
        "POST", "/v1/similar", {"seed": OTHER, "exclude": [f"x{n:010d}" for n in range(10_000)]}
    )
    assert status == 400 and refused["error"]["code"] == "invalid_request"


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/v1/similar?seed=not%20a%20video", 400, "bad_request"),
        ("/v1/similar?seed=" + SEED + "&exclude=../../etc/passwd", 400, "bad_request"),
        ("/v1/similar?seed=lib_" + "0" * 64, 404, "unknown_item"),
        ("/v1/similar?seed=" + SEED + "&more=zzyzxqq", 422, "bad_words"),
        ("/v1/similar?seed=" + SEED + "&n=0", 400, "invalid_request"),
        ("/v1/discover?words=", 400, "invalid_request"),
    ],
)
def test_bad_input_gets_its_4xx_before_any_work(
    api_world: ApiWorld, path: str, status: int, code: str
) -> None:
    got, _, body = api_world.call("GET", path)
    assert (got, body["error"]["code"]) == (status, code), body
    assert "/" not in body["error"]["message"].replace("POST /v1", "")


def test_no_key_or_a_revoked_key_is_refused(api_world: ApiWorld) -> None:
    status, headers, body = api_world.call("GET", f"/v1/similar?seed={SEED}", key=None)
    assert status == 401 and headers["www-authenticate"].startswith("Bearer")
    status, _, body = api_world.call("GET", f"/v1/similar?seed={SEED}", key="mrk_" + "A" * 43)
    assert status == 401 and body["error"]["code"] == "invalid_key"


def test_a_mix_never_plays_its_seed_and_a_path_moves_between_its_ends(api_world: ApiWorld) -> None:
    status, _, mix = api_world.call("POST", "/v1/mix", {"seeds": [SEED, "nope"], "n": 4})
    assert status == 200, mix
    assert mix["kind"] == "mix" and len(mix["items"]) == 4
    assert [s["seed"] for s in mix["skipped_seeds"]] == ["nope"]
    assert all(-1 <= item["to_previous"] <= 1 for item in mix["items"])
    status, _, path = api_world.call("GET", f"/v1/path?from={SEED}&to={OTHER}&steps=3")
    assert status == 200, path
    steps = path["items"]
    assert len(steps) == 3 or path["shortfall"]  # seven items: a path may come up short
    assert len(steps) >= 2 and steps[-1]["to_b"] > steps[0]["to_b"]


def test_discover_pages_items_carrying_the_words(api_world: ApiWorld) -> None:
    status, _, page = api_world.call("GET", "/v1/discover?words=music&n=3&page=7")
    assert status == 200, page
    assert page["unit"] == "segment" and len(page["items"]) == 3
    _, _, again = api_world.call("GET", "/v1/discover?words=music&n=3&page=7")
    assert ids(again) == ids(page)


def test_a_key_is_a_requester_of_its_own_above_every_discord_id() -> None:
    from musicrec_core.api.auth import Caller

    jukebox = requester_for(Caller("jukebox", KeyLimits(youtube_share=0.5)))
    other = requester_for(Caller("radio", KeyLimits()))
    assert jukebox.member > API_ID_BASE and jukebox.member != other.member
    assert jukebox == requester_for(Caller("jukebox", KeyLimits(youtube_share=0.5)))
    assert (jukebox.sent_at, jukebox.youtube_share) == (None, 0.5)
