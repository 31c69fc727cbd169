"""The HTTP API's transport against a real uvicorn server on 127.0.0.1: JSON errors with the
right 4xx, the key check and its limits, the body, header, connection and time caps,
streamed uploads that leave no temporary file, the access log line, ``/healthz`` and
``/metrics``.

The ``/v1`` endpoints come with the request service, so this module adds **test-only
routes** to the app (``/test/...``): a JSON echo and a query echo behind the key check, an
upload that reports what it received, a route held open, a slow route and one that raises.
They use the same dependencies the real endpoints will (``require_caller``,
``receive_upload``). One server serves the whole module; a second one, with anonymous
loopback access, a connection limit of 2 and a missing upload folder, serves the tests of
those.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from musicrec_core.api.app import create_app
from musicrec_core.api.auth import Caller, require_caller
from musicrec_core.api.health import CatalogStatus
from musicrec_core.api.key_limits import KeyLimits
from musicrec_core.api.keys import ApiKeyStore
from musicrec_core.api.settings import ApiSettings
from musicrec_core.api.upload import Upload, receive_upload
from musicrec_core.metrics import ServiceMetrics
from tests.helpers.api_server import RunningApi, multipart, raw_exchange

JSON_CAP_KIB = 4
UPLOAD_CAP_MIB = 1
SLOW_S = 1.0
"""The header, body and answer deadlines of the module's server, in seconds."""
BOUNDARY = "musicrec-test-boundary"
FORM = f"multipart/form-data; boundary={BOUNDARY}"


class Echo(BaseModel):
    n: int = Field(ge=1, le=100)
    ids: list[str] = Field(default_factory=list, max_length=10)


class Hold:
    """A route's rendezvous: ``entered`` once it runs, then it waits for ``release``."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()


def _test_routes(hold: Hold, seen_paths: list[Path]) -> APIRouter:
    router = APIRouter(prefix="/test")

    @router.post("/echo")
    def echo(body: Echo, caller: Caller = Depends(require_caller)) -> dict[str, Any]:  # noqa: B008
        return {"caller": caller.name, "n": body.n}

    @router.get("/query")
    def query(
        n: int = Query(ge=1, le=100),
        caller: Caller = Depends(require_caller),  # noqa: B008
    ) -> dict[str, Any]:
        return {"caller": caller.name, "n": n}

    @router.post("/upload")
    def upload(
        caller: Caller = Depends(require_caller),  # noqa: B008
        file: Upload = Depends(receive_upload),  # noqa: B008
    ) -> dict[str, Any]:
        seen_paths.append(file.path)
        mode = file.path.stat().st_mode & 0o777
        return {
            "sha256": hashlib.sha256(file.path.read_bytes()).hexdigest(),
            "size": file.size,
            "filename": file.filename,
            "fields": dict(file.fields),
            "mode": mode,
        }

    @router.get("/hold")
    async def held(caller: Caller = Depends(require_caller)) -> dict[str, str]:  # noqa: B008
        hold.entered.set()
        await anyio.to_thread.run_sync(hold.release.wait, 10)
        return {"done": "yes"}

    @router.get("/slow")
    async def slow() -> dict[str, str]:
        await anyio.sleep(30)
        return {"done": "never"}

    @router.get("/boom")
    def boom() -> None:
        raise RuntimeError("a bug in an endpoint")

    return router


class Served:
    """The module's server and what its tests need to reach into."""

    def __init__(self, tmp: Path) -> None:
        self.upload_dir = tmp / "uploads"
        self.upload_dir.mkdir()
        self.keys_path = tmp / "keys.sqlite3"
        self.store = ApiKeyStore(self.keys_path)
        self.key = self.store.add("jukebox", KeyLimits(rate=1000, burst=10_000, inflight=1000))
        self.catalog: CatalogStatus | None = None
        self.hold = Hold()
        self.seen_paths: list[Path] = []
        self.settings = ApiSettings(
            _env_file=None,
            port=0,
            keys_path=self.keys_path,
            upload_dir=self.upload_dir,
            max_header_kib=4,
            max_json_kib=JSON_CAP_KIB,
            max_upload_mib=UPLOAD_CAP_MIB,
            header_timeout_s=SLOW_S,
            body_timeout_s=SLOW_S,
            request_timeout_s=SLOW_S * 1.5,
            keepalive_s=1,
        )
        self.app = create_app(
            settings=self.settings,
            keys=self.store,
            probe=lambda: self.catalog,
            metrics=ServiceMetrics(),
            routers=[_test_routes(self.hold, self.seen_paths)],
        )

    def auth(self, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.key}"}

    def uploads_left(self) -> list[str]:
        """The upload folder's files, once the request's clean-up has had its chance."""
        deadline = time.monotonic() + 5
        while (left := os.listdir(self.upload_dir)) and time.monotonic() < deadline:
            time.sleep(0.02)
        return left


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, RunningApi]]:
    parts = Served(tmp_path_factory.mktemp("api"))
    with RunningApi(parts.app, parts.settings) as api:
        yield parts, api
    parts.store.close()


