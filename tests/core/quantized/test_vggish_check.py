"""bfloat16 and int8 VGGish are opt-in and self-checking, on the synthetic checkpoint.

The synthetic weights say little about how well real ones quantize, so the int8 tests
check the machinery with models whose agreement is known: the float32 ONNX graph of the
same weights (agrees), and of perturbed weights (disagrees). Quantizing for real takes half
a minute; the benchmark and ``musicrec quantize check`` do that. bfloat16 is checked for
real: it agrees on these weights too.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnx
import pytest

from musicrec_core.clip import Clip
from musicrec_core.embedders import WeightFiles, load_embedder
from musicrec_core.embedders.checked import find_checked, record_dir, record_pass
from musicrec_core.embedders.precision import Precision, precision_from_env
from musicrec_core.embedders.vggish.checked import weight_files
from musicrec_core.embedders.vggish.checkpoint import VGGishWeights, load_weights
from musicrec_core.embedders.vggish.frontend import waveform_to_examples
from musicrec_core.embedders.vggish.int8 import OnnxVGGishModel
from musicrec_core.embedders.vggish.model import VGGishModel
from musicrec_core.embedders.vggish.onnx_graph import vggish_graph
from musicrec_core.errors import MusicrecError, PrecisionNotCheckedError
from musicrec_core.hashing import file_sha256
from musicrec_core.quantized.check_clips import excerpt
from musicrec_core.quantized.vggish_check import check_vggish

SIZES = {"library": 10, "queries": 3, "calibration_songs": 1}
INT8 = Precision.INT8


@pytest.fixture(scope="module")
def module_cache(shared_vggish_cache_dir: Path) -> Iterator[Path]:
    """The session's shared cache, for the module-scoped fixtures."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MUSICREC_CACHE_DIR", str(shared_vggish_cache_dir))
        yield shared_vggish_cache_dir


