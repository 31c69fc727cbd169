"""Real musicnn weights for tests, copied from the installed musicnn 0.1.0 distribution.

The project's set-up installs ``musicnn==0.1.0 --no-deps``; tests copy its checkpoints into
their own cache (a few milliseconds), never fetching anything from the network.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
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
