"""Many windows of one file through one open (``load_windows``): the clips ``load_clip``
gives, one worker session per file, and a failing window costs only itself."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from musicrec_core.audio import load_clip, probe_audio
from musicrec_core.audio.decode_workers import (
    DecodeWorkers,
    WorkersUnavailableError,
    default_workers,
    set_default_workers,
)
from musicrec_core.audio.track_windows import load_windows
from musicrec_core.errors import AudioTooShortError, NotAudioError
from tests.helpers.media import generate_media

pytestmark = pytest.mark.skipif(default_workers() is None, reason="PyAV or soxr not installed")


@pytest.mark.parametrize(
    ("name", "codec_args"),
    [("song.mp3", ("-metadata", "title=Blue Hour", "-metadata", "artist=The Tones")),
     ("song.ogg", ())],
)  # fmt: skip
def test_each_window_is_the_clip_load_clip_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, codec_args: tuple[str, ...]
) -> None:
    path = generate_media(tmp_path / name, seconds=41, tone_hz=None, codec_args=codec_args)
    starts = (0.0, 12.5, 31.0)
    sessions = []
    original = DecodeWorkers.session

    def counted(self: DecodeWorkers, *args: object, **kwargs: object) -> object:
        sessions.append(args[0])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(DecodeWorkers, "session", counted)
    track = load_windows(path, lambda info: starts)
    monkeypatch.undo()
    assert len(sessions) == 1  # one open for the probe and every window
    assert track.errors == ()
    probed = probe_audio(path)
    # ffprobe's tags; its duration within the MP3 encoder delay (newer libav trims it)
    assert (track.info.title, track.info.artist) == (probed.title, probed.artist)
    assert track.info.duration_s == pytest.approx(probed.duration_s, abs=0.06)
    for start, clip in zip(starts, track.clips, strict=True):
        alone = load_clip(path, start_s=start)
        assert clip.provenance == alone.provenance
        assert np.array_equal(clip.samples, alone.samples)  # bit for bit


@pytest.mark.parametrize("name", ["tagged.flac", "tagged.ogg"])
def test_the_worker_reads_the_tags_ffprobe_reads(tmp_path: Path, name: str) -> None:
    """FLAC keeps its tags on the container, Ogg Vorbis on the audio stream: the worker's
    probe reads both, as ffprobe's does (a library's owners come from them)."""
    tags = ("-metadata", "title=Song", "-metadata", "artist=Band", "-metadata", "album=Record")
    path = generate_media(tmp_path / name, seconds=12, tone_hz=None, codec_args=tags)
    info = load_windows(path, lambda info: (0.0,)).info
    assert (info.title, info.artist, info.album) == ("Song", "Band", "Record")


def test_the_plan_sees_the_probe_and_a_window_past_the_end_costs_only_itself(
    tmp_path: Path,
) -> None:
    path = generate_media(tmp_path / "short.wav", seconds=15, tone_hz=440)
    seen = []

    def plan(info: object) -> tuple[float, ...]:
        seen.append(info)
        return (0.0, 40.0, 2.0)

    track = load_windows(path, plan)
    assert seen == [track.info] and track.info.duration_s == pytest.approx(15.0, abs=0.05)
    assert [clip.provenance.start_s for clip in track.clips] == [0.0, 2.0]
    (error,) = track.errors
    assert isinstance(error, AudioTooShortError)


def test_a_file_that_is_not_audio_raises_and_the_worker_serves_the_next(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp3"
    junk.write_bytes(np.random.default_rng(3).bytes(20_000))
    with pytest.raises(NotAudioError, match="junk.mp3"):
        load_windows(junk, lambda info: (0.0,))
    tone = generate_media(tmp_path / "tone.wav", seconds=11, tone_hz=440)
    assert len(load_windows(tone, lambda info: (0.0,)).clips) == 1


def test_without_workers_it_says_so(tmp_path: Path) -> None:
    tone = generate_media(tmp_path / "tone.wav", seconds=11, tone_hz=440)
    set_default_workers(False)
    try:
        with pytest.raises(WorkersUnavailableError):
            load_windows(tone, lambda info: (0.0,))
    finally:
        set_default_workers(True)
