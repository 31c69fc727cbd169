"""The hostile requests of ``bench_api_hostile.py``: each kind, the raw bytes it sends and
the statuses a correct server answers it with.

Every request is raw HTTP/1.1 bytes on its own connection (``Connection: close``), sent by
:func:`tests.helpers.api_server.raw_exchange`, so nothing the client library would refuse
or repair (NUL bytes, lying lengths, half-sent bodies) is out of reach. A kind's
``pieces`` are sent ``pause_s`` apart (a slow sender); a status of 0 means nothing was read
(a client that hangs up mid-body reads nothing: what counts there is that the server shows
no error and keeps no file or memory).

:func:`attacks` takes the keys the server knows: ``attacker`` (a live key with a rate high
enough that its requests reach validation instead of 429) and ``revoked`` (revoked with
``musicrec api-key revoke`` while the attack runs; its kind waits for that).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

__all__ = ["Attack", "attacks"]

SEED = "tone0440ccc"
"""A catalog video: a request naming it is valid but for what each attack breaks."""
OVERLONG = (400, 431)
"""A request head over the 16 KiB cap: 400 from h11 when it arrives in pieces, 431 from the
app's guard when it arrives in one read."""
CHUNK = 64 * 1024


@dataclass(frozen=True)
class Attack:
    """One kind of hostile request.

    Attributes:
        kind: its name in the table.
        group: the issue's category (sizes, slow senders, types, keys, ...).
        expected: the statuses a correct server may answer (0: none, the connection closed).
        pieces: the bytes, sent in this order.
        pause_s: seconds between pieces (a slow sender), 0 for at once.
        needs_revoked: send only after the revocation has reached the server.
        hang_up: close the connection right after the last piece (no answer is read).
    """

    kind: str
    group: str
    expected: tuple[int, ...]
    pieces: tuple[bytes, ...]
    pause_s: float = 0.0
    needs_revoked: bool = False
    hang_up: bool = False


def head(method: str, target: str, key: str | None, *headers: str, length: int | None) -> bytes:
    """A request line and headers (``Connection: close``; ``Content-Length`` unless None)."""
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    if key is not None:
        lines.append(f"Authorization: Bearer {key}")
    if length is not None:
        lines.append(f"Content-Length: {length}")
    lines += headers
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def request(method: str, target: str, key: str | None, body: bytes = b"", *headers: str) -> bytes:
    """A whole request whose body is ``body``."""
    length = len(body) if body or method == "POST" else None
    return head(method, target, key, *headers, length=length) + body


def json_post(target: str, key: str | None, value: object) -> bytes:
    return request(
        "POST", target, key, json.dumps(value).encode(), "Content-Type: application/json"
    )


def form(parts: list[tuple[str, str | None, bytes]], boundary: str, *, close: bool = True) -> bytes:
    """A multipart body of ``(name, filename, data)`` parts (``close``: end boundary)."""
    out = bytearray()
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
        out += data + b"\r\n"
    if close:
        out += f"--{boundary}--\r\n".encode()
    return bytes(out)


def upload(key: str, body: bytes, boundary: str) -> bytes:
    """``POST /v1/recommend`` of multipart ``body`` declaring ``boundary``."""
    content_type = f"Content-Type: multipart/form-data; boundary={boundary}"
    return request("POST", "/v1/recommend", key, body, content_type)


def _key_attacks(key: str, revoked: str) -> list[Attack]:
    similar = f"/v1/similar?seed={SEED}"
    return [
        Attack("no key", "keys", (401,), (request("GET", similar, None),)),
        Attack("unknown key", "keys", (401,), (request("GET", similar, "mr_" + "x" * 40),)),
        Attack("Basic scheme", "keys", (401,), (
            request("GET", similar, None, b"", "Authorization: Basic dXNlcjpwYXNz"),)),
        Attack("key with a NUL byte", "keys", (400,), (
            request("GET", similar, None, b"", "Authorization: Bearer mr_a\x00b"),)),
        Attack("revoked key", "keys", (401,), (request("GET", similar, revoked),),
               needs_revoked=True),
        Attack("revoked key, POST", "keys", (401,), (
            json_post("/v1/similar", revoked, {"seed": SEED}),), needs_revoked=True),
    ]  # fmt: skip


