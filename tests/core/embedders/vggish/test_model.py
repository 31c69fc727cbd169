"""The VGGish network, checkpoint loader and embedder, on a synthetic V1 checkpoint."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from musicrec_core import paths
from musicrec_core.clip import Clip, Provenance
from musicrec_core.embedders.vggish import VGGishEmbedder, embedder_version, params
from musicrec_core.embedders.vggish.checkpoint import CACHE_DIR_NAME, load_weights
from musicrec_core.embedders.vggish.frontend import waveform_to_examples
from musicrec_core.embedders.vggish.model import VGGishModel
from musicrec_core.embedders.vggish.postprocess import dequantize, load_pca_params, quantize
from musicrec_core.errors import AudioTooShortError, CheckpointError, WeightsMissingError
from tests.helpers.vggish_files import (
    VARIABLE_SHAPES,
    synthetic_vggish_arrays,
    write_v1_checkpoint,
)

CONVS = [
    ("conv1", True),
    ("conv2", True),
    ("conv3/conv3_1", False),
    ("conv3/conv3_2", True),
    ("conv4/conv4_1", False),
    ("conv4/conv4_2", True),
]
FCS = [("fc1/fc1_1", True), ("fc1/fc1_2", True), ("fc2", False)]


def reference_forward(examples: np.ndarray, arrays: dict[str, np.ndarray]) -> np.ndarray:
    """VGGish in plain float64 numpy: [n, 96, 64] log-mel -> [n, 128] pre-activation fc2."""
    net = examples.astype(np.float64)[..., None]  # NHWC
    for scope, pooled in CONVS:
        kernel = arrays[f"vggish/{scope}/weights"].astype(np.float64)  # [3, 3, in, out]
        bias = arrays[f"vggish/{scope}/biases"].astype(np.float64)
        n, height, width, _ = net.shape
        # SAME padding for a 3x3 stride-1 kernel: one zero row/column on each side.
        padded = np.pad(net, ((0, 0), (1, 1), (1, 1), (0, 0)))
        out = np.zeros((n, height, width, kernel.shape[3]))
        for dy in range(3):
            for dx in range(3):
                out += padded[:, dy : dy + height, dx : dx + width, :] @ kernel[dy, dx]
        net = np.maximum(out + bias, 0.0)
        if pooled:  # 2x2 stride 2; every map here has even sides, so SAME adds no padding
            n, height, width, channels = net.shape
            net = net.reshape(n, height // 2, 2, width // 2, 2, channels).max(axis=(2, 4))
    net = net.reshape(net.shape[0], -1)  # NHWC order
    for scope, relu in FCS:
        net = net @ arrays[f"vggish/{scope}/weights"] + arrays[f"vggish/{scope}/biases"]
        if relu:
            net = np.maximum(net, 0.0)
    return net


@pytest.fixture(scope="module")
def module_cache(shared_vggish_cache_dir: Path) -> Iterator[Path]:
    """The session's shared cache, for the module-scoped embedder (built before the
    per-test cache exists)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MUSICREC_CACHE_DIR", str(shared_vggish_cache_dir))
        yield shared_vggish_cache_dir


@pytest.fixture(scope="module")
def embedder(synthetic_vggish: tuple[Path, Path], module_cache: Path) -> VGGishEmbedder:
    checkpoint, pca = synthetic_vggish
    return VGGishEmbedder.from_files(checkpoint=checkpoint, pca=pca)


def tone(seconds: float, hz: float, ref: str = "tone.wav") -> Clip:
    t = np.arange(int(seconds * 16000)) / 16000
    samples = (0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32)
    return Clip(samples, Provenance(kind="file", ref=ref))


def noise(seconds: float, seed: int) -> Clip:
    rng = np.random.default_rng(seed)
    return Clip(rng.uniform(-0.5, 0.5, int(seconds * 16000)).astype(np.float32))


