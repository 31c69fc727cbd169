"""Tests only: run the real bot with the sources test seam serving given "videos".

The end-to-end suite runs the bot as a subprocess; the seam that lets a YouTube video id
be fetched from a local HTTP server is a Python context manager, so it must be entered
inside that process. This launcher (never installed, never read by the bot) enters it for
every ``--serve-video ID=URL`` and then runs ``bot.__main__.main`` with the arguments
after ``--``::

    python -m tests.fake_discord.launch_bot --serve-video ID=http://127.0.0.1:PORT/a.mp3 -- --sync
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence

from bot.__main__ import main as bot_main
from musicrec_core.sources.ytdlp_fetch import _serve_test_video


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    bot_args: list[str] = []
    if "--" in args:
        split = args.index("--")
        args, bot_args = args[:split], args[split + 1 :]
    parser = argparse.ArgumentParser(prog="launch_bot")
    parser.add_argument("--serve-video", action="append", default=[], metavar="ID=URL")
    options = parser.parse_args(args)
    with contextlib.ExitStack() as stack:
        for entry in options.serve_video:
            video_id, _, url = entry.partition("=")
            stack.enter_context(_serve_test_video(video_id, url))
        return bot_main(bot_args)


if __name__ == "__main__":
    sys.exit(main())
