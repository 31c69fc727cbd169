"""``musicrec models`` run in-process against a local HTTP server."""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import socket
from pathlib import Path

import pytest

from musicrec_core.cli import main
from musicrec_core.cli import models as models_cli
from musicrec_core.embedders.vggish import weights
from tests.helpers.http_server import LocalHTTPServer

FILES = {"CHECKPOINT": b"checkpoint bytes " * 1000, "PCA": b"pca bytes " * 100}


@pytest.fixture
def served_weights(monkeypatch: pytest.MonkeyPatch, http_server: LocalHTTPServer) -> None:
    """The official-file constants pointed at the local server, with matching md5s."""
    for constant, data in FILES.items():
        file = getattr(weights, constant)
        url = http_server.add(f"/audioset/{file.name}", data)
        replaced = dataclasses.replace(file, url=url, md5=hashlib.md5(data).hexdigest())
        monkeypatch.setattr(weights, constant, replaced)


def test_download_vggish_prints_the_paths(
    served_weights: None, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["models", "download", "vggish", "--no-progress"])

    out = capsys.readouterr().out.splitlines()
    directory = weights.default_dir()
    assert status == 0
    assert out == [str(directory / "vggish_model.ckpt"), str(directory / "vggish_pca_params.npz")]
    assert Path(out[0]).read_bytes() == FILES["CHECKPOINT"]
    assert Path(out[1]).read_bytes() == FILES["PCA"]


def test_list_shows_present_and_missing(
    served_weights: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models", "list"]) == 0
    before = capsys.readouterr().out
    main(["models", "download", "vggish", "--no-progress"])
    capsys.readouterr()

    assert main(["models", "list"]) == 0
    after = capsys.readouterr().out

    checkpoint = weights.default_dir() / "vggish_model.ckpt"
    assert f"missing  {checkpoint}" in before
    assert f"present  {checkpoint}" in after
    assert {line.split()[0] for line in after.splitlines()} == set(models_cli.MODELS)


def test_unreachable_host_is_one_readable_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    for constant in FILES:
        file = getattr(weights, constant)
        url = f"http://127.0.0.1:{port}/{file.name}"
        monkeypatch.setattr(weights, constant, dataclasses.replace(file, url=url))

    status = main(["models", "download", "vggish", "--no-progress"])

    captured = capsys.readouterr()
    assert status == 1
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("musicrec: Could not reach 127.0.0.1")
    assert weights.PCA.url in lines[0]
    assert str(weights.default_dir()) in lines[0]


def test_a_broken_downloader_fails_only_its_name(
    monkeypatch: pytest.MonkeyPatch, served_weights: None, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken() -> models_cli.Download:
        return importlib.import_module("musicrec_core.no_such_module").download

    entry = models_cli.MODELS["musicnn"]
    monkeypatch.setitem(models_cli.MODELS, "musicnn", dataclasses.replace(entry, downloader=broken))

    assert main(["models", "download", "musicnn", "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("musicrec: Downloading musicnn is not available")
    assert len(err.splitlines()) == 1

    assert main(["models", "download", "vggish", "--no-progress"]) == 0


def test_list_survives_a_module_that_cannot_be_imported(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken() -> list[Path]:
        importlib.import_module("musicrec_core.no_such_module")
        return []

    entry = models_cli.MODELS["musicnn"]
    monkeypatch.setitem(models_cli.MODELS, "musicnn", dataclasses.replace(entry, expected=broken))

    assert main(["models", "list"]) == 0

    lines = capsys.readouterr().out.splitlines()
    assert [line for line in lines if line.startswith("musicnn")] == [
        "musicnn          unavailable (No module named 'musicrec_core.no_such_module')"
    ]
    assert any(line.startswith("audioset-labels") for line in lines)


def test_unknown_name_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["models", "download", "resnet"])
    assert caught.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_models_without_an_action_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models"]) == 2
    assert "download" in capsys.readouterr().out
