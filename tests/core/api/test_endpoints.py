"""The ``/v1`` endpoints served for real: ``serving_app`` (the request service, the catalog
of the end-to-end world embedded with the synthetic VGGish) under uvicorn on 127.0.0.1,
real HTTP, a real key file, real ffmpeg and yt-dlp fetching "YouTube" videos from a local
HTTP server (the sources seam), real AudioSet label files for the words."""

from __future__ import annotations

import contextlib
import json
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from musicrec_core.api.key_limits import KeyLimits
from musicrec_core.api.keys import ApiKeyStore
from musicrec_core.api.serve import serving_app
from musicrec_core.api.served import requester_for
from musicrec_core.api.settings import ApiSettings
from musicrec_core.catalog.labels import LABELS_FILE
from musicrec_core.service.request import API_ID_BASE
from musicrec_core.service.settings import ServiceSettings
from musicrec_core.sources.ytdlp_fetch import _serve_test_video
from tests.fake_discord.world import CATALOG_VIDEOS, build_catalog
from tests.helpers.api_server import RunningApi
from tests.helpers.http_server import LocalHTTPServer
from tests.helpers.media import generate_media
from tests.helpers.shared_data import AUDIOSET_METADATA, needs_audioset_metadata

pytestmark = [pytest.mark.slow, needs_audioset_metadata]

SEED = "seedsong440"
"""A "YouTube" video not in the catalog, sounding like Concert A (served locally)."""
OTHER = "seedsong880"
BY_ID = {video.video_id: video for video in CATALOG_VIDEOS}


@dataclass
class Served:
    api: RunningApi
    key: str
    upload_dir: Path
    song: bytes
    cache: Path

    def call(
        self, method: str, path: str, body: Any = None, *, key: str | None = "", **headers: str
    ) -> tuple[int, dict[str, str], Any]:
        sent = dict(headers)
        if key is not None:
            sent["Authorization"] = f"Bearer {key or self.key}"
        data = None
        if body is not None and not isinstance(body, bytes):
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        elif body is not None:
            data = body
        return self.api.request(method, path, body=data, headers=sent)


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