def _json_post(api: RunningApi, path: str, payload: bytes, headers: dict[str, str]):
    return api.request(
        "POST", path, body=payload, headers={**headers, "Content-Type": "application/json"}
    )


def _error_code(body: Any) -> str:
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    return body["error"]["code"]


# --- errors ------------------------------------------------------------------------------


def test_unknown_path_and_wrong_method_are_json_errors(served) -> None:
    _, api = served
    status, _, body = api.request("GET", "/nowhere/../../etc/passwd")
    assert (status, _error_code(body)) == (404, "not_found")
    status, headers, body = api.request("POST", "/healthz")
    assert (status, _error_code(body)) == (405, "method_not_allowed")
    assert headers["allow"] == "GET"


def test_bad_json_and_bad_fields_get_readable_400s(served) -> None:
    parts, api = served
    status, _, body = _json_post(api, "/test/echo", b'{"n": ', parts.auth())
    assert (status, _error_code(body)) == (400, "invalid_request")
    assert "not valid JSON" in body["error"]["message"]
    status, _, body = _json_post(api, "/test/echo", b'{"n": "many"}', parts.auth())
    assert status == 400 and "body field 'n'" in body["error"]["message"]
    assert "valid integer" in body["error"]["message"]
    status, _, body = _json_post(api, "/test/echo", b"{}", parts.auth())
    assert status == 400 and body["error"]["message"] == "body field 'n': is required."
    status, _, body = api.request("GET", "/test/query?n=0", headers=parts.auth())
    assert status == 400 and "query parameter 'n'" in body["error"]["message"]
    status, _, body = _json_post(api, "/test/echo", b'{"n": 5}', parts.auth())
    assert (status, body) == (200, {"caller": "jukebox", "n": 5})


def test_an_unexpected_exception_is_a_generic_500_and_a_log_line(served, caplog) -> None:
    _, api = served
    status, _, body = api.request("GET", "/test/boom")
    assert (status, _error_code(body)) == (500, "internal")
    assert "bug" not in body["error"]["message"]
    assert any("unexpected error on GET /test/boom" in r.getMessage() for r in caplog.records)


def test_a_request_is_one_short_access_line_without_its_key(served, caplog) -> None:
    parts, api = served
    caplog.set_level(logging.INFO, "musicrec_core.api.access")
    target = "/test/query?n=1&exclude=" + "x" * 3500  # near the module's 4 KiB head cap
    status, _, _ = api.request("GET", target, headers=parts.auth())
    assert status == 200
    deadline = time.monotonic() + 5  # the line is written once the answer has been sent
    while not (lines := _logged(caplog, "musicrec_core.api.access")):
        assert time.monotonic() < deadline, "no access line"
        time.sleep(0.01)
    (line,) = lines
    assert line.startswith('127.0.0.1 jukebox "GET /test/query?n=1&exclude=xxx')
    assert "...(+" in line and '" 200 ' in line and line.endswith(" ms")
    assert len(line) < 300 and parts.key not in line
    assert not _logged(caplog, "uvicorn.access")


def _logged(caplog: pytest.LogCaptureFixture, logger: str) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == logger]


def test_an_answer_over_the_request_time_cap_is_503(served) -> None:
    _, api = served
    status, _, body = api.request("GET", "/test/slow")
    assert (status, _error_code(body)) == (503, "request_timeout")


