"""A real HTTP server on 127.0.0.1 for tests, serving in-memory files that can misbehave.

Each path is registered with its bytes and, optionally, a misbehaviour: an error status, a
stall before or during the body, a connection cut after N body bytes, a lying
Content-Length, an answer held until the test releases it. A resource registered under a
path with its query (``/oembed?url=...``) answers exactly that request target; otherwise
the path alone decides. Range requests (``bytes=a-b``, ``bytes=a-``, ``bytes=-n``) get 206
answers.
The server counts the body bytes it sent per path, so a test can prove that a client read
only what it needed.

Use the ``http_server`` fixture (registered in tests/conftest.py)::

    def test_fetch(http_server):
        http_server.add("/model.bin", b"weights", content_type="application/octet-stream")
        http_server.add("/slow", b"x" * 1000, stall_s=5.0, stall_after=100)  # stall mid-body
        http_server.add("/cut", b"x" * 1000, cut_after=400)  # connection closed at 400 B
        http_server.add("/rst", b"x" * 1000, cut_after=400, reset=True)  # ... by a TCP reset
        http_server.add("/gone", b"", status=404)
        http_server.add("/held", b"late", release=event)  # no answer until event.set()
        url = http_server.url("/model.bin")  # "http://127.0.0.1:PORT/model.bin"
        ...
        assert http_server.bytes_served("/model.bin") == 7

or the class directly: ``with LocalHTTPServer() as server: ...``. Stalls end early when the
server closes, so a test never waits for one after it is done.

``bytes_served`` counts what was handed to the socket, and on loopback the kernel's send
buffer autotuning lets a response run megabytes ahead of a client that reads slowly (or has
stopped). A test that bounds what a client read pins the send buffer of each connection:
``LocalHTTPServer(send_buffer_bytes=32 * 1024)``, or ``http_server.send_buffer_bytes = ...``
with the fixture (it applies to connections accepted afterwards).
"""

from __future__ import annotations

import re
import socket
import struct
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

import pytest

_CHUNK_BYTES = 16 * 1024
_POLL_INTERVAL_S = 0.02  # how soon close() is noticed; serve_forever's default is 0.5 s
_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")
PROXY_VARIABLES = (
    # Proxy settings that would send a client's 127.0.0.1 requests elsewhere.
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
)


@dataclass(frozen=True)
class Resource:
    """One served path.

    Attributes:
        data: the full body.
        content_type: the Content-Type header value.
        status: answer status; anything but 200 sends ``data`` as the error body.
        stall_s: seconds to sleep, before the headers (``stall_after`` None) or after
            ``stall_after`` body bytes.
        stall_after: body bytes sent before the stall; None stalls before the headers.
        cut_after: close the connection after this many body bytes (no error status).
        reset: end that cut with a TCP reset (RST) instead of an orderly close (FIN).
        content_length: the Content-Length to claim instead of the true one (a lie), or -1
            to send none (the body then ends when the connection closes).
        headers: extra response headers, e.g. ``{"Location": url}`` with status 302.
        release: when given, nothing is answered (not even the headers) until this event is
            set or the server closes.
    """

    data: bytes
    content_type: str = "application/octet-stream"
    status: int = 200
    stall_s: float = 0.0
    stall_after: int | None = None
    cut_after: int | None = None
    reset: bool = False
    content_length: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    release: threading.Event | None = None


class LocalHTTPServer:
    """A threaded HTTP/1.0 server on 127.0.0.1 (a free port) serving registered resources.

    Attributes:
        send_buffer_bytes: SO_SNDBUF set on each connection accepted from now on (Linux
            doubles it for bookkeeping and stops autotuning it), or None for the kernel's
            autotuned default.
    """

    def __init__(self, *, send_buffer_bytes: int | None = None) -> None:
        self.send_buffer_bytes = send_buffer_bytes
        self._resources: dict[str, Resource] = {}
        self._served: dict[str, int] = {}
        self._requests: dict[str, list[dict[str, str]]] = {}
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": _POLL_INTERVAL_S},
            name="test-http-server",
            daemon=True,
        )
        self._thread.start()

    @property
    def port(self) -> int:
        """The TCP port the server listens on."""
        return int(self._httpd.server_address[1])

    def url(self, path: str) -> str:
        """The absolute URL of ``path`` (which starts with "/")."""
        return f"http://127.0.0.1:{self.port}{path}"

    def add(
        self,
        path: str,
        data: bytes,
        *,
        content_type: str = "application/octet-stream",
        status: int = 200,
        stall_s: float = 0.0,
        stall_after: int | None = None,
        cut_after: int | None = None,
        reset: bool = False,
        content_length: int | None = None,
        headers: Mapping[str, str] | None = None,
        release: threading.Event | None = None,
    ) -> str:
        """Serve ``data`` at ``path`` (see :class:`Resource` for the options); returns its URL.

        ``path`` may carry a query: that resource then answers only that exact target."""
        with self._lock:
            self._resources[path] = Resource(
                data,
                content_type,
                status,
                stall_s,
                stall_after,
                cut_after,
                reset,
                content_length,
                dict(headers or {}),
                release,
            )
        return self.url(path)

    def bytes_served(self, path: str) -> int:
        """Body bytes handed to the socket for ``path`` so far, over all requests (a chunk is
        counted just before it is written, so a client never reads bytes not yet counted).

        Kernel socket buffers accept data before the client reads it (megabytes on loopback
        unless ``send_buffer_bytes`` is pinned), so this bounds what a client could read,
        not what it did read.
        """
        with self._lock:
            return self._served.get(path, 0)

    def requests(self, path: str) -> list[dict[str, str]]:
        """The headers of every request received for ``path`` (a path alone counts every
        query on it; a path with its query counts that exact target), oldest first."""
        with self._lock:
            return list(self._requests.get(path, []))

    def close(self) -> None:
        """Stop serving; wakes any stalled handler."""
        self._closing.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> LocalHTTPServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # Called from handler threads.

    def _lookup(self, target: str, headers: dict[str, str]) -> Resource | None:
        path = target.split("?", 1)[0]
        with self._lock:
            self._requests.setdefault(path, []).append(headers)
            if target != path:
                self._requests.setdefault(target, []).append(headers)
            return self._resources.get(target) or self._resources.get(path)

    def _hold(self, release: threading.Event) -> None:
        while not release.wait(_POLL_INTERVAL_S) and not self._closing.is_set():
            pass

    def _count(self, path: str, n: int) -> None:
        with self._lock:
            self._served[path] = self._served.get(path, 0) + n

    def _stall(self, seconds: float) -> None:
        self._closing.wait(seconds)


