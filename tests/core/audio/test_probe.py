"""probe_audio: what ffprobe says is in a file, decided by content, never by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from musicrec_core.audio import AudioInfo, load_clip, probe_audio
from musicrec_core.errors import UnreadableAudioError
from tests.helpers.clips import assert_valid_clip
from tests.helpers.media import MakeMedia, run_ffmpeg


def test_probe_describes_video_with_audio(make_media: MakeMedia) -> None:
    path = make_media(
        "movie.mp4", seconds=3, video=True,
        codec_args=("-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac",
                    "-metadata", "title=Test Movie", "-metadata", "artist=Someone"),
    )  # fmt: skip
    info = probe_audio(path)
    assert isinstance(info, AudioInfo)
    assert info.has_video is True
    assert info.codec_name == "aac"
    assert info.channels == 2 and info.sample_rate_hz == 44_100
    assert "mp4" in info.format_name
    assert info.duration_s == pytest.approx(3, abs=0.1)
    assert info.title == "Test Movie" and info.artist == "Someone"
    assert info.size_bytes == path.stat().st_size
    assert load_clip(path, info=info).provenance.title == "Test Movie"


@pytest.mark.parametrize("name", ["tagged.flac", "tagged.ogg"])
def test_probe_reads_album_and_artist_from_the_container_or_the_stream(
    make_media: MakeMedia, name: str
) -> None:
    """FLAC keeps its tags on the container, Ogg Vorbis on the audio stream: both are read."""
    tags = ("-metadata", "title=Song", "-metadata", "artist=Band", "-metadata", "album=Record")
    info = probe_audio(make_media(name, seconds=1, codec_args=tags))
    assert (info.title, info.artist, info.album) == ("Song", "Band", "Record")
    untagged = probe_audio(make_media("plain.flac", seconds=1))
    assert (untagged.title, untagged.artist, untagged.album) == (None, None, None)


def test_cover_art_is_not_video(make_media: MakeMedia, tmp_path: Path) -> None:
    song = make_media("song.mp3", seconds=2)
    cover = tmp_path / "cover.png"
    run_ffmpeg("-f", "lavfi", "-i", "testsrc=size=32x32", "-frames:v", "1", str(cover))
    tagged = tmp_path / "tagged.mp3"
    run_ffmpeg("-i", str(song), "-i", str(cover), "-map", "0", "-map", "1", "-c", "copy",
           "-disposition:v", "attached_pic", str(tagged))  # fmt: skip
    info = probe_audio(tagged)
    assert info.has_video is False
    assert info.codec_name == "mp3"
    assert_valid_clip(load_clip(tagged))


def test_probe_reports_eight_channels(make_media: MakeMedia) -> None:
    info = probe_audio(make_media("eight.flac", seconds=1, channels=8, sample_rate=96_000))
    assert (info.channels, info.sample_rate_hz, info.codec_name) == (8, 96_000, "flac")


def test_content_decides_not_the_extension(make_media: MakeMedia, tmp_path: Path) -> None:
    real = make_media("real.ogg", seconds=2, sample_rate=48_000, codec_args=("-c:a", "libopus"))
    disguised = tmp_path / "song.mp3"
    disguised.write_bytes(real.read_bytes())
    assert probe_audio(disguised).codec_name == "opus"
    assert_valid_clip(load_clip(disguised))


def test_missing_and_non_regular_paths(tmp_path: Path) -> None:
    with pytest.raises(UnreadableAudioError, match="does not exist"):
        load_clip(tmp_path / "nope.mp3")
    with pytest.raises(UnreadableAudioError, match="not a regular file"):
        probe_audio(tmp_path)
