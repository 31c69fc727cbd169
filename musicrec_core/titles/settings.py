"""How title lookups run: on or off, which endpoint, how long a reply may wait for them.

The environment names (read by :meth:`TitleSettings.from_env` for the ``musicrec`` command;
the bot reads the same names through its own settings)::

    MUSICREC_TITLE_LOOKUP=true          false: results stay as the index has them
    MUSICREC_OEMBED_URL=https://www.youtube.com/oembed
    MUSICREC_TITLE_BUDGET_S=1.5         longest a reply waits for lookups, in seconds
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from musicrec_core.errors import MusicrecError
from musicrec_core.titles.cache import DEFAULT_TTL_S
from musicrec_core.titles.oembed import DEFAULT_OEMBED_URL, check_endpoint

__all__ = [
    "BUDGET_ENV",
    "DEFAULT_BUDGET_S",
    "ENABLED_ENV",
    "ENDPOINT_ENV",
    "TitleSettings",
]

ENABLED_ENV = "MUSICREC_TITLE_LOOKUP"
ENDPOINT_ENV = "MUSICREC_OEMBED_URL"
BUDGET_ENV = "MUSICREC_TITLE_BUDGET_S"
DEFAULT_BUDGET_S = 1.5
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


@dataclass(frozen=True)
class TitleSettings:
    """Title lookup settings.

    Attributes:
        enabled: look results up at all (off: no request is ever made).
        endpoint: the oEmbed endpoint (https, or http to a loopback host).
        budget_s: longest one reply waits for its lookups, in seconds; lookups still
            running then finish in the background and fill the cache.
        timeout_s: per-request limit of each lookup (connection, reads, whole body).
        cache_ttl_s: how long a cached answer is trusted, in seconds.
    """

    enabled: bool = True
    endpoint: str = DEFAULT_OEMBED_URL
    budget_s: float = DEFAULT_BUDGET_S
    timeout_s: float = 5.0
    cache_ttl_s: float = DEFAULT_TTL_S

    def __post_init__(self) -> None:
        check_endpoint(self.endpoint)
        if not self.budget_s >= 0 or not self.timeout_s > 0 or not self.cache_ttl_s > 0:
            raise ValueError("title budget must be >= 0, timeout and time-to-live > 0")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> TitleSettings:
        """The settings the environment names (defaults for the unset ones).

        Raises:
            MusicrecError: a set variable is invalid; the message names it.
        """
        enabled_text = environ.get(ENABLED_ENV, "").strip().lower() or "true"
        if enabled_text not in _TRUE | _FALSE:
            raise MusicrecError(f"{ENABLED_ENV} must be true or false, not {enabled_text!r}.")
        endpoint = environ.get(ENDPOINT_ENV, "").strip() or DEFAULT_OEMBED_URL
        try:
            budget_s = float(environ.get(BUDGET_ENV, "").strip() or DEFAULT_BUDGET_S)
            return cls(enabled=enabled_text in _TRUE, endpoint=endpoint, budget_s=budget_s)
        except ValueError as exc:
            raise MusicrecError(
                f"Invalid title lookup setting ({ENDPOINT_ENV} or {BUDGET_ENV}): {exc}."
            ) from None