@pytest.fixture(scope="module")
def float_model(
    synthetic_vggish: tuple[Path, Path],
    module_cache: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    """The float32 ONNX graph of the synthetic weights, written once."""
    target = tmp_path_factory.mktemp("onnx") / "float.onnx"
    onnx.save(vggish_graph(load_weights(synthetic_vggish[0])), target)
    return target


def perturbed_graph(weights: VGGishWeights, _calibration: np.ndarray, target: Path) -> None:
    """A 'quantizer' whose model is off: 3 % noise on every weight, as a broken int8 is."""
    rng = np.random.default_rng(1)
    arrays = {
        name: value + 0.03 * np.std(value) * rng.standard_normal(value.shape, np.float32)
        for name, value in weights.arrays.items()
    }
    onnx.save(vggish_graph(VGGishWeights(arrays, weights.md5)), target)


def test_the_onnx_graph_is_the_float32_network(
    synthetic_vggish: tuple[Path, Path], shared_vggish_cache: Path, float_model: Path
) -> None:
    weights = load_weights(synthetic_vggish[0])
    onnx.checker.check_model(onnx.load(float_model))
    examples = np.concatenate([waveform_to_examples(excerpt(song, 0, 2.0)) for song in (0, 1)])
    expected = VGGishModel(weights)(examples)
    ours = OnnxVGGishModel(float_model)(examples)
    assert ours.shape == (4, 128) and np.std(expected) > 1.0
    np.testing.assert_allclose(ours, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())


@pytest.mark.slow
def test_int8_runs_only_for_the_weights_a_check_passed_on(
    synthetic_vggish: tuple[Path, Path],
    shared_vggish_cache: Path,
    float_model: Path,
    tmp_path: Path,
) -> None:
    checkpoint, pca = (Path(shutil.copy(path, tmp_path)) for path in synthetic_vggish)
    int8 = WeightFiles(checkpoint, pca, INT8)
    with pytest.raises(PrecisionNotCheckedError, match="musicrec quantize check"):
        load_embedder("vggish", weights=int8)

    def agreeing(_weights: VGGishWeights, _calibration: np.ndarray, target: Path) -> None:
        shutil.copy(float_model, target)  # float32 of the same weights: agrees exactly

    result = check_vggish(checkpoint, pca, precision=INT8, quantizer=agreeing, **SIZES)
    assert result.agreement.passed and result.checked is not None
    assert result.agreement.values_within_one == 1.0
    assert result.agreement.neighbour_overlap == 1.0
    assert find_checked("vggish", INT8, weight_files(checkpoint, pca)) == result.checked
    embedder = load_embedder("vggish", weights=int8)
    assert embedder.precision is Precision.INT8
    assert embedder.id == load_embedder("vggish", weights=WeightFiles(checkpoint, pca)).id

    size = checkpoint.stat().st_size
    with checkpoint.open("ab") as handle:  # the weights file changes: the pass is void
        handle.write(b"\0")
    assert find_checked("vggish", INT8, weight_files(checkpoint, pca)) is None
    with pytest.raises(PrecisionNotCheckedError):
        load_embedder("vggish", weights=int8)
    with checkpoint.open("r+b") as handle:  # and the same bytes again find it
        handle.truncate(size)
    assert find_checked("vggish", INT8, weight_files(checkpoint, pca)) == result.checked

    assert result.checked.path is not None
    with result.checked.path.open("ab") as handle:  # so does a changed model file
        handle.write(b"\0")
    assert find_checked("vggish", INT8, weight_files(checkpoint, pca)) is None


@pytest.mark.slow
def test_a_disagreeing_model_is_refused_with_its_figures_and_forgets_an_old_pass(
    synthetic_vggish: tuple[Path, Path], shared_vggish_cache: Path, tmp_path: Path
) -> None:
    checkpoint, pca = synthetic_vggish
    (tmp_path / "model.onnx").write_bytes(b"a model that passed before")
    files = weight_files(checkpoint, pca)
    record_pass("vggish", INT8, files, tmp_path / "model.onnx", {"passed": True})
    assert find_checked("vggish", INT8, weight_files(checkpoint, pca)) is not None
    result = check_vggish(checkpoint, pca, precision=INT8, quantizer=perturbed_graph, **SIZES)
    assert not result.agreement.passed and result.checked is None
    assert result.agreement.values_within_one < 0.995
    assert result.agreement.values == 13 * 10 * 128
    assert find_checked("vggish", INT8, weight_files(checkpoint, pca)) is None
    assert not record_dir("vggish", INT8, file_sha256(checkpoint)).exists()
    with pytest.raises(PrecisionNotCheckedError):
        load_embedder("vggish", weights=WeightFiles(checkpoint, pca, INT8))


@pytest.mark.slow
def test_bfloat16_passes_the_check_for_real_and_then_runs(
    synthetic_vggish: tuple[Path, Path], shared_vggish_cache: Path, tmp_path: Path
) -> None:
    checkpoint, pca = (Path(shutil.copy(path, tmp_path)) for path in synthetic_vggish)
    bfloat16 = WeightFiles(checkpoint, pca, Precision.BFLOAT16)
    with pytest.raises(PrecisionNotCheckedError, match="--precision bfloat16"):
        load_embedder("vggish", weights=bfloat16)
    result = check_vggish(checkpoint, pca, library=10, queries=3)
    assert result.checked is not None and result.checked.path is None
    assert 0.995 <= result.agreement.values_within_one < 1.0, "bfloat16 is close, not equal"
    embedder = load_embedder("vggish", weights=bfloat16)
    assert embedder.precision is Precision.BFLOAT16
    clip = Clip(excerpt(4, 0, 3.0))
    ours = embedder.embed(clip).quantized.astype(int)
    theirs = load_embedder("vggish", weights=WeightFiles(checkpoint, pca)).embed(clip).quantized
    assert np.mean(np.abs(ours - theirs.astype(int)) <= 1) >= 0.99
    # A pass for bfloat16 is not one for int8.
    with pytest.raises(PrecisionNotCheckedError):
        load_embedder("vggish", weights=WeightFiles(checkpoint, pca, INT8))


def test_the_precision_setting(
    synthetic_vggish: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert precision_from_env({}) is Precision.FLOAT32
    assert precision_from_env({"MUSICREC_PRECISION": " INT8 "}) is Precision.INT8
    assert precision_from_env({"MUSICREC_PRECISION": "bfloat16"}) is Precision.BFLOAT16
    with pytest.raises(MusicrecError, match="must be float32, bfloat16 or int8, not 'int4'"):
        precision_from_env({"MUSICREC_PRECISION": "int4"})
    monkeypatch.setenv("MUSICREC_PRECISION", "int8")
    with pytest.raises(PrecisionNotCheckedError):  # the environment is read when unset in code
        load_embedder("vggish", weights=WeightFiles(*synthetic_vggish))
