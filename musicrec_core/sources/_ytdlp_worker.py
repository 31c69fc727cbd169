"""Child process that runs yt-dlp for :mod:`musicrec_core.sources.ytdlp_fetch`.

Started as ``python -I <this file>`` in its own process group, so the parent can kill it —
and the ffmpeg yt-dlp starts for section downloads — when a wall-clock limit or the byte cap
is hit. It imports nothing from musicrec, holds no policy, and talks JSON lines:

    stdin  1: {"url": ..., "extractors": [...], "workdir": ..., "options": {...}}
    stdout 1: {"event": "info", "info": {...}}     (metadata; no media downloaded yet)
    stdin  2: {"section": [start_s, end_s]}        (or end of input: stop here)
    stdout 2: {"event": "done", "path": ...}       (the downloaded section)
    at any step: {"event": "error", "message": ...} and exit status 1.
"""

from __future__ import annotations

import json
import sys
from typing import Any

INFO_FIELDS = (
    "id",
    "title",
    "channel",
    "uploader",
    "duration",
    "is_live",
    "live_status",
    "availability",
    "filesize",
    "filesize_approx",
    "format_id",
    "ext",
    "acodec",
)
"""Metadata the parent uses (a whole info dict can be megabytes of format lists)."""


def _emit(event: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def _ydl_options(request: dict[str, Any]) -> dict[str, Any]:
    """yt-dlp options for the metadata phase; everything it writes stays in ``workdir``."""
    workdir = request["workdir"]
    options = {
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "noplaylist": True,
        "cachedir": False,
        "allowed_extractors": request["extractors"],
        "format": "bestaudio/best",
        "paths": {"home": workdir, "temp": workdir},
        "outtmpl": {"default": "section.%(ext)s"},
        "overwrites": True,
        "retries": 1,
        "extractor_retries": 1,
        "fragment_retries": 1,
    }
    options.update(request["options"])
    return options


def main() -> int:
    """Run one metadata + section request; see the module docstring."""
    try:
        import yt_dlp
        from yt_dlp.utils import download_range_func, match_filter_func

        request = json.loads(sys.stdin.readline())
        options = _ydl_options(request)
        with yt_dlp.YoutubeDL(options) as ydl:
            info = ydl.extract_info(request["url"], download=False)
        if not isinstance(info, dict) or info.get("_type", "video") != "video":
            _emit({"event": "error", "message": "Not a single video."})
            return 1
        _emit({"event": "info", "info": {key: info.get(key) for key in INFO_FIELDS}})

        line = sys.stdin.readline()
        if not line:
            return 0
        start_s, end_s = json.loads(line)["section"]
        options["download_ranges"] = download_range_func(None, [(start_s, end_s)])
        options["match_filter"] = match_filter_func("!is_live")
        with yt_dlp.YoutubeDL(options) as ydl:
            result = ydl.process_ie_result(info, download=True)
        downloads = result.get("requested_downloads") or []
        path = downloads[0].get("filepath") if downloads else None
        if not path:
            _emit({"event": "error", "message": "yt-dlp produced no file."})
            return 1
        _emit({"event": "done", "path": path})
        return 0
    except Exception as exc:  # reported to the parent, which maps it to a typed error
        _emit({"event": "error", "message": str(exc)[:2000]})
        return 1


if __name__ == "__main__":
    sys.exit(main())
