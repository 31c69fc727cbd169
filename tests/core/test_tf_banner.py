"""Keeping TensorFlow's native banner off stderr (a whole run: tests/core/cli/test_tag.py)."""

from __future__ import annotations

import os
import sys

import pytest

from musicrec_core.tf_banner import (
    LOG_LEVEL_ENV,
    native_stderr_silenced,
    silence_tensorflow_banner,
)


def test_native_writes_are_dropped_only_inside_the_block(capfd: pytest.CaptureFixture[str]) -> None:
    os.write(2, b"native before\n")
    with native_stderr_silenced():
        os.write(2, b"native inside\n")
    os.write(2, b"native after\n")

    assert capfd.readouterr().err == "native before\nnative after\n"


def test_a_level_the_user_set_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LOG_LEVEL_ENV, "0")
    finders = list(sys.meta_path)

    assert silence_tensorflow_banner() is False
    assert os.environ[LOG_LEVEL_ENV] == "0"
    assert sys.meta_path == finders
