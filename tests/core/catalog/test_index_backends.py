"""Vector backends (vector_backend.py): a usearch index is built, published, proven and
loaded through the same manifest and sha256 contract as an Annoy one, a reload swaps one
backend for the other, and both find the true neighbours of a small synthetic set.

Damage is made on disk as in test_index_serving.py: flipped bytes (the checksum catches
them) and a wrong file whose checksum was recorded (the backend's own checks catch it).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from musicrec_core.catalog.index import (
    BACKENDS,
    FORMAT_VERSION,
    MANIFEST_FILE,
    VECTORS_FILE,
    CatalogIndex,
    IndexBuilder,
    estimate_index_bytes,
)
from musicrec_core.catalog.index.usearch_vectors import (
    SEARCH_EF_MAX,
    SEARCH_EF_MIN,
    SEARCH_EF_PER_MILLION,
    default_search_ef,
)
from musicrec_core.catalog.index.usearch_vectors import VECTORS_FILE as USEARCH_FILE
from musicrec_core.clip import SAMPLE_RATE_HZ, Clip
from musicrec_core.embedders.base import EmbedderId
from musicrec_core.errors import CatalogError, IndexCorruptError, IndexMismatchError
from musicrec_core.hashing import file_sha256
from musicrec_core.recommender import Recommender
from tests.helpers.band_embedder import BandEnergyEmbedder
from tests.helpers.index_damage import flip_middle_bytes
from tests.helpers.small_index import build_vectors_index, current_version, random_vectors

EMBEDDER = EmbedderId(name="vggish", version="test-1", dim=16)
ITEMS = 300


def vectors(n: int = ITEMS, dim: int = EMBEDDER.dim, seed: int = 7) -> np.ndarray:
    return random_vectors(n, dim, seed)


def build(
    target: Path, rows: np.ndarray, embedder: EmbedderId = EMBEDDER, **options: object
) -> Path:
    return build_vectors_index(target, rows, embedder, **options)


def record_checksum(version_dir: Path, name: str) -> None:
    """Make the manifest's size and sha256 of ``name`` agree with the file as it is now."""
    path = version_dir / MANIFEST_FILE
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["files"][name] = {
        "size": (version_dir / name).stat().st_size,
        "sha256": file_sha256(version_dir / name),
    }
    path.write_text(json.dumps(manifest), encoding="utf-8")


def edit_manifest(version_dir: Path, **changes: object) -> None:
    path = version_dir / MANIFEST_FILE
    manifest = json.loads(path.read_text(encoding="utf-8"))
    for key, value in changes.items():
        if value is None:
            del manifest[key]
        else:
            manifest[key] = value
    path.write_text(json.dumps(manifest), encoding="utf-8")


def test_a_usearch_index_is_built_loaded_and_searched_with_exact_cosines(
    tmp_path: Path,
) -> None:
    rows = vectors()
    index_dir = build(tmp_path / "index", rows, backend="usearch")
    with CatalogIndex.load_for_serving(index_dir, expect_embedder=EMBEDDER) as index:
        assert index.backend == "usearch" and len(index) == ITEMS
        assert index.manifest["format_version"] == FORMAT_VERSION == 3
        assert set(index.manifest["files"]) >= {USEARCH_FILE, "meta.sqlite"}
        assert VECTORS_FILE not in index.manifest["files"]
        assert index.manifest["connectivity"] == 16 and "n_trees" not in index.manifest
        np.testing.assert_array_equal(index.vector(42), rows[42])
        found = index.search(rows[42], 5)
        assert found[0] == (42, pytest.approx(1.0, abs=1e-6))
        units = rows / np.linalg.norm(rows, axis=1, keepdims=True)
        for item_id, cosine in found:
            assert cosine == pytest.approx(float(units[item_id] @ units[42]), abs=1e-5)
        assert index.meta(42).group == "g42"


