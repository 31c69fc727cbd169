"""A long-lived yt-dlp worker under many links: does it stay one worker, and does it grow?

Run: ``python benchmarks/bench_ytdlp_soak.py [--links 300]``

Links are fetched one after another through the default pool (as the bot fetches them),
from a local HTTP server through the tests-only seam, in turn: a 4-minute WebM "video" (a
10-s section is downloaded and decoded), a 404, an HTML page without media, and a text
file (yt-dlp's ffmpeg fails on it). For each link the outcome is checked (a clip, or the
error that link must give). Printed: how many workers served the links (a worker is
replaced when it dies, grows past its resident cap, keeps a file open or a child process),
the serving worker's resident memory and open descriptors after the 10th link and after
the last, and this process's children and descriptors before and after (leaks).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from musicrec_core.child_process import resident_bytes  # noqa: E402
from musicrec_core.errors import FetchError, SourceError, VideoUnavailableError  # noqa: E402
from musicrec_core.sources.youtube import fetch_youtube_clip, parse_youtube_link  # noqa: E402
from musicrec_core.sources.ytdlp_fetch import YouTubeSettings, _serve_test_video  # noqa: E402
from musicrec_core.sources.ytdlp_workers import default_fetch_workers  # noqa: E402
from tests.helpers.http_server import LocalHTTPServer  # noqa: E402
from tests.helpers.media import video_soundtrack  # noqa: E402

VIDEO_ID = "soakVideo01"
SETTINGS = YouTubeSettings(socket_timeout_s=5.0, metadata_timeout_s=30.0)
MiB = 2**20


def children() -> int:
    """Live child processes of this process."""
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            count += fields[1] == str(os.getpid()) and fields[0] != "Z"
    return count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--links", type=int, default=300)
    args = parser.parse_args()
    link = parse_youtube_link(f"https://youtu.be/{VIDEO_ID}")
    with tempfile.TemporaryDirectory(prefix="musicrec-bench-soak-") as scratch:
        video = video_soundtrack(Path(scratch) / "video.webm", seconds=240).read_bytes()
    with LocalHTTPServer() as server:
        page = b"<html><title>t</title><p>no media</p></html>"
        kinds = [
            (server.add("/video.webm", video, content_type="audio/webm"), None),
            (server.add("/gone", b"gone", status=404), VideoUnavailableError),
            (server.add("/page", page, content_type="text/html"), VideoUnavailableError),
            (server.add("/text", b"not audio\n" * 2000, content_type="text/plain"), FetchError),
        ]
        pool = default_fetch_workers()
        served: set[int] = set()
        after_10: tuple[int | None, int] | None = None
        own_fds = children_before = 0
        for number in range(args.links):
            url, expected = kinds[number % len(kinds)]
            with _serve_test_video(VIDEO_ID, url):
                try:
                    clip = fetch_youtube_clip(link, start_s=10.0 * (number % 20), settings=SETTINGS)
                except SourceError as exc:
                    assert expected is not None and isinstance(exc, expected), (number, exc)
                else:
                    assert expected is None and clip.duration_s > 9.9, number
            (pid,) = pool.idle_pids()
            served.add(pid)
            if number == 9:
                after_10 = (resident_bytes(pid), len(os.listdir(f"/proc/{pid}/fd")))
                own_fds, children_before = len(os.listdir("/proc/self/fd")), children()
        (pid,) = pool.idle_pids()
        rss, fds = resident_bytes(pid), len(os.listdir(f"/proc/{pid}/fd"))
        pool.close()
    assert after_10 is not None and after_10[0] is not None and rss is not None
    print(f"{args.links} links (a clip, a 404, a page, a text in turn), one at a time:")
    print(f"  workers that served them: {len(served)}")
    print(
        f"  worker after the 10th link: {after_10[0] / MiB:.1f} MiB resident, "
        f"{after_10[1]} descriptors; after the last: {rss / MiB:.1f} MiB, {fds} descriptors "
        f"({(rss / after_10[0] - 1) * 100:+.1f} %)"
    )
    print(
        f"  this process: {own_fds} descriptors and {children_before} children after the 10th;"
        f" {len(os.listdir('/proc/self/fd'))} and {children()} after the last (pool closed)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
