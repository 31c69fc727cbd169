"""The tests' HTTP server helper: a pinned send buffer keeps ``bytes_served`` honest."""

from __future__ import annotations

import socket
import time

from tests.helpers.http_server import LocalHTTPServer

BODY_BYTES = 16 * 2**20


def served_to_a_client_that_stops_reading(server: LocalHTTPServer) -> int:
    """Body bytes the server wrote once a client that read 1 KiB stops reading.

    The client's receive buffer is pinned to 32 KiB, so what the server counts beyond that
    sits in its own send buffer. Returns when the count has stopped growing.
    """
    server.add("/big", b"x" * BODY_BYTES)
    with socket.socket() as client:
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * 1024)
        client.settimeout(10)
        client.connect(("127.0.0.1", server.port))
        client.sendall(b"GET /big HTTP/1.0\r\n\r\n")
        client.recv(1024)
        served, deadline = -1, time.monotonic() + 10
        while time.monotonic() < deadline and served != server.bytes_served("/big"):
            served = server.bytes_served("/big")
            time.sleep(0.2)
        return served


def test_pinned_send_buffer_bounds_what_runs_ahead_of_the_client() -> None:
    with LocalHTTPServer(send_buffer_bytes=32 * 1024) as server:
        served = served_to_a_client_that_stops_reading(server)
    # 64 KiB in the server's send buffer (Linux doubles SO_SNDBUF), 64 KiB in the client's.
    assert 0 < served <= 512 * 1024, served


def test_send_buffer_can_be_pinned_on_a_running_server(http_server: LocalHTTPServer) -> None:
    http_server.send_buffer_bytes = 32 * 1024
    served = served_to_a_client_that_stops_reading(http_server)
    assert 0 < served <= 512 * 1024, served
