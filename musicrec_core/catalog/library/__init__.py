"""Library catalogs: an index of your own music (folders, files, lists of YouTube links).

Mental model: every input becomes a *track*, every track a few 10-second *windows* spread
across it, every window one index item, so any part of a song can match a query::

    inputs --collect_inputs--> files + links --hash / video id--> track keys
      --cache hit?--> reuse the stored frames
      --else decode windows (ffmpeg / yt-dlp), embed them in batches, store in the cache-->
    pool(frames, DEFAULT_POOLING) per window --IndexBuilder--> INDEX_DIR (published atomically)

One module per stage:

- :mod:`.inputs`: what the inputs are (folders, files, link lists, links) and how they
  are expanded and recognised.
- :mod:`.tracks`: a track's key (sha256 of a file, a video's id), its window plan and its
  embedded windows.
- :mod:`.cache`: the embedding cache, keyed by embedder identity, window plan and track key.
- :mod:`.decode`: a track that missed the cache cut into windows of audio.
- :mod:`.landmarks`: the windows' spectral landmarks, stored beside the index so a clip is
  identified as its recording (:mod:`musicrec_core.fingerprint`), cached like embeddings.
- :mod:`.build`: :func:`build_library`, which embeds the windows in batches and publishes
  the index.
- :mod:`.report`: what a build tells its caller (counts and skipped inputs).
"""

from musicrec_core.catalog.library.build import build_library
from musicrec_core.catalog.library.cache import CACHE_FORMAT, EmbeddingCache
from musicrec_core.catalog.library.decode import LinkFetcher
from musicrec_core.catalog.library.inputs import LINK_LIST_SUFFIXES, NON_MEDIA_SUFFIXES
from musicrec_core.catalog.library.report import LibraryBuildReport, SkippedInput
from musicrec_core.catalog.library.tracks import (
    DEFAULT_WINDOWS,
    TRACK_TAG_LABELS,
    TrackEmbedding,
    plan_windows,
    track_key,
)

__all__ = [
    "CACHE_FORMAT",
    "DEFAULT_WINDOWS",
    "LINK_LIST_SUFFIXES",
    "NON_MEDIA_SUFFIXES",
    "TRACK_TAG_LABELS",
    "EmbeddingCache",
    "LibraryBuildReport",
    "LinkFetcher",
    "SkippedInput",
    "TrackEmbedding",
    "build_library",
    "plan_windows",
    "track_key",
]
