"""Vocabularies built from the real AudioSet metadata and musicnn's tag lists."""

from __future__ import annotations

import pytest

from musicrec_core.catalog.labels import read_labels, read_ontology_nodes
from musicrec_core.steering import Vocabulary
from tests.helpers.shared_data import AUDIOSET_METADATA, needs_audioset_metadata


@pytest.fixture(scope="package")
def audioset_vocabulary() -> Vocabulary:
    """The vocabulary of an AudioSet catalog, from the real labels CSV and ontology."""
    if not (AUDIOSET_METADATA / "ontology.json").is_file():
        pytest.skip(f"the real AudioSet metadata files are not in {AUDIOSET_METADATA}")
    return Vocabulary.for_audioset(
        read_labels(AUDIOSET_METADATA / "class_labels_indices.csv"),
        read_ontology_nodes(AUDIOSET_METADATA / "ontology.json"),
    )


@pytest.fixture(scope="package")
def mtt_vocabulary() -> Vocabulary:
    return Vocabulary.for_tags("mtt")


@pytest.fixture(scope="package")
def msd_vocabulary() -> Vocabulary:
    return Vocabulary.for_tags("msd")


__all__ = ["needs_audioset_metadata"]
