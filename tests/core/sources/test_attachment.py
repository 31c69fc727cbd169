"""Attachments: size caps before reading, content identified by probing, every hostile file."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from musicrec_core.clip import SAMPLE_RATE_HZ
from musicrec_core.errors import InputTooLargeError, NotAudioError
from musicrec_core.sources.attachment import (
    DEFAULT_MAX_ATTACHMENT_BYTES,
    check_declared_size,
    clip_from_bytes,
    display_name,
)
from tests.helpers.hostile_media import hostile_files
from tests.helpers.media import MakeMedia, generate_media

Hostile = dict[str, tuple[Path, type[Exception] | None]]


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
