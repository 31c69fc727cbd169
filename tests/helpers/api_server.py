"""The real API server (uvicorn, :func:`musicrec_core.api.runner.server_config`) on an
ephemeral 127.0.0.1 port in a thread, and raw-socket HTTP for the tests that misbehave.

    with RunningApi(app, settings) as api:
        status, headers, body = api.request("GET", "/healthz")
        answer = raw_exchange(api.port, b"GET /healthz HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")

:func:`raw_exchange` sends bytes (optionally a piece at a time with pauses, as a slow
client does) and reads the answer until the server closes or the read times out.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import uvicorn
from fastapi import FastAPI

from musicrec_core.api.runner import server_config
from musicrec_core.api.settings import ApiSettings

_START_WAIT_S = 10.0


class RunningApi:
    """``app`` served by uvicorn with ``settings`` (whose port should be 0) until exit."""

    def __init__(self, app: FastAPI, settings: ApiSettings) -> None:
        self.server = uvicorn.Server(server_config(app, settings))
        self._thread = threading.Thread(target=self.server.run, name="api-server", daemon=True)
        self.port = 0

    def __enter__(self) -> RunningApi:
        self._thread.start()
        deadline = time.monotonic() + _START_WAIT_S
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the API server did not start")
            time.sleep(0.01)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=10)

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, dict[str, str], Any]:
        """One request on a fresh connection: status, headers (lower-case names), and the
        body parsed as JSON when it is JSON, else its text."""
        return self.request_port(self.port, method, path, body=body, headers=headers)

    @staticmethod
    def request_port(
        port: int,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, dict[str, str], Any]:
        """:meth:`request` to any server on 127.0.0.1:``port`` (one in another process)."""
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            connection.request(method, path, body=body, headers=dict(headers or {}))
            response = connection.getresponse()
            raw = response.read()
            found = {name.lower(): value for name, value in response.getheaders()}
        finally:
            connection.close()
        return response.status, found, _parse(found.get("content-type", ""), raw)


@dataclass(frozen=True)
class RawAnswer:
    """What a raw exchange read: status (0 when nothing came), headers, parsed body."""

    status: int
    headers: dict[str, str]
    body: Any


def raw_exchange(
    port: int,
    pieces: bytes | Iterable[bytes],
    *,
    pause_s: float = 0.0,
    read_timeout_s: float = 10.0,
) -> RawAnswer:
    """Send ``pieces`` (pausing ``pause_s`` between them, stopping once the server has
    answered or closed) and read until the server closes or goes quiet."""
    if isinstance(pieces, bytes):
        pieces = [pieces]
    received = bytearray()
    with socket.create_connection(("127.0.0.1", port), timeout=read_timeout_s) as sock:
        for index, piece in enumerate(pieces):
            if index and pause_s:
                time.sleep(pause_s)
            if _answered(sock, received):
                break
            try:
                sock.sendall(piece)
            except OSError:
                break
        sock.settimeout(read_timeout_s)
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except (ConnectionResetError, TimeoutError):
            pass
    return _parse_raw(bytes(received))


def _answered(sock: socket.socket, received: bytearray) -> bool:
    """Whether the server has sent something or closed (read without waiting)."""
    sock.setblocking(False)
    try:
        chunk = sock.recv(65536)
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True
    finally:
        sock.setblocking(True)
    received += chunk
    return True


def _parse_raw(data: bytes) -> RawAnswer:
    if not data:
        return RawAnswer(0, {}, None)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return RawAnswer(status, headers, _parse(headers.get("content-type", ""), body))


def _parse(content_type: str, raw: bytes) -> Any:
    if content_type.startswith("application/json"):
        return json.loads(raw)
    return raw.decode("utf-8", "replace")


def multipart(
    fields: Mapping[str, str], files: Mapping[str, tuple[str, bytes]], boundary: str
) -> bytes:
    """A ``multipart/form-data`` body with text ``fields`` and ``files`` (name -> (file
    name, bytes)), separated by ``boundary``."""
    out = bytearray()
    for name, value in fields.items():
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        out += value.encode() + b"\r\n"
    for name, (filename, data) in files.items():
        out += (
            f"--{boundary}\r\nContent-Disposition: form-data; "
            f'name="{name}"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        out += data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out)
