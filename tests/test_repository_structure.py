"""The repository itself passes scripts/check_structure.py: no import cycles, no module
over 450 lines, a core that never imports the bot or discord."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]


def test_the_repository_has_the_shape_it_promises() -> None:
    done = subprocess.run(
        [sys.executable, str(REPOSITORY / "scripts" / "check_structure.py")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
