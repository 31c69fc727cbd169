"""Titled, playable results: YouTube's oEmbed answers (title, channel, thumbnail, or
"gone") for the videos a catalog recommends, cached on disk and looked up within a budget.

- :mod:`.oembed`: one request to the endpoint, classified conservatively;
- :mod:`.cache`: the SQLite cache of clear answers beside the model cache;
- :mod:`.lookup`: a reply's results looked up concurrently, gone videos replaced;
- :mod:`.enrich`: a whole catalog looked up ahead of time, rate-limited and resumable;
- :mod:`.settings`: the operator's switches (``MUSICREC_TITLE_LOOKUP``,
  ``MUSICREC_OEMBED_URL``, ``MUSICREC_TITLE_BUDGET_S``).
"""

from musicrec_core.titles.cache import TitleCache, default_cache_path
from musicrec_core.titles.enrich import EnrichReport, RateLimiter, enrich_catalog
from musicrec_core.titles.lookup import TitleLookup, candidate_count, is_video
from musicrec_core.titles.oembed import (
    DEFAULT_OEMBED_URL,
    OEmbedClient,
    TitleLookupError,
    VideoAnswer,
    check_endpoint,
)
from musicrec_core.titles.settings import TitleSettings

__all__ = [
    "DEFAULT_OEMBED_URL",
    "EnrichReport",
    "OEmbedClient",
    "RateLimiter",
    "TitleCache",
    "TitleLookup",
    "TitleLookupError",
    "TitleSettings",
    "VideoAnswer",
    "candidate_count",
    "check_endpoint",
    "default_cache_path",
    "enrich_catalog",
    "is_video",
]
