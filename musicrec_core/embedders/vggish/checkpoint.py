"""Read the official VGGish checkpoint by variable name, validate it, and cache a fast copy.

``vggish_model.ckpt`` is a single-file TensorFlow V1 checkpoint. :func:`load_weights` reads
it with ``tf.train.load_checkpoint`` and checks that every variable the network needs is
there with the right shape and dtype; anything else is refused with a
:class:`~musicrec_core.errors.CheckpointError` naming the offending variables.

Cache: the validated arrays are also written as one ``.npy`` file per variable under
``models_dir("vggish")/weights-cache/<md5 of the checkpoint>/`` (written to a ``musicrec-``
temporary folder and renamed into place, so a half-written cache never exists); later loads
memory-map those files instead of parsing the checkpoint. Hashing 289 MB costs about half a
second, so the md5 itself is remembered in ``md5-memo.json`` keyed by the checkpoint's
resolved path, size and modification time (ns); a file rewritten in place with the same
size and the same mtime to the nanosecond would be mistaken for the old one, which is a risk
we accept. A cache entry that fails to load or validate is discarded and rebuilt.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musicrec_core import paths
from musicrec_core.atomic_file import atomic_write
from musicrec_core.embedders.vggish import params
from musicrec_core.errors import CheckpointError, WeightsMissingError
from musicrec_core.hashing import file_digest

logger = logging.getLogger(__name__)

CACHE_DIR_NAME = "weights-cache"
MD5_MEMO_NAME = "md5-memo.json"
TEMP_PREFIX = "musicrec-"


@dataclass(frozen=True)
class VGGishWeights:
    """Validated network weights.

    Attributes:
        arrays: variable name (e.g. "vggish/conv1/weights") -> read-only float32 array of
            the shape :func:`expected_shapes` gives.
        md5: hex md5 of the checkpoint file they came from.
    """

    arrays: Mapping[str, np.ndarray]
    md5: str


def expected_shapes() -> dict[str, tuple[int, ...]]:
    """Every variable the network reads, name -> shape, weights then biases per layer."""
    shapes: dict[str, tuple[int, ...]] = {}
    kernel = params.CONV_KERNEL_SIZE
    channels_in = 1
    for scope, channels_out, _ in params.CONV_LAYERS:
        prefix = f"{params.VARIABLE_SCOPE}/{scope}"
        shapes[f"{prefix}/weights"] = (kernel, kernel, channels_in, channels_out)
        shapes[f"{prefix}/biases"] = (channels_out,)
        channels_in = channels_out
    width_in = params.FLATTENED_SIZE
    for scope, width_out, _ in params.FC_LAYERS:
        prefix = f"{params.VARIABLE_SCOPE}/{scope}"
        shapes[f"{prefix}/weights"] = (width_in, width_out)
        shapes[f"{prefix}/biases"] = (width_out,)
        width_in = width_out
    return shapes


def validate_variables(
    source: Path, shapes: Mapping[str, tuple[int, ...]], dtypes: Mapping[str, str]
) -> None:
    """Raise CheckpointError unless every expected variable is present as float32 in shape.

    Args:
        source: the file named in the message.
        shapes: variable name -> shape found in the file (extra names are ignored).
        dtypes: variable name -> numpy dtype name found in the file.
    """
    problems: list[str] = []
    missing = [name for name in expected_shapes() if name not in shapes]
    if missing:
        problems.append("missing " + ", ".join(missing))
    for name, expected in expected_shapes().items():
        if name not in shapes:
            continue
        found = tuple(int(size) for size in shapes[name])
        if found != expected:
            problems.append(f"{name} has shape {list(found)}, expected {list(expected)}")
        elif dtypes.get(name) != "float32":
            problems.append(f"{name} has dtype {dtypes.get(name)}, expected float32")
    if problems:
        raise CheckpointError(
            f"The VGGish checkpoint {source} does not match the VGGish network: "
            + "; ".join(problems)
            + "."
        )


def file_md5(path: Path) -> str:
    """Hex md5 of a file's bytes, remembered by (resolved path, size, mtime_ns)."""
    stat = path.stat()
    key = str(path.resolve())
    memo_path = paths.models_dir("vggish") / MD5_MEMO_NAME
    memo = _read_memo(memo_path)
    entry = memo.get(key)
    if (
        isinstance(entry, dict)
        and entry.get("size") == stat.st_size
        and entry.get("mtime_ns") == stat.st_mtime_ns
        and isinstance(entry.get("md5"), str)
    ):
        return entry["md5"]
    md5 = file_digest(path, "md5")
    memo[key] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "md5": md5}
    try:
        _write_json_atomically(memo_path, memo)
    except OSError as exc:
        logger.warning("could not remember the md5 of %s: %s", path, exc)
    return md5


