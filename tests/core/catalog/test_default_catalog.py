"""The default catalog: planned from what the cache holds, built once from the two hosts
(local stand-ins here), reused afterwards, and never left half-built."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from musicrec_core.catalog import audioset, labels
from musicrec_core.catalog.audioset.build import _expect_test_release_segments
from musicrec_core.catalog.default import (
    _expect_test_weights,
    default_index_dir,
    plan_default_catalog,
    prepare_default_catalog,
)
from musicrec_core.catalog.index import BUILD_PREFIX, CURRENT_FILE, CatalogIndex
from musicrec_core.embedders.vggish import embedder_version, weights
from musicrec_core.errors import CatalogError, DownloadError, MusicrecError
from tests.helpers.catalog_hosts import (
    FEATURES_PATH,
    LABELS_PATH,
    MUSIC_SEGMENTS,
    SEGMENTS,
    CatalogHosts,
    needs_audioset_metadata,
    write_catalog_archive,
)
from tests.helpers.tar_archives import CUT_DOWNLOADS, cut_download

pytestmark = needs_audioset_metadata

CHECKPOINT = b"stand-in checkpoint bytes" * 100
PCA = b"stand-in pca bytes"


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return write_catalog_archive(tmp_path_factory.mktemp("catalog")).read_bytes()


@pytest.fixture
def hosts(archive: bytes, monkeypatch: pytest.MonkeyPatch) -> Iterator[CatalogHosts]:
    """Both stand-ins, the download variables pointing at them, their md5s expected."""
    served = CatalogHosts(CHECKPOINT, PCA, archive)
    for name, value in served.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("MUSICREC_VGGISH_CHECKPOINT", raising=False)
    monkeypatch.delenv("MUSICREC_VGGISH_PCA", raising=False)
    with _expect_test_weights(*served.weight_md5s), _expect_test_release_segments(SEGMENTS):
        yield served
    served.close()


def test_an_empty_cache_plans_every_download(hosts: CatalogHosts) -> None:
    plan = plan_default_catalog()
    assert not plan.complete and plan.need_labels and plan.need_index
    assert [fetch.url for fetch in plan.fetches] == [
        weights.CHECKPOINT.url,
        weights.PCA.url,
        labels.LABELS_URL,
        labels.ONTOLOGY_URL,
        audioset.FEATURES_URL,
    ]
    assert 2.5e9 < plan.download_bytes < 3e9 and 1e9 < plan.disk_bytes < 3e9
    statement = plan.statement()
    assert "GB to download from 127.0.0.1" in statement and "GB of disk needed" in statement
    assert hosts.requests() == 0  # planning never touches the network


def test_first_prepare_builds_and_the_second_reuses(
    hosts: CatalogHosts, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="musicrec_core.catalog.default")
    index_dir = prepare_default_catalog(progress=False)
    assert index_dir == default_index_dir()
    assert "Building the default catalog in" in caplog.text
    assert "100% of the features archive read" not in caplog.text  # the real archive is larger
    with CatalogIndex.load(index_dir) as index:
        assert len(index) == MUSIC_SEGMENTS
        assert index.embedder.version == embedder_version(*hosts.weight_md5s)
        assert all("Music" in index.meta(i).labels for i in range(len(index)))
    assert (weights.default_dir() / weights.CHECKPOINT.name).read_bytes() == CHECKPOINT
    assert plan_default_catalog().complete
    served, requests = hosts.bytes_served(), hosts.requests()
    assert requests == 5
    caplog.clear()
    assert prepare_default_catalog(progress=False) == index_dir
    assert hosts.requests() == requests and hosts.bytes_served() == served
    assert "Building" not in caplog.text


def test_progress_is_logged_without_a_terminal(
    hosts: CatalogHosts,
    archive: bytes,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(audioset, "FEATURES_ARCHIVE_BYTES", len(archive))
    caplog.set_level(logging.INFO, logger="musicrec_core.catalog.default")
    prepare_default_catalog(progress=True)  # stderr is not a terminal under pytest
    percents = [line for line in caplog.messages if "% of the features archive read" in line]
    assert 1 <= len(percents) <= 20 and percents[-1].startswith("default catalog: 100%")


def test_a_cut_archive_leaves_no_index_and_one_line(hosts: CatalogHosts, archive: bytes) -> None:
    hosts.google.add(FEATURES_PATH, archive, cut_after=len(archive) // 2)
    with pytest.raises(DownloadError) as caught:
        prepare_default_catalog(progress=False)
    message = str(caught.value)
    assert "\n" not in message and "cut short" in message
    assert audioset.FEATURES_URL in message and str(default_index_dir()) in message
    assert not (default_index_dir() / CURRENT_FILE).exists()
    assert not list(default_index_dir().glob(f"{BUILD_PREFIX}*"))
    # What arrived whole is kept: the next start fetches only the archive again.
    hosts.google.add(FEATURES_PATH, archive)
    plan = plan_default_catalog()
    assert [fetch.url for fetch in plan.fetches] == [audioset.FEATURES_URL]
    prepare_default_catalog(progress=False)
    assert plan_default_catalog().complete


@pytest.mark.parametrize("cut", CUT_DOWNLOADS)
def test_a_damaged_archive_is_not_marked_complete_and_is_built_again(
    hosts: CatalogHosts, archive: bytes, cut: str
) -> None:
    body, options = cut_download(archive, cut)
    hosts.google.add(FEATURES_PATH, body, **options)  # type: ignore[arg-type]
    with pytest.raises(MusicrecError) as caught:
        prepare_default_catalog(progress=False)
    message = str(caught.value)
    assert "\n" not in message and message.startswith("Could not build the default catalog: ")
    assert "not whole" in message
    assert not (default_index_dir() / CURRENT_FILE).exists()
    plan = plan_default_catalog()
    assert not plan.complete and plan.need_index
    hosts.google.add(FEATURES_PATH, archive)
    prepare_default_catalog(progress=False)
    assert plan_default_catalog().complete


def test_labels_that_do_not_match_the_pin_are_refused(hosts: CatalogHosts) -> None:
    real, _ = hosts.label_bytes
    hosts.google.add(LABELS_PATH, real.replace(b'"Music"', b'"[Free Nitro](https://evil.example)"'))
    with pytest.raises(DownloadError) as caught:
        prepare_default_catalog(progress=False)
    message = str(caught.value)
    assert "\n" not in message and "sha256" in message and labels.LABELS_URL in message
    assert not labels.default_labels_path().exists()
    assert not default_index_dir().exists()


def test_cached_labels_that_do_not_match_the_pin_are_fetched_again(
    hosts: CatalogHosts,
) -> None:
    prepare_default_catalog(progress=False)
    cached = labels.default_labels_path()
    cached.write_bytes(cached.read_bytes().replace(b'"Music"', b'"Musik"'))
    assert plan_default_catalog().need_labels


def test_offline_names_every_url_and_folder(hosts: CatalogHosts) -> None:
    hosts.close()
    with pytest.raises(DownloadError) as caught:
        prepare_default_catalog(progress=False)
    message = str(caught.value)
    assert "\n" not in message and message.startswith("Could not build the default catalog: ")
    assert "Could not reach 127.0.0.1" in message
    for url in (weights.CHECKPOINT.url, weights.PCA.url, labels.LABELS_URL, labels.ONTOLOGY_URL):
        assert url in message
    assert f"into {weights.default_dir()}" in message
    assert f"into {labels.default_labels_path().parent}" in message
    assert f"-o {default_index_dir()}" in message
    assert not default_index_dir().exists()


def test_a_wrong_md5_is_refused(archive: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    served = CatalogHosts(CHECKPOINT, PCA, archive)
    for name, value in served.env().items():
        monkeypatch.setenv(name, value)
    try:
        with pytest.raises(DownloadError) as caught:  # the official md5s are expected
            prepare_default_catalog(progress=False)
    finally:
        served.close()
    message = str(caught.value)
    assert "is not the expected one" in message and weights.CHECKPOINT.md5 in message
    assert not (weights.default_dir() / weights.CHECKPOINT.name).exists()
    assert not list(weights.default_dir().glob("*.part"))
    assert not default_index_dir().exists()


def test_a_disk_too_small_is_refused_before_any_download(
    hosts: CatalogHosts, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audioset.build, "RELEASE_SEGMENTS", 10**13)
    with pytest.raises(CatalogError, match="Not enough disk space for the default catalog"):
        prepare_default_catalog(progress=False)
    assert hosts.requests() == 0


def test_files_given_elsewhere_are_not_fetched(
    hosts: CatalogHosts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MUSICREC_VGGISH_CHECKPOINT", str(tmp_path / "mine.ckpt"))
    plan = plan_default_catalog()
    assert [file.name for file in plan.weight_files] == [weights.PCA.name]
