"""Reduced-precision models run only for the weight files, and the CPU, a check passed on.

bfloat16 or int8 (VGGish) and bfloat16 (musicnn) run instead of float32 only once
``musicrec quantize check`` found their embeddings agree with float32's for the very weight
files in use (and, for musicnn, that bfloat16 is faster there), and recorded so:

    <models_dir(embedder)>/checked/<precision>/<sha256 of the key file>/
        check.json     {precision, <role>_sha256 for each weight file, model_sha256,
                        cpu, figures, checked_at}
        model.onnx     only when the check made a model file (VGGish int8)

An embedder names its weight files by role, the key file first (VGGish: ``checkpoint``,
``pca``; musicnn: ``checkpoint_data``, ``checkpoint_index``). :func:`require_checked` hashes
them, finds their record (verifying a model file's sha256) and that it was made on this CPU
(:func:`cpu_identity`; a record from before the CPU was recorded holds anywhere); otherwise
it raises :class:`PrecisionNotCheckedError`, which says what to run.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from musicrec_core import paths
from musicrec_core.embedders.precision import PRECISION_ENV, Precision
from musicrec_core.errors import PrecisionNotCheckedError
from musicrec_core.hashing import file_sha256

CHECK_COMMAND = "musicrec quantize check"
MODEL_NAME = "model.onnx"
RECORD_NAME = "check.json"

ARITHMETIC_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8")
"""CPU flags (Linux's names) that decide how fast reduced precision runs."""

WeightsByRole = Mapping[str, Path]
"""role -> weight file, the key file (whose sha256 names the record's folder) first."""


@dataclass(frozen=True)
class CheckedModel:
    """A reduced-precision model that passed the check for one set of weight files.

    Attributes:
        precision: bfloat16 or int8.
        path: the checked ONNX model file (VGGish int8), or None (the model is built from
            the weights themselves).
        figures: the check's figures (its agreement's ``to_json``).
        checked_at: when the check passed (ISO 8601, UTC).
    """

    precision: Precision
    path: Path | None
    figures: Mapping[str, object]
    checked_at: str


def cpu_identity() -> str:
    """This machine's processor as a check records it: the model name from /proc/cpuinfo
    (Linux; else what :mod:`platform` says), the architecture, and which of
    :data:`ARITHMETIC_FLAGS` it has (a virtual machine may name only the CPU family)."""
    name, flags = "", set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as cpuinfo:
            for line in cpuinfo:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and not name:
                    name = value.strip()
                elif key.strip() == "flags":
                    flags = set(value.split())
                    break
    except OSError:
        pass
    present = " ".join(flag for flag in ARITHMETIC_FLAGS if flag in flags)
    return f"{name or platform.processor() or 'unknown'} ({platform.machine()}; {present})"


def record_dir(embedder: str, precision: Precision, key_sha256: str) -> Path:
    """The folder of an embedder's record for one precision, by its key file's sha256."""
    return paths.models_dir(embedder) / "checked" / precision.value / key_sha256


def record_pass(
    embedder: str,
    precision: Precision,
    files: WeightsByRole,
    model: Path | None,
    figures: Mapping[str, object],
) -> CheckedModel:
    """Record that ``precision`` passed for these files on this CPU, keeping ``model``
    (moved) if any.

    The folder is written beside its final place and renamed into it, so a reader sees the
    old record or the whole new one. Returns the record as :func:`find_checked` reads it.
    """
    hashes = {role: file_sha256(path) for role, path in files.items()}
    target = record_dir(embedder, precision, next(iter(hashes.values())))
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="musicrec-", dir=target.parent))
    try:
        if model is not None:
            shutil.move(model, staging / MODEL_NAME)
        record = {
            "precision": precision.value,
            **{f"{role}_sha256": sha256 for role, sha256 in hashes.items()},
            "model_sha256": file_sha256(staging / MODEL_NAME) if model is not None else None,
            "cpu": cpu_identity(),
            "figures": dict(figures),
            "checked_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        (staging / RECORD_NAME).write_text(json.dumps(record, indent=2), encoding="utf-8")
        shutil.rmtree(target, ignore_errors=True)
        os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    path = target / MODEL_NAME if model is not None else None
    return CheckedModel(precision, path, record["figures"], record["checked_at"])


def forget(embedder: str, precision: Precision, files: WeightsByRole) -> None:
    """Remove the record of ``precision`` for these files, if there is one."""
    key = file_sha256(next(iter(files.values())))
    shutil.rmtree(record_dir(embedder, precision, key), ignore_errors=True)


def find_checked(embedder: str, precision: Precision, files: WeightsByRole) -> CheckedModel | None:
    """The passing record of ``precision`` for exactly these files (by sha256) on this CPU,
    or None when there is none, it was for other files, its model file has changed since,
    or it was made on another CPU."""
    hashes = {role: file_sha256(path) for role, path in files.items()}
    folder = record_dir(embedder, precision, next(iter(hashes.values())))
    try:
        record = json.loads((folder / RECORD_NAME).read_text(encoding="utf-8"))
        model = folder / MODEL_NAME if record["model_sha256"] is not None else None
        here = cpu_identity()
        if (
            record["precision"] != precision.value
            or any(record[f"{role}_sha256"] != sha256 for role, sha256 in hashes.items())
            or (model is not None and record["model_sha256"] != file_sha256(model))
            or record.get("cpu", here) != here
            or record["figures"].get("passed") is not True
        ):
            return None
        return CheckedModel(precision, model, record["figures"], str(record["checked_at"]))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def require_checked(
    embedder: str, precision: Precision, files: WeightsByRole, check: str
) -> CheckedModel:
    """The passing record of ``precision`` for these files on this CPU.

    Args:
        embedder: the model cache's name ("vggish", "musicnn").
        precision: bfloat16 or int8.
        files: the weight files in use, by role.
        check: the command line that checks them (without ``--precision``).

    Raises:
        PrecisionNotCheckedError: no such record; the message says what to run.
    """
    checked = find_checked(embedder, precision, files)
    if checked is None:
        names = " and ".join(str(path) for path in files.values())
        raise PrecisionNotCheckedError(
            f"{PRECISION_ENV}={precision.value} asks for reduced-precision {embedder}, but no "
            f"agreement check has passed for {precision.value} with the weights {names} as "
            f"they are now, on this CPU. Run `{check} --precision {precision.value}` first, "
            f"or unset {PRECISION_ENV} to use float32."
        )
    return checked
