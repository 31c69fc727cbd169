"""docs/examples/autoplay_client.py against the real server of the session's API world
(tests/helpers/api_world.py): a whole session, its exclusions switching from GET to POST,
waiting out a 429, and the API's errors raised with their codes."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.helpers.api_world import BY_ID, ApiWorld
from tests.helpers.shared_data import needs_audioset_metadata

pytestmark = [
    pytest.mark.slow,
    needs_audioset_metadata,
    pytest.mark.usefixtures("api_world_cache"),
]

CLIENT = Path(__file__).resolve().parents[3] / "docs" / "examples" / "autoplay_client.py"
SEED = "tone0440ccc"
"""A catalog video: the nearest to itself, so a session must leave it out on purpose."""


@pytest.fixture(scope="module")
def autoplay() -> ModuleType:
    spec = importlib.util.spec_from_file_location("autoplay_client", CLIENT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_session_longer_than_the_catalog_never_repeats_and_never_plays_its_seed(
    api_world: ApiWorld, autoplay: ModuleType
) -> None:
    session = autoplay.AutoplaySession(api_world.base_url, api_world.keys["autoplay"], SEED)
    tracks = [session.next_track() for _ in range(len(BY_ID) + 2)]
    played = [track["id"] for track in tracks if track is not None]
    assert sorted(played) == sorted(set(BY_ID) - {SEED})  # each other video once
    assert tracks[len(played) :] == [None] * 3  # then nothing, rather than a repeat
    assert session.played == [SEED, *played]


def test_a_track_played_outside_autoplay_seeds_the_next_and_never_comes_back(
    api_world: ApiWorld, autoplay: ModuleType
) -> None:
    session = autoplay.AutoplaySession(api_world.base_url, api_world.keys["autoplay"], SEED)
    session.played_elsewhere("tone1760fff")
    rest = [session.next_track() for _ in range(len(BY_ID) - 2)]
    assert {track["id"] for track in rest} == set(BY_ID) - {SEED, "tone1760fff"}


def test_more_played_ids_than_a_query_takes_go_by_post(
    api_world: ApiWorld, autoplay: ModuleType
) -> None:
    before = [f"old{n:08d}" for n in range(autoplay.GET_EXCLUDE_LIMIT)] + ["tone0330bbb"]
    session = autoplay.AutoplaySession(
        api_world.base_url, api_world.keys["autoplay"], SEED, played=before
    )
    track = session.next_track()  # GET would be refused: 102 ids
    assert track is not None and track["id"] not in {SEED, "tone0330bbb"}
    status, _, refused = api_world.call(
        "GET", "/v1/similar?seed=" + SEED + "&exclude=" + ",".join(session.played)
    )
    assert status == 400, refused


def test_a_429_is_waited_out_for_as_long_as_retry_after_says(
    api_world: ApiWorld, autoplay: ModuleType
) -> None:
    import time

    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    session = autoplay.AutoplaySession(
        api_world.base_url, api_world.keys["paced"], SEED, sleep=sleep
    )
    first, second = session.next_track(), session.next_track()
    assert first is not None and second is not None and first["id"] != second["id"]
    assert waits and all(0 < wait <= 2 for wait in waits)  # one token every 2 s


def test_a_wait_longer_than_allowed_and_other_refusals_raise_with_the_api_code(
    api_world: ApiWorld, autoplay: ModuleType
) -> None:
    paced = autoplay.AutoplaySession(
        api_world.base_url, api_world.keys["paced"], SEED, max_wait_s=0.5
    )
    with pytest.raises(autoplay.AutoplayError) as refused:
        paced.next_track()
        paced.next_track()
    assert (refused.value.status, refused.value.code) == (429, "rate_limited")
    revoked = autoplay.AutoplaySession(api_world.base_url, "mrk_" + "A" * 43, SEED)
    with pytest.raises(autoplay.AutoplayError) as refused:
        revoked.next_track()
    assert (refused.value.status, refused.value.code) == (401, "invalid_key")
    bad_seed = autoplay.AutoplaySession(api_world.base_url, api_world.keys["autoplay"], "nope")
    with pytest.raises(autoplay.AutoplayError) as refused:
        bad_seed.next_track()
    assert refused.value.status == 400 and "exclude" in refused.value.message


def test_run_as_a_script_it_lists_the_session_and_says_when_nothing_is_left(
    api_world: ApiWorld,
) -> None:
    common = [sys.executable, str(CLIENT), "--url", api_world.base_url, "--seed", SEED]
    key = api_world.keys["autoplay"]
    listed = subprocess.run(
        [*common, "--key", key, "--tracks", str(len(BY_ID))],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert len(lines) == len(BY_ID) and lines[-1] == "(nothing left that was not played)"
    assert all(f"watch?v={video}" in "".join(lines) for video in set(BY_ID) - {SEED})
    refused = subprocess.run(
        [*common, "--key", "mrk_" + "B" * 43], capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 1 and refused.stdout == ""
    assert refused.stderr.startswith("autoplay: 401 invalid_key:")
