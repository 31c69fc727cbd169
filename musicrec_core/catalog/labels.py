"""AudioSet's class labels and ontology: names for class indices, and the Music subtree.

Files (downloaded by ``musicrec models download audioset-labels`` into
``paths.data_dir("audioset")``):

- ``class_labels_indices.csv``: header ``index,mid,display_name``, one row per class
  (527); display names are CSV-quoted and may hold commas and quotes.
- ``ontology.json``: a list of nodes ``{"id": mid, "name": ..., "child_ids": [...], ...}``.
  The Music subtree is ``/m/04rlf`` and every node reachable through ``child_ids``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from musicrec_core import paths
from musicrec_core.download import download_file
from musicrec_core.errors import CatalogError

LABELS_URL = (
    "https://storage.googleapis.com/us_audioset/youtube_corpus/v1/csv/class_labels_indices.csv"
)
ONTOLOGY_URL = "https://raw.githubusercontent.com/audioset/ontology/master/ontology.json"
LABELS_FILE = "class_labels_indices.csv"
ONTOLOGY_FILE = "ontology.json"
MUSIC_MID = "/m/04rlf"
"""The ontology node "Music"."""


@dataclass(frozen=True)
class AudioSetClass:
    """One of AudioSet's classes: its index in the features' ``labels``, mid and name."""

    index: int
    mid: str
    name: str


def default_labels_path() -> Path:
    """Where ``musicrec models download audioset-labels`` puts the labels CSV."""
    return paths.data_dir("audioset") / LABELS_FILE


def default_ontology_path() -> Path:
    """Where ``musicrec models download audioset-labels`` puts the ontology."""
    return paths.data_dir("audioset") / ONTOLOGY_FILE


def download(*, progress: bool = True) -> list[Path]:
    """Download the labels CSV and the ontology into the data cache; returns their paths.

    No checksums are published for these files, so none is checked; each file still
    arrives whole or not at all. Raises DownloadError.
    """
    return [
        download_file(LABELS_URL, default_labels_path(), progress=progress),
        download_file(ONTOLOGY_URL, default_ontology_path(), progress=progress),
    ]


def _missing(path: Path, what: str) -> CatalogError:
    return CatalogError(
        f"The AudioSet {what} file {path} does not exist; run `musicrec models download "
        "audioset-labels` or pass its path."
    )


def read_labels(path: Path) -> list[AudioSetClass]:
    """Parse the labels CSV into classes ordered by index (indices must be 0..n-1).

    Raises:
        CatalogError: missing file, wrong header, malformed rows or indices with gaps.
    """
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
    except FileNotFoundError as exc:
        raise _missing(path, "labels") from exc
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CatalogError(f"Cannot read the AudioSet labels file {path}: {exc}.") from exc
    if not rows or [cell.strip() for cell in rows[0]] != ["index", "mid", "display_name"]:
        raise CatalogError(
            f"{path} is not an AudioSet labels file (header index,mid,display_name)."
        )
    classes = []
    for line_number, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        if len(row) != 3 or not row[0].strip().isdigit():
            raise CatalogError(f"{path} line {line_number} is not 'index,mid,display_name'.")
        classes.append(AudioSetClass(int(row[0]), row[1].strip(), row[2].strip()))
    classes.sort(key=lambda c: c.index)
    if [c.index for c in classes] != list(range(len(classes))):
        raise CatalogError(f"{path} does not number its classes 0..{len(classes) - 1}.")
    return classes


def read_ontology(path: Path) -> dict[str, list[str]]:
    """Parse the ontology JSON into ``{mid: child mids}``.

    Raises:
        CatalogError: missing file, not JSON, or nodes without an ``id``.
    """
    try:
        nodes = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise _missing(path, "ontology") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CatalogError(f"Cannot read the AudioSet ontology {path}: {exc}.") from exc
    if not isinstance(nodes, list):
        raise CatalogError(f"{path} is not an AudioSet ontology (expected a list of nodes).")
    children: dict[str, list[str]] = {}
    for node in nodes:
        if not isinstance(node, dict) or not isinstance(node.get("id"), str):
            raise CatalogError(f"{path} holds a node without an 'id'.")
        child_ids = node.get("child_ids", [])
        if not isinstance(child_ids, list) or not all(isinstance(c, str) for c in child_ids):
            raise CatalogError(f"{path}: node {node['id']} has malformed child_ids.")
        children[node["id"]] = child_ids
    return children


def subtree(children: dict[str, list[str]], root: str) -> set[str]:
    """``root`` and every mid reachable from it through child_ids (cycles are harmless).

    Raises:
        CatalogError: ``root`` is not in the ontology.
    """
    if root not in children:
        raise CatalogError(f"The ontology has no node {root}.")
    seen = {root}
    frontier = [root]
    while frontier:
        for child in children.get(frontier.pop(), []):
            if child not in seen:
                seen.add(child)
                frontier.append(child)
    return seen


def class_indices(classes: Iterable[AudioSetClass], mids: set[str]) -> set[int]:
    """Indices of the classes whose mid is in ``mids``."""
    return {c.index for c in classes if c.mid in mids}


def music_class_indices(
    classes: Iterable[AudioSetClass], children: dict[str, list[str]]
) -> set[int]:
    """Indices of the classes in the Music subtree (/m/04rlf and its descendants)."""
    return class_indices(classes, subtree(children, MUSIC_MID))