def _size_attacks(key: str) -> list[Attack]:
    json_type = "Content-Type: application/json"
    chunked = head("POST", "/v1/similar", key, json_type, "Transfer-Encoding: chunked",
                   length=None)  # fmt: skip
    chunk = f"{CHUNK:x}\r\n".encode() + b" " * CHUNK + b"\r\n"
    boundary = uuid.uuid4().hex
    upload_head = head("POST", "/v1/recommend", key,
                       f"Content-Type: multipart/form-data; boundary={boundary}",
                       length=30 * 2**20)  # fmt: skip
    return [
        Attack("JSON body over the cap, declared", "sizes", (413,), (
            head("POST", "/v1/similar", key, json_type, length=2 * 2**20),)),
        Attack("JSON body over the cap, chunked", "sizes", (413,),
               (chunked, *([chunk] * 20))),
        Attack("upload over the cap, declared", "sizes", (413,), (upload_head,)),
        Attack("overlong URL", "sizes", OVERLONG, (
            request("GET", "/v1/similar?seed=" + "a" * 20_000, key),)),
        Attack("overlong header", "sizes", OVERLONG, (
            request("GET", f"/v1/similar?seed={SEED}", key, b"", "X-Pad: " + "p" * 20_000),)),
        Attack("2,000 headers", "sizes", OVERLONG, (
            request("GET", f"/v1/similar?seed={SEED}", key, b"",
                    *(f"X-H{i}: v" for i in range(2000))),)),
    ]  # fmt: skip


def _truncated_and_slow(key: str) -> list[Attack]:
    json_type = "Content-Type: application/json"
    body = json.dumps({"seed": SEED, "n": 3}).encode()
    boundary = uuid.uuid4().hex
    parts = form([("file", "a.mp3", b"\xff\xfb" * 2000)], boundary, close=False)
    return [
        Attack("truncated JSON", "truncated", (400,), (
            request("POST", "/v1/similar", key, body[:12], json_type),)),
        Attack("multipart without its end", "truncated", (400,), (
            upload(key, parts, boundary),)),
        Attack("hung up mid-body", "truncated", (0,), (
            head("POST", "/v1/similar", key, json_type, length=1000) + body,), hang_up=True),
        Attack("hung up mid-upload", "truncated", (0,), (
            head("POST", "/v1/recommend", key,
                 f"Content-Type: multipart/form-data; boundary={boundary}",
                 length=len(parts) * 4) + parts,), hang_up=True),
        Attack("silent connection", "slow senders", (408,), (b"",)),
        Attack("headers a byte at a time", "slow senders", (408,),
               tuple(bytes([b]) for b in b"GET /v1/similar?seed=tone0440ccc HTTP/1.1\r\n"),
               pause_s=0.25),
        Attack("JSON body a byte at a time", "slow senders", (408,), (
            head("POST", "/v1/similar", key, json_type, length=len(body)),
            *(bytes([b]) for b in body)), pause_s=0.25),
        Attack("upload stalls", "slow senders", (408,), (
            head("POST", "/v1/recommend", key,
                 f"Content-Type: multipart/form-data; boundary={boundary}",
                 length=len(parts) + 100) + parts[:100],
            parts[100:200], parts[200:300]), pause_s=1.5),
    ]  # fmt: skip


def _type_attacks(key: str) -> list[Attack]:
    boundary = uuid.uuid4().hex
    junk_upload = form([("n", None, b"five"), ("file", "a.mp3", b"junk")], boundary)
    return [
        Attack("seed a number", "wrong types", (400,), (
            json_post("/v1/similar", key, {"seed": 123}),)),
        Attack("n a word", "wrong types", (400,), (
            json_post("/v1/similar", key, {"seed": SEED, "n": "five"}),)),
        Attack("exclude a string", "wrong types", (400,), (
            json_post("/v1/similar", key, {"seed": SEED, "exclude": "abc"}),)),
        Attack("unknown field", "wrong types", (400,), (
            json_post("/v1/similar", key, {"seed": SEED, "admin": True}),)),
        Attack("JSON array body", "wrong types", (400,), (
            json_post("/v1/recommend", key, [SEED]),)),
        Attack("n a word, query", "wrong types", (400,), (
            request("GET", f"/v1/similar?seed={SEED}&n=abc", key),)),
        Attack("n a word, form", "wrong types", (400,), (upload(key, junk_upload, boundary),)),
        Attack("mix seeds a string", "wrong types", (400,), (
            json_post("/v1/mix", key, {"seeds": SEED}),)),
        Attack("more a number", "wrong types", (400,), (
            json_post("/v1/recommend", key, {"link": SEED, "more": 7}),)),
        Attack("start an object", "wrong types", (400,), (
            json_post("/v1/similar", key, {"seed": SEED, "start": {"s": 1}}),)),
    ]  # fmt: skip


