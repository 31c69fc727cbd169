"""An uploaded file, streamed from a ``multipart/form-data`` body into a private temporary
file that is always removed.

Mental model: an endpoint that takes a file depends on :func:`receive_upload` and declares
no ``File``/``Form`` parameters of its own (FastAPI would then read the body first). The
dependency parses the body as it arrives (python-multipart's streaming parser), writes the
part named ``file`` into a fresh ``mkstemp`` file (mode 0600, in ``upload_dir`` or the
system's temporary folder) and keeps the other fields as short texts. The endpoint gets an
:class:`Upload`; when its answer is done, or the request fails in any way (too large, too
slow, malformed, the client gone, cancelled), the file is deleted.

The size cap is :class:`~musicrec_core.api.body_guard.BodyGuard`'s: it refuses the body
while it streams, so no more than one 64 KiB piece is ever in memory and the file never
grows past ``max_upload_mib``.

Refusals (all :class:`~musicrec_core.api.http_errors.ApiError`): not multipart: 415; a
malformed or truncated body, no ``file`` part, two of them, an empty file, too many parts, a
field over :data:`MAX_FIELD_CHARS` or not UTF-8: 400.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import Request
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect

from musicrec_core.api.http_errors import ApiError

__all__ = ["FILE_FIELD", "MAX_FIELD_CHARS", "MAX_PARTS", "Upload", "receive_upload"]

FILE_FIELD = "file"
"""The form field that carries the file."""
MAX_PARTS = 16
"""Parts a form may have (the file and short fields such as ``start``)."""
MAX_FIELD_CHARS = 4096
"""Longest text field, in bytes of UTF-8."""
_MAX_PART_HEADER_BYTES = 8192
log = logging.getLogger(__name__)
_MAX_NAME_CHARS = 255


@dataclass(frozen=True)
class Upload:
    """One uploaded file, on disk for the duration of the request.

    Attributes:
        path: the private temporary file holding its bytes (deleted after the answer).
        filename: the name the client gave it, folders stripped; for display only.
        size: its length in bytes (> 0).
        fields: the form's other fields, name -> text.
    """

    path: Path
    filename: str | None
    size: int
    fields: Mapping[str, str]


@dataclass
class _Part:
    header_name: bytearray = field(default_factory=bytearray)
    header_value: bytearray = field(default_factory=bytearray)
    header_bytes: int = 0
    name: str | None = None
    filename: str | None = None
    text: bytearray = field(default_factory=bytearray)


class _FormReader:
    """python-multipart callbacks writing the file part to ``fd`` and keeping the rest."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.part = _Part()
        self.parts = 0
        self.size = 0
        self.file_seen = False
        self.filename: str | None = None
        self.fields: dict[str, str] = {}
        self.ended = False

    def callbacks(self) -> dict[str, object]:
        return {
            "on_part_begin": self.on_part_begin,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
            "on_end": self.on_end,
        }

    def on_part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise _bad(f"The form has more than {MAX_PARTS} parts.")
        self.part = _Part()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._count_header(end - start)
        self.part.header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._count_header(end - start)
        self.part.header_value += data[start:end]

    def _count_header(self, n: int) -> None:
        self.part.header_bytes += n
        if self.part.header_bytes > _MAX_PART_HEADER_BYTES:
            raise _bad("A form part's headers are too long.")

    def on_header_end(self) -> None:
        part = self.part
        if bytes(part.header_name).strip().lower() == b"content-disposition":
            _, options = parse_options_header(bytes(part.header_value))
            part.name = _text(options.get(b"name"))
            part.filename = _display_name(_text(options.get(b"filename")))
        part.header_name.clear()
        part.header_value.clear()

    def on_headers_finished(self) -> None:
        if not self.part.name:
            raise _bad("A form part has no name (Content-Disposition: form-data; name=...).")
        if self.part.name == FILE_FIELD:
            if self.file_seen:
                raise _bad(f"Send one file, in one field named {FILE_FIELD!r}.")
            self.file_seen = True
            self.filename = self.part.filename

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.part.name == FILE_FIELD:
            view = memoryview(data)[start:end]
            while view:
                view = view[os.write(self.fd, view) :]
            self.size += end - start
        else:
            self.part.text += data[start:end]
            if len(self.part.text) > MAX_FIELD_CHARS:
                raise _bad(f"The form field {self.part.name!r} is over {MAX_FIELD_CHARS} bytes.")

    def on_part_end(self) -> None:
        name = self.part.name
        if name is None or name == FILE_FIELD:
            return
        if name in self.fields:
            raise _bad(f"The form field {name!r} is given twice.")
        try:
            self.fields[name] = bytes(self.part.text).decode("utf-8")
        except UnicodeDecodeError:
            raise _bad(f"The form field {name!r} is not UTF-8 text.") from None

    def on_end(self) -> None:
        self.ended = True


def _bad(message: str) -> ApiError:
    return ApiError(400, "bad_upload", message)


def _text(raw: bytes | None) -> str | None:
    return None if raw is None else raw.decode("utf-8", "replace")


def _display_name(name: str | None) -> str | None:
    """The last path component of a client's file name, printable and at most 255 chars."""
    if name is None:
        return None
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    shown = "".join(char for char in base if char.isprintable())[:_MAX_NAME_CHARS]
    return shown or None


async def receive_upload(request: Request) -> AsyncIterator[Upload]:
    """FastAPI dependency: the request's uploaded file, deleted when the request ends.
    Needs ``app.state.api_settings`` (set by :func:`~musicrec_core.api.app.create_app`).

    Raises:
        ApiError: 415 not multipart; 400 a form that is malformed, truncated or lacks a
            non-empty ``file`` part (see the module docstring); 503 the upload folder
            cannot take a file (logged).
    """
    media_type, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if media_type != b"multipart/form-data" or not boundary:
        raise ApiError(
            415,
            "not_multipart",
            f"Send the file as multipart/form-data, in a field named {FILE_FIELD!r}.",
        )
    upload_dir = request.app.state.api_settings.upload_dir
    try:
        fd, name = tempfile.mkstemp(prefix="musicrec-upload-", dir=upload_dir)
    except OSError as exc:
        log.error("HTTP API: cannot create an upload file in %s: %s", upload_dir, exc)
        raise ApiError(
            503,
            "uploads_unavailable",
            "The server cannot store uploads right now; try again later.",
            headers={"Retry-After": "60"},
        ) from exc
    path = Path(name)
    try:
        try:
            reader = _FormReader(fd)
            parser = MultipartParser(boundary, reader.callbacks())  # type: ignore[arg-type]
            async for chunk in request.stream():
                parser.write(chunk)
            parser.finalize()
        except MultipartParseError as exc:
            raise _bad("The multipart body is malformed.") from exc
        except ClientDisconnect as exc:
            raise _bad("The client went away during the upload.") from exc
        finally:
            os.close(fd)
        if not reader.ended:
            raise _bad("The upload ended before its closing boundary.")
        if not reader.file_seen:
            raise _bad(f"The form has no field named {FILE_FIELD!r}.")
        if reader.size == 0:
            raise _bad("The uploaded file is empty.")
        yield Upload(path, reader.filename, reader.size, dict(reader.fields))
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