def read_checkpoint(path: Path) -> dict[str, np.ndarray]:
    """Read and validate the network's variables from a TensorFlow checkpoint file.

    Returns:
        variable name -> float32 array (only the expected variables).

    Raises:
        WeightsMissingError: no file at ``path``.
        CheckpointError: not a checkpoint TensorFlow can read, or variables missing or
            mis-shaped (the message names them).
    """
    if not path.is_file():
        raise WeightsMissingError(f"The VGGish checkpoint {path} does not exist.")
    import tensorflow as tf

    try:
        reader = tf.train.load_checkpoint(str(path))
        shapes = reader.get_variable_to_shape_map()
        dtypes = {name: dtype.name for name, dtype in reader.get_variable_to_dtype_map().items()}
        validate_variables(path, shapes, dtypes)
        return {name: reader.get_tensor(name) for name in expected_shapes()}
    except (tf.errors.OpError, ValueError, RuntimeError) as exc:
        detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise CheckpointError(
            f"The VGGish checkpoint {path} is not a readable TensorFlow checkpoint ({detail})."
        ) from exc


def load_weights(path: Path) -> VGGishWeights:
    """Validated weights from ``path``, through the md5-keyed cache when possible.

    Raises:
        WeightsMissingError: no file at ``path``.
        CheckpointError: the file is not a usable VGGish checkpoint.
    """
    if not path.is_file():
        raise WeightsMissingError(f"The VGGish checkpoint {path} does not exist.")
    md5 = file_md5(path)
    cache_dir = paths.models_dir("vggish") / CACHE_DIR_NAME / md5
    cached = _read_cache(cache_dir)
    if cached is not None:
        return VGGishWeights(arrays=cached, md5=md5)
    arrays = read_checkpoint(path)
    try:
        _write_cache(cache_dir, arrays)
    except OSError as exc:
        logger.warning("could not cache the VGGish weights in %s: %s", cache_dir, exc)
    for array in arrays.values():
        array.flags.writeable = False
    return VGGishWeights(arrays=arrays, md5=md5)


def _cache_file_name(variable: str) -> str:
    return variable.replace("/", "__") + ".npy"


def _read_cache(cache_dir: Path) -> dict[str, np.ndarray] | None:
    """Memory-mapped arrays from a cache entry, or None (and the entry removed) if unusable."""
    if not cache_dir.is_dir():
        return None
    try:
        arrays = {
            name: np.load(cache_dir / _cache_file_name(name), mmap_mode="r", allow_pickle=False)
            for name in expected_shapes()
        }
        validate_variables(
            cache_dir,
            {name: array.shape for name, array in arrays.items()},
            {name: array.dtype.name for name, array in arrays.items()},
        )
    except (OSError, ValueError, CheckpointError) as exc:
        logger.warning("discarding the unusable VGGish weights cache %s: %s", cache_dir, exc)
        shutil.rmtree(cache_dir, ignore_errors=True)
        return None
    return arrays


def _write_cache(cache_dir: Path, arrays: Mapping[str, np.ndarray]) -> None:
    """Write one .npy per variable into a temporary folder, then rename it to ``cache_dir``."""
    cache_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=cache_dir.parent))
    try:
        for name, array in arrays.items():
            np.save(staging / _cache_file_name(name), array, allow_pickle=False)
        try:
            os.replace(staging, cache_dir)
        except OSError:
            if not cache_dir.is_dir():  # not merely another process finishing first
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _read_memo(memo_path: Path) -> dict[str, object]:
    try:
        memo = json.loads(memo_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return memo if isinstance(memo, dict) else {}


def _write_json_atomically(target: Path, data: object) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(target) as handle:
        handle.write(json.dumps(data).encode("utf-8"))
