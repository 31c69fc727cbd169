"""Tests and benchmarks only: run a musicrec entry point in this process with the test
seams entered first (the seams are Python context managers, so a subprocess under test must
enter them itself). :mod:`tests.fake_discord.launch_bot` runs the bot this way and
:mod:`tests.helpers.launch_api` the ``musicrec`` command.

The launcher's own options come before ``--``, the entry point's after it:

- ``--serve-video ID=URL``: the sources seam lets YouTube video ``ID`` be fetched from a
  local HTTP server;
- ``--expect-weights-md5 CHECKPOINT_MD5,PCA_MD5``: the default catalog expects stand-in
  VGGish files with these md5s instead of the official ones (still verified);
- ``--expect-release-segments N``: the official features archive is expected to hold N
  segments (a small stand-in archive) instead of the release's count (still checked).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable, Sequence

from musicrec_core.catalog.audioset.build import _expect_test_release_segments
from musicrec_core.catalog.default import _expect_test_weights
from musicrec_core.sources.ytdlp_fetch import _serve_test_video


def run_with_seams(
    prog: str, entry_point: Callable[[list[str]], int], argv: Sequence[str] | None = None
) -> int:
    """Enter the seams ``argv`` (default: ``sys.argv[1:]``) asks for before ``--``, then
    return ``entry_point(the arguments after --)``, leaving the seams when it returns."""
    args = list(sys.argv[1:] if argv is None else argv)
    entry_args: list[str] = []
    if "--" in args:
        split = args.index("--")
        args, entry_args = args[:split], args[split + 1 :]
    parser = argparse.ArgumentParser(prog=prog)
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
        return entry_point(entry_args)
