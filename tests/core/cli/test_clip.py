"""``musicrec clip``: the exact clip as a float WAV, provenance JSON, one-line refusals."""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

import numpy as np
import pytest

from musicrec_core.audio import load_clip
from musicrec_core.cli import main
from musicrec_core.errors import LinkRejectedError
from musicrec_core.sources import clip_from_source
from musicrec_core.sources.ytdlp_fetch import _serve_test_video
from tests.helpers.http_server import LocalHTTPServer
from tests.helpers.media import generate_media
from tests.helpers.proxy import refusing_proxy


@pytest.fixture(scope="module")
def song(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two minutes of stereo 44.1 kHz MP3, noise (so every sample differs)."""
    return generate_media(tmp_path_factory.mktemp("cli") / "song.mp3", seconds=120, tone_hz=None)


def read_float_wav(path: Path) -> tuple[int, int, int, np.ndarray]:
    """(format tag, channels, sample rate, float32 samples) of a WAV written by `clip`."""
    data = path.read_bytes()
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    assert struct.unpack("<I", data[4:8])[0] == len(data) - 8
    position, fmt, samples = 12, None, None
    while position < len(data):
        kind, size = (
            data[position : position + 4],
            struct.unpack("<I", data[position + 4 : position + 8])[0],
        )
        body = data[position + 8 : position + 8 + size]
        if kind == b"fmt ":
            fmt = struct.unpack("<HHIIHH", body[:16])
        elif kind == b"data":
            samples = np.frombuffer(body, dtype="<f4")
        position += 8 + size
    assert fmt is not None and samples is not None
    tag, channels, rate, byte_rate, align, bits = fmt
    assert (byte_rate, align, bits) == (rate * 4 * channels, 4 * channels, 32)
    return tag, channels, rate, samples


def test_clip_of_a_file_is_exactly_what_the_embedders_see(
    song: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "clip.wav"
    assert main(["clip", str(song), "--start", "1:30", "-o", str(out)]) == 0
    provenance = json.loads(capsys.readouterr().out)
    assert provenance["kind"] == "file" and provenance["ref"] == "song.mp3"
    assert provenance["start"] == 90.0 and provenance["duration"] == 10.0
    assert provenance["content_sha256"] == hashlib.sha256(song.read_bytes()).hexdigest()

    tag, channels, rate, samples = read_float_wav(out)
    assert (tag, channels, rate) == (3, 1, 16_000)
    expected = clip_from_source(str(song), start_s=90.0).samples
    assert np.array_equal(samples, expected)  # bit for bit
    assert np.array_equal(load_clip(out).samples, expected)  # and it decodes back unchanged


@pytest.mark.parametrize("start", ["90", "1:30", "1m30s", "90s"])
def test_start_forms(song: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], start: str):
    assert main(["clip", str(song), "--start", start, "-o", str(tmp_path / "c.wav")]) == 0
    assert json.loads(capsys.readouterr().out)["start"] == 90.0


def test_bad_start_is_a_usage_error(song: Path, tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["clip", str(song), "--start", "soon", "-o", str(tmp_path / "c.wav")])
    assert info.value.code == 2
    assert "not a start time" in capsys.readouterr().err


def test_youtube_link_through_the_test_seam(
    http_server: LocalHTTPServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    media = generate_media(tmp_path / "v.wav", seconds=60, sample_rate=8000, channels=1,
                           codec_args=("-c:a", "pcm_u8"))  # fmt: skip
    url = http_server.add("/v.wav", media.read_bytes(), content_type="audio/wav")
    out = tmp_path / "yt.wav"
    with _serve_test_video("cliVideo_01", url):
        code = main(["clip", "<https://www.youtube.com/watch?v=cliVideo_01&t=20>", "-o", str(out)])
    assert code == 0
    provenance = json.loads(capsys.readouterr().out)
    assert (provenance["kind"], provenance["ref"], provenance["start"]) == (
        "youtube",
        "cliVideo_01",
        20.0,
    )
    assert provenance["content_sha256"] is None  # a video is identified by its id
    assert read_float_wav(out)[3].shape == (160_000,)


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ("no/such/file.mp3", "neither an existing file nor a YouTube link"),
        ("https://www.youtube.com/playlist?list=PL1234", "playlist"),
        ("https://youtube.com.evil.example/watch?v=dQw4w9WgXcQ", "Only YouTube links"),
    ],
)
def test_refusals_are_one_line_without_traceback(
    source: str, words: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "c.wav"
    assert main(["clip", source, "-o", str(out)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("musicrec: ") and words in lines[0]
    assert "Traceback" not in captured.err
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_not_audio_leaves_no_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = tmp_path / "notes.mp3"
    text.write_text("not music\n" * 100)
    out = tmp_path / "c.wav"
    assert main(["clip", str(text), "-o", str(out)]) == 1
    assert "notes.mp3" in capsys.readouterr().err
    assert not out.exists()


def test_debug_shows_the_exception(tmp_path: Path) -> None:
    with pytest.raises(LinkRejectedError):
        main(["--debug", "clip", "nothing-here.mp3", "-o", str(tmp_path / "c.wav")])


def test_unwritable_output_is_a_clear_error(
    song: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "missing-folder" / "c.wav"
    assert main(["clip", str(song), "-o", str(out)]) == 1
    assert "Cannot write" in capsys.readouterr().err


def test_cookies_and_proxy_flags_reach_ytdlp(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--proxy is used for a real link: the tunnel request arrives at our local proxy."""
    cookies = tmp_path / "cookies.txt"
    cookies.write_text("# Netscape HTTP Cookie File\n")
    with refusing_proxy() as (proxy, seen):
        code = main(["clip", "https://youtu.be/dQw4w9WgXcQ", "--proxy", proxy,
                     "--cookies", str(cookies), "-o", str(tmp_path / "c.wav")])  # fmt: skip
    assert code == 1
    assert seen and seen[0].startswith(b"CONNECT www.youtube.com:443 ")
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