def test_network_matches_a_numpy_forward_pass(embedder: VGGishEmbedder) -> None:
    examples = np.concatenate(
        [waveform_to_examples(tone(1.0, 1000).samples), waveform_to_examples(noise(1.0, 1).samples)]
    )
    expected = reference_forward(examples, synthetic_vggish_arrays(0))
    raw = embedder.embed_many([tone(1.0, 1000), noise(1.0, 1)])
    ours = np.concatenate([embedding.raw for embedding in raw])
    assert ours.dtype == np.float32 and ours.shape == (2, 128)
    assert np.std(expected) > 1.0, "the reference output should not be degenerate"
    np.testing.assert_allclose(ours, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())


def test_loader_reads_every_variable_by_name(synthetic_vggish: tuple[Path, Path]) -> None:
    checkpoint, _ = synthetic_vggish
    weights = load_weights(checkpoint)
    expected = synthetic_vggish_arrays(0)
    assert set(weights.arrays) == set(expected)
    for name, array in expected.items():
        assert weights.arrays[name].dtype == np.float32
        np.testing.assert_array_equal(weights.arrays[name], array, err_msg=name)
    assert weights.md5 == hashlib.md5(checkpoint.read_bytes()).hexdigest()


def test_cache_is_keyed_by_md5_and_used(synthetic_vggish: tuple[Path, Path]) -> None:
    checkpoint, _ = synthetic_vggish
    first = load_weights(checkpoint)
    cache_dir = paths.models_dir("vggish") / CACHE_DIR_NAME / first.md5
    assert len(list(cache_dir.glob("*.npy"))) == len(VARIABLE_SHAPES)
    second = load_weights(checkpoint)
    fc2 = second.arrays["vggish/fc2/weights"]
    assert isinstance(fc2, np.memmap), "the second load should map the cached copy"
    np.testing.assert_array_equal(fc2, first.arrays["vggish/fc2/weights"])
    # A damaged cache entry is discarded and rebuilt from the checkpoint.
    (cache_dir / "vggish__conv1__biases.npy").write_bytes(b"not an array")
    third = load_weights(checkpoint)
    np.testing.assert_array_equal(
        third.arrays["vggish/conv1/biases"], first.arrays["vggish/conv1/biases"]
    )
    assert len(list(cache_dir.glob("*.npy"))) == len(VARIABLE_SHAPES)


@pytest.fixture(scope="module")
def small_arrays() -> dict[str, np.ndarray]:
    """Zero weights of the official shapes except fc1_1/weights (201 MB), left out to keep
    the rejection tests cheap; each test adds what it needs."""
    return {
        name: np.zeros(shape, np.float32)
        for name, shape in VARIABLE_SHAPES.items()
        if name != "vggish/fc1/fc1_1/weights"
    }


def test_missing_variable_is_named(tmp_path: Path, small_arrays: dict[str, np.ndarray]) -> None:
    arrays = dict(small_arrays)
    del arrays["vggish/fc2/biases"]
    checkpoint = write_v1_checkpoint(tmp_path / "missing.ckpt", arrays)
    with pytest.raises(CheckpointError) as caught:
        load_weights(checkpoint)
    message = str(caught.value)
    assert "missing vggish/fc1/fc1_1/weights, vggish/fc2/biases" in message
    assert "shape" not in message
    assert not list(paths.models_dir("vggish").glob(f"{CACHE_DIR_NAME}/*"))


def test_misshaped_variables_are_named(tmp_path: Path, small_arrays: dict[str, np.ndarray]) -> None:
    arrays = dict(small_arrays)
    arrays["vggish/fc1/fc1_1/weights"] = np.zeros((12288, 64), np.float32)
    arrays["vggish/conv1/weights"] = np.zeros((3, 3, 2, 64), np.float32)
    checkpoint = write_v1_checkpoint(tmp_path / "misshaped.ckpt", arrays)
    with pytest.raises(CheckpointError) as caught:
        load_weights(checkpoint)
    message = str(caught.value)
    assert "vggish/conv1/weights has shape [3, 3, 2, 64], expected [3, 3, 1, 64]" in message
    assert "vggish/fc1/fc1_1/weights has shape [12288, 64], expected [12288, 4096]" in message
    assert "missing" not in message
    assert "conv2" not in message


