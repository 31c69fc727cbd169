"""Discord attachments (and voice messages) to a 10-second clip, trusting nothing about them.

Refuse an oversized upload before downloading it, stream it to a private file, decode::

    check_declared_size(attachment.size, max_bytes)     # before reading: costs nothing
    async with streamed_upload(attachment.url, name=attachment.filename,
                               declared_size=attachment.size, max_bytes=max_bytes) as path:
        clip = clip_from_file(path, filename=attachment.filename)   # blocking: an executor

:func:`streamed_upload` never holds the upload in memory: the body goes in 64 KiB chunks
to a private temporary file (``musicrec-att-*``, mode 0600, no extension, removed on every
outcome), and the size cap is enforced on the declared size, on the ``Content-Length`` the
server announces and on the bytes actually received, whichever says "too large" first.
:func:`clip_from_bytes` does the same for bytes already in memory (tests, benchmarks), by
way of the same file and the same :func:`clip_from_file`.

The content is identified by ffprobe (through :func:`musicrec_core.audio.load_clip`), never
by the file name or the declared content type: a PNG named ``song.mp3`` is "not audio", an
Opus voice message named ``.bin`` is audio. Only the needed 10-second window is decoded.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import BinaryIO

from musicrec_core.audio import CANDIDATE_FRACTIONS, DEFAULT_TIMEOUT_S, load_clip
from musicrec_core.clip import Clip
from musicrec_core.errors import FetchError, InputTooLargeError
from musicrec_core.hashing import file_sha256

__all__ = [
    "DEFAULT_MAX_ATTACHMENT_BYTES",
    "DOWNLOAD_TIMEOUT_S",
    "LARGE_UPLOAD_BYTES",
    "check_declared_size",
    "clip_from_bytes",
    "clip_from_file",
    "streamed_upload",
]

DEFAULT_MAX_ATTACHMENT_BYTES = 25 * 2**20
"""Default cap on an attachment's size: 25 MiB."""

DOWNLOAD_TIMEOUT_S = 60.0
"""Wall-clock limit in seconds for downloading one attachment."""

LARGE_UPLOAD_BYTES = 4 * 2**20
"""Uploads over this size (4 MiB: a few minutes of MP3, 20 s of CD-quality WAV) are decoded
in the background CPU class: on a busy server the short clips most members send go first,
and a long file takes the CPU time they leave."""

_CHUNK_BYTES = 1 << 16
_MAX_NAME_CHARS = 100
_UNPRINTABLE_RE = re.compile(r"[\x00-\x1f\x7f]")


def check_declared_size(size: int, max_bytes: int) -> None:
    """Refuse an attachment whose declared size (bytes) is over ``max_bytes``.

    Raises:
        InputTooLargeError: with both sizes in MiB.
    """
    if size > max_bytes:
        raise InputTooLargeError(
            f"That file is {size / 2**20:.1f} MiB; the limit is {max_bytes / 2**20:.1f} MiB."
        )


@contextlib.asynccontextmanager
async def streamed_upload(
    url: str,
    *,
    name: str,
    declared_size: int,
    max_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES,
    timeout_s: float = DOWNLOAD_TIMEOUT_S,
) -> AsyncIterator[Path]:
    """Stream an upload from ``url`` (an http(s) URL, Discord's CDN) into a private file.

    Yields the file's path once the whole body is there; the file is removed when the
    block ends, however it ends. Nothing larger than one 64 KiB chunk is held in memory.
    No proxy or other setting is read from the environment.

    Args:
        url: where the upload is served.
        name: the upload's name as the user sent it (used only in messages).
        declared_size: the size in bytes the upload claims (checked before connecting).
        max_bytes: size cap, enforced on ``declared_size``, on the server's
            ``Content-Length`` and on the bytes received.
        timeout_s: wall-clock limit in seconds for the whole download.

    Raises:
        InputTooLargeError: over ``max_bytes`` by any of the three measures.
        FetchError: the server answered with an error, the connection failed or the
            download ran past ``timeout_s``.
    """
    import aiohttp  # here, not at the top: a file query (`musicrec recommend FILE`) never needs it

    check_declared_size(declared_size, max_bytes)
    display = display_name(name)
    with _private_file() as (file, path):
        try:
            timeout = aiohttp.ClientTimeout(total=timeout_s)
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.get(url) as response,
            ):
                if response.status != 200:
                    raise FetchError(f"Could not download {display}; please try again.")
                check_declared_size(response.content_length or 0, max_bytes)
                received = 0
                async for chunk in response.content.iter_chunked(_CHUNK_BYTES):
                    received += len(chunk)
                    check_declared_size(received, max_bytes)
                    file.write(chunk)
                file.flush()
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise FetchError(f"Could not download {display}; please try again.") from exc
        yield path


