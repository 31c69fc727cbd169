"""Which JavaScript runtime yt-dlp runs YouTube's challenge solver with.

Since late 2025 yt-dlp answers YouTube's "n" and signature challenges by running the
solver scripts of the ``yt-dlp-ejs`` package (installed with ``yt-dlp[default]``) in an
external JavaScript runtime. musicrec installs that runtime too: the ``deno`` package on
PyPI is a wheel carrying the Deno binary, which lands in the virtual environment's
``bin/`` folder. :func:`ytdlp_js_runtimes` hands yt-dlp that binary *by path* (so it does
not depend on ``PATH``) unless the operator names another runtime, which yt-dlp then looks
up itself.

Nothing here enables yt-dlp's ``remote_components`` (``ejs:github`` / ``ejs:npm``): the
solver scripts come from the installed package, and no code is fetched at run time.
"""

from __future__ import annotations

from pathlib import Path

RUNTIMES = ("deno", "node", "bun", "quickjs")
"""JavaScript runtimes yt-dlp can run the challenge solver with."""
DEFAULT_RUNTIME = "deno"
"""The runtime musicrec installs (and yt-dlp's own default)."""


def bundled_deno() -> Path | None:
    """The Deno binary installed by the ``deno`` package, or None when it is not installed."""
    try:
        from deno import find_deno_bin
    except ImportError:
        return None
    try:
        return Path(find_deno_bin())
    except FileNotFoundError:
        return None


def ytdlp_js_runtimes(name: str | None) -> dict[str, dict[str, str]]:
    """yt-dlp's ``js_runtimes`` option for the runtime ``name`` (None = Deno).

    Deno is given as the bundled binary's path when the ``deno`` package is installed;
    without it, and for any other runtime, yt-dlp looks the runtime up on ``PATH``.

    Raises:
        ValueError: ``name`` is not one of :data:`RUNTIMES`.
    """
    runtime = name or DEFAULT_RUNTIME
    if runtime not in RUNTIMES:
        raise ValueError(f"unknown JavaScript runtime {name!r}; use one of {', '.join(RUNTIMES)}")
    deno = bundled_deno() if runtime == "deno" else None
    return {runtime: {"path": str(deno)} if deno is not None else {}}
