"""The window count the library tests ask for, shared by the modules that build from the
generated music folder (the ``library`` fixture in ``conftest.py``)."""

from __future__ import annotations

WINDOWS = 3