# --- keys ----------------------------------------------------------------------------------


def test_no_key_a_wrong_scheme_and_a_bad_key_are_401_with_www_authenticate(served) -> None:
    parts, api = served
    for headers, code in (
        ({}, "missing_key"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "missing_key"),
        (parts.auth("mrk_" + "x" * 43), "invalid_key"),
        (parts.auth("not-a-key"), "invalid_key"),
    ):
        status, found, body = api.request("GET", "/test/query?n=1", headers=headers)
        assert (status, _error_code(body)) == (401, code), headers
        assert found["www-authenticate"].startswith('Bearer realm="musicrec"')
    assert 'error="invalid_token"' in found["www-authenticate"]


def test_a_key_revoked_by_another_process_is_refused_within_seconds(served) -> None:
    parts, api = served
    key = parts.store.add("short-lived", KeyLimits())
    assert api.request("GET", "/test/query?n=1", headers=parts.auth(key))[0] == 200
    other_process = ApiKeyStore(parts.keys_path)
    other_process.revoke("short-lived")
    other_process.close()
    deadline = time.monotonic() + 5
    status = 200
    while status == 200 and time.monotonic() < deadline:
        time.sleep(0.1)
        status, _, body = api.request("GET", "/test/query?n=1", headers=parts.auth(key))
    assert (status, _error_code(body)) == (401, "invalid_key")


def test_an_empty_bucket_is_429_with_retry_after(served) -> None:
    parts, api = served
    key = parts.store.add("trickle", KeyLimits(rate=0.01, burst=2))
    answers = [api.request("GET", "/test/query?n=1", headers=parts.auth(key)) for _ in range(3)]
    assert [status for status, _, _ in answers] == [200, 200, 429]
    _, headers, body = answers[2]
    assert _error_code(body) == "rate_limited"
    assert 1 <= int(headers["retry-after"]) <= 100


def test_a_key_over_its_in_flight_limit_is_429_until_one_ends(served) -> None:
    parts, api = served
    key = parts.store.add("single", KeyLimits(inflight=1))
    first: list[int] = []
    worker = threading.Thread(
        target=lambda: first.append(api.request("GET", "/test/hold", headers=parts.auth(key))[0])
    )
    worker.start()
    try:
        assert parts.hold.entered.wait(5)
        status, headers, body = api.request("GET", "/test/query?n=1", headers=parts.auth(key))
        assert (status, _error_code(body)) == (429, "too_many_in_flight")
        assert headers["retry-after"] == "1"
    finally:
        parts.hold.release.set()
        worker.join(10)
    assert first == [200]
    assert api.request("GET", "/test/query?n=1", headers=parts.auth(key))[0] == 200


# --- body, header and time caps ------------------------------------------------------------


def _post_head(parts: Served, path: str, content_type: str, length: int | None) -> bytes:
    """A POST's head with the module key: ``Content-Length: length``, or chunked if None."""
    framing = "Transfer-Encoding: chunked" if length is None else f"Content-Length: {length}"
    return (
        f"POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: {content_type}\r\n"
        f"Authorization: Bearer {parts.key}\r\n{framing}\r\n\r\n"
    ).encode()


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def test_a_declared_body_over_the_cap_is_413_before_it_is_sent(served) -> None:
    parts, api = served
    head = _post_head(parts, "/test/echo", "application/json", JSON_CAP_KIB * 1024 + 1)
    answer = raw_exchange(api.port, head)  # no body sent: the answer cannot wait for it
    assert (answer.status, _error_code(answer.body)) == (413, "body_too_large")
    assert answer.headers["connection"] == "close"


def test_a_chunked_body_over_the_cap_is_413_while_streaming(served) -> None:
    parts, api = served
    head = _post_head(parts, "/test/echo", "application/json", None)
    chunks = [_chunk(b" " * 1024)] * (JSON_CAP_KIB + 2)
    answer = raw_exchange(api.port, [head, *chunks], pause_s=0.02)
    assert (answer.status, _error_code(answer.body)) == (413, "body_too_large")


