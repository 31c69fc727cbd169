"""Installing musicnn's weights into the cache, from the installed distribution or via pip."""

from __future__ import annotations

import importlib.metadata
import json
import zipfile
from pathlib import Path

import pytest

from musicrec_core import paths
from musicrec_core.embedders.musicnn import weights
from musicrec_core.errors import CheckpointError, DownloadError, WeightsMissingError
from tests.helpers.musicnn import install_weights

WHEEL_NAME = "musicnn-0.1.0-py3-none-any.whl"


def write_wheel(directory: Path, *, tamper: str | None = None) -> Path:
    """Re-pack the installed distribution's checkpoint files and metadata as a wheel in
    ``directory`` (a local package index for pip); ``tamper`` names a member to corrupt."""
    distribution = importlib.metadata.distribution("musicnn")
    directory.mkdir(parents=True, exist_ok=True)
    wheel = directory / WHEEL_NAME
    with zipfile.ZipFile(wheel, "w") as archive:
        for file in distribution.files or []:
            name = str(file)
            if "_musicnn/" in name or name.startswith("musicnn-0.1.0.dist-info/"):
                data = Path(str(distribution.locate_file(file))).read_bytes()
                if name == tamper:
                    data = data[:-1] + bytes([data[-1] ^ 0xFF])
                archive.writestr(name, data)
    return wheel


@pytest.fixture
def without_installed_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Behave as if musicnn were not installed, so download() must go through pip."""
    monkeypatch.setattr(weights, "_installed_root", lambda: None)


@pytest.fixture
def local_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point pip (through its environment) at a local folder instead of PyPI."""
    folder = tmp_path / "index"
    folder.mkdir()
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(folder))
    return folder


def cache_entries() -> list[str]:
    root = paths.models_dir("musicnn")
    return sorted(path.name for path in root.iterdir()) if root.exists() else []


def check_installed(files: list[Path], source_fragment: str) -> None:
    """Both variants are in place with verified files and a truthful manifest."""
    assert cache_entries() == ["MSD_musicnn", "MTT_musicnn"]
    for name, digests in weights.CHECKPOINT_SHA256.items():
        folder = paths.models_dir("musicnn") / name
        manifest = json.loads((folder / weights.MANIFEST_NAME).read_text())
        assert manifest["distribution"] == "musicnn==0.1.0"
        assert source_fragment in manifest["source"]
        assert manifest["sha256"] == {
            f"musicnn{suffix}": digest for suffix, digest in digests.items()
        }
        assert set(files) >= {folder / f"musicnn{suffix}" for suffix in digests}
    assert (
        weights.resolve_checkpoint("mtt") == paths.models_dir("musicnn") / "MTT_musicnn" / "musicnn"
    )
    assert (
        weights.resolve_checkpoint("msd") == paths.models_dir("musicnn") / "MSD_musicnn" / "musicnn"
    )


def test_download_copies_from_the_installed_distribution() -> None:
    files = install_weights()
    check_installed(files, "installed musicnn 0.1.0")
    assert len(files) == 6


def test_missing_weights_name_the_command_to_run() -> None:
    with pytest.raises(WeightsMissingError, match="run `musicrec models download musicnn`"):
        weights.resolve_checkpoint("msd")


def test_damaged_weights_are_refused_and_a_new_download_repairs_them() -> None:
    install_weights()
    data = paths.models_dir("musicnn") / "MTT_musicnn" / "musicnn.data-00000-of-00001"
    with data.open("r+b") as handle:
        handle.seek(1000)
        handle.write(b"\x00\x01\x02")
    with pytest.raises(CheckpointError, match="damaged"):
        weights.resolve_checkpoint("mtt")
    data.unlink()
    with pytest.raises(WeightsMissingError, match="musicnn.data-00000-of-00001"):
        weights.resolve_checkpoint("mtt")
    install_weights()
    assert weights.resolve_checkpoint("mtt").parent.name == "MTT_musicnn"
    assert cache_entries() == ["MSD_musicnn", "MTT_musicnn"]


@pytest.mark.usefixtures("without_installed_copy")
def test_download_reads_the_wheel_pip_fetches(local_index: Path) -> None:
    write_wheel(local_index)
    files = weights.download(progress=False)
    check_installed(files, f"{WHEEL_NAME} fetched by pip")


@pytest.mark.usefixtures("without_installed_copy", "local_index")
def test_a_failing_pip_is_a_clear_error_and_leaves_nothing() -> None:
    with pytest.raises(DownloadError, match=r"Could not fetch musicnn==0\.1\.0 with pip"):
        weights.download(progress=False)
    assert cache_entries() == []


@pytest.mark.usefixtures("without_installed_copy")
def test_a_tampered_wheel_is_refused_and_keeps_the_previous_weights(local_index: Path) -> None:
    write_wheel(local_index)
    weights.download(progress=False)
    before = {p: p.read_bytes() for p in paths.models_dir("musicnn").rglob("*") if p.is_file()}
    write_wheel(local_index, tamper="musicnn/MSD_musicnn/.data-00000-of-00001")
    with pytest.raises(
        DownloadError, match="MSD_musicnn/.data-00000-of-00001 .* is not the published"
    ):
        weights.download(progress=False)
    after = {p: p.read_bytes() for p in paths.models_dir("musicnn").rglob("*") if p.is_file()}
    assert after == before
