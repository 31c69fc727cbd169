"""Verified HTTP(S) downloads: stream to a ``.part`` file, check the digest, rename into place.

Two entry points share one response reader, so both report the same errors the same way:

- :func:`download_file` stores a URL's body at a path. The body goes to ``<dest>.part``, its
  md5 or sha256 is checked when one is given, and only then is it renamed onto ``dest``
  (atomic on one file system). On any failure (HTTP error, unreachable host, time-out, a
  transfer cut short, a size cap, a digest mismatch, Ctrl-C) the ``.part`` file is removed
  and ``dest`` is left as it was.
- :func:`open_stream` yields the body as a readable binary file, for consumers that stream
  through it without storing it (e.g. ``tarfile.open(fileobj=..., mode="r|gz")``).

Failures raise :class:`~musicrec_core.errors.DownloadError` whose message names the URL and
what went wrong. ``timeout_s`` bounds the wait for a connection and for each read, so a
server that stalls for longer fails the download; it does not bound the total time.

Every URL fetched, after a mirror variable (:mod:`musicrec_core.mirrors`) and after each
redirect, must be ``https``, or plain ``http`` to a loopback host only: the rule of
:func:`musicrec_core.private_url.check_private_url`, the one the oEmbed endpoint and
Discord's URLs follow. What is downloaded becomes catalog rows and model weights, so nobody
on the path may write it.
"""

from __future__ import annotations

import http.client
import io
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from typing import IO

from tqdm import tqdm

from musicrec_core import __version__
from musicrec_core.errors import DownloadError
from musicrec_core.hashing import copy_digest
from musicrec_core.mirrors import mirrored
from musicrec_core.private_url import check_private_url

CHUNK_BYTES = 1 << 20
_USER_AGENT = f"musicrec/{__version__}"


def download_file(
    url: str,
    dest: Path,
    *,
    md5: str | None = None,
    sha256: str | None = None,
    timeout_s: float = 30.0,
    progress: bool = True,
    max_bytes: int | None = None,
) -> Path:
    """Download ``url`` to ``dest`` (parent folders created) and return ``dest``.

    Args:
        url: an https URL (or http to a loopback host).
        dest: where the file ends up; replaced only once the whole body arrived and matched.
        md5: expected hex md5 (any case) of the body; None skips the check.
        sha256: expected hex sha256 (any case) of the body, instead of ``md5``.
        timeout_s: seconds to wait for the connection and for each read.
        progress: show a progress bar on stderr (only when stderr is a terminal).
        max_bytes: refuse bodies larger than this many bytes.

    Raises:
        DownloadError: nothing was stored; the message names the URL and the cause.
    """
    if md5 is not None and sha256 is not None:
        raise ValueError("give md5 or sha256, not both")
    algorithm, expected = ("sha256", sha256) if sha256 is not None else ("md5", md5)
    dest = Path(dest)
    part = dest.with_name(dest.name + ".part")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        with (
            open_stream(url, timeout_s=timeout_s, progress=progress, max_bytes=max_bytes) as body,
            open(part, "wb") as out,
        ):
            digest = copy_digest(body, out, algorithm)
        if expected is not None and digest != expected.lower():
            raise DownloadError(
                f"The file downloaded from {url} is not the expected one "
                f"({algorithm} {digest}, expected {expected.lower()}); it was discarded."
            )
        os.replace(part, dest)
    except OSError as exc:
        _discard(part)
        raise DownloadError(f"Could not save {url} to {dest}: {exc.strerror or exc}.") from exc
    except BaseException:
        _discard(part)
        raise
    return dest


@contextmanager
def open_stream(
    url: str,
    *,
    timeout_s: float = 30.0,
    progress: bool = True,
    max_bytes: int | None = None,
) -> Iterator[io.BufferedReader]:
    """Open ``url`` (or its mirror, :func:`musicrec_core.mirrors.mirrored`) and yield its
    body as a readable binary file.

    Reads raise :class:`DownloadError` when the transfer stops before the announced
    Content-Length, stalls past ``timeout_s``, the connection breaks, or more than
    ``max_bytes`` arrive. A progress bar (stderr, only on a terminal) follows the bytes read.

    Raises:
        DownloadError: the URL (or its mirror) is not https, nor http to a loopback host;
            the host is unreachable, the server answered with an HTTP error, or a read
            failed as above.
    """
    url = mirrored(url)
    with ExitStack() as stack:
        response = stack.enter_context(_open_response(url, timeout_s))
        length = _content_length(response)
        if max_bytes is not None and length is not None and length > max_bytes:
            raise DownloadError(
                f"{url} is {length} bytes, over the {max_bytes} byte limit; nothing was downloaded."
            )
        bar = stack.enter_context(
            tqdm(
                total=length,
                desc=_display_name(url),
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                file=sys.stderr,
                disable=None if progress else True,
                leave=False,
            )
        )
        reader = _ResponseReader(url, response, length, max_bytes, timeout_s, bar)
        yield stack.enter_context(io.BufferedReader(reader, buffer_size=CHUNK_BYTES))


