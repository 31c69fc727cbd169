"""Install musicnn's published weights into the model cache, and find them there.

The weights travel inside the ``musicnn==0.1.0`` wheel on PyPI. That package pins
numpy<1.17 and TensorFlow 1, so its code is never imported or run: :func:`download` only
reads checkpoint files out of it.

- If the distribution is already installed (``pip install --no-deps musicnn==0.1.0``), its
  files are located through its metadata (importlib.metadata), which does not import it.
- Otherwise ``python -m pip download --no-deps --only-binary=:all: musicnn==0.1.0`` fetches
  the wheel into a private temporary folder (binary only, so no setup.py ever runs) and the
  files are read straight out of the zip.

Every file is checked against the sha256 pinned below (the values of the wheel's RECORD).
Cache layout, per variant (``paths.models_dir("musicnn")``)::

    MTT_musicnn/musicnn.index
    MTT_musicnn/musicnn.data-00000-of-00001
    MTT_musicnn/manifest.json      where the files came from and their sha256
    MSD_musicnn/...

A variant folder is assembled in a staging folder and renamed into place, so a failed or
interrupted download leaves the previous state (or nothing) behind.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from musicrec_core import paths
from musicrec_core.embedders.musicnn.tags import VARIANTS, get_variant
from musicrec_core.errors import CheckpointError, DownloadError, WeightsMissingError
from musicrec_core.hashing import copy_digest, file_sha256

DISTRIBUTION = "musicnn"
"""The PyPI project holding the weights."""
DISTRIBUTION_VERSION = "0.1.0"
"""The exact release whose weights this code implements."""
DOWNLOAD_COMMAND = "musicrec models download musicnn"
"""What a user runs to install the weights."""
CHECKPOINT_STEM = "musicnn"
"""Checkpoint prefix name inside a variant folder (files ``musicnn.index`` ...)."""
MANIFEST_NAME = "manifest.json"
"""Per-variant record of the installed files."""
PIP_TIMEOUT_S = 600.0
"""Time limit for ``pip download``, in seconds."""

# Suffix of each checkpoint file -> sha256 hex, per variant folder, as in the wheel's RECORD.
CHECKPOINT_SHA256: dict[str, dict[str, str]] = {
    "MTT_musicnn": {
        ".index": "da2d7bb670b2b31e9bc441bb1bd75eca31b5b061f963cc1f9630c1aff3238f57",
        ".data-00000-of-00001": "041f3935e981a65cea739842d30c188d3a7d2adf4410955c8668eb3de4a5acab",
    },
    "MSD_musicnn": {
        ".index": "87f3e0f3550c8d3bafc840374003e5c8af5eeb5ecf6add61af09a7822d3282c8",
        ".data-00000-of-00001": "8579734ee6388f799ed0def4bbd0d1fdcbeaf213ef2a9dc860917bd76a303de6",
    },
}

Opener = Callable[[str], BinaryIO]


def embedder_version(model: str | None = None) -> str:
    """The embedder version of a variant's published weights, e.g. "musicnn-mtt-0.1.0"."""
    return f"musicnn-{get_variant(model).key}-{DISTRIBUTION_VERSION}"


def variant_dir(model: str | None = None) -> Path:
    """The cache folder of one variant ("mtt", "msd"; None = the default)."""
    return paths.models_dir("musicnn") / get_variant(model).checkpoint_name


def resolve_checkpoint(model: str | None = None) -> Path:
    """The checkpoint prefix of an installed variant, after checking its files' sha256.

    Raises:
        WeightsMissingError: the files are not installed (the message says what to run).
        CheckpointError: they are there but their contents differ from the published ones.
        ValueError: unknown model name.
    """
    variant = get_variant(model)
    folder = variant_dir(model)
    expected = CHECKPOINT_SHA256[variant.checkpoint_name]
    files = {suffix: folder / (CHECKPOINT_STEM + suffix) for suffix in expected}
    missing = [path.name for path in files.values() if not path.is_file()]
    if missing:
        raise WeightsMissingError(
            f"The musicnn {variant.key.upper()} weights are not installed "
            f"({', '.join(missing)} missing in {folder}); run `{DOWNLOAD_COMMAND}`."
        )
    damaged = [path.name for suffix, path in files.items() if file_sha256(path) != expected[suffix]]
    if damaged:
        raise CheckpointError(
            f"The musicnn {variant.key.upper()} weights in {folder} are damaged "
            f"({', '.join(damaged)}); run `{DOWNLOAD_COMMAND}` again."
        )
    return folder / CHECKPOINT_STEM


