"""The decode worker pool: long-lived workers that keep every guarantee of the ffmpeg
children, and lose only the request they held when they crash, stall or run out of memory."""

from __future__ import annotations

import array
import fcntl
import os
import signal
import struct
import termios
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from musicrec_core.audio import decode_worker_process, load_clip
from musicrec_core.audio.decode_workers import DecodeWorkers, default_workers, set_default_workers
from musicrec_core.audio.process import Budget
from musicrec_core.audio.window import candidate_starts
from musicrec_core.audio.window_samples import WindowRead
from musicrec_core.child_process import DECODER_MEMORY_LIMIT_BYTES, resident_bytes
from musicrec_core.child_process import PASSED_VARIABLES as PASSED
from musicrec_core.errors import DecodeTimeoutError, NotAudioError, UnreadableAudioError
from tests.helpers.clips import assert_valid_clip, peak_hz
from tests.helpers.hostile_media import hostile_files, write_float_wav
from tests.helpers.long_media import long_many_channel_opus
from tests.helpers.media import MakeMedia, generate_media, run_ffmpeg
from tests.helpers.processes import alive, children

pytestmark = pytest.mark.skipif(default_workers() is None, reason="PyAV or soxr not installed")


@pytest.fixture
def pool() -> Iterator[DecodeWorkers]:
    workers = DecodeWorkers()
    yield workers
    workers.close()


def _decode_start(pool: DecodeWorkers, path: Path, budget_s: float = 30.0) -> int:
    """Probe ``path`` in a worker and decode its first second; the frames decoded."""
    with pool.session(path, Budget(budget_s, path.name)) as session:
        window = session.decode(0.0, 1.0, sanitize=False, cap_frames=16_000, max_channels=8)
    return window.samples.shape[0]


def _one_idle_worker(pool: DecodeWorkers, tone: Path) -> int:
    assert _decode_start(pool, tone) == 16_000
    (pid,) = pool.idle_pids()
    return pid


def _stalling_fifo(tmp_path: Path) -> tuple[Path, int]:
    """A FIFO with a writer held open and nothing written: a file that never ends."""
    fifo = tmp_path / "never-ends"
    os.mkfifo(fifo)
    return fifo, os.open(fifo, os.O_RDWR)


def test_a_worker_starts_limited_with_the_minimal_environment(
    pool: DecodeWorkers, make_media: MakeMedia, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "secret-token")
    (pid,) = [_one_idle_worker(pool, make_media("tone.mp3", seconds=2))]
    with open(f"/proc/{pid}/limits", encoding="ascii") as limits:
        data = next(line for line in limits if line.startswith("Max data size"))
    assert data.split()[3:5] == [str(DECODER_MEMORY_LIMIT_BYTES)] * 2
    with open(f"/proc/{pid}/environ", "rb") as environ:
        names = {entry.split(b"=")[0] for entry in environ.read().split(b"\0") if entry}
    allowed = {name.encode() for name in PASSED} | {b"PWD"}  # PWD: set by /bin/sh's wrapper
    assert b"DISCORD_TOKEN" not in names and names <= allowed


def test_one_worker_serves_many_files(pool: DecodeWorkers, make_media: MakeMedia) -> None:
    tones = [make_media(f"t{hz}.ogg", seconds=3, tone_hz=hz) for hz in (300, 600, 900)]
    pid = _one_idle_worker(pool, tones[0])
    for path in tones[1:]:
        assert _decode_start(pool, path) == 16_000
    assert pool.idle_pids() == [pid]


def test_a_stalled_decoder_is_killed_at_the_deadline_and_replaced(
    pool: DecodeWorkers, make_media: MakeMedia, tmp_path: Path
) -> None:
    tone = make_media("tone.mp3", seconds=3)
    pid = _one_idle_worker(pool, tone)
    fifo, writer = _stalling_fifo(tmp_path)
    try:
        with pytest.raises(DecodeTimeoutError, match="never-ends"):
            _decode_start(pool, fifo, budget_s=1.0)
    finally:
        os.close(writer)
    assert not alive(pid) and pool.idle_pids() == []
    assert _decode_start(pool, tone) == 16_000
    assert pool.idle_pids() != [pid]


