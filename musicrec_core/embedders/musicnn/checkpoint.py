"""Read musicnn's TensorFlow 1 checkpoint into numpy arrays, strictly.

The published checkpoints hold the model variables plus Adam optimizer slots; the slots
(names containing "Adam", and the scalars beta1_power / beta2_power) are skipped. Every
variable the model expects must be present with exactly the expected shape and dtype
float32, and nothing else may be there: anything different is a
:class:`~musicrec_core.errors.CheckpointError` naming the variables — the network is never
run with a weight it did not read from the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
from tensorflow.python.framework import dtypes, errors_impl
from tensorflow.python.training import py_checkpoint_reader

from musicrec_core.errors import CheckpointError

_OPTIMIZER_MARKERS = ("Adam", "beta1_power", "beta2_power")


def is_optimizer_slot(name: str) -> bool:
    """True for training-only variables (Adam moments and power accumulators)."""
    return any(marker in name for marker in _OPTIMIZER_MARKERS)


def read_variables(prefix: Path, expected: Mapping[str, tuple[int, ...]]) -> dict[str, np.ndarray]:
    """Every expected variable of the checkpoint at ``prefix``, as float32 arrays.

    Args:
        prefix: checkpoint prefix (the path before ``.index`` / ``.data-00000-of-00001``).
        expected: variable name -> shape the model needs.

    Returns:
        name -> float32 array of exactly the expected shape, for every expected name.

    Raises:
        CheckpointError: the files cannot be read as a checkpoint, or a variable is missing,
            mis-shaped, not float32, or unexpected.
    """
    try:
        reader = py_checkpoint_reader.NewCheckpointReader(str(prefix))
        shapes = reader.get_variable_to_shape_map()
        dtype_map = reader.get_variable_to_dtype_map()
    except (errors_impl.OpError, ValueError, RuntimeError) as exc:
        raise CheckpointError(
            f"The musicnn checkpoint at {prefix} could not be read ({_first_line(exc)}); "
            "run `musicrec models download musicnn` again."
        ) from exc
    stored = {name: tuple(shape) for name, shape in shapes.items() if not is_optimizer_slot(name)}
    problems = [
        f"missing {name} {list(shape)}" for name, shape in expected.items() if name not in stored
    ]
    problems += [
        f"{name} has shape {list(stored[name])}, expected {list(shape)}"
        for name, shape in expected.items()
        if name in stored and stored[name] != tuple(shape)
    ]
    problems += [
        f"{name} has dtype {dtype_map[name].name}, expected float32"
        for name in expected
        if name in stored and dtype_map[name] != dtypes.float32
    ]
    problems += [f"unexpected {name}" for name in sorted(set(stored) - set(expected))]
    if problems:
        raise CheckpointError(
            f"The musicnn checkpoint at {prefix} does not match the model: "
            + "; ".join(sorted(problems))
            + "."
        )
    try:
        return {name: np.asarray(reader.get_tensor(name), dtype=np.float32) for name in expected}
    except (errors_impl.OpError, ValueError, RuntimeError) as exc:
        raise CheckpointError(
            f"The musicnn checkpoint at {prefix} is damaged ({_first_line(exc)}); "
            "run `musicrec models download musicnn` again."
        ) from exc


def _first_line(exc: BaseException) -> str:
    """The first line of an exception's message, for one-line user errors."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
