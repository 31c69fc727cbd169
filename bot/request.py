"""What a member asks to be heard: their Discord input turned into one validated request.

/recommend, the "Find similar music" context menu and links pasted in chat each turn their
Discord input into a core :class:`~musicrec_core.service.request.AudioRequest` here (a
Discord attachment is a :class:`~musicrec_core.service.request.RemoteFile`). Validation
reads nothing (only names, content types and declared sizes), so refusals are instant and
can be ephemeral; the request is then handed to :class:`bot.service.RequestService`, which
reads the input through the core service.
"""

from __future__ import annotations

from pathlib import PurePath

import discord

from musicrec_core.service.request import AudioRequest, RequestError, parse_start
from musicrec_core.sources.attachment import check_declared_size
from musicrec_core.sources.youtube import find_youtube_link, parse_youtube_link

AUDIO_SUFFIXES = frozenset(
    {
        ".aac", ".aif", ".aiff", ".alac", ".amr", ".ape", ".au", ".flac", ".m4a", ".mka",
        ".mp2", ".mp3", ".mp4", ".mpga", ".oga", ".ogg", ".opus", ".wav", ".webm", ".wma",
        ".mov", ".mkv", ".3gp",
    }
)  # fmt: skip
"""File name endings treated as audio when Discord gives no content type."""


def is_audio_attachment(attachment: discord.Attachment) -> bool:
    """Whether an attachment looks like audio or video (by content type or file name)."""
    content_type = (attachment.content_type or "").lower()
    if content_type.startswith(("audio/", "video/")):
        return True
    return PurePath(attachment.filename).suffix.lower() in AUDIO_SUFFIXES


def request_from_options(
    file: discord.Attachment | None,
    link: str | None,
    start: str | None,
    *,
    max_bytes: int,
) -> AudioRequest:
    """Validate /recommend's options: exactly one of ``file`` / ``link``.

    Raises:
        RequestError: none or both given, or a bad start time.
        LinkRejectedError: ``link`` is not a YouTube video link.
        InputTooLargeError: the attachment declares more than ``max_bytes``.
    """
    has_link = link is not None and bool(link.strip())
    if file is not None and has_link:
        raise RequestError("Give either a file or a link, not both.")
    if file is None and not has_link:
        raise RequestError("Attach an audio file (option `file`) or paste a YouTube link.")
    start_s = parse_start(start)
    if file is not None:
        check_declared_size(file.size, max_bytes)
        return AudioRequest(attachment=file, start_s=start_s)
    return AudioRequest(link=parse_youtube_link((link or "").strip()), start_s=start_s)


def request_from_message(message: discord.Message, *, max_bytes: int) -> AudioRequest:
    """The first audio attachment of ``message``, else its first YouTube link.

    Raises:
        RequestError: the message holds neither.
        InputTooLargeError: the attachment declares more than ``max_bytes``.
    """
    for attachment in message.attachments:
        if is_audio_attachment(attachment):
            check_declared_size(attachment.size, max_bytes)
            return AudioRequest(attachment=attachment)
    link = find_youtube_link(message.content or "")
    if link is not None:
        return AudioRequest(link=link)
    raise RequestError("That message has no audio attachment and no YouTube link.")
