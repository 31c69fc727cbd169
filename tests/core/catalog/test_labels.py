"""AudioSet labels CSV, ontology, the Music subtree and the labels download."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from musicrec_core.catalog import labels
from musicrec_core.catalog.labels import (
    MUSIC_MID,
    AudioSetClass,
    music_class_indices,
    read_labels,
    read_ontology,
    read_ontology_nodes,
    subtree,
)
from musicrec_core.errors import CatalogError, DownloadError
from musicrec_core.hashing import file_sha256
from musicrec_core.mirrors import AUDIOSET_URL_BASE_ENV, ONTOLOGY_URL_BASE_ENV
from tests.helpers.http_server import LocalHTTPServer
from tests.helpers.shared_data import AUDIOSET_METADATA as REAL
from tests.helpers.shared_data import needs_audioset_metadata as real_data

LABELS_SERVED = "/as/csv/class_labels_indices.csv"
ONTOLOGY_SERVED = "/onto/ontology.json"


def _write_csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_labels_csv_with_commas_and_quotes(tmp_path: Path) -> None:
    path = _write_csv(
        tmp_path / "labels.csv",
        'index,mid,display_name\n0,/m/a,"Say ""hi"", then"\n1,/m/b,"Violin, fiddle"\n',
    )
    assert read_labels(path) == [
        AudioSetClass(0, "/m/a", 'Say "hi", then'),
        AudioSetClass(1, "/m/b", "Violin, fiddle"),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("idx,mid,name\n0,/m/a,A\n", "header"),
        ("index,mid,display_name\n0,/m/a\n", "line 2"),
        ("index,mid,display_name\nzero,/m/a,A\n", "line 2"),
        ("index,mid,display_name\n0,/m/a,A\n2,/m/c,C\n", "line 3"),
        ("index,mid,display_name\n1,/m/b,B\n0,/m/a,A\n", "line 2"),
        ("index,mid,display_name\n0,/m/a,A\n1,/m/a,B\n", "line 3"),
        ("index,mid,display_name\n0,m/a,A\n", "line 2"),
        ("index,mid,display_name\n0,/m/a,\n", "line 2"),
        ("index,mid,display_name\n0,/m/a,Evil\u202eoops\n", "line 2"),
        ("index,mid,display_name\n0,/m/a,Tab\there\n", "line 2"),
        ("index,mid,display_name\n0,/m/a," + "x" * 101 + "\n", "line 2"),
        ("index,mid,display_name\n0,/m/a,A,extra\n", "line 2"),
        ("index,mid,display_name\n", "no classes"),
    ],
)
def test_malformed_labels_are_refused(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(CatalogError, match=message):
        read_labels(_write_csv(tmp_path / "labels.csv", text))


def test_missing_files_say_how_to_get_them(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="musicrec models download audioset-labels"):
        read_labels(tmp_path / "absent.csv")
    with pytest.raises(CatalogError, match="musicrec models download audioset-labels"):
        read_ontology(tmp_path / "absent.json")


def test_malformed_ontology_is_refused(tmp_path: Path) -> None:
    for text, message in [
        ("{not json", "Cannot read"),
        ('{"id": "/m/a"}', "list of nodes"),
        ('[{"name": "x"}]', "without a valid 'id'"),
        ('[{"id": "/m/a", "child_ids": "/m/b"}]', "malformed child_ids"),
        ('[{"id": "/m/a", "child_ids": ["/m/b"]}]', "unknown child /m/b"),
        ('[{"id": "/m/a"}, {"id": "/m/a"}]', "twice"),
        ('[{"id": "not a mid"}]', "without a valid 'id'"),
        ('[{"id": "/m/a", "name": ""}]', "printable name"),
        ('[{"id": "/m/a", "name": "Evil\\u202eoops"}]', "printable name"),
        ('[{"id": "/m/a", "name": "A", "description": 7}]', "printable description"),
        ('[{"id": "/m/a", "description": "' + "x" * 2001 + '"}]', "at most 2000"),
    ]:
        path = tmp_path / "ontology.json"
        path.write_text(text)
        with pytest.raises(CatalogError, match=message):
            read_ontology(path)


def test_subtree_follows_nested_children_and_survives_cycles(tmp_path: Path) -> None:
    nodes = [
        {"id": MUSIC_MID, "name": "Music", "child_ids": ["/m/genre", "/m/instrument"]},
        {"id": "/m/genre", "name": "Genre", "child_ids": ["/m/rock"]},
        {"id": "/m/rock", "name": "Rock", "child_ids": ["/m/punk", MUSIC_MID]},  # a cycle
        {"id": "/m/punk", "name": "Punk", "child_ids": []},
        {"id": "/m/instrument", "name": "Instrument", "child_ids": ["/m/rock"]},
        {"id": "/m/speech", "name": "Speech", "child_ids": ["/m/punk"]},
        {"id": "/m/dog", "name": "Dog"},
    ]
    path = tmp_path / "ontology.json"
    path.write_text(json.dumps(nodes))
    children = read_ontology(path)
    assert subtree(children, MUSIC_MID) == {
        MUSIC_MID,
        "/m/genre",
        "/m/rock",
        "/m/punk",
        "/m/instrument",
    }
    assert subtree(children, "/m/dog") == {"/m/dog"}
    classes = [
        AudioSetClass(0, "/m/speech", "Speech"),
        AudioSetClass(1, "/m/punk", "Punk"),
        AudioSetClass(2, "/m/dog", "Dog"),
        AudioSetClass(3, MUSIC_MID, "Music"),
    ]
    assert music_class_indices(classes, children) == {1, 3}
    with pytest.raises(CatalogError, match="no node /m/absent"):
        subtree(children, "/m/absent")


@real_data
def test_real_labels_and_ontology() -> None:
    classes = read_labels(REAL / "class_labels_indices.csv")
    assert len(classes) == 527
    assert classes[0] == AudioSetClass(0, "/m/09x0r", "Speech")
    assert any("," in c.name for c in classes)
    children = read_ontology(REAL / "ontology.json")
    assert len(children) == 632
    assert len(subtree(children, MUSIC_MID)) == 189
    nodes = read_ontology_nodes(REAL / "ontology.json")
    assert list(nodes) == list(children)
    music = nodes[MUSIC_MID]
    assert (music.name, music.child_ids) == ("Music", tuple(children[MUSIC_MID]))
    assert music.description.startswith("Music is an art form")


@real_data
def test_music_filter_on_the_real_eval_segment_list() -> None:
    classes = read_labels(REAL / "class_labels_indices.csv")
    music = music_class_indices(classes, read_ontology(REAL / "ontology.json"))
    index_of = {c.mid: c.index for c in classes}
    total = with_music = 0
    with (REAL / "eval_segments.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.reader(handle, skipinitialspace=True):
            if not row or row[0].startswith("#"):
                continue
            total += 1
            if {index_of[mid] for mid in row[3].split(",")} & music:
                with_music += 1
    assert (total, with_music) == (20371, 7848)


@real_data
def test_the_real_files_are_the_pinned_ones() -> None:
    assert file_sha256(REAL / "class_labels_indices.csv") == labels.LABELS_SHA256
    assert file_sha256(REAL / "ontology.json") == labels.ONTOLOGY_SHA256


@pytest.fixture
def label_host(http_server: LocalHTTPServer, monkeypatch: pytest.MonkeyPatch) -> LocalHTTPServer:
    """A stand-in for both official hosts, serving AudioSet's real label files."""
    http_server.add(LABELS_SERVED, (REAL / "class_labels_indices.csv").read_bytes())
    http_server.add(ONTOLOGY_SERVED, (REAL / "ontology.json").read_bytes())
    monkeypatch.setenv(AUDIOSET_URL_BASE_ENV, http_server.url("/as"))
    monkeypatch.setenv(ONTOLOGY_URL_BASE_ENV, http_server.url("/onto"))
    return http_server


