"""The checkpoint reader takes the real weights and refuses anything that does not match."""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.python.training import py_checkpoint_reader

from musicrec_core.embedders.musicnn import MusicnnEmbedder, weights
from musicrec_core.embedders.musicnn.checkpoint import is_optimizer_slot, read_variables
from musicrec_core.embedders.musicnn.model import variable_shapes
from musicrec_core.errors import CheckpointError
from tests.helpers.musicnn import weights_cache

WriteCheckpoint = Callable[[dict[str, np.ndarray]], Path]


@pytest.fixture(scope="module")
def real_prefix(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Prefix of the real MTT checkpoint, installed in a module cache."""
    with weights_cache(tmp_path_factory.mktemp("musicnn-weights")):
        return weights.resolve_checkpoint("mtt")


@pytest.fixture(scope="module")
def real_variables(real_prefix: Path) -> dict[str, np.ndarray]:
    """Every model variable of the real MTT checkpoint."""
    return read_variables(real_prefix, variable_shapes())


@pytest.fixture
def write_checkpoint(tmp_path: Path) -> WriteCheckpoint:
    """Write variables as a TF1-format (V2 bundle) checkpoint; returns its prefix."""

    def write(variables: dict[str, np.ndarray]) -> Path:
        prefix = tmp_path / "edited" / "model"
        prefix.parent.mkdir(exist_ok=True)
        names = sorted(variables)
        tf.raw_ops.SaveV2(
            prefix=str(prefix),
            tensor_names=names,
            shape_and_slices=[""] * len(names),
            tensors=[tf.constant(variables[name]) for name in names],
        )
        return prefix

    return write


def test_the_model_reads_every_stored_weight_and_skips_only_optimizer_slots(
    real_prefix: Path, real_variables: dict[str, np.ndarray]
) -> None:
    stored = py_checkpoint_reader.NewCheckpointReader(str(real_prefix)).get_variable_to_shape_map()
    slots = {name for name in stored if is_optimizer_slot(name)}
    assert {"beta1_power", "beta2_power", "dense/kernel/Adam", "dense/kernel/Adam_1"} <= slots
    assert set(real_variables) == set(stored) - slots == set(variable_shapes())
    for name, value in real_variables.items():
        assert list(value.shape) == stored[name] and value.dtype == np.float32, name


def test_an_unchanged_rewrite_reads_back_identically(
    real_variables: dict[str, np.ndarray], write_checkpoint: WriteCheckpoint
) -> None:
    prefix = write_checkpoint(real_variables)
    again = read_variables(prefix, variable_shapes())
    for name, value in real_variables.items():
        np.testing.assert_array_equal(again[name], value)


def test_a_missing_variable_is_refused_by_name(
    real_variables: dict[str, np.ndarray], write_checkpoint: WriteCheckpoint
) -> None:
    edited = {k: v for k, v in real_variables.items() if k != "batch_normalization_9/gamma"}
    prefix = write_checkpoint(edited)
    with pytest.raises(CheckpointError, match=r"missing batch_normalization_9/gamma \[1506\]"):
        read_variables(prefix, variable_shapes())
    with pytest.raises(CheckpointError, match="batch_normalization_9/gamma"):
        MusicnnEmbedder.load("mtt", checkpoint=prefix)


def test_a_mis_shaped_variable_is_refused_by_name(
    real_variables: dict[str, np.ndarray], write_checkpoint: WriteCheckpoint
) -> None:
    edited = dict(real_variables)
    edited["conv2d_5/kernel"] = real_variables["conv2d_5/kernel"][:, :560]
    prefix = write_checkpoint(edited)
    with pytest.raises(
        CheckpointError,
        match=r"conv2d_5/kernel has shape \[7, 560, 1, 64\], expected \[7, 561, 1, 64\]",
    ):
        MusicnnEmbedder.load("mtt", checkpoint=prefix)


def test_wrong_dtype_and_unknown_variables_are_refused(
    real_variables: dict[str, np.ndarray], write_checkpoint: WriteCheckpoint
) -> None:
    edited = dict(real_variables)
    edited["dense_1/bias"] = real_variables["dense_1/bias"].astype(np.float64)
    edited["dense_2/kernel"] = np.zeros((50, 10), dtype=np.float32)
    with pytest.raises(CheckpointError) as caught:
        read_variables(write_checkpoint(edited), variable_shapes())
    assert "dense_1/bias has dtype float64" in str(caught.value)
    assert "unexpected dense_2/kernel" in str(caught.value)


def test_optimizer_slots_are_ignored(
    real_variables: dict[str, np.ndarray], write_checkpoint: WriteCheckpoint
) -> None:
    edited = dict(real_variables)
    edited["dense/kernel/Adam"] = np.zeros((3,), dtype=np.float32)
    edited["beta1_power"] = np.float32(0.9)
    read_variables(write_checkpoint(edited), variable_shapes())


def test_garbage_and_absent_files_are_refused(tmp_path: Path) -> None:
    (tmp_path / "junk.index").write_bytes(b"not a checkpoint" * 50)
    (tmp_path / "junk.data-00000-of-00001").write_bytes(b"\0" * 64)
    with pytest.raises(CheckpointError, match="could not be read"):
        read_variables(tmp_path / "junk", variable_shapes())
    with pytest.raises(CheckpointError, match="could not be read"):
        read_variables(tmp_path / "absent", variable_shapes())


def _index_file(index_entry_value: bytes, footer_handles: bytes) -> bytes:
    """A LevelDB table: one uncompressed block holding one entry (key b"k") whose value is
    ``index_entry_value``, then a 48-byte footer of ``footer_handles`` and the magic."""
    entries = b"\x00\x01" + bytes([len(index_entry_value)]) + b"k" + index_entry_value
    block = entries + struct.pack("<I", 0)  # no restart points
    footer = footer_handles.ljust(40, b"\x00") + struct.pack("<Q", 0xDB4775248B80FB57)
    return block + b"\x00" * 5 + footer  # the block trailer: uncompressed, CRC unchecked


@pytest.mark.parametrize(
    "index",
    [
        _index_file(b"\x80", b"\x00\x00\x00\x09"),  # a block handle cut short
        _index_file(b"\x00\x00", b"\xff" * 11),  # an 11-byte number in the footer
    ],
)
def test_a_bad_number_in_the_index_is_refused(tmp_path: Path, index: bytes) -> None:
    (tmp_path / "bad.index").write_bytes(index)
    (tmp_path / "bad.data-00000-of-00001").write_bytes(b"\0" * 64)
    with pytest.raises(CheckpointError, match=r"could not be read \(a number is truncated\)"):
        read_variables(tmp_path / "bad", variable_shapes())