def test_an_annoy_build_stays_format_2_and_names_its_backend(tmp_path: Path) -> None:
    index_dir = build(tmp_path / "index", vectors(), n_trees=4)
    with CatalogIndex.load(index_dir) as index:
        assert index.backend == "annoy" and index.manifest["format_version"] == 2
        assert index.manifest["n_trees"] == 4


def test_a_manifest_without_a_backend_is_an_annoy_index(tmp_path: Path) -> None:
    """Versions built before backends existed name none."""
    index_dir = build(tmp_path / "index", vectors(), n_trees=4)
    edit_manifest(current_version(index_dir), backend=None)
    with CatalogIndex.load_for_serving(index_dir) as index:
        assert index.backend == "annoy" and index.search(vectors()[3], 1)[0][0] == 3


def test_an_unknown_backend_or_a_missing_setting_is_refused(tmp_path: Path) -> None:
    index_dir = build(tmp_path / "index", vectors(), backend="usearch")
    edit_manifest(current_version(index_dir), backend="faiss")
    with pytest.raises(IndexMismatchError, match="backend 'faiss'.*annoy, usearch"):
        CatalogIndex.load(index_dir)
    edit_manifest(current_version(index_dir), backend="usearch", connectivity=None)
    with pytest.raises(IndexCorruptError, match="lacks a valid 'connectivity'"):
        CatalogIndex.load(index_dir)


def test_a_build_with_a_setting_its_backend_lacks_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="usearch backend has no setting 'n_trees'"):
        IndexBuilder(
            tmp_path / "index", embedder=EMBEDDER, pooling="mean", backend="usearch", n_trees=5
        )
    with pytest.raises(ValueError, match="unknown vector backend 'faiss'"):
        IndexBuilder(tmp_path / "index", embedder=EMBEDDER, pooling="mean", backend="faiss")
    assert not (tmp_path / "index").exists()


def test_flipped_bytes_in_the_usearch_file_fail_the_sha256_check(tmp_path: Path) -> None:
    index_dir = build(tmp_path / "index", vectors(), backend="usearch")
    flip_middle_bytes(current_version(index_dir) / USEARCH_FILE)
    with pytest.raises(IndexCorruptError, match=f"{USEARCH_FILE} .*fails its sha256 check"):
        CatalogIndex.load_for_serving(index_dir)


def test_a_truncated_usearch_file_fails_the_size_check(tmp_path: Path) -> None:
    index_dir = build(tmp_path / "index", vectors(), backend="usearch")
    path = current_version(index_dir) / USEARCH_FILE
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(IndexCorruptError, match="truncated or damaged"):
        CatalogIndex.load(index_dir)


def test_a_usearch_file_with_a_damaged_header_is_refused_clearly(tmp_path: Path) -> None:
    """Damage from before the checksums were recorded: usearch's own header check."""
    index_dir = build(tmp_path / "index", vectors(), backend="usearch")
    version = current_version(index_dir)
    data = bytearray((version / USEARCH_FILE).read_bytes())
    data[:16] = bytes(16)
    (version / USEARCH_FILE).write_bytes(bytes(data))
    record_checksum(version, USEARCH_FILE)
    with pytest.raises(IndexCorruptError, match="usearch cannot load .*rebuild it"):
        CatalogIndex.load_for_serving(index_dir)


def test_a_usearch_file_of_another_build_is_refused(tmp_path: Path) -> None:
    index_dir = build(tmp_path / "index", vectors(), backend="usearch")
    other = build(tmp_path / "other", vectors(ITEMS + 20), backend="usearch")
    version = current_version(index_dir)
    shutil.copyfile(current_version(other) / USEARCH_FILE, version / USEARCH_FILE)
    record_checksum(version, USEARCH_FILE)
    with pytest.raises(IndexCorruptError, match=f"holds {ITEMS + 20} 16-d .* says {ITEMS} 16-d"):
        CatalogIndex.load_for_serving(index_dir)


def _noise() -> Clip:
    samples = np.random.default_rng(5).standard_normal(2 * SAMPLE_RATE_HZ).astype(np.float32)
    return Clip(samples)


