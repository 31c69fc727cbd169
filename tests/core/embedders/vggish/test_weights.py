"""VGGish weight files: lookup order, the missing-files message, and the verified download."""

from __future__ import annotations

import dataclasses
import hashlib
import socket
from pathlib import Path

import pytest

from musicrec_core import paths
from musicrec_core.embedders.vggish import weights
from musicrec_core.errors import DownloadError, WeightsMissingError
from tests.helpers.http_server import LocalHTTPServer

CHECKPOINT_BYTES = b"checkpoint " * 50_000
PCA_BYTES = b"pca " * 10_000


def write(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def serve_weights(
    monkeypatch: pytest.MonkeyPatch,
    server: LocalHTTPServer,
    *,
    checkpoint: bytes = CHECKPOINT_BYTES,
    pca: bytes = PCA_BYTES,
) -> None:
    """Point the official-file constants at ``server``; the md5s are those of the good bytes."""
    for constant, data, good in (
        ("CHECKPOINT", checkpoint, CHECKPOINT_BYTES),
        ("PCA", pca, PCA_BYTES),
    ):
        file = getattr(weights, constant)
        url = server.add(f"/audioset/{file.name}", data)
        monkeypatch.setattr(
            weights,
            constant,
            dataclasses.replace(file, url=url, md5=hashlib.md5(good).hexdigest()),
        )


def closed_port_url(name: str) -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/audioset/{name}"


def test_official_constants_match_the_spec() -> None:
    assert weights.CHECKPOINT.name == "vggish_model.ckpt"
    assert weights.CHECKPOINT.url == "https://storage.googleapis.com/audioset/vggish_model.ckpt"
    assert weights.CHECKPOINT.md5 == "d1c7011e6366aa34176bb05c705e31a8"
    assert weights.PCA.name == "vggish_pca_params.npz"
    assert weights.PCA.url == "https://storage.googleapis.com/audioset/vggish_pca_params.npz"
    assert weights.PCA.md5 == "c80cae691033abe7c7ecd11ea39fc834"


def test_default_dir_is_in_the_cache(isolated_cache: Path) -> None:
    assert weights.default_dir() == isolated_cache / "models" / "vggish"


def test_cache_dir_is_used_by_default() -> None:
    checkpoint = write(weights.default_dir() / "vggish_model.ckpt")
    pca = write(weights.default_dir() / "vggish_pca_params.npz")

    assert weights.resolve_paths() == (checkpoint, pca)


def test_environment_overrides_the_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    write(weights.default_dir() / "vggish_model.ckpt")
    cached_pca = write(weights.default_dir() / "vggish_pca_params.npz")
    env_checkpoint = write(tmp_path / "env" / "model.ckpt")
    monkeypatch.setenv(paths.VGGISH_CHECKPOINT_ENV, str(env_checkpoint))

    assert weights.resolve_paths() == (env_checkpoint, cached_pca)


def test_explicit_paths_override_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(paths.VGGISH_CHECKPOINT_ENV, str(write(tmp_path / "env.ckpt")))
    monkeypatch.setenv(paths.VGGISH_PCA_ENV, str(write(tmp_path / "env.npz")))
    explicit_checkpoint = write(tmp_path / "arg.ckpt")
    explicit_pca = write(tmp_path / "arg.npz")

    assert weights.resolve_paths(explicit_checkpoint, explicit_pca) == (
        explicit_checkpoint,
        explicit_pca,
    )
    assert weights.resolve_paths(pca=explicit_pca) == (tmp_path / "env.ckpt", explicit_pca)


def test_missing_files_message_says_what_to_fetch_and_where() -> None:
    directory = weights.default_dir()

    with pytest.raises(WeightsMissingError) as caught:
        weights.resolve_paths()

    message = str(caught.value)
    assert "vggish_model.ckpt" in message
    assert "vggish_pca_params.npz" in message
    assert "https://storage.googleapis.com/audioset/vggish_model.ckpt" in message
    assert "https://storage.googleapis.com/audioset/vggish_pca_params.npz" in message
    assert f"into {directory}" in message
    assert "musicrec models download vggish" in message
    assert "MUSICREC_VGGISH_CHECKPOINT" in message
    assert "\n" not in message


def test_missing_message_names_only_the_missing_file() -> None:
    write(weights.default_dir() / "vggish_model.ckpt")

    with pytest.raises(WeightsMissingError) as caught:
        weights.resolve_paths()

    message = str(caught.value)
    assert "vggish_pca_params.npz" in message
    assert "vggish_model.ckpt" not in message


def test_missing_file_from_the_environment_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    write(weights.default_dir() / "vggish_model.ckpt")
    write(weights.default_dir() / "vggish_pca_params.npz")
    monkeypatch.setenv(paths.VGGISH_PCA_ENV, str(tmp_path / "nowhere.npz"))

    with pytest.raises(WeightsMissingError, match="set by MUSICREC_VGGISH_PCA") as caught:
        weights.resolve_paths()

    assert str(tmp_path / "nowhere.npz") in str(caught.value)


def test_a_folder_is_not_a_weights_file(tmp_path: Path) -> None:
    (tmp_path / "folder.ckpt").mkdir()
    pca = write(tmp_path / "pca.npz")

    with pytest.raises(WeightsMissingError, match="the path given"):
        weights.resolve_paths(tmp_path / "folder.ckpt", pca)


def test_download_fetches_both_files_then_resolves(
    monkeypatch: pytest.MonkeyPatch, http_server: LocalHTTPServer
) -> None:
    serve_weights(monkeypatch, http_server)

    written = weights.download(progress=False)

    directory = weights.default_dir()
    assert written == [directory / "vggish_model.ckpt", directory / "vggish_pca_params.npz"]
    assert written[0].read_bytes() == CHECKPOINT_BYTES
    assert written[1].read_bytes() == PCA_BYTES
    assert sorted(p.name for p in directory.iterdir() if p.suffix == ".part") == []
    assert weights.resolve_paths() == tuple(written)


def test_download_skips_verified_files(
    monkeypatch: pytest.MonkeyPatch, http_server: LocalHTTPServer
) -> None:
    serve_weights(monkeypatch, http_server)
    weights.download(progress=False)
    served = http_server.bytes_served("/audioset/vggish_model.ckpt")

    weights.download(progress=False)

    assert http_server.bytes_served("/audioset/vggish_model.ckpt") == served


def test_download_replaces_a_corrupt_file(
    monkeypatch: pytest.MonkeyPatch, http_server: LocalHTTPServer
) -> None:
    serve_weights(monkeypatch, http_server)
    corrupt = write(weights.default_dir() / "vggish_model.ckpt", b"truncated")

    weights.download(progress=False)

    assert corrupt.read_bytes() == CHECKPOINT_BYTES


def test_md5_mismatch_keeps_nothing_of_that_file(
    monkeypatch: pytest.MonkeyPatch, http_server: LocalHTTPServer
) -> None:
    serve_weights(monkeypatch, http_server, pca=b"not the pca")

    with pytest.raises(DownloadError, match="md5") as caught:
        weights.download(progress=False)

    directory = weights.default_dir()
    assert sorted(p.name for p in directory.iterdir() if p.name.startswith("vggish")) == [
        "vggish_model.ckpt"
    ]
    message = str(caught.value)
    assert weights.PCA.url in message
    assert weights.CHECKPOINT.url not in message  # already fetched; nothing to do by hand


def test_unreachable_host_says_what_to_fetch_and_where(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for constant in ("CHECKPOINT", "PCA"):
        file = getattr(weights, constant)
        monkeypatch.setattr(
            weights, constant, dataclasses.replace(file, url=closed_port_url(file.name))
        )

    with pytest.raises(DownloadError) as caught:
        weights.download(progress=False)

    message = str(caught.value)
    assert "Could not reach 127.0.0.1" in message
    assert weights.CHECKPOINT.url in message
    assert weights.PCA.url in message
    assert f"into {weights.default_dir()}" in message
    assert "MUSICREC_VGGISH_CHECKPOINT / MUSICREC_VGGISH_PCA" in message
    directory = weights.default_dir()
    assert not directory.exists() or list(directory.iterdir()) == []
