"""Keep TensorFlow's native start-up lines off stderr.

Importing TensorFlow makes its C++ side print a banner on stderr: absl's "All log messages
before absl::InitializeLog() ..." notice, oneDNN's "custom operations are on" line (once
per native library that loads), and, depending on the level, the CPU-feature note. They
come from C++, so Python's logging cannot touch them. ``TF_CPP_MIN_LOG_LEVEL`` hides the
later informational lines, but the lines logged while the libraries load are printed
whatever its value. So :func:`silence_tensorflow_banner` sets that variable and also sends
the process's file descriptor 2 to the null device for exactly as long as the
``tensorflow`` package takes to import, then puts it back.

Nothing changes when the user set ``TF_CPP_MIN_LOG_LEVEL`` themselves (they asked for a
level: they get TensorFlow's own behaviour), or when TensorFlow is already imported.
TensorFlow is not imported here: the null device applies whenever something first imports
it, and only then. Anything another thread writes to stderr during that import is lost
too, so call this from a program's entry point (as ``musicrec`` does).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import ModuleType

LOG_LEVEL_ENV = "TF_CPP_MIN_LOG_LEVEL"
"""TensorFlow's C++ log threshold: 0 everything, 1 no INFO, 2 no WARNING, 3 no ERROR."""

QUIET_LOG_LEVEL = "2"
"""The level set when the user has none: errors still reach stderr once TF is loaded."""

_PACKAGE = "tensorflow"


def silence_tensorflow_banner() -> bool:
    """Arrange for TensorFlow to load without its banner; returns whether anything was set.

    Sets ``TF_CPP_MIN_LOG_LEVEL`` to :data:`QUIET_LOG_LEVEL` and installs an import hook
    that silences file descriptor 2 while ``tensorflow`` itself is imported. Does nothing
    (returns False) when the variable is already set or TensorFlow is already imported.
    """
    if LOG_LEVEL_ENV in os.environ or _PACKAGE in sys.modules:
        return False
    os.environ[LOG_LEVEL_ENV] = QUIET_LOG_LEVEL
    if not any(isinstance(finder, _SilentImportFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _SilentImportFinder())
    return True


@contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Point file descriptor 2 at the null device for the block, then restore it.

    Python's ``sys.stderr`` is flushed first, so nothing written before is lost.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


class _SilentImportFinder(importlib.abc.MetaPathFinder):
    """Finds ``tensorflow`` the usual way and wraps its loader in a silent one; one use."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != _PACKAGE:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is not None and spec.loader is not None:
            spec.loader = _SilentLoader(spec.loader)
        return spec


class _SilentLoader(importlib.abc.Loader):
    """Runs another loader's ``exec_module`` with stderr silenced; the rest is delegated."""

    def __init__(self, inner: importlib.abc.Loader) -> None:
        self._inner = inner

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._inner.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        with native_stderr_silenced():
            self._inner.exec_module(module)

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)