def _byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """Parse a single-range Range header into [start, end) within ``size`` bytes.

    Returns None for no (or an unparsable) header; raises ValueError when unsatisfiable.
    """
    match = _RANGE.match(header.strip()) if header else None
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # suffix range: the last N bytes
        start, end = max(0, size - int(last)), size
    else:
        start = int(first)
        end = min(size, int(last) + 1) if last else size
    if start >= size or start >= end:
        raise ValueError(header)
    return start, end


def _make_handler(server: LocalHTTPServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def setup(self) -> None:
            if server.send_buffer_bytes is not None:
                self.request.setsockopt(
                    socket.SOL_SOCKET, socket.SO_SNDBUF, server.send_buffer_bytes
                )
            super().setup()

        def log_message(self, format: str, *args: object) -> None:
            """Keep test output quiet."""

        def do_HEAD(self) -> None:
            self._answer(send_body=False)

        def do_GET(self) -> None:
            self._answer(send_body=True)

        def _answer(self, *, send_body: bool) -> None:
            path = self.path.split("?", 1)[0]
            resource = server._lookup(self.path, dict(self.headers.items()))
            if resource is None:
                resource = Resource(b"not found", content_type="text/plain", status=404)
            if resource.release is not None:
                server._hold(resource.release)
            if resource.stall_s and resource.stall_after is None:
                server._stall(resource.stall_s)
            body, status = resource.data, resource.status
            extra_headers = {"Accept-Ranges": "bytes", **resource.headers}
            if status == HTTPStatus.OK:
                try:
                    span = _byte_range(self.headers.get("Range"), len(body))
                except ValueError:
                    status, body = HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE, b""
                    extra_headers["Content-Range"] = f"bytes */{len(resource.data)}"
                else:
                    if span is not None:
                        start, end = span
                        status, body = HTTPStatus.PARTIAL_CONTENT, body[start:end]
                        extra_headers["Content-Range"] = (
                            f"bytes {start}-{end - 1}/{len(resource.data)}"
                        )
            self.send_response(status)
            self.send_header("Content-Type", resource.content_type)
            claimed = resource.content_length if resource.content_length is not None else len(body)
            if claimed >= 0:
                self.send_header("Content-Length", str(claimed))
            for name, value in extra_headers.items():
                self.send_header(name, value)
            self.end_headers()
            if send_body:
                self._send_body(path, resource, body)

        def _send_body(self, path: str, resource: Resource, body: bytes) -> None:
            limit = len(body) if resource.cut_after is None else min(len(body), resource.cut_after)
            stall_at = resource.stall_after
            bounds = [limit] if stall_at is None or stall_at > limit else [stall_at, limit]
            sent = 0
            try:
                for number, bound in enumerate(bounds):
                    if number:
                        self.wfile.flush()
                        server._stall(resource.stall_s)
                    while sent < bound:
                        stop = min(bound, sent + _CHUNK_BYTES)
                        # Count first: a client that has read these bytes must find them
                        # counted, and this thread may run again only after the client has.
                        server._count(path, stop - sent)
                        self.wfile.write(body[sent:stop])
                        sent = stop
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client hung up, as clients under test may
            self.close_connection = True
            if resource.reset and resource.cut_after is not None:
                # Linger on, zero timeout: close() sends RST and discards unsent data.
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.connection.close()

    return Handler


@pytest.fixture
def http_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalHTTPServer]:
    """A running :class:`LocalHTTPServer`, closed after the test.

    Proxy settings are cleared for the test so clients reach 127.0.0.1 directly.
    """
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    with LocalHTTPServer() as server:
        yield server
