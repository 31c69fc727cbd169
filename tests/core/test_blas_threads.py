"""OpenBLAS's idle spin is shortened before numpy loads, unless the operator set it."""

from __future__ import annotations

import os
import subprocess
import sys

from musicrec_core.blas_threads import THREAD_TIMEOUT

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
