"""Sources: what a section download and a windowed decode save, measured against the naive way.

Run: ``python benchmarks/bench_sources.py [--repeats 3]``

1. A 3-hour "video" (mono Opus in WebM at 32 kbit/s, about 43 MB, built by stream-copying
   a 60-s block) served by the tests' HTTP server on 127.0.0.1 and reached through the
   fetch module's test seam, so the real path runs: yt-dlp child process, metadata,
   section download by ffmpeg, decode.
   - Section: ``fetch_youtube_clip`` of the 10 s at 1:30:00.
   - Baseline: yt-dlp downloads the whole file (same format, same server), then
     ``load_clip`` decodes the same 10 s.
   Reported: body bytes the server sent, and the time to a clip. Goal: >= 20x fewer bytes.
   The server's send buffer is pinned to 32 KiB per connection: otherwise loopback
   autotuning lets every response run megabytes ahead of the client and the server would
   count bytes nobody read.
2. A 10-minute MP3 attachment (stereo 44.1 kHz, 128 kbit/s):
   - Windowed: ``clip_from_bytes`` with a start (one 10-s decode), and with the default
     window rule (four candidate windows decoded, the loudest kept).
   - Baseline: write the same temp file, decode the whole file with ffmpeg
     (``audio.load_clip`` with a window as long as the file) and slice the same 10 s.
   Goal: >= 10x faster (explicit start).
Times are medians over the repeats (after one warm-up run of each side).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import yt_dlp  # noqa: E402

from musicrec_core import audio  # noqa: E402
from musicrec_core.clip import SAMPLE_RATE_HZ  # noqa: E402
from musicrec_core.sources.attachment import clip_from_bytes  # noqa: E402
from musicrec_core.sources.youtube import fetch_youtube_clip, parse_youtube_link  # noqa: E402
from musicrec_core.sources.ytdlp_fetch import _serve_test_video  # noqa: E402
from tests.helpers.http_server import LocalHTTPServer  # noqa: E402
from tests.helpers.media import generate_media, run_ffmpeg, video_soundtrack  # noqa: E402

VIDEO_ID = "benchVideo1"
LONG_SECONDS = 3 * 3600
SECTION_START_S = 5400.0


def three_hour_webm(directory: Path) -> Path:
    """3 h of mono Opus/WebM at 32 kbit/s: a 60-s noise+tone block, stream-copied 180 times."""
    block = video_soundtrack(directory / "block.webm", seconds=60, bitrate="32k")
    long = directory / "long.webm"
    run_ffmpeg(
        "-stream_loop", str(LONG_SECONDS // 60 - 1), "-i", str(block), "-c", "copy", str(long)
    )
    return long


def median_time(function: Callable[[], object], repeats: int) -> float:
    function()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_section(directory: Path, repeats: int) -> None:
    media = three_hour_webm(directory)
    data = media.read_bytes()
    with LocalHTTPServer(send_buffer_bytes=32 * 1024) as server:
        url = server.add("/long.webm", data, content_type="audio/webm")
        link = parse_youtube_link(f"https://youtu.be/{VIDEO_ID}?t={int(SECTION_START_S)}")

        def section() -> None:
            with _serve_test_video(VIDEO_ID, url):
                clip = fetch_youtube_clip(link)
            assert clip.provenance.start_s == SECTION_START_S

        def whole() -> None:
            workdir = Path(tempfile.mkdtemp(prefix="musicrec-bench-"))
            try:
                options = {
                    "quiet": True, "no_warnings": True, "noprogress": True, "cachedir": False,
                    "allowed_extractors": ["generic"], "format": "bestaudio/best",
                    "paths": {"home": str(workdir), "temp": str(workdir)},
                    "outtmpl": {"default": "whole.%(ext)s"},
                }  # fmt: skip
                with yt_dlp.YoutubeDL(options) as ydl:
                    info = ydl.extract_info(url, download=True)
                path = info["requested_downloads"][0]["filepath"]
                clip = audio.load_clip(path, start_s=SECTION_START_S)
                assert clip.samples.shape[0] == 10 * SAMPLE_RATE_HZ
            finally:
                shutil.rmtree(workdir, ignore_errors=True)

        before = server.bytes_served("/long.webm")
        section()
        section_bytes = server.bytes_served("/long.webm") - before
        before = server.bytes_served("/long.webm")
        whole()
        whole_bytes = server.bytes_served("/long.webm") - before
        section_s = median_time(section, repeats)
        whole_s = median_time(whole, repeats)
    print(f"3-hour WebM/Opus over loopback ({len(data) / 1e6:.1f} MB), 10 s at 1:30:00:")
    print(
        f"  section download : {section_bytes / 1e3:9.1f} kB served, {section_s:6.2f} s to a clip"
    )
    print(f"  whole download   : {whole_bytes / 1e3:9.1f} kB served, {whole_s:6.2f} s to a clip")
    print(f"  bytes ratio      : {whole_bytes / section_bytes:6.1f}x fewer (goal >= 20x)")
    print(f"  time ratio       : {whole_s / section_s:6.1f}x (loopback moves bytes for free)")
    for mbit in (100, 20):
        seconds = whole_bytes * 8 / (mbit * 1e6)
        print(f"  modelled, not measured: at {mbit} Mbit/s the whole file's transfer alone "
              f"takes {seconds:.1f} s")  # fmt: skip


def bench_attachment(directory: Path, repeats: int) -> None:
    mp3 = generate_media(directory / "ten-minutes.mp3", seconds=600, tone_hz=None,
                         codec_args=("-b:a", "128k"))  # fmt: skip
    data = mp3.read_bytes()
    start_s = 300.0
    duration = audio.probe_audio(mp3).duration_s or 600.0

    def windowed() -> None:
        clip = clip_from_bytes(data, filename="ten-minutes.mp3", start_s=start_s)
        assert clip.samples.shape[0] == 10 * SAMPLE_RATE_HZ

    def default_rule() -> None:
        clip_from_bytes(data, filename="ten-minutes.mp3")

    def whole() -> None:
        descriptor, path = tempfile.mkstemp(prefix="musicrec-bench-")
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(data)
            whole_file = audio.load_clip(
                path, start_s=0.0, clip_seconds=duration + 1.0, timeout_s=120.0
            )
            samples = whole_file.samples
            first = int(start_s * SAMPLE_RATE_HZ)
            window = samples[first : first + 10 * SAMPLE_RATE_HZ]
            assert window.shape[0] == 10 * SAMPLE_RATE_HZ
        finally:
            os.unlink(path)

    windowed_s = median_time(windowed, repeats)
    default_s = median_time(default_rule, repeats)
    whole_s = median_time(whole, repeats)
    print(f"10-minute MP3 attachment ({len(data) / 1e6:.1f} MB), time to a clip:")
    print(f"  windowed, start given   : {windowed_s * 1e3:7.1f} ms")
    print(f"  windowed, default rule  : {default_s * 1e3:7.1f} ms (4 candidate windows)")
    print(f"  whole-file decode       : {whole_s * 1e3:7.1f} ms")
    print(f"  ratio (start given)     : {whole_s / windowed_s:6.1f}x faster (goal >= 10x)")
    print(f"  ratio (default rule)    : {whole_s / default_s:6.1f}x faster")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        os.environ.pop(name, None)
    with tempfile.TemporaryDirectory(prefix="bench-sources-") as folder:
        bench_section(Path(folder), args.repeats)
        bench_attachment(Path(folder), args.repeats)


if __name__ == "__main__":
    main()