def _number_attacks(key: str) -> list[Attack]:
    def raw_json(target: str, text: str) -> bytes:
        return request("POST", target, key, text.encode(), "Content-Type: application/json")

    return [
        Attack("n = 10^30", "huge numbers", (400,), (
            raw_json("/v1/similar", f'{{"seed": "{SEED}", "n": {10**30}}}'),)),
        Attack("n = 1e400", "huge numbers", (400,), (
            raw_json("/v1/similar", f'{{"seed": "{SEED}", "n": 1e400}}'),)),
        Attack("start = 1e308", "huge numbers", (400,), (
            raw_json("/v1/similar", f'{{"seed": "{SEED}", "start": 1e308}}'),)),
        Attack("start = NaN", "huge numbers", (400,), (
            raw_json("/v1/similar", f'{{"seed": "{SEED}", "start": NaN}}'),)),
        Attack("start = -1", "huge numbers", (400,), (
            raw_json("/v1/recommend", f'{{"link": "{SEED}", "start": -1}}'),)),
        Attack("start = 10^11 s, query", "huge numbers", (400,), (
            request("GET", f"/v1/similar?seed={SEED}&start=99999999999", key),)),
        Attack("n = 10^30, query", "huge numbers", (400,), (
            request("GET", f"/v1/similar?seed={SEED}&n={10**30}", key),)),
        Attack("steps = 10^30", "huge numbers", (400,), (
            request("GET", f"/v1/path?from={SEED}&to=tone0880eee&steps={10**30}", key),)),
        Attack("page = 10^30", "huge numbers", (400,), (
            request("GET", f"/v1/discover?words=jazz&page={10**30}", key),)),
        Attack("Content-Length 10^30", "huge numbers", (400, 413), (
            head("POST", "/v1/similar", key, "Content-Type: application/json",
                 length=10**30),)),
    ]  # fmt: skip


def _exclude_attacks(key: str) -> list[Attack]:
    many = [f"v{n:010d}" for n in range(10_000)]
    return [
        Attack("10,000 excludes, POST", "exclude lists", (400,), (
            json_post("/v1/similar", key, {"seed": SEED, "exclude": many}),)),
        Attack("10,000 excludes, GET", "exclude lists", OVERLONG, (
            request("GET", f"/v1/similar?seed={SEED}&exclude=" + ",".join(many), key),)),
        Attack("150 excludes, GET", "exclude lists", (400,), (
            request("GET", f"/v1/similar?seed={SEED}&exclude=" + ",".join(many[:150]), key),)),
        Attack("5,000 path-trick excludes", "exclude lists", (400,), (
            json_post("/v1/similar", key, {"seed": SEED, "exclude": ["../../etc"] * 5000}),)),
    ]  # fmt: skip


def _path_attacks(key: str) -> list[Attack]:
    boundary = uuid.uuid4().hex
    evil_name = form([("file", "../../../../tmp/musicrec-evil", b"not audio at all")], boundary)
    return [
        Attack("../ in the path", "path tricks", (404,), (
            request("GET", "/v1/../../../etc/passwd", key),)),
        Attack("%2e%2e in the path", "path tricks", (404,), (
            request("GET", "/v1/%2e%2e/%2e%2e/etc/passwd", key),)),
        Attack("%2f in the path", "path tricks", (404,), (
            request("GET", "/v1/similar%2f..%2f..%2fetc%2fpasswd", key),)),
        Attack("absolute-form target", "path tricks", (401, 404), (
            request("GET", "http://169.254.169.254/latest/meta-data/", key),)),
        Attack("NUL in the path", "path tricks", (400,), (
            request("GET", "/v1/similar\x00/x?seed=a", key),)),
        Attack("%00 in the path", "path tricks", (404,), (
            request("GET", "/v1/similar%00.json?seed=a", key),)),
        Attack("seed ../../etc/passwd", "path tricks", (400,), (
            request("GET", "/v1/similar?seed=../../../../etc/passwd", key),)),
        Attack("seed an absolute path", "path tricks", (400,), (
            request("GET", "/v1/similar?seed=/etc/passwd", key),)),
        Attack("seed file://", "path tricks", (400,), (
            request("GET", "/v1/similar?seed=file:///etc/passwd", key),)),
        Attack("seed lib_../", "path tricks", (400,), (
            request("GET", "/v1/similar?seed=lib_..%2f..%2fetc%2fpasswd", key),)),
        Attack("seed with %00", "path tricks", (400,), (
            request("GET", f"/v1/similar?seed={SEED}%00.mp3", key),)),
        Attack("link to a private address", "path tricks", (400,), (
            json_post("/v1/recommend", key, {"link": "http://127.0.0.1:22/x.mp3"}),)),
        Attack("upload named ../../tmp/x", "path tricks", (422,), (
            upload(key, evil_name, boundary),)),
    ]  # fmt: skip


