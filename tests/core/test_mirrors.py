"""The variables that send official downloads to a mirror (or a local stand-in)."""

from __future__ import annotations

from pathlib import Path

import pytest

from musicrec_core.catalog import audioset, labels
from musicrec_core.download import download_file
from musicrec_core.embedders.vggish import weights
from musicrec_core.errors import DownloadError
from musicrec_core.mirrors import (
    AUDIOSET_URL_BASE_ENV,
    OFFICIAL_BASES,
    ONTOLOGY_URL_BASE_ENV,
    VGGISH_URL_BASE_ENV,
    mirrored,
)
from tests.helpers.http_server import LocalHTTPServer


def test_unset_variables_leave_the_official_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in (VGGISH_URL_BASE_ENV, AUDIOSET_URL_BASE_ENV, ONTOLOGY_URL_BASE_ENV):
        monkeypatch.delenv(variable, raising=False)
    for url in (weights.CHECKPOINT.url, audioset.FEATURES_URL, labels.ONTOLOGY_URL):
        assert mirrored(url) == url


def test_each_host_has_its_own_base(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(VGGISH_URL_BASE_ENV, "https://mirror.lan/vggish/")
    monkeypatch.setenv(AUDIOSET_URL_BASE_ENV, "https://mirror.lan/as")
    monkeypatch.setenv(ONTOLOGY_URL_BASE_ENV, "https://mirror.lan/onto")
    assert mirrored(weights.PCA.url) == "https://mirror.lan/vggish/vggish_pca_params.npz"
    assert mirrored(audioset.FEATURES_URL) == "https://mirror.lan/as/features/features.tar.gz"
    assert mirrored(labels.LABELS_URL) == "https://mirror.lan/as/csv/class_labels_indices.csv"
    assert mirrored(labels.ONTOLOGY_URL) == "https://mirror.lan/onto/ontology.json"
    assert mirrored("https://example.com/x") == "https://example.com/x"


def test_downloads_go_to_the_mirror(
    http_server: LocalHTTPServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    http_server.add("/v/vggish_pca_params.npz", b"pca bytes")
    monkeypatch.setenv(VGGISH_URL_BASE_ENV, http_server.url("/v"))
    dest = download_file(weights.PCA.url, tmp_path / "pca.npz", progress=False)
    assert dest.read_bytes() == b"pca bytes"
    assert len(http_server.requests("/v/vggish_pca_params.npz")) == 1


def test_every_official_url_is_https() -> None:
    official = [weights.CHECKPOINT.url, weights.PCA.url, audioset.FEATURES_URL]
    official += [labels.LABELS_URL, labels.ONTOLOGY_URL, *OFFICIAL_BASES.values()]
    assert [url for url in official if not url.startswith("https://")] == []


@pytest.mark.parametrize("variable", [VGGISH_URL_BASE_ENV, AUDIOSET_URL_BASE_ENV])
def test_a_plain_http_mirror_off_loopback_is_refused(
    variable: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(variable, "http://mirror.lan/base")
    url = weights.PCA.url if variable == VGGISH_URL_BASE_ENV else labels.LABELS_URL
    with pytest.raises(DownloadError) as caught:
        download_file(url, tmp_path / "file", progress=False)
    message = str(caught.value)
    assert variable in message and "https://" in message and "loopback" in message
    assert list(tmp_path.iterdir()) == []