def clip_from_file(
    path: str | os.PathLike[str],
    *,
    filename: str,
    start_s: float | None = None,
    max_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    max_decoders: int = len(CANDIDATE_FRACTIONS),
) -> Clip:
    """Decode the 10-second window of an upload stored at ``path``. Blocking.

    Args:
        path: the upload's bytes, e.g. from :func:`streamed_upload` (the caller removes it).
        filename: its name as the user sent it; used only in the provenance and messages.
        start_s: start of the window in seconds; None picks it by the audio module's rule.
        max_bytes: size cap, checked again here on the file's real size.
        timeout_s: wall-clock limit for probing and decoding, in seconds.
        max_decoders: ffmpeg processes run at once (see :func:`~musicrec_core.audio.load_clip`).
            A file over :data:`LARGE_UPLOAD_BYTES` is probed and decoded in the background
            (``load_clip``'s ``background``).

    Returns:
        A Clip (float32 [n] at 16 kHz) with provenance kind "attachment", ``ref`` the
        cleaned file name and ``content_sha256`` the sha256 of the upload (so an upload of
        a library track is not recommended to itself).

    Raises:
        InputTooLargeError: the file is over ``max_bytes``.
        AudioError: not audio, too short, unreadable or timed out (see musicrec_core.audio).
    """
    size = os.stat(path).st_size
    check_declared_size(size, max_bytes)
    name = display_name(filename)
    clip = load_clip(
        path,
        start_s=start_s,
        timeout_s=timeout_s,
        kind="attachment",
        ref=name,
        max_decoders=max_decoders,
        background=size > LARGE_UPLOAD_BYTES,
    )
    return clip.with_content_sha256(file_sha256(Path(path)))


def clip_from_bytes(
    data: bytes,
    *,
    filename: str,
    start_s: float | None = None,
    max_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> Clip:
    """:func:`clip_from_file` for an upload already in memory (``data``: the whole file).

    The bytes go to the same kind of private temporary file, removed on every outcome.

    Raises:
        InputTooLargeError: ``data`` is over ``max_bytes``.
        AudioError: as :func:`clip_from_file`.
    """
    check_declared_size(len(data), max_bytes)
    with _private_file() as (file, path):
        file.write(data)
        file.flush()
        return clip_from_file(
            path, filename=filename, start_s=start_s, max_bytes=max_bytes, timeout_s=timeout_s
        )


@contextlib.contextmanager
def _private_file() -> Iterator[tuple[BinaryIO, Path]]:
    """A new ``musicrec-att-*`` temporary file (mode 0600), open for writing; removed after."""
    descriptor, name = tempfile.mkstemp(prefix="musicrec-att-")
    try:
        with os.fdopen(descriptor, "wb") as file:
            yield file, Path(name)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)


def display_name(filename: str) -> str:
    """The base name of an uploaded file, without control characters, at most 100 chars."""
    base = re.split(r"[/\\]", filename)[-1]
    base = _UNPRINTABLE_RE.sub("", base).strip()
    if len(base) > _MAX_NAME_CHARS:
        base = base[: _MAX_NAME_CHARS - 1] + "\u2026"
    return base or "attachment"
