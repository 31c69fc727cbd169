"""bfloat16 musicnn is opt-in and self-checking, on the real weights: it runs only after
``musicrec quantize check --embedder musicnn`` found it agrees with float32 and is faster,
for the very checkpoint files, on this CPU; int8 is refused."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from musicrec_core.cli import main
from musicrec_core.clip import Clip
from musicrec_core.embedders import WeightFiles, load_embedder
from musicrec_core.embedders.checked import RECORD_NAME, find_checked, record_dir, record_pass
from musicrec_core.embedders.musicnn.checked import weight_files
from musicrec_core.embedders.musicnn.model import MusicnnNetwork
from musicrec_core.embedders.musicnn.weights import resolve_checkpoint
from musicrec_core.embedders.precision import Precision
from musicrec_core.errors import MusicrecError, PrecisionNotCheckedError
from musicrec_core.hashing import file_sha256
from musicrec_core.quantized.check_clips import excerpt
from musicrec_core.quantized.musicnn_check import (
    MIN_SPEEDUP,
    MusicnnAgreement,
    check_musicnn,
    embedding_agreement,
)
from tests.helpers.musicnn import weights_cache

BF16 = WeightFiles(precision=Precision.BFLOAT16)
SIZES = {"library": 10, "queries": 2}


def native_bfloat16() -> bool:
    """Whether this CPU computes bfloat16 in hardware (AVX512_BF16 or AMX)."""
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8").split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    """A cache of this test's own holding the real weights (so records start empty)."""
    with weights_cache(tmp_path) as directory:
        yield directory


def agreement(overlap: float, float32_ms: float, bfloat16_ms: float) -> MusicnnAgreement:
    return MusicnnAgreement(overlap, 0.01, 0.02, float32_ms, bfloat16_ms, 30, 2, 10)


def test_the_bar_needs_both_agreement_and_speed() -> None:
    assert agreement(0.95, 30.0, 16.0).passed
    assert not agreement(0.94, 30.0, 16.0).passed
    assert not agreement(1.0, 30.0, 30.0 / MIN_SPEEDUP + 0.1).passed
    slow = agreement(1.0, 30.0, 60.0).summary()
    assert "0.50x" in slow and "no fast bfloat16" in slow
    assert "no fast bfloat16" not in agreement(1.0, 30.0, 16.0).summary()
    assert agreement(0.95, 30.0, 15.0).to_json()["speedup"] == 2.0


def test_embedding_agreement_measures_neighbours_and_patch_errors() -> None:
    rng = np.random.default_rng(0)
    clips = [rng.standard_normal((3, 200)).astype(np.float32) for _ in range(14)]
    assert embedding_agreement(clips, clips, 12) == (1.0, 0.0, 0.0)
    scaled = [clip * 1.02 for clip in clips]  # 2 % off everywhere, same neighbours
    overlap, median, p95 = embedding_agreement(clips, scaled, 12)
    assert overlap == 1.0 and median == pytest.approx(0.02, rel=1e-4)
    assert p95 == pytest.approx(0.02, rel=1e-4)
    shuffled = [clips[(index * 5) % 12] for index in range(12)] + clips[12:]
    assert embedding_agreement(clips, shuffled, 12)[0] < 1.0


@pytest.mark.slow
def test_bfloat16_passes_the_check_here_and_then_runs(
    cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if not native_bfloat16():
        pytest.skip("this CPU has no native bfloat16: the check refuses it for speed")
    with pytest.raises(PrecisionNotCheckedError, match="--embedder musicnn --model mtt"):
        load_embedder("musicnn", weights=BF16)
    command = ["quantize", "check", "--embedder", "musicnn", "--library", "10", "--queries", "2"]
    assert main([*command, "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["passed"] and figures["neighbour_overlap"] >= 0.95
    assert 0.0 < figures["error_median"] < 0.03 and figures["speedup"] >= MIN_SPEEDUP
    assert figures["patches"] == 12 * 3

    embedder = load_embedder("musicnn", weights=BF16)
    reference = load_embedder("musicnn")
    assert embedder.precision is Precision.BFLOAT16 and embedder.id == reference.id
    clip = Clip(excerpt(3, 2))
    ours, theirs = embedder.embed(clip).vectors, reference.embed(clip).vectors
    assert np.all(np.linalg.norm(ours - theirs, axis=1) < 0.03 * np.linalg.norm(theirs, axis=1))
    # The pass was for the MTT weights: MSD's are other files.
    with pytest.raises(PrecisionNotCheckedError, match="--model msd --precision bfloat16"):
        load_embedder("musicnn", variant="msd", weights=BF16)


@pytest.mark.slow
def test_a_network_no_faster_than_float32_is_refused_and_forgets_an_old_pass(
    cache: Path,
) -> None:
    files = weight_files(resolve_checkpoint("mtt"))
    record_pass("musicnn", Precision.BFLOAT16, files, None, {"passed": True})
    # numpy's float32 network: exact, and slower than the product's onnxruntime one.
    result = check_musicnn("mtt", candidate=MusicnnNetwork, **SIZES)
    figures = result.agreement
    assert figures.neighbour_overlap == 1.0 and figures.error_median < 1e-5
    assert figures.speedup < MIN_SPEEDUP and not figures.passed and result.checked is None
    assert "no fast bfloat16" in figures.summary()
    assert find_checked("musicnn", Precision.BFLOAT16, files) is None
    with pytest.raises(PrecisionNotCheckedError):
        load_embedder("musicnn", weights=BF16)


def test_a_record_holds_only_on_the_cpu_it_was_made_on(cache: Path) -> None:
    files = weight_files(resolve_checkpoint("mtt"))
    record_pass("musicnn", Precision.BFLOAT16, files, None, {"passed": True})
    assert find_checked("musicnn", Precision.BFLOAT16, files) is not None
    folder = record_dir("musicnn", Precision.BFLOAT16, file_sha256(files["checkpoint_data"]))
    record = json.loads((folder / RECORD_NAME).read_text(encoding="utf-8"))
    record["cpu"] = "Another CPU without bfloat16 (x86_64)"
    (folder / RECORD_NAME).write_text(json.dumps(record), encoding="utf-8")
    assert find_checked("musicnn", Precision.BFLOAT16, files) is None
    with pytest.raises(PrecisionNotCheckedError, match="on this CPU"):
        load_embedder("musicnn", weights=BF16)


def test_int8_musicnn_is_refused_in_one_line(
    cache: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MUSICREC_PRECISION", "int8")
    with pytest.raises(MusicrecError, match="int8 is not offered for musicnn") as refused:
        load_embedder("musicnn")
    assert not isinstance(refused.value, PrecisionNotCheckedError)
    assert main(["quantize", "check", "--embedder", "musicnn", "--precision", "int8"]) == 1
    error = capsys.readouterr().err
    assert "not offered for musicnn" in error and error.count("\n") == 1
    monkeypatch.setenv("MUSICREC_PRECISION", "bfloat16")  # read when the code names none
    with pytest.raises(PrecisionNotCheckedError):
        load_embedder("musicnn")


def test_options_of_the_other_embedder_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for options in (
        ["--embedder", "musicnn", "--pca", str(tmp_path / "pca.npz")],
        ["--model", "msd"],
    ):
        assert main(["quantize", "check", *options]) == 1
        error = capsys.readouterr().err
        assert error.startswith("musicrec: ") and error.count("\n") == 1
