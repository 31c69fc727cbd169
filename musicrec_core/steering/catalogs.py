"""Which vocabulary an open index gets, read from its manifest and labels: no model is
loaded.

- An AudioSet catalog (manifest ``extra.source == "audioset"``, or a VGGish index whose
  items carry labels, as indexes built before that entry was written do): AudioSet's
  labels and ontology, from the pinned copies ``musicrec models download
  audioset-labels`` put in the cache, or from files given by path.
- A musicnn library: the tags of the variant its embedder id names.
- Anything else (a VGGish library, an embedder musicrec has no words for):
  :class:`~musicrec_core.errors.NoVocabularyError`.
"""

from __future__ import annotations

from pathlib import Path

from musicrec_core.catalog import labels
from musicrec_core.catalog.index import CatalogIndex
from musicrec_core.embedders.musicnn.tags import DEFAULT_MODEL
from musicrec_core.errors import NoVocabularyError
from musicrec_core.steering.vocabulary import Vocabulary

AUDIOSET_SOURCE = "audioset"
"""The manifest's ``extra.source`` of an index built from AudioSet's release."""


def audioset_vocabulary(
    labels_path: Path | None = None, ontology_path: Path | None = None
) -> Vocabulary:
    """AudioSet's vocabulary from the given files, or from the cached pinned copies.

    Raises:
        CatalogError: a file is missing (the message says how to download it), not the
            official one, or malformed.
    """
    classes = labels.read_labels(labels_path) if labels_path else labels.cached_labels()
    nodes = (
        labels.read_ontology_nodes(ontology_path)
        if ontology_path
        else labels.cached_ontology_nodes()
    )
    return Vocabulary.for_audioset(classes, nodes)


def catalog_vocabulary(
    index: CatalogIndex,
    *,
    labels_path: Path | None = None,
    ontology_path: Path | None = None,
) -> Vocabulary:
    """The vocabulary of ``index``'s catalog (see the module docstring).

    Raises:
        NoVocabularyError: the index has neither labels nor tags.
        CatalogError: an AudioSet index whose label files are missing or unusable.
    """
    embedder = index.embedder
    if embedder.name == "musicnn":
        return Vocabulary.for_tags(embedder.variant or DEFAULT_MODEL)
    extra = index.manifest.get("extra")
    source = extra.get("source") if isinstance(extra, dict) else None
    if source == AUDIOSET_SOURCE or (embedder.name == "vggish" and index.label_names):
        return audioset_vocabulary(labels_path, ontology_path)
    if embedder.name == "vggish":
        raise NoVocabularyError(
            f"The index at {index.directory} is a VGGish library: its items have neither "
            "labels nor tags, so words cannot steer it. Build it with --embedder musicnn "
            "to get music tags."
        )
    raise NoVocabularyError(
        f"The index at {index.directory} was built with embedder {embedder.name!r}, whose "
        "items have neither AudioSet labels nor musicnn tags, so words cannot steer it."
    )