@pytest.fixture(scope="module")
def served(
    synthetic_vggish: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    from musicrec_core.embedders.vggish import VGGishEmbedder

    work = tmp_path_factory.mktemp("api-endpoints")
    media = LocalHTTPServer()
    songs = {}
    for video_id, tone in ((SEED, 440.0), (OTHER, 880.0)):
        path = generate_media(work / f"{video_id}.mp3", seconds=14, tone_hz=tone)
        songs[video_id] = path.read_bytes()
    with contextlib.ExitStack() as stack:
        stack.enter_context(media)
        patch = stack.enter_context(pytest.MonkeyPatch.context())
        patch.setenv("MUSICREC_CACHE_DIR", str(work / "cache"))
        labels = work / "cache" / "data" / "audioset"
        labels.mkdir(parents=True)
        for name in (LABELS_FILE, "ontology.json"):
            shutil.copyfile(AUDIOSET_METADATA / name, labels / name)
        build_catalog(work / "index", work / "media", VGGishEmbedder.from_files(*synthetic_vggish))
        for video_id, data in songs.items():
            url = media.add(f"/{video_id}.mp3", data, content_type="audio/mpeg")
            stack.enter_context(_serve_test_video(video_id, url))
        settings = ServiceSettings(
            _env_file=None,
            index_dir=work / "index",
            vggish_checkpoint=synthetic_vggish[0],
            vggish_pca=synthetic_vggish[1],
            title_lookup=False,
            youtube_fetches_per_hour=20,
            youtube_member_share=1.0,
            youtube_server_share=1.0,
        )
        keys_path = work / "keys.sqlite3"
        (work / "uploads").mkdir()
        api_settings = ApiSettings(
            _env_file=None, port=0, keys_path=keys_path, upload_dir=work / "uploads"
        )
        store = ApiKeyStore(keys_path)
        key = store.add("jukebox", KeyLimits(rate=100, burst=100, youtube_share=0.5))
        store.close()
        with RunningApi(serving_app(settings, api_settings), api_settings) as api:
            yield Served(api, key, work / "uploads", songs[SEED], work / "cache")


@pytest.fixture(autouse=True)
def served_cache(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    """The server's cache for every test (the suite gives each test a cache of its own):
    the label files the words are read from when a request needs them."""
    monkeypatch.setenv("MUSICREC_CACHE_DIR", str(served.cache))


def ids(answer: dict[str, Any]) -> list[str]:
    return [item["id"] for item in answer["items"]]


def test_health_says_ready_with_the_catalog(served: Served) -> None:
    status, _, body = served.call("GET", "/healthz", key=None)
    assert status == 200 and body["ready"] is True
    assert body["catalog"]["items"] == len(CATALOG_VIDEOS)


def test_an_upload_is_answered_by_public_id_and_leaves_no_file(served: Served) -> None:
    body, boundary = multipart(served.song, n="3")
    status, _, answer = served.call(
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
    assert list(served.upload_dir.iterdir()) == []


def test_similar_fetches_a_new_seed_once_then_answers_from_the_clip_cache(served: Served) -> None:
    status, _, first = served.call("GET", f"/v1/similar?seed={OTHER}&n=4")
    assert status == 200, first
    top = ids(first)[0]
    assert BY_ID[top].tone_hz == 880.0
    status, _, again = served.call("GET", f"/v1/similar?seed={OTHER}&n=4&exclude={top}")
    assert status == 200 and top not in ids(again) and len(again["items"]) == 4
    _, _, text = served.api.request("GET", "/metrics")
    assert 'musicrec_cache_lookups_total{cache="clip",result="hit"} 1.0' in text
    assert 'musicrec_requests_total{entry_point="api_similar",outcome="ok"} 2.0' in text
    link = quote(f"https://youtu.be/{OTHER}", safe="")
    status, _, linked = served.call("GET", f"/v1/similar?seed={link}&n=4")
    assert status == 200 and ids(linked) == ids(first)  # the same window: cached again


def test_a_long_exclude_list_goes_by_post(served: Served) -> None:
    played = [video.video_id for video in CATALOG_VIDEOS[:3]]
    padding = [f"pad{n:08d}" for n in range(2000)]
    status, _, answer = served.call(
        "POST", "/v1/similar", {"seed": OTHER, "n": 3, "exclude": played + padding}
    )
    assert status == 200, answer
    assert not set(played) & set(ids(answer))
    too_many = ",".join(padding[:101])
    status, _, refused = served.call("GET", f"/v1/similar?seed={OTHER}&exclude={too_many}")
    assert status == 400 and "POST /v1/similar" in refused["error"]["message"]
    status, _, refused = served.call(
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
    served: Served, path: str, status: int, code: str
) -> None:
    got, _, body = served.call("GET", path)
    assert (got, body["error"]["code"]) == (status, code), body
    assert "/" not in body["error"]["message"].replace("POST /v1", "")


def test_no_key_or_a_revoked_key_is_refused(served: Served) -> None:
    status, headers, body = served.call("GET", f"/v1/similar?seed={SEED}", key=None)
    assert status == 401 and headers["www-authenticate"].startswith("Bearer")
    status, _, body = served.call("GET", f"/v1/similar?seed={SEED}", key="mrk_" + "A" * 43)
    assert status == 401 and body["error"]["code"] == "invalid_key"


def test_a_mix_never_plays_its_seed_and_a_path_moves_between_its_ends(served: Served) -> None:
    status, _, mix = served.call("POST", "/v1/mix", {"seeds": [SEED, "nope"], "n": 4})
    assert status == 200, mix
    assert mix["kind"] == "mix" and len(mix["items"]) == 4
    assert [s["seed"] for s in mix["skipped_seeds"]] == ["nope"]
    assert all(-1 <= item["to_previous"] <= 1 for item in mix["items"])
    status, _, path = served.call("GET", f"/v1/path?from={SEED}&to={OTHER}&steps=3")
    assert status == 200, path
    steps = path["items"]
    assert len(steps) == 3 or path["shortfall"]  # seven items: a path may come up short
    assert len(steps) >= 2 and steps[-1]["to_b"] > steps[0]["to_b"]


def test_discover_pages_items_carrying_the_words(served: Served) -> None:
    status, _, page = served.call("GET", "/v1/discover?words=music&n=3&page=7")
    assert status == 200, page
    assert page["unit"] == "segment" and len(page["items"]) == 3
    _, _, again = served.call("GET", "/v1/discover?words=music&n=3&page=7")
    assert ids(again) == ids(page)


def test_a_key_is_a_requester_of_its_own_above_every_discord_id() -> None:
    from musicrec_core.api.auth import Caller

    jukebox = requester_for(Caller("jukebox", KeyLimits(youtube_share=0.5)))
    other = requester_for(Caller("radio", KeyLimits()))
    assert jukebox.member > API_ID_BASE and jukebox.member != other.member
    assert jukebox == requester_for(Caller("jukebox", KeyLimits(youtube_share=0.5)))
    assert (jukebox.sent_at, jukebox.youtube_share) == (None, 0.5)
