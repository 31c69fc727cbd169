"""Real musicnn weights for tests (copied from the installed musicnn 0.1.0 distribution)
and the reference clips with their documented tags.

The project's set-up installs ``musicnn==0.1.0 --no-deps``; tests copy its checkpoints into
their own cache (a few milliseconds), never fetching anything from the network.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from musicrec_core.embedders.musicnn import weights


def install_weights() -> list[Path]:
    """Install the real weights into the current MUSICREC_CACHE_DIR; returns the files.

    Fails the test (instead of reaching for pip and the network) when the distribution
    is not installed in this environment.
    """
    try:
        version = importlib.metadata.version(weights.DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        pytest.fail(
            "musicnn 0.1.0 is not installed; run the set-up (pip install --no-deps musicnn==0.1.0)"
        )
    if version != weights.DISTRIBUTION_VERSION:
        pytest.fail(
            f"musicnn {version} is installed; the tests need {weights.DISTRIBUTION_VERSION}"
        )
    return weights.download(progress=False)


@contextlib.contextmanager
def weights_cache(directory: Path) -> Iterator[Path]:
    """Point MUSICREC_CACHE_DIR at ``directory`` with the weights installed, for a
    module- or session-scoped fixture (function-scoped tests get their own cache)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MUSICREC_CACHE_DIR", str(directory))
        install_weights()
        yield directory


REFERENCE_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "musicnn"
"""Reference clips and EXPECTED.md, outside the repository (../shared/data/musicnn)."""


def expected_rankings() -> list[tuple[str, list[str]]]:
    """(clip file name, documented top tags in order) for each MTT row of EXPECTED.md."""
    expected = REFERENCE_DIR / "EXPECTED.md"
    if not expected.is_file():
        return []
    rows = []
    for line in expected.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and re.fullmatch(r"MTT_musicnn, top \d+", cells[1]):
            rows.append((cells[0], [tag.strip() for tag in cells[2].split(",")]))
    return rows
