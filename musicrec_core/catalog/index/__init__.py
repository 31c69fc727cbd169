"""Index directories: build one atomically, load it by mmap, search it.

Mental model: an index is a folder that describes itself. :class:`IndexBuilder` collects
pooled vectors with their metadata and :meth:`IndexBuilder.commit` publishes a new *version*
(:mod:`.builder`); :meth:`CatalogIndex.load` opens whatever version is current and refuses
anything that does not match what the caller expects (:mod:`.loaded`); a server opens with
:meth:`CatalogIndex.load_for_serving`, which proves the files first. What a version holds on
disk, and how it is checked, is :mod:`.manifest`. The index a server queries is held in an
:class:`IndexSlot` (:mod:`.slot`), which replaces it without closing it under a query.
Which library stores and searches the vectors (Annoy by default, or usearch) is the
version's *backend* (:mod:`.vector_backend`).
"""

from musicrec_core.catalog.index.annoy_vectors import (
    DEFAULT_N_TREES,
    SEARCH_K_MAX,
    SEARCH_K_MIN,
    SEARCH_K_PER_ITEM,
    VECTORS_FILE,
    default_search_k,
)
from musicrec_core.catalog.index.backends import BACKENDS, DEFAULT_BACKEND
from musicrec_core.catalog.index.builder import (
    META_BYTES_PER_ITEM,
    IndexBuilder,
    estimate_index_bytes,
)
from musicrec_core.catalog.index.loaded import CatalogIndex
from musicrec_core.catalog.index.manifest import (
    BUILD_PREFIX,
    CURRENT_FILE,
    FINGERPRINT_CHARS,
    FORMAT_NAME,
    FORMAT_VERSION,
    MANIFEST_FILE,
    META_FILE,
    METRIC,
    STALE_POINTER_TEMP_S,
    TRACK_TAGS_FROM_FORMAT,
    VERSION_PREFIX,
    ItemMeta,
    TrackTag,
)
from musicrec_core.catalog.index.slot import SWAP_WAIT_S, IndexSlot

__all__ = [
    "BACKENDS",
    "BUILD_PREFIX",
    "CURRENT_FILE",
    "DEFAULT_BACKEND",
    "DEFAULT_N_TREES",
    "FINGERPRINT_CHARS",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "MANIFEST_FILE",
    "META_BYTES_PER_ITEM",
    "META_FILE",
    "METRIC",
    "SEARCH_K_MAX",
    "SEARCH_K_MIN",
    "SEARCH_K_PER_ITEM",
    "STALE_POINTER_TEMP_S",
    "SWAP_WAIT_S",
    "TRACK_TAGS_FROM_FORMAT",
    "VECTORS_FILE",
    "VERSION_PREFIX",
    "CatalogIndex",
    "IndexBuilder",
    "IndexSlot",
    "ItemMeta",
    "TrackTag",
    "default_search_k",
    "estimate_index_bytes",
]