@real_data
def test_download_fetches_both_files_into_the_cache(
    label_host: LocalHTTPServer, isolated_cache: Path
) -> None:
    paths = labels.download(progress=False)
    assert paths == [labels.default_labels_path(), labels.default_ontology_path()]
    assert all(path.is_relative_to(isolated_cache) for path in paths)
    assert len(labels.cached_labels()) == 527
    assert len(labels.cached_ontology()) == 632


@real_data
@pytest.mark.parametrize("served", [LABELS_SERVED, ONTOLOGY_SERVED])
def test_a_download_that_does_not_match_the_pin_is_refused(
    label_host: LocalHTTPServer, served: str
) -> None:
    real = (REAL / Path(served).name).read_bytes()
    label_host.add(served, real.replace(b"Music", b"[Nitro](https://evil.example)", 1))
    with pytest.raises(DownloadError, match=r"is not the expected one \(sha256 "):
        labels.download(progress=False)
    stored = [p.name for p in labels.default_labels_path().parent.glob("*")]
    assert Path(served).name not in stored and not [n for n in stored if n.endswith(".part")]


@real_data
def test_cached_copies_are_checked_against_the_pin(label_host: LocalHTTPServer) -> None:
    labels.download(progress=False)
    assert labels.cached_files_intact()
    cached = labels.default_labels_path()
    cached.write_bytes(cached.read_bytes().replace(b'"Music"', b'"Musik"'))
    assert not labels.cached_files_intact()
    with pytest.raises(CatalogError, match="not the official one.*models download"):
        labels.cached_labels()


def test_failed_download_raises_and_leaves_nothing(
    http_server: LocalHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(AUDIOSET_URL_BASE_ENV, http_server.url("/as"))
    http_server.add(LABELS_SERVED, b"", status=404)
    with pytest.raises(DownloadError):
        labels.download(progress=False)
    assert not labels.default_labels_path().exists()