def test_a_worker_killed_mid_file_fails_only_that_request(
    pool: DecodeWorkers, make_media: MakeMedia, tmp_path: Path
) -> None:
    """SIGKILL while the worker is inside the demuxer (it has read the bytes written so
    far): the request it held is a clear error; the one beside it and the next succeed."""
    tone = make_media("tone.wav", seconds=3, tone_hz=500)
    victim = _one_idle_worker(pool, tone)
    fifo, writer = _stalling_fifo(tmp_path)
    outcome: list[BaseException] = []

    def held() -> None:
        try:
            _decode_start(pool, fifo)
        except BaseException as exc:  # reported below
            outcome.append(exc)

    thread = threading.Thread(target=held)
    thread.start()
    os.write(writer, b"RIFF" + struct.pack("<I", 1 << 20) + b"WAVEfmt ")
    waiting = array.array("i", [1])
    while waiting[0]:  # until the worker has read every byte: it is mid-file
        fcntl.ioctl(writer, termios.FIONREAD, waiting)
        thread.join(0.01)
    beside = load_clip(tone)  # the default pool, another worker
    os.kill(victim, signal.SIGKILL)
    thread.join(30)
    os.close(writer)
    assert len(outcome) == 1 and isinstance(outcome[0], UnreadableAudioError)
    assert "stopped while reading never-ends" in str(outcome[0])
    assert peak_hz(assert_valid_clip(beside)) == pytest.approx(500, abs=5)
    assert pool.idle_pids() == [] and not alive(victim)
    assert _decode_start(pool, tone) == 16_000


def test_a_file_past_the_memory_limit_is_refused_and_its_worker_replaced(
    pool: DecodeWorkers, tmp_path: Path
) -> None:
    """An M4A whose sample-size table claims 64 M entries makes libav allocate 512 MiB,
    past the worker's RLIMIT_DATA: the friendly memory error, and a fresh worker next."""
    small = generate_media(tmp_path / "small.m4a", seconds=3, codec_args=("-c:a", "aac"))
    data = bytearray(small.read_bytes())
    table = data.find(b"stsz")
    struct.pack_into(">I", data, table + 12, (1 << 26) - 100)
    greedy = tmp_path / "greedy.m4a"
    greedy.write_bytes(bytes(data))
    pid = _one_idle_worker(pool, small)
    with pytest.raises(UnreadableAudioError, match="needs more memory"):
        _decode_start(pool, greedy)
    assert not alive(pid) and pool.idle_pids() == []
    assert _decode_start(pool, small) == 16_000


def test_a_worker_grown_past_its_resident_cap_is_replaced(make_media: MakeMedia) -> None:
    workers = DecodeWorkers(recycle_rss_bytes=1)
    try:
        assert _decode_start(workers, make_media("tone.flac", seconds=2)) == 16_000
        assert workers.idle_pids() == []
    finally:
        workers.close()


def test_a_large_upload_is_decoded_in_the_idle_class(
    pool: DecodeWorkers, make_media: MakeMedia
) -> None:
    tone = make_media("tone.mp3", seconds=2)
    with pool.session(tone, Budget(30, "tone"), background=True):
        pass
    with pool.session(tone, Budget(30, "tone")):
        pass
    policies = sorted(os.sched_getscheduler(pid) for pid in pool.idle_pids())
    assert policies == sorted([os.SCHED_OTHER, os.SCHED_IDLE])


def test_the_hostile_corpus_leaks_no_process_or_descriptor(tmp_path: Path) -> None:
    """Every hostile file through the default pool, twice more: the typed errors of the
    ffmpeg path, the same workers at the end (none left busy), no descriptor left open.
    Workers are not retired here: on a loaded machine one could wait long enough."""
    files = hostile_files(tmp_path / "hostile")
    set_default_workers(True, retire_idle_after_s=None)
    try:
        for path, expected in files.values():  # warm up: start the workers
            if expected is None:
                load_clip(path)
        pool = default_workers()
        assert pool is not None
        before_fds = sorted(os.listdir("/proc/self/fd"))
        before_children = children()
        for _ in range(2):
            for path, expected in files.values():
                if expected is None:
                    assert_valid_clip(load_clip(path))
                else:
                    with pytest.raises(expected):
                        load_clip(path)
        assert sorted(os.listdir("/proc/self/fd")) == before_fds
        assert children() <= before_children
        assert all(alive(pid) for pid in pool.idle_pids())
    finally:
        set_default_workers(True)


def test_more_than_eight_channels_are_refused_by_the_workers_too(tmp_path: Path) -> None:
    tone = np.zeros((44_100 * 3, 10), dtype=np.float32)
    path = write_float_wav(tmp_path / "10ch.wav", tone, 44_100)
    message = r"10ch\.wav has 10 audio channels; musicrec reads up to 8 .*stereo"
    with pytest.raises(UnreadableAudioError, match=message):
        load_clip(path)


def test_a_playlist_never_reaches_the_file_it_names(pool: DecodeWorkers, tmp_path: Path) -> None:
    hls = tmp_path / "upload"
    hls.write_text("#EXTM3U\n#EXTINF:4.0,\nsecret.mp3\n#EXT-X-ENDLIST\n", encoding="utf-8")
    with pytest.raises(NotAudioError):
        _decode_start(pool, hls)