def test_a_body_that_trickles_in_is_408(served) -> None:
    parts, api = served
    head = _post_head(parts, "/test/echo", "application/json", 200)
    answer = raw_exchange(api.port, [head] + [b" "] * 200, pause_s=SLOW_S / 4)
    assert (answer.status, _error_code(answer.body)) == (408, "body_timeout")


def test_headers_that_trickle_in_are_408(served) -> None:
    _, api = served
    pieces = [b"GET /healthz HTTP/1.1\r\n"] + [b"X-Slow: %d\r\n" % i for i in range(40)]
    answer = raw_exchange(api.port, pieces, pause_s=SLOW_S / 4)
    assert (answer.status, _error_code(answer.body)) == (408, "header_timeout")


def test_headers_over_the_cap_are_431(served) -> None:
    _, api = served
    request = b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 8192 + b"\r\n\r\n"
    answer = raw_exchange(api.port, request)
    assert (answer.status, _error_code(answer.body)) == (431, "headers_too_large")


def test_a_head_growing_past_the_cap_is_refused_before_it_ends(served) -> None:
    _, api = served
    pieces = [b"GET /healthz HTTP/1.1\r\nHost: t\r\n"] + [b"X-Big: " + b"a" * 1000 + b"\r\n"] * 8
    answer = raw_exchange(api.port, pieces, pause_s=0.02)  # the blank line never comes
    assert (answer.status, _error_code(answer.body)) == (400, "bad_http")


# --- uploads -------------------------------------------------------------------------------


def _upload(api: RunningApi, parts: Served, body: bytes):
    headers = {**parts.auth(), "Content-Type": FORM}
    return api.request("POST", "/test/upload", body=body, headers=headers)


def test_an_upload_reaches_the_endpoint_as_a_private_file_that_is_then_removed(served) -> None:
    parts, api = served
    data = os.urandom(300_000)
    body = multipart({"start": "12.5"}, {"file": ("../../secret/song.mp3", data)}, BOUNDARY)
    status, _, answer = _upload(api, parts, body)
    assert status == 200, answer
    assert answer == {
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
        "filename": "song.mp3",
        "fields": {"start": "12.5"},
        "mode": 0o600,
    }
    assert parts.seen_paths[-1].parent == parts.upload_dir
    assert parts.uploads_left() == []


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (multipart({"start": "1"}, {}, BOUNDARY), 400, "bad_upload"),  # no file
        (multipart({}, {"file": ("a.mp3", b"")}, BOUNDARY), 400, "bad_upload"),  # empty
        (multipart({}, {"file": ("a.mp3", b"x" * 5000)}, BOUNDARY)[:-40], 400, "bad_upload"),
        (b"--not-the-boundary\r\ngarbage", 400, "bad_upload"),
    ],
    ids=["no-file", "empty-file", "truncated", "malformed"],
)
def test_a_bad_upload_is_400_and_leaves_no_file(served, body, status, code) -> None:
    parts, api = served
    found, _, answer = _upload(api, parts, body)
    assert (found, _error_code(answer)) == (status, code)
    assert parts.uploads_left() == []


def test_an_upload_that_is_not_multipart_is_415(served) -> None:
    parts, api = served
    status, _, body = _json_post(api, "/test/upload", b"{}", parts.auth())
    assert (status, _error_code(body)) == (415, "not_multipart")


def test_an_upload_over_the_cap_is_413_while_streaming_and_leaves_no_file(served) -> None:
    parts, api = served
    head = _post_head(parts, "/test/upload", FORM, None)
    opening = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\n'
    ).encode()
    piece = 64 * 1024
    chunks = [_chunk(opening)] + [_chunk(b"x" * piece)] * (UPLOAD_CAP_MIB * 16 + 4)
    answer = raw_exchange(api.port, [head, *chunks], pause_s=0.005)
    assert (answer.status, _error_code(answer.body)) == (413, "body_too_large")
    assert parts.uploads_left() == []


def test_an_upload_that_trickles_in_is_408_and_leaves_no_file(served) -> None:
    parts, api = served
    body = multipart({}, {"file": ("a.mp3", b"x" * 100)}, BOUNDARY)
    head = _post_head(parts, "/test/upload", FORM, len(body))
    pieces = [head, body[:150]] + [bytes([b]) for b in body[150:]]
    answer = raw_exchange(api.port, pieces, pause_s=SLOW_S / 4)
    assert (answer.status, _error_code(answer.body)) == (408, "body_timeout")
    assert parts.uploads_left() == []


