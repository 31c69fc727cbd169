"""Run yt-dlp for one video under hard limits: metadata, then one short section.

yt-dlp runs in a worker process (:mod:`musicrec_core.sources.ytdlp_workers`: a long-lived
one, or one started for this fetch alone, the fallback), ``python -I`` in its own process
group, rather than a thread, because a section download is yt-dlp *plus an ffmpeg it
starts*, and only a process group can be stopped for sure: when the wall-clock limit of a
phase passes or the files in the private directory grow past the byte cap, the whole
group is killed (SIGKILL), the worker is never reused, and the caller gets a typed error.
yt-dlp's own ``max_filesize`` is not enforced for ffmpeg section downloads, hence the cap
is enforced here, by watching the directory. The worker and everything it starts (yt-dlp's
ffmpeg, the JavaScript runtime) get the minimal environment of
:func:`musicrec_core.child_process.spawn` (no bot token, no proxy variables: a proxy
reaches yt-dlp only as its ``proxy`` option) and its memory limit
(:data:`~musicrec_core.child_process.YTDLP_MEMORY_LIMIT_BYTES` for each process).

Limits (:class:`YouTubeSettings`): ``socket_timeout_s`` for each network read inside yt-dlp,
``metadata_timeout_s`` and ``download_timeout_s`` of wall-clock time for the two phases, and
``max_bytes`` for what the download may write to disk. ``cookiefile`` and ``proxy`` are
passed to yt-dlp under its documented option names; ``js_runtime`` picks the JavaScript
runtime for YouTube's challenge solver (default: the Deno musicrec installs, by path; no
``remote_components``, so no code is fetched at run time: :mod:`musicrec_core.js_runtime`).

yt-dlp rewrites its cookies file whenever it closes. It is therefore never given the
operator's file: each fetch copies it into its private directory and hands yt-dlp the copy,
which goes with that directory. The operator's file is only read, so it may be read-only
(a mounted secret), and concurrent fetches never write the same file.

When YouTube blocks a server ("Sign in to confirm you're not a bot", common on datacenter
IPs): export cookies of a logged-in browser session in Netscape format and point
``cookiefile`` at them, or route through a residential ``proxy``; ``musicrec doctor`` says
whether yt-dlp finds its JavaScript runtime and challenge solver scripts.

Tests-only seam: the URL handed to yt-dlp is always
:func:`~musicrec_core.sources.video_id.canonical_url` of the video id, with only
the YouTube extractors enabled — except for video ids registered through
:func:`_serve_test_video`, a private context manager that maps an id to an ``http://`` URL
on the loopback interface (it refuses any other host) and enables only yt-dlp's generic
extractor for it. The registry is a module-level dict reachable only by that Python call:
no setting, environment variable or chat input can reach it, and it is empty unless a test
is inside the ``with`` block.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from musicrec_core.errors import FetchError, InputTooLargeError, YouTubeNotReachedError
from musicrec_core.js_runtime import ytdlp_js_runtimes
from musicrec_core.sources.video_id import canonical_url
from musicrec_core.sources.ytdlp_errors import error_for_ytdlp_message
from musicrec_core.sources.ytdlp_workers import (
    WorkerGoneError,
    WorkerLateError,
    YtDlpWorkers,
    default_fetch_workers,
)

logger = logging.getLogger(__name__)

_YOUTUBE_EXTRACTORS = ["youtube"]
_COOKIES_COPY = "cookies.txt"
"""Name of the per-fetch copy of the cookies file inside the fetch's private directory."""
"""yt-dlp extractor-name patterns allowed for real links (its YouTube extractors only)."""

_TEST_MEDIA_URLS: dict[str, str] = {}
"""Tests only: video id -> loopback media URL; see :func:`_serve_test_video`."""


@dataclass(frozen=True)
class YouTubeSettings:
    """How musicrec runs yt-dlp. The defaults suit a public server; every limit is hard.

    Attributes:
        cookiefile: Netscape-format cookies file for yt-dlp (``cookiefile``), or None.
        proxy: proxy URL for yt-dlp (``proxy``), e.g. ``"socks5://127.0.0.1:1080"``, or None.
        js_runtime: JavaScript runtime for yt-dlp's YouTube challenge solver ("deno",
            "node", "bun" or "quickjs"); None = Deno, the binary musicrec installs.
        socket_timeout_s: seconds yt-dlp waits on an unresponsive host (``socket_timeout``).
        metadata_timeout_s: wall-clock seconds for reading the video's metadata.
        download_timeout_s: wall-clock seconds for downloading the section.
        max_bytes: cap on the bytes the section download may write to disk.
        max_duration_s: longest video accepted, in seconds.
    """

    cookiefile: Path | None = None
    proxy: str | None = None
    js_runtime: str | None = None
    socket_timeout_s: float = 15.0
    metadata_timeout_s: float = 45.0
    download_timeout_s: float = 60.0
    max_bytes: int = 16 * 2**20
    max_duration_s: float = 6 * 3600.0

    def ytdlp_options(self) -> dict[str, Any]:
        """The yt-dlp options these settings stand for (JSON-ready)."""
        options: dict[str, Any] = {"socket_timeout": self.socket_timeout_s}
        if self.cookiefile is not None:
            options["cookiefile"] = str(self.cookiefile)
        if self.proxy is not None:
            options["proxy"] = self.proxy
        options["js_runtimes"] = ytdlp_js_runtimes(self.js_runtime)
        return options