def download(*, progress: bool = True) -> list[Path]:
    """Install the MTT and MSD checkpoints into the model cache; returns the files written.

    Args:
        progress: show pip's progress while fetching the wheel (when it is not installed).

    Raises:
        DownloadError: pip failed, or a file is absent or differs from the published one.
            Nothing is left behind: the cache keeps its previous contents.
    """
    root = paths.models_dir("musicnn")
    root.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="musicrec-", dir=root) as staging_name:
        staging = Path(staging_name)
        with _distribution_files(progress=progress) as (origin, open_member):
            for name in (variant.checkpoint_name for variant in VARIANTS.values()):
                _stage_variant(staging / name, name, origin, open_member)
        for name in (variant.checkpoint_name for variant in VARIANTS.values()):
            _replace_dir(staging / name, root / name)
            written += sorted(path for path in (root / name).iterdir() if path.is_file())
    return written


def _stage_variant(folder: Path, name: str, origin: str, open_member: Opener) -> None:
    """Copy one variant's checkpoint files into ``folder``, verify them, write the manifest."""
    folder.mkdir()
    digests: dict[str, str] = {}
    for suffix, expected in CHECKPOINT_SHA256[name].items():
        member = f"{DISTRIBUTION}/{name}/{suffix}"
        target = folder / (CHECKPOINT_STEM + suffix)
        try:
            with open_member(member) as source, target.open("wb") as sink:
                digest = copy_digest(source, sink)
        except (OSError, KeyError, zipfile.BadZipFile) as exc:
            raise DownloadError(f"Could not read {member} from {origin}: {exc}") from exc
        if digest != expected:
            raise DownloadError(
                f"{member} from {origin} is not the published file (sha256 {digest[:12]}..., "
                f"expected {expected[:12]}...)."
            )
        digests[target.name] = digest
    manifest = {
        "distribution": f"{DISTRIBUTION}=={DISTRIBUTION_VERSION}",
        "variant": name,
        "source": origin,
        "checkpoint_prefix": CHECKPOINT_STEM,
        "sha256": digests,
    }
    (folder / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def _replace_dir(staged: Path, target: Path) -> None:
    """Move ``staged`` to ``target``, replacing any previous folder there."""
    if target.exists():
        retired = Path(tempfile.mkdtemp(prefix="musicrec-old-", dir=target.parent))
        os.replace(target, retired / target.name)
        os.replace(staged, target)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        os.replace(staged, target)


@contextlib.contextmanager
def _distribution_files(*, progress: bool) -> Iterator[tuple[str, Opener]]:
    """Yield (a description of the origin, a function opening a file of the distribution)."""
    installed = _installed_root()
    if installed is not None:
        yield (
            f"installed {DISTRIBUTION} {DISTRIBUTION_VERSION} at {installed}",
            lambda member: (installed / member).open("rb"),
        )
        return
    with tempfile.TemporaryDirectory(prefix="musicrec-") as folder:
        wheel = _pip_download(Path(folder), progress=progress)
        try:
            archive = zipfile.ZipFile(wheel)
        except (OSError, zipfile.BadZipFile) as exc:
            raise DownloadError(f"pip fetched {wheel.name}, which is not a valid wheel.") from exc
        with archive:
            yield f"{wheel.name} fetched by pip", archive.open


def _installed_root() -> Path | None:
    """The folder above ``musicnn/`` of an installed musicnn 0.1.0 holding every checkpoint
    file, found through its metadata without importing it; None when there is none."""
    try:
        distribution = importlib.metadata.distribution(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return None
    if distribution.version != DISTRIBUTION_VERSION:
        return None
    root = Path(str(distribution.locate_file("")))
    members = [
        root / DISTRIBUTION / name / suffix
        for name, suffixes in CHECKPOINT_SHA256.items()
        for suffix in suffixes
    ]
    return root if all(member.is_file() for member in members) else None


def _pip_download(folder: Path, *, progress: bool) -> Path:
    """Fetch the musicnn wheel (without dependencies) into ``folder``; returns its path."""
    command = [
        sys.executable, "-m", "pip", "download",
        "--no-deps", "--only-binary=:all:", "--disable-pip-version-check",
        "--dest", str(folder), f"{DISTRIBUTION}=={DISTRIBUTION_VERSION}",
    ]  # fmt: skip
    if progress:
        print(f"Fetching {DISTRIBUTION}=={DISTRIBUTION_VERSION} with pip ...", file=sys.stderr)
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=PIP_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise DownloadError(
            f"pip download of {DISTRIBUTION}=={DISTRIBUTION_VERSION} took over "
            f"{PIP_TIMEOUT_S:.0f} s."
        ) from exc
    wheels = sorted(folder.glob(f"{DISTRIBUTION}-{DISTRIBUTION_VERSION}-*.whl"))
    if result.returncode != 0 or not wheels:
        detail = _last_line(result.stderr) or _last_line(result.stdout) or "no output"
        raise DownloadError(
            f"Could not fetch {DISTRIBUTION}=={DISTRIBUTION_VERSION} with pip ({detail}). "
            f"Install it with `pip install --no-deps {DISTRIBUTION}=={DISTRIBUTION_VERSION}` "
            f"and run `{DOWNLOAD_COMMAND}` again."
        )
    return wheels[0]


def _last_line(text: str | None) -> str:
    """The last non-empty line of a process's output."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""
