"""The vector backends an index version may name, and which one a manifest names.

See :mod:`.vector_backend` for the seam; ``annoy`` is the default and the backend of every
version whose manifest names none (built before backends existed).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from musicrec_core.catalog.index.annoy_vectors import ANNOY
from musicrec_core.catalog.index.usearch_vectors import USEARCH
from musicrec_core.catalog.index.vector_backend import Backend
from musicrec_core.errors import IndexMismatchError

BACKENDS: dict[str, Backend] = {backend.name: backend for backend in (ANNOY, USEARCH)}
DEFAULT_BACKEND = ANNOY.name
BACKEND_KEY = "backend"
"""The manifest entry naming the backend; absent means Annoy."""


def backend_named(name: str) -> Backend:
    """The backend called ``name``. Raises ValueError naming the known ones."""
    try:
        return BACKENDS[name]
    except KeyError:
        raise ValueError(f"unknown vector backend {name!r}; known: {', '.join(BACKENDS)}") from None


def backend_of(manifest: Mapping[str, Any]) -> Backend:
    """The backend a (parsed) manifest names. Raises IndexMismatchError for one this
    musicrec does not know."""
    name = manifest.get(BACKEND_KEY, DEFAULT_BACKEND)
    if name not in BACKENDS:
        raise IndexMismatchError(
            f"The index keeps its vectors with backend {name!r}, which this musicrec does not "
            f"know ({', '.join(BACKENDS)}); upgrade musicrec or rebuild the index."
        )
    return BACKENDS[name]
