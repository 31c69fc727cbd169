"""Request bodies as Discord reads them: JSON, or multipart/form-data carrying files.

A message with files (an interaction response, a follow-up, an edit, a channel message) is
sent as ``multipart/form-data``: a part named ``payload_json`` holding the JSON body that
would otherwise be the whole request (for an interaction callback ``{"type", "data"}``),
and one part per file named ``files[n]`` (n = 0, 1, ...) with its filename and a content
type (discord.py sends ``application/octet-stream``; the message's ``attachments`` list
names each file as ``{"id": n, "filename": ...}``). :func:`upload_violations` holds
Discord's checks on the files.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from aiohttp import BodyPartReader, web

MAX_FILES = 10
"""Files one message may carry."""
MAX_FILE_BYTES = 10 * 1024 * 1024
"""Bytes of one file (Discord's upload limit for bots in a server without boosts)."""
FILE_PART = re.compile(r"files\[(\d+)\]")


@dataclass(frozen=True)
class Upload:
    """One file the bot sent: its ``files[index]`` part, file name, content type and bytes."""

    index: int
    filename: str
    content_type: str
    data: bytes

    def text(self) -> str:
        """The file as UTF-8 text (raises UnicodeDecodeError when it is not)."""
        return self.data.decode("utf-8")


@dataclass
class Body:
    """A request's body: ``payload`` (parsed JSON, None when there was none) and, for a
    multipart body, its files and the form's own faults (``problems``, readable strings)."""

    payload: Any = None
    uploads: tuple[Upload, ...] = ()
    problems: tuple[str, ...] = ()


async def read_body(request: web.Request) -> Body:
    """The body of ``request``: JSON, multipart/form-data, or other bytes (recorded as
    ``{"raw_bytes": n, "content_type": ...}``)."""
    if not request.can_read_body:
        return Body()
    if request.content_type == "multipart/form-data":
        return await _read_form(request)
    raw = await request.read()
    if not raw:
        return Body()
    if request.content_type == "application/json":
        return Body(json.loads(raw))
    return Body({"raw_bytes": len(raw), "content_type": request.content_type})


async def _read_form(request: web.Request) -> Body:
    payload: Any = None
    uploads: list[Upload] = []
    problems: list[str] = []
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            problems.append("a nested multipart part")
            continue
        data = await part.read()
        name = part.name or ""
        file_part = FILE_PART.fullmatch(name)
        if name == "payload_json":
            payload = json.loads(data)
        elif file_part is not None:
            uploads.append(
                Upload(
                    int(file_part[1]),
                    part.filename or "",
                    part.headers.get("Content-Type", "application/octet-stream"),
                    bytes(data),
                )
            )
        else:
            problems.append(f"an unknown form part {name!r}")
    if payload is None:
        problems.append("a multipart body without payload_json")
    return Body(payload, tuple(uploads), tuple(problems))


def upload_violations(uploads: tuple[Upload, ...]) -> list[str]:
    """Discord's checks on the files of one message; empty when it would accept them."""
    problems: list[str] = []
    if len(uploads) > MAX_FILES:
        problems.append(f"{len(uploads)} files, more than {MAX_FILES}")
    for upload in uploads:
        label = f"files[{upload.index}]"
        if not upload.filename:
            problems.append(f"{label} without a filename")
        if len(upload.data) > MAX_FILE_BYTES:
            problems.append(f"{label}: {len(upload.data)} bytes, over {MAX_FILE_BYTES}")
    return problems