@pytest.mark.parametrize(
    "content",
    [b"", b"hello, I am not a checkpoint\n", np.random.default_rng(5).bytes(70_000)],
    ids=["empty", "text", "random-bytes"],
)
def test_garbage_is_refused(tmp_path: Path, content: bytes) -> None:
    checkpoint = tmp_path / "vggish_model.ckpt"
    checkpoint.write_bytes(content)
    with pytest.raises(CheckpointError, match="not a readable TensorFlow checkpoint"):
        load_weights(checkpoint)


def test_absent_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(WeightsMissingError, match="does not exist"):
        load_weights(tmp_path / "nowhere.ckpt")


def test_embedder_identity(embedder: VGGishEmbedder, synthetic_vggish: tuple[Path, Path]) -> None:
    checkpoint, pca = synthetic_vggish
    assert embedder.name == "vggish"
    assert embedder.dim == 128
    assert embedder.frame_seconds == pytest.approx(0.96)
    assert embedder.frame_rate_hz == pytest.approx(1 / 0.96)
    md5s = (
        hashlib.md5(checkpoint.read_bytes()).hexdigest(),
        hashlib.md5(pca.read_bytes()).hexdigest(),
    )
    assert embedder.version == f"vggish-custom-{md5s[0][:12]}-{md5s[1][:12]}"
    assert embedder_version(params.CHECKPOINT_MD5, params.PCA_MD5) == "vggish-audioset-v1"
    assert embedder_version(params.CHECKPOINT_MD5, md5s[1]) != "vggish-audioset-v1"


def test_embedding_fields_are_consistent(
    embedder: VGGishEmbedder, synthetic_vggish: tuple[Path, Path]
) -> None:
    embedding = embedder.embed(tone(3.0, 1000))
    assert embedding.raw.shape == (3, 128) and embedding.raw.dtype == np.float32
    assert embedding.quantized is not None
    assert embedding.quantized.shape == (3, 128) and embedding.quantized.dtype == np.uint8
    assert embedding.vectors.shape == (3, 128) and embedding.vectors.dtype == np.float32
    pca = load_pca_params(synthetic_vggish[1])
    np.testing.assert_array_equal(embedding.quantized, quantize(embedding.raw, pca))
    np.testing.assert_array_equal(embedding.vectors, dequantize(embedding.quantized))
    assert 0 < embedding.quantized.mean() < 255 and embedding.quantized.std() > 20


def test_batch_splits_per_clip(embedder: VGGishEmbedder) -> None:
    clips = [tone(3.0, 440), noise(1.5, 2), tone(10.0, 2000)]
    batched = embedder.embed_many(clips)
    assert [embedding.raw.shape[0] for embedding in batched] == [3, 1, 10]
    for clip, embedding in zip(clips, batched, strict=True):
        alone = embedder.embed(clip)
        # Batch size may change the kernels' summation order, hence float-level tolerance.
        np.testing.assert_allclose(embedding.raw, alone.raw, rtol=1e-4, atol=1e-4)
    assert embedder.embed_many([]) == []


def test_too_short_clip_is_refused(embedder: VGGishEmbedder) -> None:
    with pytest.raises(AudioTooShortError, match=r"short\.wav is 0\.90 s long"):
        embedder.embed_many([tone(3.0, 440), tone(0.9, 440, ref="short.wav")])


def test_model_rejects_bad_shapes(embedder: VGGishEmbedder) -> None:
    model: VGGishModel = embedder.model
    with pytest.raises(ValueError, match="96, 64"):
        model(np.zeros((2, 64, 96), np.float32))
    assert model(np.zeros((0, 96, 64), np.float32)).shape == (0, 128)


def test_concurrent_callers_get_the_same_answers(embedder: VGGishEmbedder) -> None:
    clips = [tone(2.0, 300 + 200 * i) for i in range(4)]
    expected = [embedder.embed(clip).raw for clip in clips]
    results: dict[int, np.ndarray] = {}

    def work(index: int) -> None:
        results[index] = embedder.embed(clips[index]).raw

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(clips))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for index, raw in enumerate(expected):
        np.testing.assert_allclose(results[index], raw, rtol=1e-5, atol=1e-5)
