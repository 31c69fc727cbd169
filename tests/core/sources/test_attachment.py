"""Attachments: size caps before reading, content identified by probing, every hostile file."""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from pathlib import Path

import numpy as np
import pytest

from musicrec_core.audio import process
from musicrec_core.child_process import NORMAL_PRIORITY, ChildPriority
from musicrec_core.clip import SAMPLE_RATE_HZ
from musicrec_core.errors import FetchError, InputTooLargeError, NotAudioError
from musicrec_core.sources.attachment import (
    DEFAULT_MAX_ATTACHMENT_BYTES,
    LARGE_UPLOAD_BYTES,
    check_declared_size,
    clip_from_bytes,
    clip_from_file,
    display_name,
    streamed_upload,
)
from tests.helpers.hostile_media import hostile_files
from tests.helpers.http_server import LocalHTTPServer
from tests.helpers.media import MakeMedia, generate_media

Hostile = dict[str, tuple[Path, type[Exception] | None]]

MiB = 2**20


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Hostile:
    return hostile_files(tmp_path_factory.mktemp("hostile"))


def test_every_hostile_file_gives_its_typed_error_or_a_correct_clip(hostile: Hostile) -> None:
    assert {"empty", "png", "text", "random_bytes_mp3", "silent_3h"} <= set(hostile)
    for name, (path, expected) in hostile.items():
        data = path.read_bytes()
        if expected is None:
            clip = clip_from_bytes(data, filename=path.name)
            samples = clip.samples
            assert samples.dtype == np.float32, name
            assert np.isfinite(samples).all() and np.abs(samples).max() <= 1.0, name
            assert samples.shape[0] >= 15_600, name
            assert (clip.provenance.kind, clip.provenance.ref) == ("attachment", path.name), name
        else:
            with pytest.raises(expected) as info:
                clip_from_bytes(data, filename=path.name)
            message = str(info.value)
            assert message and "\n" not in message and "musicrec-att" not in message, name


def test_png_named_mp3_is_not_audio(tmp_path: Path, hostile: Hostile) -> None:
    png = hostile["png"][0].read_bytes()
    assert png.startswith(b"\x89PNG")
    with pytest.raises(NotAudioError, match="cover.mp3"):
        clip_from_bytes(png, filename="cover.mp3")


def test_content_decides_not_the_name(make_media: MakeMedia) -> None:
    voice = make_media("voice.ogg", seconds=3, tone_hz=300, sample_rate=48_000, channels=1,
                       codec_args=("-c:a", "libopus"))  # fmt: skip
    clip = clip_from_bytes(voice.read_bytes(), filename="voice-message.bin")
    assert clip.duration_s == pytest.approx(3.0, abs=0.05)
    assert clip.provenance.ref == "voice-message.bin"
    digest = hashlib.sha256(voice.read_bytes()).hexdigest()
    assert clip.provenance.content_sha256 == digest
    assert clip.provenance.own_groups == {digest}


def test_declared_size_over_the_cap_is_refused_before_reading() -> None:
    check_declared_size(DEFAULT_MAX_ATTACHMENT_BYTES, DEFAULT_MAX_ATTACHMENT_BYTES)
    with pytest.raises(InputTooLargeError, match=r"26\.0 MiB; the limit is 25\.0 MiB"):
        check_declared_size(26 * 2**20, DEFAULT_MAX_ATTACHMENT_BYTES)


def test_bytes_over_the_cap_are_refused_without_decoding(make_media: MakeMedia) -> None:
    data = make_media("long.wav", seconds=5).read_bytes()
    with pytest.raises(InputTooLargeError, match="limit"):
        clip_from_bytes(data, filename="long.wav", max_bytes=len(data) - 1)


def test_window_of_a_long_attachment(tmp_path: Path) -> None:
    song = generate_media(tmp_path / "song.mp3", seconds=60, tone_hz=440, loud_from_s=35)
    clip = clip_from_bytes(song.read_bytes(), filename="../../etc/song.mp3", start_s=30.0)
    assert (clip.provenance.start_s, clip.provenance.ref) == (30.0, "song.mp3")
    assert clip.samples.shape == (10 * SAMPLE_RATE_HZ,)
    quiet = clip.samples[: 4 * SAMPLE_RATE_HZ]
    loud = clip.samples[6 * SAMPLE_RATE_HZ :]
    assert np.abs(quiet).max() < 0.01 < 0.1 < np.abs(loud).max()
    assert clip.provenance.source_duration_s == pytest.approx(60.0, abs=0.1)


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("song.mp3", "song.mp3"),
        ("C:\\Users\\me\\song.mp3", "song.mp3"),
        ("/etc/passwd", "passwd"),
        ("bad\x00\x1bname.ogg", "badname.ogg"),
        ("", "attachment"),
        ("../", "attachment"),
        ("x" * 300 + ".mp3", "x" * 99 + "\u2026"),
    ],
)
def test_display_name(given: str, shown: str) -> None:
    assert display_name(given) == shown


# --------------------------------------------------------------------------------------
# Streaming an upload to a private file (never whole in memory)


def _leftovers() -> list[str]:
    return [name for name in os.listdir(tempfile.gettempdir()) if name.startswith("musicrec-att-")]


