"""Tests and benchmarks only: run ``musicrec`` (e.g. ``serve``) with the test seams of
:mod:`tests.helpers.launch_seams` entered in its process, so "YouTube" videos come from a
local HTTP server. Arguments after ``--`` go to ``musicrec``::

    python -m tests.helpers.launch_api --serve-video ID=http://127.0.0.1:PORT/a.mp3 -- serve
"""

from __future__ import annotations

import sys

from musicrec_core.cli import main as musicrec_main
from tests.helpers.launch_seams import run_with_seams

if __name__ == "__main__":
    sys.exit(run_with_seams("launch_api", musicrec_main))