# --- health and metrics ----------------------------------------------------------------------


def test_healthz_says_not_ready_then_the_catalog(served) -> None:
    parts, api = served
    parts.catalog = None
    assert api.request("GET", "/healthz")[::2] == (503, {"ready": False, "catalog": None})
    parts.catalog = CatalogStatus(fingerprint="abc123", items=42)
    status, _, body = api.request("GET", "/healthz")
    assert (status, body) == (
        200,
        {"ready": True, "catalog": {"fingerprint": "abc123", "items": 42}},
    )


def test_the_openapi_schema_lists_the_routes_and_the_bearer_scheme(served) -> None:
    _, api = served
    status, _, schema = api.request("GET", "/openapi.json")
    assert status == 200
    assert {"/healthz", "/metrics", "/test/echo"} <= set(schema["paths"])
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


def test_metrics_are_the_service_registry_in_prometheus_text(served) -> None:
    parts, api = served
    parts.catalog = CatalogStatus(fingerprint="abc123", items=42)
    status, headers, text = api.request("GET", "/metrics")
    assert status == 200 and headers["content-type"].startswith("text/plain")
    assert "musicrec_catalog_items 42.0" in text.splitlines()
    assert 'musicrec_catalog_info{fingerprint="abc123"} 1.0' in text.splitlines()


# --- anonymous loopback and the connection limit ----------------------------------------------


@pytest.fixture(scope="module")
def open_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApi]:
    tmp = tmp_path_factory.mktemp("open")
    settings = ApiSettings(
        _env_file=None,
        port=0,
        keys_path=tmp / "keys.sqlite3",
        anonymous_loopback=True,
        upload_dir=tmp / "no-such-folder",
        max_connections=2,
        header_timeout_s=5,
    )
    store = ApiKeyStore(settings.keys_path)
    app = create_app(
        settings=settings,
        keys=store,
        probe=lambda: CatalogStatus(fingerprint="open", items=1),
        metrics=ServiceMetrics(),
        routers=[_test_routes(Hold(), [])],
    )
    with RunningApi(app, settings) as api:
        yield api
    store.close()


def test_anonymous_loopback_requests_are_served_when_turned_on(open_server) -> None:
    status, _, body = open_server.request("GET", "/test/query?n=3")
    assert (status, body) == (200, {"caller": None, "n": 3})
    status, _, body = open_server.request(
        "GET", "/test/query?n=3", headers={"Authorization": "Bearer mrk_unknown"}
    )
    assert (status, _error_code(body)) == (401, "invalid_key")


def test_an_upload_folder_that_cannot_take_files_is_503_not_a_crash(open_server) -> None:
    body = multipart({}, {"file": ("a.mp3", b"x" * 100)}, BOUNDARY)
    status, headers, answer = open_server.request(
        "POST", "/test/upload", body=body, headers={"Content-Type": FORM}
    )
    assert (status, _error_code(answer)) == (503, "uploads_unavailable")
    assert headers["retry-after"] == "60"


def test_a_connection_past_the_limit_is_503_and_closed(open_server) -> None:
    idle = [socket.create_connection(("127.0.0.1", open_server.port)) for _ in range(2)]
    try:
        time.sleep(0.2)  # let the server accept both before the third connects
        answer = raw_exchange(open_server.port, b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        assert (answer.status, _error_code(answer.body)) == (503, "too_many_connections")
        assert answer.headers["retry-after"] == "1"
    finally:
        for sock in idle:
            sock.close()
    deadline = time.monotonic() + 5
    while open_server.request("GET", "/healthz")[0] != 200:
        assert time.monotonic() < deadline, "the freed connections were never counted out"
        time.sleep(0.05)


def test_json_error_bodies_are_small_and_never_echo_input(served) -> None:
    parts, api = served
    secret = "x" * 500
    payload = json.dumps({"n": secret}).encode()
    status, _, body = _json_post(api, "/test/echo", payload, parts.auth())
    assert status == 400 and secret not in json.dumps(body)
