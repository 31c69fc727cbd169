"""Index directories: round trip, recall, atomic replacement, refusing damaged or foreign ones."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from musicrec_core.catalog.index import (
    BUILD_PREFIX,
    CURRENT_FILE,
    MANIFEST_FILE,
    META_FILE,
    SEARCH_K_MAX,
    SEARCH_K_MIN,
    STALE_POINTER_TEMP_S,
    VECTORS_FILE,
    CatalogIndex,
    IndexBuilder,
    ItemMeta,
    default_search_k,
)
from musicrec_core.catalog.index.label_items import LABEL_ITEMS_FILE, LABEL_OFFSETS_FILE
from musicrec_core.embedders.base import EmbedderId
from musicrec_core.errors import (
    CatalogError,
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
)

EMBEDDER = EmbedderId(name="vggish", version="test-1", dim=16)
REPO_ROOT = Path(__file__).resolve().parents[3]


def _vectors(n: int, dim: int = 16, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)


def _metas(n: int, prefix: str = "vid") -> list[ItemMeta]:
    return [
        ItemMeta(
            group=f"{prefix}{i // 2}",
            start_s=float(10 * (i % 2)),
            end_s=float(10 * (i % 2) + 10),
            labels=("Music", 'Violin, "fiddle"') if i % 3 == 0 else (),
            title=f"title {i}" if i % 2 else None,
            source=f"https://example.invalid/{i}",
            kind="youtube",
        )
        for i in range(n)
    ]


def _build(target: Path, vectors: np.ndarray, prefix: str = "vid", **options: object) -> Path:
    with IndexBuilder(target, embedder=EMBEDDER, pooling="mean", **options) as builder:
        builder.add_many(vectors, _metas(len(vectors), prefix))
        return builder.commit({"note": "test"})


def _current_version(target: Path) -> Path:
    return target / (target / CURRENT_FILE).read_text().strip()


@pytest.fixture
def vectors() -> np.ndarray:
    return _vectors(300)


@pytest.fixture
def built(tmp_path: Path, vectors: np.ndarray) -> Path:
    return _build(tmp_path / "index", vectors, n_trees=8)


def test_round_trip_keeps_vectors_metadata_and_manifest(built: Path, vectors: np.ndarray) -> None:
    with CatalogIndex.load(built, expect_embedder=EMBEDDER) as index:
        assert len(index) == 300
        assert index.dim == 16 and index.pooling == "mean" and index.embedder == EMBEDDER
        manifest = index.manifest
        assert manifest["metric"] == "angular" and manifest["n_trees"] == 8
        assert manifest["item_count"] == 300 and manifest["extra"] == {"note": "test"}
        assert set(manifest["files"]) == {
            VECTORS_FILE,
            META_FILE,
            LABEL_OFFSETS_FILE,
            LABEL_ITEMS_FILE,
        }
        for entry in manifest["files"].values():
            assert len(entry["sha256"]) == 64 and entry["size"] > 0
        assert index.meta(3) == _metas(300)[3]
        assert index.meta(0).labels == ("Music", 'Violin, "fiddle"')
        assert index.meta(1).labels == () and index.meta(1).title == "title 1"
        np.testing.assert_allclose(index.vector(7), vectors[7], rtol=1e-6)
        hits = index.search(vectors[42], 5)
        assert hits[0][0] == 42 and hits[0][1] == pytest.approx(1.0, abs=1e-5)
        similarities = [similarity for _, similarity in hits]
        assert similarities == sorted(similarities, reverse=True)
        assert all(-1.0 <= s <= 1.0 for s in similarities)


def test_similarity_is_the_cosine(built: Path, vectors: np.ndarray) -> None:
    query = _vectors(1, seed=9)[0]
    with CatalogIndex.load(built) as index:
        for item_id, similarity in index.search(query, 10, search_k=10_000):
            stored = vectors[item_id]
            cosine = stored @ query / np.linalg.norm(stored) / np.linalg.norm(query)
            assert similarity == pytest.approx(float(cosine), abs=1e-4)


def test_recall_against_exact_search(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    centres = rng.normal(size=(40, 16))
    data = (centres[rng.integers(0, 40, 4000)] + 0.6 * rng.normal(size=(4000, 16))).astype(
        np.float32
    )
    queries = (centres[rng.integers(0, 40, 50)] + 0.6 * rng.normal(size=(50, 16))).astype(
        np.float32
    )
    target = _build(tmp_path / "index", data)
    unit = data / np.linalg.norm(data, axis=1, keepdims=True)
    found = 0
    with CatalogIndex.load(target) as index:
        for query in queries:
            exact = set(np.argsort(-(unit @ query))[:10].tolist())
            found += len(exact & {item_id for item_id, _ in index.search(query, 10)})
    assert found / (10 * len(queries)) >= 0.95


def test_metas_returns_rows_in_the_order_asked(built: Path) -> None:
    with CatalogIndex.load(built) as index:
        assert [m.start_s for m in index.metas([5, 2, 5])] == [10.0, 0.0, 10.0]
        with pytest.raises(IndexError):
            index.meta(300)
        with pytest.raises(IndexError):
            index.vector(-1)


def test_rebuild_replaces_the_index_and_old_loads_keep_working(
    tmp_path: Path, vectors: np.ndarray
) -> None:
    target = _build(tmp_path / "index", vectors, prefix="old")
    old_version = _current_version(target)
    old = CatalogIndex.load(target)
    _build(target, _vectors(50, seed=1), prefix="new")
    assert not old_version.exists()
    assert sorted(p.name for p in target.iterdir() if p.name != CURRENT_FILE) == [
        _current_version(target).name
    ]
    with CatalogIndex.load(target) as new:
        assert len(new) == 50 and new.meta(0).group == "new0"
    # The old object was pinned to its (now deleted) version and still answers.
    assert old.meta(0).group == "old0"
    assert old.search(vectors[10], 1)[0][0] == 10
    old.close()


def test_exception_during_build_keeps_the_old_index(tmp_path: Path, vectors: np.ndarray) -> None:
    target = _build(tmp_path / "index", vectors)
    with (
        pytest.raises(RuntimeError, match="boom"),
        IndexBuilder(target, embedder=EMBEDDER, pooling="mean") as builder,
    ):
        builder.add_many(_vectors(20, seed=5), _metas(20, "new"))
        raise RuntimeError("boom")
    assert not list(target.glob(f"{BUILD_PREFIX}*"))
    with CatalogIndex.load(target) as index:
        assert len(index) == 300 and index.meta(0).group == "vid0"


def test_failure_while_publishing_keeps_the_old_index(
    tmp_path: Path, vectors: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = _build(tmp_path / "index", vectors)
    before = sorted(p.name for p in target.iterdir())

    def failing_replace(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        _build(target, _vectors(20, seed=5), prefix="new")
    monkeypatch.undo()
    assert sorted(p.name for p in target.iterdir()) == before
    with CatalogIndex.load(target) as index:
        assert len(index) == 300


def test_killed_build_process_leaves_the_old_index_loadable(
    tmp_path: Path, vectors: np.ndarray
) -> None:
    target = _build(tmp_path / "index", vectors)
    script = textwrap.dedent(
        f"""
        import sys, numpy as np
        from pathlib import Path
        from musicrec_core.catalog.index import IndexBuilder, ItemMeta
        from musicrec_core.embedders.base import EmbedderId
        builder = IndexBuilder(Path({str(target)!r}), embedder={EMBEDDER!r}, pooling="mean")
        rng = np.random.default_rng(0)
        for i in range(2000):
            builder.add(rng.normal(size=16).astype(np.float32),
                        ItemMeta(group=f"k{{i}}", start_s=0.0, end_s=10.0, labels=()))
        print("adding", flush=True)
        sys.stdin.read()
        """
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "adding"
        assert list(target.glob(f"{BUILD_PREFIX}*")), "the build should be under way"
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    with CatalogIndex.load(target) as index:
        assert len(index) == 300
    # The next build removes what the killed one left behind.
    _build(target, _vectors(10, seed=2))
    assert not list(target.glob(f"{BUILD_PREFIX}*"))


def test_pointer_left_by_a_publish_killed_mid_write_is_cleaned_up(
    tmp_path: Path, vectors: np.ndarray
) -> None:
    target = _build(tmp_path / "index", vectors)
    # What atomic_write leaves when the process dies between writing and renaming CURRENT.
    stale = target / "musicrec-k1ll3d.CURRENT.part"
    stale.write_text("v-never-published\n")
    old = time.time() - 2 * STALE_POINTER_TEMP_S
    os.utime(stale, (old, old))
    with CatalogIndex.load(target) as index:
        assert len(index) == 300
    _build(target, _vectors(10, seed=2))
    assert not stale.exists()
    with CatalogIndex.load(target) as index:
        assert len(index) == 10


def test_truncated_vector_file_is_refused(built: Path) -> None:
    vectors_path = _current_version(built) / VECTORS_FILE
    size = vectors_path.stat().st_size
    os.truncate(vectors_path, size // 2)
    with pytest.raises(IndexCorruptError, match="truncated"):
        CatalogIndex.load(built)


def test_flipped_byte_is_found_by_checksum_verification(built: Path) -> None:
    meta_path = _current_version(built) / META_FILE
    data = bytearray(meta_path.read_bytes())
    data[-10] ^= 0xFF
    meta_path.write_bytes(bytes(data))
    with pytest.raises(IndexCorruptError, match="sha256"):
        CatalogIndex.load(built, verify_checksums=True)


def test_index_for_another_embedder_is_refused(built: Path) -> None:
    musicnn = EmbedderId(name="musicnn", version="mtt-1", dim=200)
    with pytest.raises(
        IndexMismatchError, match="built with embedder vggish test-1 .16-d.*musicnn"
    ):
        CatalogIndex.load(built, expect_embedder=musicnn)
    other_version = dataclasses.replace(EMBEDDER, version="test-2")
    with pytest.raises(IndexMismatchError, match="test-2"):
        CatalogIndex.load(built, expect_embedder=other_version)


def test_dimension_mismatch_is_refused(built: Path) -> None:
    with pytest.raises(IndexMismatchError, match="32-d"):
        CatalogIndex.load(built, expect_embedder=dataclasses.replace(EMBEDDER, dim=32))
    with CatalogIndex.load(built) as index:
        with pytest.raises(IndexMismatchError, match=r"shape \(32,\).*16-d"):
            index.search(np.zeros(32, np.float32), 3)
        with pytest.raises(ValueError, match="NaN"):
            index.search(np.full(16, np.nan, np.float32), 3)
    with IndexBuilder(built, embedder=EMBEDDER, pooling="mean") as builder:
        with pytest.raises(IndexMismatchError, match="do not fit this 16-d index"):
            builder.add(np.zeros(8, np.float32), _metas(1)[0])
        builder.abort()


@pytest.mark.parametrize(
    ("edit", "error", "message"),
    [
        (lambda m: "{not json", IndexCorruptError, "unreadable"),
        (lambda m: json.dumps(dict(m, item_count="many")), IndexCorruptError, "item_count"),
        (lambda m: json.dumps(dict(m, format_version=99)), IndexMismatchError, "format 99"),
        (lambda m: json.dumps(dict(m, pooling="max")), IndexMismatchError, "max"),
        (lambda m: json.dumps(dict(m, dim=17)), IndexCorruptError, "17-d"),
        (lambda m: json.dumps(dict(m, item_count=301)), IndexCorruptError, "301"),
    ],
)
def test_damaged_manifest_is_refused(
    built: Path, edit: object, error: type[Exception], message: str
) -> None:
    manifest_path = _current_version(built) / MANIFEST_FILE
    manifest = json.loads(manifest_path.read_text())
    manifest_path.write_text(edit(manifest))  # type: ignore[operator]
    with pytest.raises(error, match=message):
        CatalogIndex.load(built)


def test_missing_or_foreign_directories(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFoundError, match="does not exist"):
        CatalogIndex.load(tmp_path / "nowhere")
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "cat.jpg").write_bytes(b"\xff\xd8")
    with pytest.raises(IndexNotFoundError, match="neither"):
        CatalogIndex.load(foreign)
    with pytest.raises(CatalogError, match="holds other files .cat.jpg"):
        IndexBuilder(foreign, embedder=EMBEDDER, pooling="mean")
    assert sorted(p.name for p in foreign.iterdir()) == ["cat.jpg"]


def test_empty_build_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "index"
    with (
        pytest.raises(CatalogError, match="Nothing to index"),
        IndexBuilder(target, embedder=EMBEDDER, pooling="mean") as builder,
    ):
        builder.commit()
    assert not target.exists()


def test_a_version_folder_loads_directly(built: Path) -> None:
    with CatalogIndex.load(_current_version(built)) as index:
        assert len(index) == 300


def test_mean_std_index_is_twice_as_wide(tmp_path: Path) -> None:
    with IndexBuilder(tmp_path / "i", embedder=EMBEDDER, pooling="mean_std") as builder:
        builder.add_many(_vectors(20, dim=32), _metas(20))
        builder.commit()
    with CatalogIndex.load(tmp_path / "i") as index:
        assert index.dim == 32 and index.pooling == "mean_std"


def test_two_indexes_coexist_and_serve_many_threads(tmp_path: Path, vectors: np.ndarray) -> None:
    first = CatalogIndex.load(_build(tmp_path / "a", vectors, prefix="a"))
    second = CatalogIndex.load(_build(tmp_path / "b", vectors[::-1].copy(), prefix="b"))
    errors: list[BaseException] = []

    def worker(index: CatalogIndex, expected_prefix: str) -> None:
        try:
            for row in range(0, 300, 7):
                item_id, _ = index.search(vectors[row], 3)[0]
                assert index.meta(item_id).group.startswith(expected_prefix)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [
        threading.Thread(target=worker, args=(index, prefix))
        for index, prefix in [(first, "a"), (second, "b")] * 4
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert first.search(vectors[0], 1)[0][0] == 0
    assert second.search(vectors[0], 1)[0][0] == 299
    first.close()
    second.close()
    with pytest.raises(CatalogError, match="closed"):
        first.search(vectors[0], 1)


def test_default_search_k_grows_with_the_index_within_bounds(built: Path) -> None:
    assert default_search_k(10) == SEARCH_K_MIN
    assert default_search_k(1_000_000) == 40_000
    assert default_search_k(10**9) == SEARCH_K_MAX
    with CatalogIndex.load(built) as index:
        assert index.manifest["search_k"] == index.default_search_k == SEARCH_K_MIN
    with IndexBuilder(built, embedder=EMBEDDER, pooling="mean", search_k=123) as builder:
        builder.add_many(_vectors(5), _metas(5))
        builder.commit()
    with CatalogIndex.load(built) as index:
        assert index.default_search_k == 123


def test_fingerprint_is_the_start_of_the_manifests_sha256(
    tmp_path: Path, built: Path, vectors: np.ndarray
) -> None:
    with CatalogIndex.load(built) as index:
        text = json.dumps(index.manifest, sort_keys=True, default=str)
        assert index.fingerprint == hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
        with CatalogIndex.load(_build(tmp_path / "again", vectors)) as rebuilt:
            assert rebuilt.fingerprint != index.fingerprint  # every build is told apart


def test_embedder_id_keeps_its_manifest_form_and_reads_old_musicnn_entries(
    tmp_path: Path, vectors: np.ndarray
) -> None:
    msd = EmbedderId(name="musicnn", version="musicnn-msd-0.1.0", dim=16, variant="msd")
    assert msd.to_json() == {
        "name": "musicnn",
        "version": "musicnn-msd-0.1.0",
        "dim": 16,
        "model": "msd",
    }
    assert EMBEDDER.to_json() == {"name": "vggish", "version": "test-1", "dim": 16}
    legacy = {"name": "musicnn", "version": "musicnn-msd-0.1.0", "dim": 16}
    assert EmbedderId.from_json(legacy) == msd == EmbedderId.from_json(msd.to_json())
    with IndexBuilder(tmp_path / "i", embedder=msd, pooling="mean") as builder:
        builder.add_many(vectors, _metas(len(vectors)))
        builder.commit()
    with CatalogIndex.load(tmp_path / "i", expect_embedder=msd) as index:
        assert index.embedder == msd and index.manifest["embedder"] == msd.to_json()
    for bad in ({"name": "x", "version": "1"}, {"name": "x", "version": "1", "dim": 2, "model": 3}):
        with pytest.raises(ValueError):
            EmbedderId.from_json(bad)
