"""OpenBLAS's idle spin is shortened before numpy loads, unless the operator set it; the
thread count other runtimes match is OpenBLAS's."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from musicrec_core.blas_threads import THREAD_TIMEOUT, compute_threads

REPORT = (
    "import os, sys, musicrec_core; "
    "print(os.environ.get('OPENBLAS_THREAD_TIMEOUT'), 'numpy' in sys.modules)"
)


def _report(**env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    done = subprocess.run(
        [sys.executable, "-c", REPORT],
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def test_importing_the_package_sets_it_before_numpy_is_loaded() -> None:
    assert _report() == f"{THREAD_TIMEOUT} False"


def test_the_operators_value_is_kept() -> None:
    assert _report(OPENBLAS_THREAD_TIMEOUT="30") == "30 False"


def test_compute_threads_follows_openblas_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    assert compute_threads() == len(os.sched_getaffinity(0))
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert compute_threads() == 3
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    assert compute_threads() == 2
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "0")  # not a limit: the next one counts
    assert compute_threads() == 3
