"""AudioSet's class labels and ontology: names for class indices, and the Music subtree.

Files (downloaded by ``musicrec models download audioset-labels`` into
``paths.data_dir("audioset")``):

- ``class_labels_indices.csv``: header ``index,mid,display_name``, one row per class
  (527); display names are CSV-quoted and may hold commas and quotes.
- ``ontology.json``: a list of nodes ``{"id": mid, "name": ..., "description": ...,
  "child_ids": [...], ...}``.
  The Music subtree is ``/m/04rlf`` and every node reachable through ``child_ids``.

Trust: class names become catalog labels shown to Discord members, so both files are
pinned. A download is accepted only with the sha256 of the release's copies
(:data:`LABELS_SHA256`, :data:`ONTOLOGY_SHA256`), and so is a cached copy before it is
used (:func:`cached_labels`, :func:`cached_ontology`; :func:`cached_files_intact` tells the
default catalog to fetch them again). Behind the pin, or alone for files a person passes
with ``--labels``/``--ontology`` (their own choice, so not pinned), the parsers are strict:
rows in index order from 0, mids of the form ``/m/...``, each once, names of 1 to
:data:`MAX_NAME_CHARS` printable characters (no control or bidirectional-override
characters), child ids that exist, files under a size cap.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from musicrec_core import paths
from musicrec_core.download import download_file
from musicrec_core.errors import CatalogError
from musicrec_core.hashing import file_sha256

LABELS_URL = (
    "https://storage.googleapis.com/us_audioset/youtube_corpus/v1/csv/class_labels_indices.csv"
)
ONTOLOGY_URL = "https://raw.githubusercontent.com/audioset/ontology/master/ontology.json"
LABELS_SHA256 = "cdd1049833c4b86127c2773ac0d14a2754b6a6d0d1798002ed5c66e699708429"
"""sha256 of the release's class_labels_indices.csv (14,675 bytes, 527 classes)."""
ONTOLOGY_SHA256 = "9c685f4403eecc3ca9be37fd7285cf212feaaea6ff7229d3e7ca89e0d1f2d15d"
"""sha256 of the ontology's ontology.json (342,780 bytes, 632 nodes)."""
LABELS_MAX_BYTES = 2**20
ONTOLOGY_MAX_BYTES = 8 * 2**20
"""Largest labels CSV and ontology read or downloaded, in bytes."""
MAX_NAME_CHARS = 100
"""Longest class name accepted (the release's longest has 40)."""
MAX_DESCRIPTION_CHARS = 2000
"""Longest ontology description accepted (the release's longest has 483)."""
LABELS_FILE = "class_labels_indices.csv"
ONTOLOGY_FILE = "ontology.json"
MUSIC_MID = "/m/04rlf"
"""The ontology node "Music"."""

_MID = re.compile(r"/[a-z]/[0-9a-z_]+")
_DOWNLOAD_ADVICE = "run `musicrec models download audioset-labels` or pass its path"


