"""Tests and benchmarks only: run ``musicrec`` (e.g. ``serve``) with the sources test seam
entered in its process, so "YouTube" videos come from a local HTTP server.

The seam is a Python context manager, so it must be entered inside the server's process
(as :mod:`tests.fake_discord.launch_bot` does for the bot). Arguments after ``--`` go to
``musicrec``::

    python -m tests.helpers.launch_api --serve-video ID=http://127.0.0.1:PORT/a.mp3 -- serve
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence

from musicrec_core.cli import main as musicrec_main
from musicrec_core.sources.ytdlp_fetch import _serve_test_video


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    musicrec_args: list[str] = []
    if "--" in args:
        split = args.index("--")
        args, musicrec_args = args[:split], args[split + 1 :]
    parser = argparse.ArgumentParser(prog="launch_api")
    parser.add_argument("--serve-video", action="append", default=[], metavar="ID=URL")
    options = parser.parse_args(args)
    with contextlib.ExitStack() as stack:
        for entry in options.serve_video:
            video_id, _, url = entry.partition("=")
            stack.enter_context(_serve_test_video(video_id, url))
        return musicrec_main(musicrec_args)


if __name__ == "__main__":
    sys.exit(main())
