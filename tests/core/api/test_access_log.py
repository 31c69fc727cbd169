"""The API's access log line: bounded whatever the request target, inert, never a key; and
the setting that turns it off. (A real server's line: tests/core/api/test_http_transport.py.)
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI

from musicrec_core.api.access_log import (
    KEY_NAME_CHARS,
    KEY_NAME_STATE,
    PATH_CHARS,
    QUERY_CHARS,
    AccessLog,
    access_line,
)
from musicrec_core.api.runner import server_config
from musicrec_core.api.settings import ApiSettings

LINE_LIMIT = 300
"""What the operator is promised (docs/operations.md): a line under 300 characters."""


def scope(path: bytes, query: bytes = b"", **more: Any) -> dict[str, Any]:
    return {
        "type": "http",
        "method": "GET",
        "raw_path": path,
        "path": path.decode("latin-1"),
        "query_string": query,
        "client": ("127.0.0.1", 50123),
        "headers": [(b"authorization", b"Bearer mrk_secret")],
        **more,
    }


def test_a_10_kb_query_is_cut_and_says_how_much_was_left_out() -> None:
    query = b"seed=dQw4w9WgXcQ&n=5&exclude=" + b"abcdefghijk," * 850
    line = access_line(scope(b"/v1/similar", query), 400, 3.4)
    shown = query[:QUERY_CHARS].decode()
    assert line == (
        f'127.0.0.1 - "GET /v1/similar?{shown}...(+{len(query) - QUERY_CHARS}B)" 400 3 ms'
    )
    assert len(query) > 10_000 and len(line) < LINE_LIMIT


def test_the_longest_head_still_makes_a_short_inert_line() -> None:
    hostile = bytes(range(256)) * 64  # 16 KiB: quotes, backslashes, escapes, bytes > 0x7f
    longest = scope(
        hostile, hostile, method="M" * 4096, client=("f" * 45, 1), state={KEY_NAME_STATE: "k" * 64}
    )
    line = access_line(longest, None, 3_600_000.0)
    assert len(line) < LINE_LIMIT
    assert line.isascii() and line.isprintable()
    assert line.count('"') == 2 and line.endswith('" - 3600000 ms')  # the longest request
    _, target = line.split('"')[1].split(" ")
    assert line.split(" ")[1] == f"{'k' * KEY_NAME_CHARS}...(+{64 - KEY_NAME_CHARS}B)"
    fit = PATH_CHARS // 4  # the first 33 bytes (0x00 to the space) are 4 characters each
    escaped = "".join(f"\\x{byte:02x}" for byte in range(fit))
    assert target.partition("?")[0] == f"{escaped}...(+{len(hostile) - fit}B)"


def test_quotes_backslashes_and_control_bytes_are_escaped() -> None:
    line = access_line(scope(b'/a"\x1b[2J\\\xff', b'q="x"'), 200, 1.0)
    assert line == '127.0.0.1 - "GET /a\\x22\\x1b[2J\\x5c\\xff?q=\\x22x\\x22" 200 1 ms'


def test_the_key_check_names_the_caller_in_a_short_inert_word() -> None:
    line = access_line(scope(b"/v1/similar", state={KEY_NAME_STATE: "jukebox"}), 200, 1.0)
    assert line == '127.0.0.1 jukebox "GET /v1/similar" 200 1 ms'
    hostile = 'a" 200 0 ms\nforged ' * 20
    line = access_line(scope(b"/", state={KEY_NAME_STATE: hostile}), 200, 1.0)
    assert line.isprintable() and line.count('"') == 2 and len(line.split(" ")[1]) < 60


def test_no_header_is_written() -> None:
    line = access_line(scope(b"/v1/similar", b"seed=abc"), 200, 1.0)
    assert "mrk_secret" not in line and "Bearer" not in line


@pytest.mark.parametrize("on", [True, False])
def test_the_setting_turns_musicrecs_line_on_or_off_and_uvicorns_is_always_off(
    on: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MUSICREC_API_ACCESS_LOG", str(on).lower())
    app = FastAPI()
    config = server_config(app, ApiSettings(_env_file=None))
    assert config.access_log is False
    assert isinstance(config.app, AccessLog) is on
    assert (config.app.app if on else config.app) is app