@dataclass(frozen=True)
class VideoMeta:
    """What yt-dlp's metadata says about a video (before any media is downloaded).

    Attributes:
        title: video title, or None.
        channel: channel or uploader name, or None.
        duration_s: length in seconds, or None when unknown.
        live_status: yt-dlp's ``live_status`` ("not_live", "is_live", "is_upcoming",
            "was_live", "post_live") or None.
        size_bytes: size of the whole selected audio format (``filesize`` or
            ``filesize_approx``), or None when unknown.
    """

    title: str | None
    channel: str | None
    duration_s: float | None
    live_status: str | None
    size_bytes: int | None

    @classmethod
    def from_info(cls, info: dict[str, Any]) -> VideoMeta:
        """Read the fields musicrec uses from (a subset of) a yt-dlp info dict."""
        live_status = info.get("live_status")
        if live_status is None and info.get("is_live"):
            live_status = "is_live"
        duration = info.get("duration")
        size = info.get("filesize") or info.get("filesize_approx")
        return cls(
            title=info.get("title"),
            channel=info.get("channel") or info.get("uploader"),
            duration_s=float(duration) if duration else None,
            live_status=live_status,
            size_bytes=int(size) if size else None,
        )


_STOPPED_MESSAGE = "The YouTube downloader stopped unexpectedly; try again later."


class YtDlpProcess:
    """One fetch (one video) in a yt-dlp worker: :meth:`metadata`, then
    :meth:`download_section`.

    The worker comes from ``workers`` (default :func:`default_fetch_workers`: a long-lived
    one, or a new process for this fetch alone). Use as a context manager; leaving it hands
    the worker back when its fetch is over as the protocol says, else kills it (and its
    ffmpeg). Everything yt-dlp writes goes to ``workdir``, which the caller owns and
    removes; that includes the copy of ``settings.cookiefile`` yt-dlp is given (the
    original is only read).

    Raises:
        YouTubeNotReachedError: the cookies file cannot be read, or no worker could be
            started (nothing reached YouTube).
    """

    def __init__(
        self,
        video_id: str,
        workdir: Path,
        settings: YouTubeSettings,
        workers: YtDlpWorkers | None = None,
    ) -> None:
        url = _TEST_MEDIA_URLS.get(video_id)
        extractors = ["generic"] if url is not None else _YOUTUBE_EXTRACTORS
        options = settings.ytdlp_options()
        self._cookies_copy: Path | None = None
        if settings.cookiefile is not None:
            self._cookies_copy = _copy_cookies(settings.cookiefile, workdir)
            options["cookiefile"] = str(self._cookies_copy)
        request = {
            "op": "fetch",
            "url": url if url is not None else canonical_url(video_id),
            "extractors": extractors,
            "workdir": str(workdir),
            "options": options,
        }
        self._workdir = workdir
        self._settings = settings
        self._workers = workers or default_fetch_workers()
        self._metadata_deadline = time.monotonic() + settings.metadata_timeout_s
        self._state = "metadata"
        """Where the worker's fetch is: "metadata" or "download" (it works), "between"
        (it sent the metadata and waits), "over" (it may serve another fetch), "broken"
        (it may not), "closed" (the worker is no longer this fetch's)."""
        try:
            self._worker = self._workers.take(self._metadata_deadline)
            self._worker.send(request)
        except (OSError, WorkerGoneError, WorkerLateError) as exc:
            logger.warning("the yt-dlp worker could not start: %s", exc)
            raise YouTubeNotReachedError(
                "Could not start the YouTube downloader; try again later."
            ) from exc

    def __enter__(self) -> YtDlpProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def pid(self) -> int:
        """The process id of the worker serving this fetch."""
        return self._worker.pid

    def metadata(self) -> VideoMeta:
        """Read the video's metadata (no media), within ``metadata_timeout_s``."""
        event = self._next_event(self._metadata_deadline, watch_bytes=False)
        if event.get("event") != "info":
            raise self._out_of_protocol("Could not read that video's details.")
        self._state = "between"
        return VideoMeta.from_info(event["info"])

    def download_section(self, start_s: float, end_s: float) -> Path:
        """Download ``[start_s, end_s)`` of the best audio format into ``workdir``.

        Raises:
            FetchError: past ``download_timeout_s``, or yt-dlp failed.
            InputTooLargeError: the files in ``workdir`` grew past ``max_bytes``.
        """
        self._state = "download"
        try:
            self._worker.send({"op": "section", "start_s": start_s, "end_s": end_s})
        except WorkerGoneError as exc:
            self._state = "broken"
            raise FetchError(_STOPPED_MESSAGE) from exc
        deadline = time.monotonic() + self._settings.download_timeout_s
        event = self._next_event(deadline, watch_bytes=True)
        if event.get("event") != "done":
            raise self._out_of_protocol("Could not download that video's audio.")
        self._state = "over"
        self._check_bytes()
        path = Path(event.get("path", ""))
        if not path.is_file() or self._workdir not in path.parents:
            raise FetchError("Could not download that video's audio.")
        return path

    def close(self) -> None:
        """Hand the worker back if its fetch is over, else kill it; idempotent."""
        if self._state == "closed":
            return
        if self._state == "between":  # metadata read, no section wanted: end the fetch
            try:
                self._worker.send({"op": "end"})
                self._state = "over"
            except WorkerGoneError:
                self._state = "broken"
        over, self._state = self._state == "over", "closed"
        self._workers.give_back(self._worker, over)

    def _out_of_protocol(self, message: str) -> FetchError:
        self._state = "broken"
        self._worker.kill()
        return FetchError(message)

    def _next_event(self, deadline: float, *, watch_bytes: bool) -> dict[str, Any]:
        """The worker's answer in this phase: an event other than "error".

        Raises:
            FetchError: past the deadline, the worker stopped, or yt-dlp failed (mapped
                by :func:`error_for_ytdlp_message`).
            InputTooLargeError: the byte cap, or the worker ran out of memory.
        """
        phase = self._state
        try:
            event = self._worker.receive(deadline, self._check_bytes if watch_bytes else None)
        except WorkerLateError as exc:
            self._state = "broken"
            logger.warning("yt-dlp %s phase ran past its time limit", phase)
            what = "reading the video's details" if phase == "metadata" else "downloading"
            raise FetchError(f"YouTube took too long ({what}); try again later.") from exc
        except WorkerGoneError as exc:
            self._state = "broken"
            tail = " | ".join(self._worker.stderr_tail)
            logger.warning("yt-dlp worker stopped: %s | %s", exc, tail)
            raise FetchError(_STOPPED_MESSAGE) from exc
        except BaseException:
            self._state = "broken"
            raise
        if event.get("event") != "error":
            return event
        message = str(event.get("message", ""))
        logger.info("yt-dlp error: %s", message)
        if event.get("memory"):
            self._state = "broken"
            raise InputTooLargeError("Fetching that video needs more memory than musicrec allows.")
        self._state = "over"
        raise error_for_ytdlp_message(message, before_contact=phase == "metadata")

    def _check_bytes(self) -> None:
        """Raise InputTooLargeError when the files in ``workdir`` are over the byte cap
        (while the worker downloads, from inside ``receive``, which then kills it)."""
        used = _tree_bytes(self._workdir, skip=self._cookies_copy)
        if used > self._settings.max_bytes:
            raise InputTooLargeError(
                "That video's audio is too large to fetch "
                f"(over {self._settings.max_bytes / 2**20:.1f} MiB for one clip)."
            )


