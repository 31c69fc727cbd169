"""Tests only: run the real bot with test seams entered in its process.

The end-to-end suite runs the bot as a subprocess; the test seams are Python context
managers, so they must be entered inside that process. This launcher (never installed,
never read by the bot) enters them and then runs ``bot.__main__.main`` with the arguments
after ``--``:

- ``--serve-video ID=URL``: the sources seam lets YouTube video ``ID`` be fetched from a
  local HTTP server;
- ``--expect-weights-md5 CHECKPOINT_MD5,PCA_MD5``: the default catalog expects stand-in
  VGGish files with these md5s instead of the official ones (still verified);
- ``--expect-release-segments N``: the official features archive is expected to hold N
  segments (a small stand-in archive) instead of the release's count (still checked)::

    python -m tests.fake_discord.launch_bot --serve-video ID=http://127.0.0.1:PORT/a.mp3 -- --sync
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence

from bot.__main__ import main as bot_main
from musicrec_core.catalog.audioset.build import _expect_test_release_segments
from musicrec_core.catalog.default import _expect_test_weights
from musicrec_core.sources.ytdlp_fetch import _serve_test_video


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    bot_args: list[str] = []
    if "--" in args:
        split = args.index("--")
        args, bot_args = args[:split], args[split + 1 :]
    parser = argparse.ArgumentParser(prog="launch_bot")
    parser.add_argument("--serve-video", action="append", default=[], metavar="ID=URL")
    parser.add_argument("--expect-weights-md5", metavar="CHECKPOINT_MD5,PCA_MD5")
    parser.add_argument("--expect-release-segments", type=int, metavar="N")
    options = parser.parse_args(args)
    with contextlib.ExitStack() as stack:
        if options.expect_weights_md5:
            checkpoint_md5, pca_md5 = options.expect_weights_md5.split(",")
            stack.enter_context(_expect_test_weights(checkpoint_md5, pca_md5))
        if options.expect_release_segments is not None:
            stack.enter_context(_expect_test_release_segments(options.expect_release_segments))
        for entry in options.serve_video:
            video_id, _, url = entry.partition("=")
            stack.enter_context(_serve_test_video(video_id, url))
        return bot_main(bot_args)


if __name__ == "__main__":
    sys.exit(main())
