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
    subtree,
)
from musicrec_core.errors import CatalogError, DownloadError
from tests.helpers.http_server import LocalHTTPServer

REAL = Path(__file__).resolve().parents[4] / "shared" / "data" / "audioset"
real_data = pytest.mark.skipif(
    not (REAL / "ontology.json").is_file(),
    reason=f"the real AudioSet metadata files are not in {REAL}",
)


def _write_csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_labels_csv_with_commas_and_quotes(tmp_path: Path) -> None:
    path = _write_csv(
        tmp_path / "labels.csv",
        'index,mid,display_name\n1,/m/b,"Violin, fiddle"\n0,/m/a,"Say ""hi"", then"\n',
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
        ("index,mid,display_name\n0,/m/a,A\n2,/m/c,C\n", "0..1"),
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
        ('[{"name": "x"}]', "without an 'id'"),
        ('[{"id": "/m/a", "child_ids": "/m/b"}]', "malformed child_ids"),
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


def test_download_fetches_both_files_into_the_cache(
    http_server: LocalHTTPServer, monkeypatch: pytest.MonkeyPatch, isolated_cache: Path
) -> None:
    http_server.add("/labels.csv", b'index,mid,display_name\n0,/m/a,"A, a"\n')
    http_server.add("/ontology.json", json.dumps([{"id": "/m/a", "child_ids": []}]).encode())
    monkeypatch.setattr(labels, "LABELS_URL", http_server.url("/labels.csv"))
    monkeypatch.setattr(labels, "ONTOLOGY_URL", http_server.url("/ontology.json"))
    paths = labels.download(progress=False)
    assert paths == [labels.default_labels_path(), labels.default_ontology_path()]
    assert all(path.is_relative_to(isolated_cache) for path in paths)
    assert read_labels(paths[0]) == [AudioSetClass(0, "/m/a", "A, a")]
    assert read_ontology(paths[1]) == {"/m/a": []}


def test_failed_download_raises_and_leaves_nothing(
    http_server: LocalHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    http_server.add("/labels.csv", b"", status=404)
    monkeypatch.setattr(labels, "LABELS_URL", http_server.url("/labels.csv"))
    with pytest.raises(DownloadError):
        labels.download(progress=False)
    assert not labels.default_labels_path().exists()
