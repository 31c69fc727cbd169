"""yt-dlp worker process for :mod:`musicrec_core.sources.ytdlp_workers`: fetches, one by one.

Started as ``python -I <this file>`` in its own session (the parent kills it, and the
ffmpeg and JavaScript runtime yt-dlp starts, as one process group), with its end of a
Unix socket pair as stdin, the minimal environment and the memory limit of
:func:`musicrec_core.child_process.spawn` in force from its first instruction. It imports
nothing from musicrec and holds no policy: each fetch brings its URL, the extractors
allowed, its private directory and its yt-dlp options. A long-lived worker serves one
fetch after another; the per-fetch fallback is this program serving one fetch, then
killed.

Messages are JSON objects, one per line (JSON text holds no raw newline)::

    -> {"event": "ready"}                          (once, when yt-dlp is imported)
    <- {"op": "fetch", "url": ..., "extractors": [...], "workdir": ..., "options": {...}}
    -> {"event": "info", "info": {...}}            (metadata; no media downloaded yet)
    <- {"op": "section", "start_s": s, "end_s": e}   or   {"op": "end"} (stop here)
    -> {"event": "done", "path": ...}              (the downloaded section)
    at either step: {"event": "error", "message": ..., "memory": bool}: the fetch is over.
    -> {"event": "idle"}                           (after every fetch, once cleaned up)

Every fetch starts from what its message says, never from what an earlier fetch left:

- a new ``YoutubeDL`` for each phase, built from the fetch's options alone: its cookie
  jar (from the fetch's own copy of the cookies file, or empty), its HTTP connections, its
  extractor instances with their player and challenge caches, all end with it;
- no cache on disk (``cachedir`` False), and yt-dlp's process-wide PO-token memory cache
  is emptied after each fetch;
- a freshly drawn User-Agent (yt-dlp draws one when imported: a fresh process per fetch
  drew one per fetch);
- the working directory is the fetch's private directory during the fetch and ``/``
  between fetches, so nothing written relative to it outlives the fetch.

What stays: the imported modules, and the ffmpeg version yt-dlp reads once per program
path (``FFmpegPostProcessor``'s class-level cache): a fact about the installed ffmpeg.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from typing import Any, BinaryIO

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

_BETWEEN_FETCHES_DIR = "/"


def _send(sock: socket.socket, event: dict[str, Any]) -> None:
    sock.sendall(json.dumps(event).encode() + b"\n")


def _receive(requests: BinaryIO) -> dict[str, Any]:
    """The parent's next message; exits when the parent is gone (end of file)."""
    line = requests.readline()
    if not line:
        sys.exit(0)
    return json.loads(line)


def _ydl_options(request: dict[str, Any]) -> dict[str, Any]:
    """yt-dlp options for the metadata phase; everything it writes stays in ``workdir``."""
    from yt_dlp.utils.networking import random_user_agent

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
        "http_headers": {"User-Agent": random_user_agent()},
    }
    options.update(request["options"])
    return options


def _ran_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc``, or an exception behind it (yt-dlp wraps them), is a MemoryError."""
    seen: list[BaseException] = []
    pending: list[BaseException | None] = [exc]
    while pending and len(seen) < 16:
        current = pending.pop()
        if current is None or any(current is s for s in seen):
            continue
        if isinstance(current, MemoryError):
            return True
        seen.append(current)
        wrapped = getattr(current, "exc_info", None)
        inner = wrapped[1] if isinstance(wrapped, tuple) and len(wrapped) > 1 else None
        pending += [current.__cause__, current.__context__, inner]
    return False


def _fetch(sock: socket.socket, requests: BinaryIO, request: dict[str, Any]) -> None:
    """Serve one fetch: metadata, then the section the parent asks for (or nothing)."""
    import yt_dlp
    from yt_dlp.utils import download_range_func, match_filter_func

    options = _ydl_options(request)
    with yt_dlp.YoutubeDL(options) as ydl:
        info = ydl.extract_info(request["url"], download=False)
    if not isinstance(info, dict) or info.get("_type", "video") != "video":
        _send(sock, {"event": "error", "message": "Not a single video.", "memory": False})
        return
    _send(sock, {"event": "info", "info": {key: info.get(key) for key in INFO_FIELDS}})
    ask = _receive(requests)
    if ask.get("op") != "section":
        return
    options["download_ranges"] = download_range_func(None, [(ask["start_s"], ask["end_s"])])
    options["match_filter"] = match_filter_func("!is_live")
    with yt_dlp.YoutubeDL(options) as ydl:
        result = ydl.process_ie_result(info, download=True)
    downloads = result.get("requested_downloads") or []
    path = downloads[0].get("filepath") if downloads else None
    if not path:
        _send(sock, {"event": "error", "message": "yt-dlp produced no file.", "memory": False})
        return
    _send(sock, {"event": "done", "path": path})


def forget_session_state() -> None:
    """Empty what yt-dlp keeps for the whole process rather than per ``YoutubeDL``: the
    PO-token memory cache (tokens of the last fetch's session)."""
    try:
        from yt_dlp.extractor.youtube.pot._registry import _pot_memory_cache
    except ImportError:  # a yt-dlp without PO tokens keeps none
        return
    _pot_memory_cache.value.clear()


def _serve_one(sock: socket.socket, requests: BinaryIO, request: dict[str, Any]) -> None:
    """One fetch inside its private directory; any failure is the parent's to map."""
    try:
        os.chdir(request["workdir"])
        _fetch(sock, requests, request)
    except Exception as exc:  # reported to the parent, which maps it to a typed error
        memory = _ran_out_of_memory(exc)
        _send(sock, {"event": "error", "message": str(exc)[:2000], "memory": memory})
        if memory:  # the heap may be in pieces: end here (the parent replaces this worker)
            sys.exit(1)
    finally:
        os.chdir(_BETWEEN_FETCHES_DIR)
        forget_session_state()
    _send(sock, {"event": "idle"})


def main() -> None:
    """Serve fetches until the parent closes its end of the socket."""
    sock = socket.socket(fileno=os.dup(0))  # not inherited: yt-dlp's children cannot reach it
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.chdir(_BETWEEN_FETCHES_DIR)
    import yt_dlp  # noqa: F401  (before "ready": the first fetch does not wait for it)

    requests = sock.makefile("rb")
    _send(sock, {"event": "ready"})
    while True:
        request = _receive(requests)
        if request.get("op") == "fetch":
            _serve_one(sock, requests, request)


if __name__ == "__main__":
    main()