def test_a_reload_swaps_annoy_for_usearch_and_refuses_a_damaged_one(tmp_path: Path) -> None:
    embedder = BandEnergyEmbedder()
    dim = embedder.id.dim
    # Both searches made exhaustive, so the two backends must agree item for item (with
    # Annoy's default effort on 300 items a near tie could rank differently).
    index_dir = build(
        tmp_path / "index", vectors(dim=dim, seed=1), embedder.id, n_trees=4, search_k=4 * ITEMS
    )
    old = CatalogIndex.load_for_serving(index_dir, expect_embedder=embedder.id)
    recommender = Recommender(old, embedder)
    expected = recommender.recommend(_noise(), 3).items

    build(index_dir, vectors(dim=dim, seed=1), embedder.id, backend="usearch", search_k=ITEMS)
    new = recommender.reload(index_dir)
    assert new.backend == "usearch" and recommender.index is new
    with pytest.raises(CatalogError, match="closed"):
        old.search(np.ones(dim, np.float32), 1)
    assert [item.item_id for item in recommender.recommend(_noise(), 3).items] == [
        item.item_id for item in expected
    ]

    build(index_dir, vectors(dim=dim, seed=2), embedder.id, backend="usearch")
    flip_middle_bytes(current_version(index_dir) / USEARCH_FILE)
    with pytest.raises(IndexCorruptError, match="sha256"):
        recommender.reload(index_dir)
    assert recommender.index is new and new.search(new.vector(0), 1)[0][0] == 0
    new.close()


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_each_backend_finds_the_true_neighbours_of_a_clustered_set(
    tmp_path: Path, backend: str
) -> None:
    """Recall@10 at the defaults on 3,000 clustered 64-d items, against exact cosine."""
    embedder = EmbedderId(name="vggish", version="test-1", dim=64)
    rng = np.random.default_rng(11)
    centres = rng.normal(size=(30, 64))
    points = centres[rng.integers(0, 30, 3_100)] + rng.normal(scale=0.8, size=(3_100, 64))
    rows, queries = points[:3_000].astype(np.float32), points[3_000:].astype(np.float32)
    units = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    index_dir = build(tmp_path / "index", rows, embedder, backend=backend)
    with CatalogIndex.load(index_dir) as index:
        hits = 0
        for query in queries:
            truth = set(np.argsort(-(units @ query))[:10].tolist())
            hits += len(truth & {item_id for item_id, _ in index.search(query, 10)})
    assert hits / (10 * len(queries)) >= RECALL_FLOOR


RECALL_FLOOR = 0.95
"""What issue 22 asks of the defaults at 1M items, asked here of a small set."""


def test_the_disk_estimate_fits_a_usearch_build(tmp_path: Path) -> None:
    embedder = EmbedderId(name="vggish", version="test-1", dim=128)
    index_dir = build(tmp_path / "index", vectors(2_000, 128), embedder, backend="usearch")
    size = (current_version(index_dir) / USEARCH_FILE).stat().st_size
    estimate = estimate_index_bytes(2_000, 128, backend="usearch") - 2_000 * 64
    assert estimate == pytest.approx(size, rel=0.1)


def test_a_usearch_index_without_the_usearch_package_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index_dir = build(tmp_path / "index", vectors(), backend="usearch")
    monkeypatch.setitem(sys.modules, "usearch.index", None)  # import raises ImportError
    with pytest.raises(CatalogError, match=r"pip install usearch==2\.26\.6"):
        CatalogIndex.load(index_dir)
    with pytest.raises(CatalogError, match="usearch package"):
        build(tmp_path / "other", vectors(), backend="usearch")
    assert not (tmp_path / "other").exists()


def test_the_default_usearch_effort_grows_with_the_index_within_bounds() -> None:
    assert default_search_ef(1_000) == SEARCH_EF_MIN
    assert default_search_ef(1_000_000) == SEARCH_EF_PER_MILLION
    assert default_search_ef(2_000_000) == 2 * SEARCH_EF_PER_MILLION
    assert default_search_ef(10**9) == SEARCH_EF_MAX