async def test_an_upload_streams_to_a_private_file_that_is_removed(
    http_server: LocalHTTPServer, make_media: MakeMedia
) -> None:
    data = make_media("song.mp3", seconds=12, tone_hz=440).read_bytes()
    url = http_server.add("/cdn/song.mp3", data, content_type="audio/mpeg")
    async with streamed_upload(url, name="song.mp3", declared_size=len(data)) as path:
        assert path.name.startswith("musicrec-att-")
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.read_bytes() == data
        clip = clip_from_file(path, filename="dir/song.mp3", start_s=0.5)
    assert not path.exists() and _leftovers() == []
    assert (clip.provenance.kind, clip.provenance.ref, clip.provenance.start_s) == (
        "attachment",
        "song.mp3",
        0.5,
    )
    assert clip.provenance.content_sha256 == hashlib.sha256(data).hexdigest()
    reference = clip_from_bytes(data, filename="song.mp3", start_s=0.5)
    assert np.array_equal(reference.samples, clip.samples)
    assert reference.provenance == clip.provenance


async def test_a_declared_size_over_the_cap_is_refused_before_connecting(
    http_server: LocalHTTPServer,
) -> None:
    url = http_server.add("/big", b"x" * 10)
    with pytest.raises(InputTooLargeError, match="limit is 1.0 MiB"):
        async with streamed_upload(url, name="a.mp3", declared_size=2 * MiB, max_bytes=MiB):
            pass
    assert http_server.requests("/big") == []


@pytest.mark.parametrize("content_length", [None, -1, 1000])
async def test_the_cap_holds_on_what_the_server_says_and_sends(
    content_length: int | None, http_server: LocalHTTPServer
) -> None:
    """The upload claims 1000 bytes; the server announces 3 MiB, nothing, or lies (1000)."""
    http_server.send_buffer_bytes = 32 * 1024
    url = http_server.add("/liar", b"\0" * (3 * MiB), content_length=content_length)
    with pytest.raises((InputTooLargeError, FetchError)) as caught:
        async with streamed_upload(url, name="a.mp3", declared_size=1000, max_bytes=MiB) as path:
            assert path.stat().st_size <= MiB  # a lie that stops at 1000 bytes is harmless
            raise FetchError("reached the block")
    if content_length == 1000:  # refused as a broken download, or cut at 1000 bytes
        assert isinstance(caught.value, FetchError)
    else:
        assert isinstance(caught.value, InputTooLargeError)
        assert http_server.bytes_served("/liar") < 2 * MiB
    assert _leftovers() == []


@pytest.mark.parametrize(
    "misbehaviour",
    [{"status": 404}, {"cut_after": 5000}, {"stall_s": 30.0, "stall_after": 100}],
)
async def test_download_failures_are_fetch_errors_without_leftovers(
    misbehaviour: dict[str, object], http_server: LocalHTTPServer
) -> None:
    url = http_server.add("/bad", b"y" * 20_000, **misbehaviour)  # type: ignore[arg-type]
    with pytest.raises(FetchError, match=r"^Could not download a\.mp3; please try again\.$"):
        async with streamed_upload(url, name="dir/a.mp3", declared_size=20_000, timeout_s=1.0):
            pass
    assert _leftovers() == []


def test_a_large_upload_is_read_in_the_background(
    make_media: MakeMedia, monkeypatch: pytest.MonkeyPatch, ffmpeg_path: None
) -> None:
    """Every process reading an upload over LARGE_UPLOAD_BYTES (ffprobe, the first look,
    the candidate windows) starts in the background class, so a short clip is not slowed
    by another member's long file; a small upload's processes start as before (the
    candidate windows of a long one CANDIDATE_NICENESS lower)."""
    small = make_media("clip.mp3", seconds=10)
    large = make_media("track.wav", seconds=40)  # 16-bit stereo 44.1 kHz: 6.7 MiB
    assert small.stat().st_size < LARGE_UPLOAD_BYTES < large.stat().st_size
    real_spawn = process.spawn

    def priorities(path: Path) -> dict[str, set[ChildPriority]]:
        seen: dict[str, set[ChildPriority]] = {"ffprobe": set(), "ffmpeg": set()}

        def spying(args, **kwargs):  # type: ignore[no-untyped-def]
            program = "ffprobe" if "ffprobe" in Path(args[0]).name else "ffmpeg"
            seen[program].add(kwargs["priority"])
            return real_spawn(args, **kwargs)

        monkeypatch.setattr(process, "spawn", spying)
        clip_from_file(path, filename=path.name, max_decoders=1)
        return seen

    assert priorities(small) == {"ffprobe": {NORMAL_PRIORITY}, "ffmpeg": {NORMAL_PRIORITY}}
    seen = priorities(large)
    assert {priority.background for priority in seen["ffprobe"] | seen["ffmpeg"]} == {True}
    assert len(seen["ffmpeg"]) >= 1 and len(seen["ffprobe"]) == 1


def test_clip_from_file_checks_the_real_size(tmp_path: Path) -> None:
    path = tmp_path / "upload"
    path.write_bytes(b"z" * 2048)
    with pytest.raises(InputTooLargeError):
        clip_from_file(path, filename="z.mp3", max_bytes=1024)
