"""Index directories: build one atomically, load it by mmap, search it.

Mental model: an index is a folder that describes itself. :class:`IndexBuilder` collects
pooled vectors with their metadata and :meth:`IndexBuilder.commit` publishes a new *version*
(:mod:`.builder`); :meth:`CatalogIndex.load` opens whatever version is current and refuses
anything that does not match what the caller expects (:mod:`.loaded`). What a version holds
on disk, and how it is checked, is :mod:`.manifest`.
"""

from musicrec_core.catalog.index.builder import (
    META_BYTES_PER_ITEM,
    IndexBuilder,
    estimate_index_bytes,
)
from musicrec_core.catalog.index.loaded import CatalogIndex
from musicrec_core.catalog.index.manifest import (
    BUILD_PREFIX,
    CURRENT_FILE,
    DEFAULT_N_TREES,
    FINGERPRINT_CHARS,
    FORMAT_NAME,
    FORMAT_VERSION,
    MANIFEST_FILE,
    META_FILE,
    METRIC,
    SEARCH_K_MAX,
    SEARCH_K_MIN,
    SEARCH_K_PER_ITEM,
    STALE_POINTER_TEMP_S,
    VECTORS_FILE,
    VERSION_PREFIX,
    ItemMeta,
    default_search_k,
)

__all__ = [
    "BUILD_PREFIX",
    "CURRENT_FILE",
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
    "VECTORS_FILE",
    "VERSION_PREFIX",
    "CatalogIndex",
    "IndexBuilder",
    "ItemMeta",
    "default_search_k",
    "estimate_index_bytes",
]
