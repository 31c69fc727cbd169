"""What an upload cannot make ffmpeg do: open files it names, use unbounded memory, read
the bot's secrets.

The proof that a named file is never opened is a FIFO: opening one for reading blocks
until a writer comes, so a watcher that finds a reader on it (a non-blocking open of the
write end succeeds only then) catches the opener in the act, and the call itself returns
at once instead of hanging until its deadline.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest

from musicrec_core import child_process
from musicrec_core.audio import load_clip, probe_audio
from musicrec_core.audio.process import ALLOWED_FORMATS
from musicrec_core.errors import AudioError, NotAudioError, UnreadableAudioError
from tests.helpers.clips import assert_valid_clip
from tests.helpers.fake_tools import UseFfmpeg, fake_tool
from tests.helpers.hostile_media import PLAYLIST_SHAPES, playlist_naming
from tests.helpers.media import MakeMedia


class FifoWatch:
    """Watch a FIFO for a reader while a block runs; ``opened`` says whether one came."""

    def __init__(self, fifo: Path) -> None:
        self.fifo = fifo
        self.opened = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> FifoWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                descriptor = os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:  # ENXIO: nobody has it open for reading
                time.sleep(0.002)
                continue
            self.opened = True
            os.close(descriptor)  # the reader sees end of file and goes on
            return


@pytest.mark.parametrize("shape", PLAYLIST_SHAPES)
@pytest.mark.parametrize("call", ["load_clip", "probe_audio"])
def test_a_playlist_never_opens_the_fifo_it_names(shape: str, call: str, tmp_path: Path) -> None:
    fifo = tmp_path / "neighbour.wav"
    os.mkfifo(fifo)
    upload = playlist_naming(tmp_path, shape, fifo.name)
    read = load_clip if call == "load_clip" else probe_audio
    started = time.monotonic()
    with FifoWatch(fifo) as watch, pytest.raises(NotAudioError) as caught:
        read(upload, timeout_s=10, **({"ref": "upload.bin"} if call == "load_clip" else {}))
    assert not watch.opened, "ffmpeg opened the file the playlist names"
    assert time.monotonic() - started < 5  # refused at once, not stopped at the deadline
    assert str(tmp_path) not in str(caught.value)


@pytest.mark.parametrize("shape", PLAYLIST_SHAPES)
def test_a_playlist_naming_a_real_wav_is_refused(
    shape: str, make_media: MakeMedia, tmp_path: Path
) -> None:
    wav = make_media("neighbour.wav", seconds=4)
    upload = playlist_naming(wav.parent, shape, wav.name)
    with pytest.raises(NotAudioError, match=r"^upload\.bin is not an audio or video file"):
        load_clip(upload, ref="upload.bin")
    assert_valid_clip(load_clip(wav))  # the neighbour itself is fine


@pytest.mark.parametrize(
    "name,options",
    [
        ("tone.aiff", {}),
        ("tone.wma", {"codec_args": ("-c:a", "wmav2")}),
        ("tone.mka", {"codec_args": ("-c:a", "libvorbis")}),
        ("tone.ts", {"codec_args": ("-c:a", "mp2")}),
        ("tone.avi", {"codec_args": ("-c:a", "pcm_s16le")}),
        ("tone.aac", {"codec_args": ("-c:a", "aac")}),
        ("tone.au", {}),
        ("tone.caf", {}),
        ("tone.wv", {}),
        ("tone.ac3", {}),
        ("tone.3gp", {"sample_rate": 8000, "channels": 1, "codec_args": ("-c:a", "aac")}),
    ],
)
def test_containers_people_send_are_on_the_whitelist(
    name: str, options: dict[str, object], make_media: MakeMedia
) -> None:
    path = make_media(name, seconds=2, **options)
    assert_valid_clip(load_clip(path))


def test_the_whitelist_leaves_out_every_reader_of_other_inputs() -> None:
    refused = {"hls", "applehttp", "dash", "concat", "ffmetadata", "image2", "lavfi", "tee",
               "imf", "sbg", "webm_dash_manifest", "png_pipe", "data"}  # fmt: skip
    assert refused.isdisjoint(ALLOWED_FORMATS)


# --------------------------------------------------------------------------------------
# Memory


def test_a_child_over_its_memory_limit_fails_with_a_friendly_error(
    make_media: MakeMedia, monkeypatch: pytest.MonkeyPatch, ffmpeg_path: None
) -> None:
    """Under a limit too small for ffmpeg, the call fails cleanly, saying why (the decode
    workers' limit: test_decode_workers.py)."""
    path = make_media("tone.flac", seconds=4, channels=8, sample_rate=96_000)
    assert_valid_clip(load_clip(path))
    monkeypatch.setattr(child_process, "DECODER_MEMORY_LIMIT_BYTES", 24 * 2**20)
    monkeypatch.setattr("musicrec_core.audio.process.DECODER_MEMORY_LIMIT_BYTES", 24 * 2**20)
    with pytest.raises(UnreadableAudioError, match="needs more memory than musicrec allows"):
        load_clip(path, ref="big.flac")


def test_decoders_run_under_the_memory_limit(
    use_ffmpeg: UseFfmpeg, make_media: MakeMedia, tmp_path: Path
) -> None:
    path = make_media("tone.wav", seconds=2)
    report = tmp_path / "limits.json"
    tools = tmp_path / "tools"
    spy = (
        "import json, resource, sys\n"
        f"json.dump(resource.getrlimit(resource.RLIMIT_DATA), open({str(report)!r}, 'w'))\n"
        "sys.exit(1)\n"
    )
    fake_tool(tools, "ffprobe", spy)
    use_ffmpeg(fake_tool(tools, "ffmpeg", spy))
    with pytest.raises(AudioError):
        probe_audio(path)
    limit = child_process.DECODER_MEMORY_LIMIT_BYTES
    assert json.loads(report.read_text()) == [limit, limit]
