"""Where musicrec keeps downloaded models and data, and the environment overrides.

Default root: platformdirs' user cache directory for "musicrec" (``~/.cache/musicrec`` on
Linux). ``MUSICREC_CACHE_DIR`` moves the whole root (tests point it at a temp dir);
``MUSICREC_VGGISH_CHECKPOINT`` and ``MUSICREC_VGGISH_PCA`` point at individual VGGish files.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

CACHE_DIR_ENV = "MUSICREC_CACHE_DIR"
VGGISH_CHECKPOINT_ENV = "MUSICREC_VGGISH_CHECKPOINT"
VGGISH_PCA_ENV = "MUSICREC_VGGISH_PCA"


def cache_root() -> Path:
    """The directory under which every downloaded model and data file lives."""
    override = os.environ.get(CACHE_DIR_ENV)
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_cache_dir("musicrec", appauthor=False))


def models_dir(model: str) -> Path:
    """Directory for one model's files, e.g. ``models_dir("vggish")``."""
    return cache_root() / "models" / model


def data_dir(dataset: str) -> Path:
    """Directory for one dataset's files, e.g. ``data_dir("audioset")``."""
    return cache_root() / "data" / dataset
