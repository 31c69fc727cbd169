"""Local stand-ins for the hosts the default catalog downloads from.

Two :class:`~tests.helpers.http_server.LocalHTTPServer` s play Google's storage (the VGGish
files under ``/audioset/``, the labels CSV and the features archive under
``/us_audioset/youtube_corpus/v1/``) and GitHub (``/ontology.json``). :meth:`CatalogHosts.env`
gives the ``MUSICREC_*_URL_BASE`` variables that send musicrec's downloads to them.

The catalog content is small and synthetic: 527 classes where "Music" is class 0 with
"Guitar" (300) and 301..304 below it, and :data:`SEGMENTS` release-format segments of
which :data:`MUSIC_SEGMENTS` carry a Music-subtree label.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from musicrec_core.mirrors import AUDIOSET_URL_BASE_ENV, ONTOLOGY_URL_BASE_ENV, VGGISH_URL_BASE_ENV
from tests.helpers.audioset_records import (
    random_segments,
    write_audioset_tfrecord,
    write_features_archive,
)
from tests.helpers.http_server import LocalHTTPServer

CLASS_COUNT = 527
SEGMENTS = 40
MUSIC_SEGMENTS = 30
VGGISH_PATHS = ("/audioset/vggish_model.ckpt", "/audioset/vggish_pca_params.npz")
LABELS_PATH = "/us_audioset/youtube_corpus/v1/csv/class_labels_indices.csv"
FEATURES_PATH = "/us_audioset/youtube_corpus/v1/features/features.tar.gz"
ONTOLOGY_PATH = "/ontology.json"


def label_files_bytes() -> tuple[bytes, bytes]:
    """(labels CSV, ontology JSON) of the synthetic class set."""
    mids = ["/m/04rlf"] + [f"/m/c{i}" for i in range(1, CLASS_COUNT)]
    rows = ["index,mid,display_name"]
    for index, mid in enumerate(mids):
        name = {0: "Music", 300: "Guitar"}.get(index, f"Class {index}")
        rows.append(f'{index},{mid},"{name}"')
    nodes: list[dict[str, object]] = [{"id": mid, "child_ids": []} for mid in mids]
    nodes[0]["child_ids"] = [mids[300]]
    nodes[300]["child_ids"] = mids[301:305]
    return ("\n".join(rows) + "\n").encode(), json.dumps(nodes).encode()


def write_catalog_archive(work: Path) -> Path:
    """A features.tar.gz of :data:`SEGMENTS` segments, :data:`MUSIC_SEGMENTS` of them music."""
    segments = random_segments(SEGMENTS, seed=7, prefix="dc")
    for i, segment in enumerate(segments):
        segment["labels"] = [0, 300 + i % 5] if i < MUSIC_SEGMENTS else [1 + i]
    write_audioset_tfrecord(work / "features" / "eval" / "a.tfrecord", segments)
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
        labels_csv, ontology = label_files_bytes()
        self.google.add(VGGISH_PATHS[0], self.checkpoint)
        self.google.add(VGGISH_PATHS[1], self.pca)
        self.google.add(LABELS_PATH, labels_csv, content_type="text/csv")
        self.google.add(FEATURES_PATH, self.archive)
        self.github.add(ONTOLOGY_PATH, ontology, content_type="application/json")

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
