"""Local stand-ins for the hosts the default catalog downloads from.

Two :class:`~tests.helpers.http_server.LocalHTTPServer` s play Google's storage (the VGGish
files under ``/audioset/``, the labels CSV and the features archive under
``/us_audioset/youtube_corpus/v1/``) and GitHub (``/ontology.json``). :meth:`CatalogHosts.env`
gives the ``MUSICREC_*_URL_BASE`` variables that send musicrec's downloads to them.

The labels CSV and the ontology are AudioSet's real ones (``../shared/data/audioset``):
musicrec pins them by sha256, so no stand-in would be accepted; tests using these hosts
carry :data:`needs_audioset_metadata`. The features archive is small and synthetic:
:data:`SEGMENTS` release-format segments of which :data:`MUSIC_SEGMENTS` carry "Music"
(137) and "Guitar" (140), and the others one class outside the Music subtree.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from musicrec_core.mirrors import AUDIOSET_URL_BASE_ENV, ONTOLOGY_URL_BASE_ENV, VGGISH_URL_BASE_ENV
from tests.helpers.audioset_records import (
    random_segments,
    write_audioset_tfrecord,
    write_features_archive,
)
from tests.helpers.http_server import LocalHTTPServer
from tests.helpers.shared_data import AUDIOSET_METADATA, needs_audioset_metadata

__all__ = [
    "FEATURES_PATH",
    "LABELS_PATH",
    "MUSIC_SEGMENTS",
    "SEGMENTS",
    "CatalogHosts",
    "label_files_bytes",
    "needs_audioset_metadata",
    "write_catalog_archive",
]

SEGMENTS = 40
MUSIC_SEGMENTS = 30
MUSIC_LABELS = [137, 140]
"""Music and Guitar in AudioSet's class list."""
OTHER_LABELS = range(0, 28)
"""Speech, voices and other sounds outside the Music subtree."""
VGGISH_PATHS = ("/audioset/vggish_model.ckpt", "/audioset/vggish_pca_params.npz")
LABELS_PATH = "/us_audioset/youtube_corpus/v1/csv/class_labels_indices.csv"
FEATURES_PATH = "/us_audioset/youtube_corpus/v1/features/features.tar.gz"
ONTOLOGY_PATH = "/ontology.json"


def label_files_bytes() -> tuple[bytes, bytes]:
    """(labels CSV, ontology JSON): AudioSet's real files."""
    return (
        (AUDIOSET_METADATA / "class_labels_indices.csv").read_bytes(),
        (AUDIOSET_METADATA / "ontology.json").read_bytes(),
    )


def write_catalog_archive(work: Path) -> Path:
    """A features.tar.gz of :data:`SEGMENTS` segments, :data:`MUSIC_SEGMENTS` of them music,
    in four files (so that a cut archive still holds whole files, as the release's would)."""
    segments = random_segments(SEGMENTS, seed=7, prefix="dc")
    for i, segment in enumerate(segments):
        other = [OTHER_LABELS[i % len(OTHER_LABELS)]]
        segment["labels"] = MUSIC_LABELS if i % 4 else other
    for number in range(4):
        path = work / "features" / "eval" / f"{number:02d}.tfrecord"
        write_audioset_tfrecord(path, segments[number::4])
    return write_features_archive(work / "features", work / "features.tar.gz")


@dataclass
class CatalogHosts:
    """The two stand-in hosts, serving the given VGGish files and the synthetic catalog."""

    checkpoint: bytes
    pca: bytes
    archive: bytes
    google: LocalHTTPServer = field(default_factory=LocalHTTPServer)
    github: LocalHTTPServer = field(default_factory=LocalHTTPServer)

    def __post_init__(self) -> None:
        labels_csv, ontology = self.label_bytes
        self.google.add(VGGISH_PATHS[0], self.checkpoint)
        self.google.add(VGGISH_PATHS[1], self.pca)
        self.google.add(LABELS_PATH, labels_csv, content_type="text/csv")
        self.google.add(FEATURES_PATH, self.archive)
        self.github.add(ONTOLOGY_PATH, ontology, content_type="application/json")

    @property
    def label_bytes(self) -> tuple[bytes, bytes]:
        """The labels CSV and the ontology served (AudioSet's real ones)."""
        return label_files_bytes()

    @property
    def weight_md5s(self) -> tuple[str, str]:
        """md5 of the served checkpoint and PCA file."""
        return hashlib.md5(self.checkpoint).hexdigest(), hashlib.md5(self.pca).hexdigest()

    def env(self) -> dict[str, str]:
        """The variables that send every download to these stand-ins."""
        return {
            VGGISH_URL_BASE_ENV: self.google.url("/audioset"),
            AUDIOSET_URL_BASE_ENV: self.google.url("/us_audioset/youtube_corpus/v1"),
            ONTOLOGY_URL_BASE_ENV: self.github.url(""),
        }

    def requests(self) -> int:
        """Requests received by both hosts, for every served path."""
        paths = (*VGGISH_PATHS, LABELS_PATH, FEATURES_PATH)
        return sum(len(self.google.requests(p)) for p in paths) + len(
            self.github.requests(ONTOLOGY_PATH)
        )

    def bytes_served(self) -> int:
        """Body bytes both hosts sent."""
        paths = (*VGGISH_PATHS, LABELS_PATH, FEATURES_PATH)
        return sum(self.google.bytes_served(p) for p in paths) + self.github.bytes_served(
            ONTOLOGY_PATH
        )

    def close(self) -> None:
        self.google.close()
        self.github.close()
