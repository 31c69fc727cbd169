"""Child process that asks yt-dlp which JavaScript runtime and solver scripts it will use.

Started by :mod:`musicrec_core.doctor.ytdlp` as ``python -I <this file>`` with the same
environment and memory limit as the fetch worker, so it sees what a real fetch sees. It
imports nothing from musicrec and touches no network:

    stdin:  {"options": {...}}        the yt-dlp options musicrec fetches with
    stdout: {"version": ..., "debug": [...], "runtimes": {...}, "providers": {...}}

``debug`` holds yt-dlp's own ``-v`` lines about runtimes and libraries ("JS runtimes:
deno-2.9.8", "Optional libraries: ... yt_dlp_ejs-0.8.0 ..."); ``runtimes`` what yt-dlp
found for each enabled runtime; ``providers`` each challenge-solver provider yt-dlp
registered, whether it is available and which solver scripts it loads (from where). The
provider details come from yt-dlp internals (pinned version); a failure there is reported
as ``"error"`` rather than raised.
"""

from __future__ import annotations

import json
import sys
from typing import Any

_DEBUG_PREFIXES = ("JS runtimes:", "Optional libraries:", "[youtube] [jsc")


class _DebugLines:
    """A yt-dlp logger that keeps the debug lines about runtimes and solver scripts."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def debug(self, message: str) -> None:
        text = message.removeprefix("[debug] ")
        if text.startswith(_DEBUG_PREFIXES) and text not in self.lines:
            self.lines.append(text)

    def info(self, message: str) -> None:
        pass

    warning = error = debug


def _script(script: Any) -> dict[str, str]:
    return {
        "version": script.version,
        "source": script.source.value,
        "variant": script.variant.value,
    }


def _provider(provider: Any) -> dict[str, Any]:
    available = bool(provider.is_available())
    entry: dict[str, Any] = {"available": available}
    if available:
        try:
            entry["scripts"] = {"lib": _script(provider._lib_script)}
            entry["scripts"]["core"] = _script(provider._core_script)
        except Exception as exc:  # yt-dlp found no usable script: report why
            entry["error"] = str(exc)[:500]
    return entry


def main() -> int:
    """Answer one probe request; see the module docstring."""
    import yt_dlp
    from yt_dlp.extractor.youtube.jsc._director import initialize_jsc_director

    request = json.loads(sys.stdin.readline())
    logger = _DebugLines()
    options = {**request["options"], "verbose": True, "logger": logger, "cachedir": False}
    report: dict[str, Any] = {"version": yt_dlp.version.__version__}
    with yt_dlp.YoutubeDL(options) as ydl:
        report["runtimes"] = {
            name: None
            if runtime is None or runtime.info is None
            else {
                "path": runtime.info.path,
                "version": runtime.info.version,
                "supported": runtime.info.supported,
            }
            for name, runtime in ydl._js_runtimes.items()
        }
        try:
            director = initialize_jsc_director(ydl.get_info_extractor("Youtube"))
            report["providers"] = {
                provider.PROVIDER_NAME: _provider(provider)
                for provider in director.providers.values()
            }
        except Exception as exc:
            report["providers"] = {"error": str(exc)[:500]}
    report["debug"] = logger.lines
    sys.stdout.write(json.dumps(report) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
