"""Where the two official VGGish files live, and how to fetch them.

Google publishes the VGGish weights as two files in its ``audioset`` storage bucket:
``vggish_model.ckpt`` (a TensorFlow V1 checkpoint, 289 MB, md5
``params.CHECKPOINT_MD5``) and ``vggish_pca_params.npz`` (the PCA that maps raw
embeddings into AudioSet's released feature space, md5 ``params.PCA_MD5``). A download
whose md5 differs is refused; local files with other md5s still load, under an embedder
version that names them instead of ``params.AUDIOSET_VERSION``.

Each file is looked up in this order (:func:`resolve_paths`):

1. an explicit path (an API argument, or ``--checkpoint`` / ``--pca`` on the command line);
2. the environment: ``MUSICREC_VGGISH_CHECKPOINT`` / ``MUSICREC_VGGISH_PCA``;
3. the model cache, :func:`default_dir` (``<cache>/models/vggish/``; see
   :mod:`musicrec_core.paths`), which ``musicrec models download vggish`` fills
   (:func:`download`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from musicrec_core import paths
from musicrec_core.download import download_file
from musicrec_core.embedders.vggish import params
from musicrec_core.embedders.vggish.checkpoint import file_md5
from musicrec_core.errors import DownloadError, WeightsMissingError

logger = logging.getLogger(__name__)

DOWNLOAD_COMMAND = "musicrec models download vggish"


@dataclass(frozen=True)
class WeightsFile:
    """One official file: its name in the cache, where to get it, and its md5 (hex)."""

    name: str
    url: str
    md5: str
    env_var: str


CHECKPOINT = WeightsFile(
    name=params.CHECKPOINT_FILE_NAME,
    url="https://storage.googleapis.com/audioset/vggish_model.ckpt",
    md5=params.CHECKPOINT_MD5,
    env_var=paths.VGGISH_CHECKPOINT_ENV,
)
PCA = WeightsFile(
    name=params.PCA_FILE_NAME,
    url="https://storage.googleapis.com/audioset/vggish_pca_params.npz",
    md5=params.PCA_MD5,
    env_var=paths.VGGISH_PCA_ENV,
)


def official_files() -> tuple[WeightsFile, WeightsFile]:
    """The checkpoint and the PCA file, in that order."""
    return CHECKPOINT, PCA


def default_dir() -> Path:
    """The cache folder that ``musicrec models download vggish`` fills."""
    return paths.models_dir("vggish")


def locate(checkpoint: Path | None = None, pca: Path | None = None) -> tuple[Path, Path]:
    """Where :func:`resolve_paths` looks for (checkpoint, PCA), without checking they exist."""
    (checkpoint_path, _), (pca_path, _) = _locate_all(checkpoint, pca)
    return checkpoint_path, pca_path


def resolve_paths(checkpoint: Path | None = None, pca: Path | None = None) -> tuple[Path, Path]:
    """The (checkpoint, PCA) paths to load, each checked to exist.

    Each comes from the explicit argument when given, else its environment variable, else
    the cache folder (see the module docstring).

    Raises:
        WeightsMissingError: a file is absent; the message names it, where it was looked
            for, the URLs to fetch and the folder to put them in.
    """
    files = official_files()
    located = _locate_all(checkpoint, pca)
    missing = [
        (file, path, origin)
        for file, (path, origin) in zip(files, located, strict=True)
        if not path.is_file()
    ]
    if missing:
        looked = " and ".join(
            f"{file.name} (looked for {path}{origin})" for file, path, origin in missing
        )
        raise WeightsMissingError(
            f"The VGGish weights are missing: {looked}. Run `{DOWNLOAD_COMMAND}`, or "
            + _fetch_by_hand([file for file, _, _ in missing])
        )
    return located[0][0], located[1][0]


def download(*, progress: bool = True, files: Sequence[WeightsFile] | None = None) -> list[Path]:
    """Download both official files into :func:`default_dir`, md5-verified.

    A file already there with the right md5 is kept as is. Returns the paths of both files.
    ``files`` replaces :func:`official_files` (the same files expected with other md5s, as
    the default catalog's test seam does); None downloads the official ones.

    Raises:
        DownloadError: a download failed or a file's md5 differs (nothing partial is left);
            the message also says which files to fetch by hand and where to put them.
    """
    directory = default_dir()
    files = tuple(official_files() if files is None else files)
    result: list[Path] = []
    for position, file in enumerate(files):
        dest = directory / file.name
        if dest.is_file() and file_md5(dest) == file.md5:
            logger.info("%s is already present and verified", dest)
        else:
            try:
                download_file(file.url, dest, md5=file.md5, progress=progress)
            except DownloadError as exc:
                remaining = list(files[position:])
                raise DownloadError(
                    f"{exc} To install by hand, {_fetch_by_hand(remaining)}"
                ) from exc
        result.append(dest)
    return result


def _locate_all(checkpoint: Path | None, pca: Path | None) -> list[tuple[Path, str]]:
    explicit = (checkpoint, pca)
    return [_locate(file, path) for file, path in zip(official_files(), explicit, strict=True)]


def _locate(file: WeightsFile, explicit: Path | None) -> tuple[Path, str]:
    """Where to look for ``file``, and a note on who chose that place (for messages)."""
    if explicit is not None:
        return Path(explicit).expanduser(), ", the path given"
    from_env = os.environ.get(file.env_var)
    if from_env:
        return Path(from_env).expanduser(), f", set by {file.env_var}"
    return default_dir() / file.name, ""


def _fetch_by_hand(files: list[WeightsFile]) -> str:
    """A sentence telling the user which files to download and where to put them."""
    urls = " and ".join(file.url for file in files)
    variables = " / ".join(file.env_var for file in files)
    return (
        f"download {urls} yourself into {default_dir()} "
        f"(or anywhere, and point {variables} at the files)."
    )