@dataclass(frozen=True)
class OntologyNode:
    """One node of the ontology: a class or a grouping of classes.

    Attributes:
        mid: its id (``/m/...`` or ``/t/...``).
        name: its name (a class's is its display name).
        description: one or a few sentences saying what it sounds like ("" when absent).
        child_ids: the mids of the nodes below it.
    """

    mid: str
    name: str
    description: str
    child_ids: tuple[str, ...]


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

    Each is accepted only whole and with its pinned sha256, else nothing is stored.
    Raises DownloadError.
    """
    return [
        download_file(
            LABELS_URL,
            default_labels_path(),
            sha256=LABELS_SHA256,
            max_bytes=LABELS_MAX_BYTES,
            progress=progress,
        ),
        download_file(
            ONTOLOGY_URL,
            default_ontology_path(),
            sha256=ONTOLOGY_SHA256,
            max_bytes=ONTOLOGY_MAX_BYTES,
            progress=progress,
        ),
    ]


def cached_files_intact() -> bool:
    """Both cached files exist and carry their pinned sha256."""
    return _pinned(default_labels_path(), LABELS_SHA256) and _pinned(
        default_ontology_path(), ONTOLOGY_SHA256
    )


def cached_labels() -> list[AudioSetClass]:
    """The cached labels CSV, parsed once its sha256 matched the pin (:func:`read_labels`).

    Raises:
        CatalogError: missing, not the official file, or malformed.
    """
    path = default_labels_path()
    _check_pin(path, LABELS_SHA256, "labels")
    return read_labels(path)


def cached_ontology() -> dict[str, list[str]]:
    """The cached ontology as ``{mid: child mids}`` (:func:`cached_ontology_nodes`).

    Raises:
        CatalogError: missing, not the official file, or malformed.
    """
    return {mid: list(node.child_ids) for mid, node in cached_ontology_nodes().items()}


def cached_ontology_nodes() -> dict[str, OntologyNode]:
    """The cached ontology's nodes, once its sha256 matched the pin
    (:func:`read_ontology_nodes`).

    Raises:
        CatalogError: missing, not the official file, or malformed.
    """
    path = default_ontology_path()
    _check_pin(path, ONTOLOGY_SHA256, "ontology")
    return read_ontology_nodes(path)


def read_labels(path: Path) -> list[AudioSetClass]:
    """Parse a labels CSV strictly into classes ordered by index (no pin: see the module).

    Raises:
        CatalogError: missing file, over the size cap, wrong header, a malformed row (the
            message names its line), or no classes.
    """
    text = _read_text(path, LABELS_MAX_BYTES, "labels")
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise CatalogError(f"Cannot read the AudioSet labels file {path}: {exc}.") from exc
    if not rows or rows[0] != ["index", "mid", "display_name"]:
        raise CatalogError(
            f"{path} is not an AudioSet labels file (header index,mid,display_name)."
        )
    classes: list[AudioSetClass] = []
    mids: set[str] = set()
    for line_number, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        index = len(classes)
        name = row[2].strip() if len(row) == 3 else ""
        if (
            len(row) != 3
            or row[0] != str(index)
            or not _MID.fullmatch(row[1])
            or row[1] in mids
            or not 0 < len(name) <= MAX_NAME_CHARS
            or not name.isprintable()
        ):
            raise CatalogError(
                f"{path} line {line_number} is not 'index,mid,display_name' with index "
                f"{index}, a new mid like /m/09x0r and a printable name of 1 to "
                f"{MAX_NAME_CHARS} characters."
            )
        mids.add(row[1])
        classes.append(AudioSetClass(index, row[1], name))
    if not classes:
        raise CatalogError(f"{path} lists no classes.")
    return classes


def read_ontology(path: Path) -> dict[str, list[str]]:
    """Parse an ontology JSON strictly into ``{mid: child mids}`` (see
    :func:`read_ontology_nodes`)."""
    return {mid: list(node.child_ids) for mid, node in read_ontology_nodes(path).items()}


def read_ontology_nodes(path: Path) -> dict[str, OntologyNode]:
    """Parse an ontology JSON strictly into ``{mid: node}``, in file order (no pin: see
    the module).

    Raises:
        CatalogError: missing file, over the size cap, not JSON, a node without a valid
            ``id``, an id given twice, a name or description that is not printable text
            (names of 1 to MAX_NAME_CHARS characters, descriptions of at most
            MAX_DESCRIPTION_CHARS; both optional), or child ids that are malformed or
            unknown.
    """
    text = _read_text(path, ONTOLOGY_MAX_BYTES, "ontology")
    try:
        documents = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CatalogError(f"Cannot read the AudioSet ontology {path}: {exc}.") from exc
    if not isinstance(documents, list):
        raise CatalogError(f"{path} is not an AudioSet ontology (expected a list of nodes).")
    nodes: dict[str, OntologyNode] = {}
    for document in documents:
        if not isinstance(document, dict) or not _MID.fullmatch(str(document.get("id"))):
            raise CatalogError(f"{path} holds a node without a valid 'id' (a mid like /m/04rlf).")
        mid = document["id"]
        if mid in nodes:
            raise CatalogError(f"{path}: node {mid} appears twice.")
        child_ids = document.get("child_ids", [])
        if not isinstance(child_ids, list) or not all(isinstance(c, str) for c in child_ids):
            raise CatalogError(f"{path}: node {mid} has malformed child_ids.")
        name, description = document.get("name", mid), document.get("description", "")
        if not (
            _printable(name, 1, MAX_NAME_CHARS)
            and _printable(description, 0, MAX_DESCRIPTION_CHARS)
        ):
            raise CatalogError(
                f"{path}: node {mid} needs a printable name of 1 to {MAX_NAME_CHARS} "
                f"characters and a printable description of at most {MAX_DESCRIPTION_CHARS}."
            )
        nodes[mid] = OntologyNode(mid, name.strip(), description.strip(), tuple(child_ids))
    for mid, node in nodes.items():
        unknown = [child for child in node.child_ids if child not in nodes]
        if unknown:
            raise CatalogError(f"{path}: node {mid} names an unknown child {unknown[0]}.")
    return nodes


def _printable(value: object, shortest: int, longest: int) -> bool:
    """``value`` is a string of shortest..longest printable characters once stripped."""
    return (
        isinstance(value, str) and shortest <= len(value.strip()) <= longest and value.isprintable()
    )


def _read_text(path: Path, max_bytes: int, what: str) -> str:
    """A metadata file's UTF-8 text, refused past ``max_bytes``."""
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except FileNotFoundError as exc:
        raise CatalogError(
            f"The AudioSet {what} file {path} does not exist; {_DOWNLOAD_ADVICE}."
        ) from exc
    except OSError as exc:
        raise CatalogError(f"Cannot read the AudioSet {what} file {path}: {exc}.") from exc
    if len(data) > max_bytes:
        raise CatalogError(f"The AudioSet {what} file {path} is over {max_bytes:,} bytes.")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CatalogError(f"Cannot read the AudioSet {what} file {path}: {exc}.") from exc


def _pinned(path: Path, sha256: str) -> bool:
    try:
        return file_sha256(path) == sha256
    except OSError:
        return False


def _check_pin(path: Path, sha256: str, what: str) -> None:
    """Raise CatalogError unless ``path`` exists and carries ``sha256``."""
    if not path.is_file():
        raise CatalogError(f"The AudioSet {what} file {path} does not exist; {_DOWNLOAD_ADVICE}.")
    if not _pinned(path, sha256):
        raise CatalogError(
            f"The AudioSet {what} file {path} is not the official one (its sha256 differs "
            f"from {sha256}); run `musicrec models download audioset-labels` to fetch it "
            "again, or pass your own copy by its path."
        )


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
