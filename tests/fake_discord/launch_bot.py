"""Tests only: run the real bot with test seams entered in its process.

The end-to-end suite runs the bot as a subprocess; the test seams are Python context
managers, so they must be entered inside that process. This launcher (never installed,
never read by the bot) enters the seams :mod:`tests.helpers.launch_seams` lists and then
runs ``bot.__main__.main`` with the arguments after ``--``::

    python -m tests.fake_discord.launch_bot --serve-video ID=http://127.0.0.1:PORT/a.mp3 -- --sync
"""

from __future__ import annotations

import sys

from bot.__main__ import main as bot_main
from tests.helpers.launch_seams import run_with_seams

if __name__ == "__main__":
    sys.exit(run_with_seams("launch_bot", bot_main))
