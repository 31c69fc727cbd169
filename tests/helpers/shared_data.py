"""Where the project's shared reference data lives: ``../shared/data`` beside the checkout.

The folder sits next to the repository (``<root>/../shared/data``); a git worktree may sit
one level deeper, so each folder above the repository is tried in turn. Tests that need it
skip with a clear reason where it is absent: the project never needs it at run time.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def shared_data_dir(name: str) -> Path:
    """``shared/data/<name>`` in the nearest folder above the repository that has one (the
    conventional ``../shared/data/<name>`` when none has, which then does not exist)."""
    for parent in REPO_ROOT.parents:
        candidate = parent / "shared" / "data" / name
        if candidate.is_dir():
            return candidate
    return REPO_ROOT.parent / "shared" / "data" / name


AUDIOSET_METADATA = shared_data_dir("audioset")
"""The real class_labels_indices.csv, ontology.json and segment lists of AudioSet v1."""

needs_audioset_metadata = pytest.mark.skipif(
    not (AUDIOSET_METADATA / "ontology.json").is_file(),
    reason=f"the real AudioSet metadata files are not in {AUDIOSET_METADATA}",
)