def _copy_cookies(cookiefile: Path, workdir: Path) -> Path:
    """Copy the operator's cookies file into ``workdir`` for yt-dlp to read and rewrite.

    Only the bytes are copied, not the mode: the copy is writable by this process even when
    the original is read-only, and private because ``workdir`` is. Returns the copy's path.

    Raises:
        YouTubeNotReachedError: the cookies file cannot be read (its path is neither logged
            nor shown); yt-dlp was not started.
    """
    copy = workdir / _COOKIES_COPY
    try:
        shutil.copyfile(cookiefile, copy)
    except OSError as exc:
        logger.warning("cannot read the yt-dlp cookies file: %s", type(exc).__name__)
        raise YouTubeNotReachedError(
            "The YouTube cookies file could not be read; whoever runs musicrec needs to check it."
        ) from exc
    return copy


def _tree_bytes(directory: Path, *, skip: Path | None = None) -> int:
    """Total size of the files under ``directory`` but ``skip`` (vanishing files count 0)."""
    total = 0
    for root, _dirs, files in os.walk(directory):
        for name in files:
            path = os.path.join(root, name)
            if skip is not None and path == str(skip):
                continue
            with contextlib.suppress(OSError):
                total += os.stat(path).st_size
    return total


@contextlib.contextmanager
def _serve_test_video(video_id: str, url: str) -> Iterator[None]:
    """Tests only: inside the block, ``video_id`` is fetched from ``url`` on loopback.

    ``url`` must be ``http://`` on 127.0.0.0/8 or ::1 (a server the test runs); yt-dlp's
    generic extractor is used for it. Raises ValueError for any other URL.
    """
    parts = urlsplit(url)
    try:
        loopback = ipaddress.ip_address(parts.hostname or "").is_loopback
    except ValueError:
        loopback = False
    if parts.scheme != "http" or not loopback:
        raise ValueError(f"the test seam serves only http:// loopback URLs, not {url!r}")
    _TEST_MEDIA_URLS[video_id] = url
    try:
        yield
    finally:
        del _TEST_MEDIA_URLS[video_id]