def _multipart_attacks(key: str) -> list[Attack]:
    b = uuid.uuid4().hex
    song = b"\xff\xfb" * 500
    return [
        Attack("multipart without boundary", "malformed multipart", (415,), (
            request("POST", "/v1/recommend", key, b"x", "Content-Type: multipart/form-data"),)),
        Attack("wrong boundary", "malformed multipart", (400,), (
            upload(key, form([("file", "a.mp3", song)], "other"), b),)),
        Attack("no file part", "malformed multipart", (400,), (
            upload(key, form([("n", None, b"3")], b), b),)),
        Attack("two file parts", "malformed multipart", (400,), (
            upload(key, form([("file", "a", song), ("file", "b", song)], b), b),)),
        Attack("40 parts", "malformed multipart", (400,), (
            upload(key, form([(f"f{i}", None, b"1") for i in range(40)], b), b),)),
        Attack("part without a name", "malformed multipart", (400,), (
            upload(key, f"--{b}\r\nContent-Disposition: form-data\r\n\r\nx\r\n--{b}--\r\n"
                   .encode(), b),)),
        Attack("empty file", "malformed multipart", (400,), (
            upload(key, form([("file", "a.mp3", b"")], b), b),)),
        Attack("part headers of 20 KB", "malformed multipart", (400,), (
            upload(key, f"--{b}\r\nContent-Disposition: form-data; name=\"file\"\r\n"
                   f"X-Pad: {'p' * 20_000}\r\n\r\nx\r\n--{b}--\r\n".encode(), b),)),
        Attack("field not UTF-8", "malformed multipart", (400,), (
            upload(key, form([("more", None, b"\xff\xfe"), ("file", "a", song)], b), b),)),
        Attack("garbage after boundary", "malformed multipart", (400,), (
            upload(key, f"--{b}\r\n\x00\x01\x02garbage".encode() + b"\r\n--" + b.encode()
                   + b"--\r\n", b),)),
    ]  # fmt: skip


def _non_json_attacks(key: str) -> list[Attack]:
    def raw(body: bytes, media: str = "application/json") -> bytes:
        return request("POST", "/v1/similar", key, body, f"Content-Type: {media}")

    return [
        Attack("plain text", "non-JSON", (400,), (raw(b"hello", "text/plain"),)),
        Attack("not UTF-8", "non-JSON", (400,), (raw(b'{"seed": "\xff\xfe"}'),)),
        Attack("empty body", "non-JSON", (400,), (raw(b""),)),
        Attack("nested 100,000 deep", "non-JSON", (400,), (raw(b"[" * 100_000),)),
        Attack("nested objects", "non-JSON", (400,), (
            raw(b'{"seed": ' + b'{"a": ' * 20_000 + b"1" + b"}" * 20_000 + b"}"),)),
        Attack("seed of 500 KB", "non-JSON", (400,), (
            raw(json.dumps({"seed": "a" * 500_000}).encode()),)),
        Attack("XML", "non-JSON", (400,), (raw(b"<?xml version='1.0'?><a/>", "text/xml"),)),
    ]  # fmt: skip


def _protocol_attacks(key: str) -> list[Attack]:
    return [
        Attack("Content-Length not a number", "protocol", (400,), (
            head("POST", "/v1/similar", key, "Content-Length: abc", length=None) + b"{}",)),
        Attack("two lengths", "protocol", (400,), (
            head("POST", "/v1/similar", key, "Transfer-Encoding: chunked", length=5)
            + b"0\r\n\r\n",)),
        Attack("HTTP/0.9 line", "protocol", (0, 400), (b"GET /v1/similar\r\n\r\n",)),
        Attack("DELETE", "protocol", (405,), (request("DELETE", "/v1/similar", key),)),
        Attack("unknown version path", "protocol", (404,), (request("GET", "/v2/similar", key),)),
        Attack("binary noise", "protocol", (400,), (bytes(range(256)) * 4,)),
    ]  # fmt: skip


def attacks(key: str, revoked: str) -> list[Attack]:
    """Every kind of hostile request, for the ``attacker`` key and the ``revoked`` one."""
    return [
        *_key_attacks(key, revoked),
        *_size_attacks(key),
        *_truncated_and_slow(key),
        *_type_attacks(key),
        *_number_attacks(key),
        *_exclude_attacks(key),
        *_path_attacks(key),
        *_multipart_attacks(key),
        *_non_json_attacks(key),
        *_protocol_attacks(key),
    ]