class _CheckedRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects only to URLs :func:`_checked_url` accepts."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: http.client.HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        try:
            _checked_url(newurl)
        except DownloadError as exc:
            raise DownloadError(f"{req.full_url} redirects elsewhere. {exc}") from None
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(_CheckedRedirects)


def _checked_url(url: str) -> str:
    """``url`` if it may be downloaded from (https, or http to a loopback host).

    Raises:
        DownloadError: another scheme, no host, or plain http to another host.
    """
    try:
        parts = urllib.parse.urlsplit(url)
        scheme, host = parts.scheme.lower(), parts.hostname
    except ValueError:
        scheme, host = "", None
    if scheme not in ("http", "https") or not host:
        raise DownloadError(f"Cannot download {url!r}: only http and https URLs are supported.")
    try:
        return check_private_url(url, secure="https", plain="http")
    except ValueError as exc:
        raise DownloadError(f"Cannot download {url}: {exc}.") from None


@contextmanager
def _open_response(url: str, timeout_s: float) -> Iterator[http.client.HTTPResponse]:
    """The response for a GET of ``url``, closed on exit; errors become DownloadError."""
    parts = urllib.parse.urlsplit(_checked_url(url))
    request = urllib.request.Request(
        url, headers={"User-Agent": _USER_AGENT, "Accept-Encoding": "identity"}
    )
    try:
        response = _OPENER.open(request, timeout=timeout_s)
    except urllib.error.HTTPError as exc:
        exc.close()
        raise DownloadError(
            f"Downloading {url} failed: the server answered HTTP {exc.code} {exc.reason}."
        ) from exc
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise DownloadError(_timeout_message(url, timeout_s)) from exc
        raise DownloadError(
            f"Could not reach {parts.hostname} to download {url}: {_reason(exc.reason)}."
        ) from exc
    except TimeoutError as exc:
        raise DownloadError(_timeout_message(url, timeout_s)) from exc
    except (OSError, http.client.HTTPException) as exc:
        raise DownloadError(
            f"Downloading {url} failed: the connection broke ({_reason(exc)})."
        ) from exc
    with response:
        yield response


class _ResponseReader(io.RawIOBase):
    """A raw binary reader over an HTTP response that turns every failure into DownloadError."""

    def __init__(
        self,
        url: str,
        response: http.client.HTTPResponse,
        length: int | None,
        max_bytes: int | None,
        timeout_s: float,
        bar: tqdm,
    ) -> None:
        super().__init__()
        self._url = url
        self._response = response
        self._length = length
        self._max_bytes = max_bytes
        self._timeout_s = timeout_s
        self._bar = bar
        self._received = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        """Fill ``buffer`` with the next body bytes; 0 only at the true end of the body."""
        try:
            n = self._response.readinto(buffer)
        except TimeoutError as exc:
            raise DownloadError(_timeout_message(self._url, self._timeout_s)) from exc
        except (OSError, http.client.HTTPException) as exc:
            raise DownloadError(self._cut_message(_reason(exc))) from exc
        if n == 0 and self._length is not None and self._received < self._length:
            raise DownloadError(self._cut_message("the connection closed early"))
        self._received += n
        if self._max_bytes is not None and self._received > self._max_bytes:
            raise DownloadError(
                f"{self._url} is larger than the {self._max_bytes} byte limit; "
                "the download was stopped."
            )
        self._bar.update(n)
        return n

    def _cut_message(self, cause: str) -> str:
        expected = "" if self._length is None else f" of {self._length}"
        return (
            f"The transfer of {self._url} was cut short after {self._received}{expected} "
            f"bytes ({cause})."
        )


def _discard(part: Path) -> None:
    """Remove a partial download, best effort (it may never have been created)."""
    with suppress(OSError):
        part.unlink()


def _content_length(response: http.client.HTTPResponse) -> int | None:
    """The announced body size in bytes, or None when absent or unparsable."""
    value = response.headers.get("Content-Length")
    try:
        length = int(value) if value is not None else None
    except ValueError:
        return None
    return length if length is not None and length >= 0 else None


def _display_name(url: str) -> str:
    """The last path segment of ``url`` (for the progress bar)."""
    path = urllib.parse.urlsplit(url).path
    return urllib.parse.unquote(path.rsplit("/", 1)[-1]) or url


def _reason(error: object) -> str:
    """A short human description of a socket or HTTP error."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__


def _timeout_message(url: str, timeout_s: float) -> str:
    return f"Downloading {url} timed out: no data for {timeout_s:g} s."
