"""The process runner: file names never read as protocols, missing ffmpeg, deadlines, caps.

Fake ffmpeg/ffprobe programs (Python scripts) stand in for misbehaving binaries.
"""

from __future__ import annotations

import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from musicrec_core.audio import load_clip, probe_audio, process
from musicrec_core.audio.process import Budget, find_binaries, resampler_for
from musicrec_core.errors import DecodeTimeoutError, MusicrecError, UnreadableAudioError
from tests.helpers.clips import WINDOW, assert_valid_clip
from tests.helpers.fake_tools import UseFfmpeg, fake_tool
from tests.helpers.media import MakeMedia


@pytest.mark.parametrize("name", ["concat:song.wav", "-i song.wav", "http:song.wav", "ü ñ.wav"])
def test_file_names_are_never_read_as_protocols_or_options(
    name: str, make_media: MakeMedia
) -> None:
    assert_valid_clip(load_clip(make_media(name, seconds=2)))


def test_missing_ffmpeg_says_how_to_install_it(
    use_ffmpeg: UseFfmpeg, make_media: MakeMedia, tmp_path: Path
) -> None:
    path = make_media("tone.wav", seconds=2)
    use_ffmpeg(tmp_path / "nowhere" / "ffmpeg")
    with pytest.raises(UnreadableAudioError, match="apt-get install ffmpeg") as caught:
        load_clip(path)
    assert isinstance(caught.value, MusicrecError)


@pytest.mark.filterwarnings("ignore:Couldn't find ffprobe:RuntimeWarning")
def test_missing_ffmpeg_on_path(
    use_ffmpeg: UseFfmpeg, make_media: MakeMedia, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = make_media("tone.wav", seconds=2)
    use_ffmpeg("ffmpeg")
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    monkeypatch.setenv("PATH", str(empty_bin))
    with pytest.raises(UnreadableAudioError, match="install"):
        probe_audio(path)


def test_ffmpeg_location_follows_pydub(
    use_ffmpeg: UseFfmpeg, make_media: MakeMedia, tmp_path: Path
) -> None:
    """Setting pydub's AudioSegment.converter moves ffmpeg and ffprobe for musicrec too."""
    import shutil

    folder = tmp_path / "tools"
    folder.mkdir()
    for tool in ("ffmpeg", "ffprobe"):
        (folder / tool).symlink_to(shutil.which(tool))  # type: ignore[arg-type]
    use_ffmpeg(folder / "ffmpeg")
    assert find_binaries() == (str(folder / "ffmpeg"), str(folder / "ffprobe"))
    assert_valid_clip(load_clip(make_media("tone.wav", seconds=2)))


def test_a_hanging_ffmpeg_is_killed_at_the_deadline(
    use_ffmpeg: UseFfmpeg, make_media: MakeMedia, tmp_path: Path
) -> None:
    path = make_media("tone.wav", seconds=2)
    pids = tmp_path / "pids"
    pids.mkdir()
    sleeper = (
        "import os, sys, time\n"
        "if '-buildconf' in sys.argv:\n"
        "    print('configuration: --enable-libsoxr')\n"
        "    sys.exit(0)\n"
        f"open({str(pids)!r} + '/' + str(os.getpid()), 'w').close()\n"
        "time.sleep(60)\n"
    )
    tools = tmp_path / "tools"
    fake_tool(tools, "ffprobe", sleeper)
    use_ffmpeg(fake_tool(tools, "ffmpeg", sleeper))
    with pytest.raises(DecodeTimeoutError, match="longer than 1 s"):
        load_clip(path, timeout_s=1)
    started = [int(name) for name in os.listdir(pids)]
    assert len(started) == 2  # ffprobe and the first window's ffmpeg ran side by side
    for pid in started:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # killed and reaped


def test_endless_ffmpeg_output_is_capped(use_ffmpeg, make_media: MakeMedia, tmp_path: Path) -> None:
    """A decoder that never stops writing is cut at the window plus a margin."""
    import shutil

    path = make_media("tone.wav", seconds=4)
    tools = tmp_path / "tools"
    header = b".snd" + b"".join(x.to_bytes(4, "big") for x in (24, 0xFFFFFFFF, 6, 16000, 2))
    fake_tool(tools, "ffmpeg", (
        "import sys\n"
        f"sys.stdout.buffer.write({header!r})\n"
        "chunk = b'\\x3e\\x00\\x00\\x00' * 65536\n"  # 0.125 as big-endian float32
        "while True:\n    sys.stdout.buffer.write(chunk)\n"
    ))  # fmt: skip
    (tools / "ffprobe").symlink_to(shutil.which("ffprobe"))  # type: ignore[arg-type]
    use_ffmpeg(tools / "ffmpeg")
    clip = load_clip(path, timeout_s=20)
    samples = assert_valid_clip(clip)
    assert samples.size == WINDOW
    assert np.allclose(samples, 0.125)


def test_resampler_is_named() -> None:
    assert resampler_for(find_binaries()[0], Budget(10, "ffmpeg")) in {"soxr", "swr"}


def test_callers_asking_at_once_share_one_resampler_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Eight threads asking about a binary not checked yet (the candidate windows of a
    process's first long file) run `ffmpeg -buildconf` once and get the same answer."""
    ffmpeg = tmp_path / "ffmpeg"  # a new name: nothing cached for it
    ffmpeg.symlink_to(find_binaries()[0])
    checks = 0
    real_run = process.run_process

    def counting(args, *rest, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal checks
        checks += "-buildconf" in args
        return real_run(args, *rest, **kwargs)

    monkeypatch.setattr(process, "run_process", counting)
    start = threading.Barrier(8)

    def ask(_: int) -> str:
        start.wait()
        return resampler_for(str(ffmpeg), Budget(30, "ffmpeg"))

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = set(pool.map(ask, range(8)))
    assert checks == 1
    assert answers == {resampler_for(find_binaries()[0], Budget(10, "ffmpeg"))}


def test_works_without_pydub(make_media: MakeMedia, monkeypatch: pytest.MonkeyPatch) -> None:
    """pydub only locates ffmpeg: if it cannot be imported, PATH is used."""
    path = make_media("tone.wav", seconds=2)
    monkeypatch.setitem(sys.modules, "pydub", None)
    assert_valid_clip(load_clip(path))
