"""A refusing HTTP proxy on 127.0.0.1, to see which host a client asks for without any
traffic leaving the machine."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator


@contextlib.contextmanager
def refusing_proxy() -> Iterator[tuple[str, list[bytes]]]:
    """An HTTP proxy on 127.0.0.1 that records each request's first bytes and answers 403.

    Yields (proxy URL, list of recorded requests). Lets a test see which host yt-dlp asks
    for without any traffic leaving the machine.
    """
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    seen: list[bytes] = []
    done = threading.Event()

    def refuse_every_tunnel() -> None:
        while not done.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                continue
            with connection:
                connection.settimeout(5)
                seen.append(connection.recv(4096))
                connection.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")

    thread = threading.Thread(target=refuse_every_tunnel, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", seen
    finally:
        done.set()
        thread.join(timeout=10)
        listener.close()
