"""Which vocabulary an index gets, from its manifest and labels (no model is loaded)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from musicrec_core.catalog.index import CatalogIndex
from musicrec_core.errors import CatalogError, NoVocabularyError
from musicrec_core.steering import catalog_vocabulary
from tests.helpers.shared_data import AUDIOSET_METADATA, needs_audioset_metadata
from tests.helpers.steering_indexes import (
    build_audioset_index,
    build_tagged_library,
    build_vggish_library,
    install_audioset_metadata,
)


@needs_audioset_metadata
def test_an_audioset_index_gets_the_label_vocabulary(tmp_path: Path) -> None:
    install_audioset_metadata()
    with CatalogIndex.load(build_audioset_index(tmp_path / "index")) as index:
        vocabulary = catalog_vocabulary(index)
    assert vocabulary.catalog == "audioset"
    assert vocabulary.resolve("calm").names == ("Tender music",)


@needs_audioset_metadata
def test_label_files_given_by_path_are_used(tmp_path: Path) -> None:
    with CatalogIndex.load(build_audioset_index(tmp_path / "index")) as index:
        vocabulary = catalog_vocabulary(
            index,
            labels_path=AUDIOSET_METADATA / "class_labels_indices.csv",
            ontology_path=AUDIOSET_METADATA / "ontology.json",
        )
    assert vocabulary.resolve("Drums").names == ("Drum",)


@needs_audioset_metadata
def test_a_labelled_vggish_index_from_before_the_source_entry_is_audioset(
    tmp_path: Path,
) -> None:
    install_audioset_metadata()
    version = tmp_path / "index"
    build_audioset_index(version)
    manifest = version / (version / "CURRENT").read_text().strip() / "manifest.json"
    document = json.loads(manifest.read_text())
    del document["extra"]["source"]
    manifest.write_text(json.dumps(document))
    with CatalogIndex.load(version) as index:
        assert catalog_vocabulary(index).catalog == "audioset"


def test_an_audioset_index_without_the_label_files_says_how_to_get_them(tmp_path: Path) -> None:
    with (
        CatalogIndex.load(build_audioset_index(tmp_path / "index")) as index,
        pytest.raises(CatalogError, match="models download audioset-labels"),
    ):
        catalog_vocabulary(index)


def test_a_musicnn_library_gets_its_variants_tags(tmp_path: Path) -> None:
    with CatalogIndex.load(build_tagged_library(tmp_path / "index")) as index:
        vocabulary = catalog_vocabulary(index)
    assert vocabulary.catalog == "mtt"
    assert vocabulary.resolve("Pianos").tags == ("piano",)


def test_a_vggish_library_has_no_vocabulary_and_says_so(tmp_path: Path) -> None:
    with (
        CatalogIndex.load(build_vggish_library(tmp_path / "index")) as index,
        pytest.raises(NoVocabularyError, match="neither labels nor tags") as caught,
    ):
        catalog_vocabulary(index)
    assert "--embedder musicnn" in str(caught.value)
