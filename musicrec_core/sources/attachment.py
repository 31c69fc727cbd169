"""Discord attachments (and voice messages) to a 10-second clip, trusting nothing about them.

Two steps, so a caller can refuse an oversized upload before downloading it::

    check_declared_size(attachment.size, max_bytes)     # before reading: costs nothing
    clip = clip_from_bytes(await attachment.read(), filename=attachment.filename)

The bytes go to a private temporary file (``musicrec-att-*``, no extension, removed on
every outcome). Its content is identified by ffprobe (through
:func:`musicrec_core.audio.load_clip`), never by the file name or the declared content
type: a PNG named ``song.mp3`` is "not audio", an Opus voice message named ``.bin`` is
audio. Only the needed 10-second window is decoded.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile

from musicrec_core.audio import DEFAULT_TIMEOUT_S, load_clip
from musicrec_core.clip import Clip
from musicrec_core.errors import InputTooLargeError

__all__ = ["DEFAULT_MAX_ATTACHMENT_BYTES", "check_declared_size", "clip_from_bytes"]

DEFAULT_MAX_ATTACHMENT_BYTES = 25 * 2**20
"""Default cap on an attachment's size: 25 MiB."""

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


def clip_from_bytes(
    data: bytes,
    *,
    filename: str,
    start_s: float | None = None,
    max_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> Clip:
    """Decode the 10-second window of an uploaded file's bytes.

    Args:
        data: the whole file as uploaded.
        filename: its name as the user sent it; used only in the provenance and messages.
        start_s: start of the window in seconds; None picks it by the audio module's rule.
        max_bytes: size cap, checked again here on the real length.
        timeout_s: wall-clock limit for probing and decoding, in seconds.

    Returns:
        A Clip (float32 [n] at 16 kHz) with provenance kind "attachment", ``ref`` the
        cleaned file name and ``content_sha256`` the sha256 of ``data`` (so an upload of a
        library track is not recommended to itself).

    Raises:
        InputTooLargeError: ``data`` is over ``max_bytes``.
        AudioError: not audio, too short, unreadable or timed out (see musicrec_core.audio).
    """
    check_declared_size(len(data), max_bytes)
    name = display_name(filename)
    descriptor, path = tempfile.mkstemp(prefix="musicrec-att-")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
        clip = load_clip(path, start_s=start_s, timeout_s=timeout_s, kind="attachment", ref=name)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    return clip.with_content_sha256(hashlib.sha256(data).hexdigest())


def display_name(filename: str) -> str:
    """The base name of an uploaded file, without control characters, at most 100 chars."""
    base = re.split(r"[/\\]", filename)[-1]
    base = _UNPRINTABLE_RE.sub("", base).strip()
    if len(base) > _MAX_NAME_CHARS:
        base = base[: _MAX_NAME_CHARS - 1] + "\u2026"
    return base or "attachment"