def test_a_window_does_not_depend_on_the_windows_read_before_it(
    pool: DecodeWorkers, tmp_path: Path
) -> None:
    """AAC of pink noise (the encoder fills bands by noise substitution, whose generator
    in the decoder advances with every frame): each candidate window read after the others
    in one session is bit for bit that window read alone, as a fresh ffmpeg reads it."""
    path = tmp_path / "noise.m4a"
    run_ffmpeg("-f", "lavfi", "-t", "25", "-i",
               "anoisesrc=color=pink:sample_rate=44100:amplitude=0.3:seed=3",
               "-c:a", "aac", str(path))  # fmt: skip
    starts = candidate_starts(25.0, 10.0)

    def windows(chosen: list[float]) -> list[np.ndarray]:
        with pool.session(path, Budget(30, path.name)) as session:
            reads = [WindowRead.of(start, 10.0) for start in chosen]
            return [
                session.decode(
                    read.seek_s, read.read_s, sanitize=False, cap_frames=read.cap, max_channels=8
                ).samples
                for read in reads
            ]

    in_turn = windows(starts)
    for start, after_others in zip(starts, in_turn, strict=True):
        np.testing.assert_array_equal(after_others, windows([start])[0])


def test_workers_that_cannot_start_leave_the_ffmpeg_programs_to_decode(
    make_media: MakeMedia, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker that exits at once (a broken PyAV install): the call is decoded by ffprobe
    and ffmpeg instead, and later calls go straight to them."""
    broken = tmp_path / "broken_worker.py"
    broken.write_text("raise SystemExit(3)\n", encoding="utf-8")
    monkeypatch.setattr(decode_worker_process, "_SCRIPT", broken)
    tone = make_media("tone.wav", seconds=3, tone_hz=700)
    set_default_workers(True)  # a fresh pool, whose workers start from the broken program
    try:
        assert peak_hz(assert_valid_clip(load_clip(tone))) == pytest.approx(700, abs=5)
        assert default_workers() is None
    finally:
        set_default_workers(True)


def test_a_prestarted_worker_serves_the_first_request(
    pool: DecodeWorkers, make_media: MakeMedia
) -> None:
    """prestart starts one worker, of the normal class (the idle class waits for a large
    upload), and the first request is served by it."""
    pool.prestart()
    (started,) = pool.idle_pids()
    assert os.sched_getscheduler(started) == os.SCHED_OTHER
    assert _decode_start(pool, make_media("tone.mp3", seconds=2)) == 16_000
    assert pool.idle_pids() == [started]  # no new worker was started for it


def test_workers_that_cannot_start_ahead_are_only_logged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    broken = tmp_path / "broken_worker.py"
    broken.write_text("raise SystemExit(3)\n", encoding="utf-8")
    monkeypatch.setattr(decode_worker_process, "_SCRIPT", broken)
    workers = DecodeWorkers()
    try:
        workers.prestart()
        assert workers.idle_pids() == []
        assert "decode workers not started ahead" in caplog.text
    finally:
        workers.close()


def test_a_bounded_pool_serves_a_second_request_with_its_one_worker(
    make_media: MakeMedia,
) -> None:
    """max_workers=1: while the one worker is busy a second request waits for it (and gives
    up at its own deadline), then is served by the same process; none other is started."""
    tone = make_media("tone.mp3", seconds=2)
    workers = DecodeWorkers(max_workers=1)
    try:
        pid = _one_idle_worker(workers, tone)
        with workers.session(tone, Budget(30, "held")):
            with pytest.raises(DecodeTimeoutError):
                _decode_start(workers, tone, budget_s=0.3)
            waiting = threading.Thread(target=_decode_start, args=(workers, tone))
            waiting.start()
        waiting.join(timeout=60)
        assert not waiting.is_alive()
        assert workers.idle_pids() == [pid]
    finally:
        workers.close()


def test_a_worker_gives_back_the_memory_of_a_file_once_it_is_done(tmp_path: Path) -> None:
    """Four windows of 8-channel Opus leave megabytes of freed buffers in a worker's heap;
    they are returned to the system when the file ends, not held while the worker waits."""
    wide = long_many_channel_opus(tmp_path / "wide.opus", seconds=60)
    workers = DecodeWorkers(max_workers=1)
    try:
        workers.prestart()
        (pid,) = workers.idle_pids()
        at_start = resident_bytes(pid)
        with workers.session(wide, Budget(60, "wide")) as session:
            for start in candidate_starts(60.0, 10.0):
                read = WindowRead.of(start, 10.0)
                session.decode(read.seek_s, read.read_s, sanitize=False, cap_frames=read.cap,
                               max_channels=8)  # fmt: skip
        assert workers.idle_pids() == [pid] and at_start is not None
        # Without the trim the worker keeps about 32 MiB more; allocator and page noise
        # between runs stays within a few MiB.
        assert resident_bytes(pid) - at_start < 16 * 2**20
    finally:
        workers.close()
