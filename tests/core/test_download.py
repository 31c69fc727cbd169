"""musicrec_core.download against a real HTTP server on 127.0.0.1 (tests/helpers/http_server)."""

from __future__ import annotations

import hashlib
import socket
import tarfile
import urllib.error
import urllib.request
from io import BytesIO
from pathlib import Path

import pytest

from musicrec_core.download import download_file, open_stream
from musicrec_core.errors import DownloadError
from tests.helpers.http_server import LocalHTTPServer

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB, several read chunks
PAYLOAD_MD5 = hashlib.md5(PAYLOAD).hexdigest()
SHORT_TIMEOUT_S = 0.5


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def folder_entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# The test server itself (others reuse it, so its behaviour is pinned here).


def test_server_serves_ranges_and_counts_bytes(http_server: LocalHTTPServer) -> None:
    url = http_server.add("/data.bin", PAYLOAD)
    request = urllib.request.Request(url, headers={"Range": "bytes=10-19"})
    with urllib.request.urlopen(request) as response:
        assert response.status == 206
        assert response.headers["Content-Range"] == f"bytes 10-19/{len(PAYLOAD)}"
        assert response.read() == PAYLOAD[10:20]
    request = urllib.request.Request(url, headers={"Range": "bytes=-5"})
    with urllib.request.urlopen(request) as response:
        assert response.read() == PAYLOAD[-5:]
    assert http_server.bytes_served("/data.bin") == 15
    assert http_server.requests("/data.bin")[0]["Range"] == "bytes=10-19"
    request = urllib.request.Request(url, headers={"Range": f"bytes={len(PAYLOAD)}-"})
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request)
    assert caught.value.code == 416


def test_server_cut_sends_only_the_first_bytes(http_server: LocalHTTPServer) -> None:
    url = http_server.add("/cut.bin", PAYLOAD, cut_after=1000, content_type="audio/mpeg")
    with urllib.request.urlopen(url) as response:
        assert response.headers["Content-Type"] == "audio/mpeg"
        assert int(response.headers["Content-Length"]) == len(PAYLOAD)
        received = bytearray()
        buffer = bytearray(4096)
        while n := response.readinto(buffer):
            received += buffer[:n]
    assert bytes(received) == PAYLOAD[:1000]
    assert http_server.bytes_served("/cut.bin") == 1000


# download_file


def test_download_verifies_md5_and_renames(http_server: LocalHTTPServer, tmp_path: Path) -> None:
    url = http_server.add("/model.ckpt", PAYLOAD)
    dest = tmp_path / "nested" / "dir" / "model.ckpt"

    result = download_file(url, dest, md5=PAYLOAD_MD5.upper(), progress=False)

    assert result == dest
    assert dest.read_bytes() == PAYLOAD
    assert folder_entries(dest.parent) == ["model.ckpt"]


def test_download_replaces_an_existing_file(http_server: LocalHTTPServer, tmp_path: Path) -> None:
    url = http_server.add("/model.ckpt", PAYLOAD)
    dest = tmp_path / "model.ckpt"
    dest.write_bytes(b"stale")

    download_file(url, dest, md5=PAYLOAD_MD5, progress=False)

    assert dest.read_bytes() == PAYLOAD


def test_md5_mismatch_leaves_nothing(http_server: LocalHTTPServer, tmp_path: Path) -> None:
    url = http_server.add("/model.ckpt", PAYLOAD)
    dest = tmp_path / "model.ckpt"

    with pytest.raises(DownloadError, match="md5") as caught:
        download_file(url, dest, md5="0" * 32, progress=False)

    assert url in str(caught.value)
    assert PAYLOAD_MD5 in str(caught.value)
    assert folder_entries(tmp_path) == []


def test_md5_mismatch_keeps_the_previous_file(http_server: LocalHTTPServer, tmp_path: Path) -> None:
    url = http_server.add("/model.ckpt", PAYLOAD)
    dest = tmp_path / "model.ckpt"
    dest.write_bytes(b"previous")

    with pytest.raises(DownloadError):
        download_file(url, dest, md5="0" * 32, progress=False)

    assert dest.read_bytes() == b"previous"
    assert folder_entries(tmp_path) == ["model.ckpt"]


def test_transfer_cut_midway_leaves_nothing(http_server: LocalHTTPServer, tmp_path: Path) -> None:
    url = http_server.add("/model.ckpt", PAYLOAD, cut_after=300_000)
    dest = tmp_path / "model.ckpt"

    with pytest.raises(DownloadError, match="cut short after 300000 of 1048576 bytes") as caught:
        download_file(url, dest, progress=False)

    assert url in str(caught.value)
    assert folder_entries(tmp_path) == []


def test_connection_reset_midway_leaves_nothing(
    http_server: LocalHTTPServer, tmp_path: Path
) -> None:
    url = http_server.add("/model.ckpt", PAYLOAD, cut_after=300_000, reset=True)

    with pytest.raises(DownloadError, match="cut short") as caught:
        download_file(url, tmp_path / "model.ckpt", progress=False)

    assert url in str(caught.value)
    assert folder_entries(tmp_path) == []


def test_unwritable_destination(http_server: LocalHTTPServer, tmp_path: Path) -> None:
    url = http_server.add("/model.ckpt", PAYLOAD)
    (tmp_path / "a-file").write_bytes(b"")

    with pytest.raises(DownloadError, match="Could not save"):
        download_file(url, tmp_path / "a-file" / "model.ckpt", progress=False)

    assert folder_entries(tmp_path) == ["a-file"]


def test_short_body_without_md5_is_still_refused(
    http_server: LocalHTTPServer, tmp_path: Path
) -> None:
    # The server claims more than it sends and closes cleanly: only the length check notices.
    url = http_server.add("/model.ckpt", PAYLOAD[:1000], content_length=5000)

    with pytest.raises(DownloadError, match="cut short after 1000 of 5000 bytes"):
        download_file(url, tmp_path / "model.ckpt", progress=False)

    assert folder_entries(tmp_path) == []


def test_unreachable_host(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}/model.ckpt"

    with pytest.raises(DownloadError, match="Could not reach 127.0.0.1") as caught:
        download_file(url, tmp_path / "model.ckpt", progress=False)

    assert url in str(caught.value)
    assert folder_entries(tmp_path) == []


def test_http_404(http_server: LocalHTTPServer, tmp_path: Path) -> None:
    url = http_server.url("/missing.ckpt")

    with pytest.raises(DownloadError, match="HTTP 404") as caught:
        download_file(url, tmp_path / "model.ckpt", progress=False)

    assert url in str(caught.value)
    assert folder_entries(tmp_path) == []


@pytest.mark.parametrize("stall_after", [None, 100_000], ids=["before-headers", "mid-body"])
def test_stalled_server_times_out(
    http_server: LocalHTTPServer, tmp_path: Path, stall_after: int | None
) -> None:
    url = http_server.add("/model.ckpt", PAYLOAD, stall_s=30.0, stall_after=stall_after)

    with pytest.raises(DownloadError, match="timed out") as caught:
        download_file(url, tmp_path / "model.ckpt", timeout_s=SHORT_TIMEOUT_S, progress=False)

    assert url in str(caught.value)
    assert folder_entries(tmp_path) == []


def test_max_bytes_refused_from_content_length(
    http_server: LocalHTTPServer, tmp_path: Path
) -> None:
    url = http_server.add("/model.ckpt", PAYLOAD)

    with pytest.raises(DownloadError, match="over the 1000 byte limit"):
        download_file(url, tmp_path / "model.ckpt", progress=False, max_bytes=1000)

    assert folder_entries(tmp_path) == []


def test_max_bytes_enforced_while_reading(http_server: LocalHTTPServer, tmp_path: Path) -> None:
    # No Content-Length: the cap can only be enforced on the bytes as they arrive.
    url = http_server.add("/model.ckpt", PAYLOAD, content_length=-1)

    with pytest.raises(DownloadError, match="larger than the 100000 byte limit"):
        download_file(url, tmp_path / "model.ckpt", progress=False, max_bytes=100_000)

    assert folder_entries(tmp_path) == []


def test_body_without_content_length_is_read_to_the_end(
    http_server: LocalHTTPServer, tmp_path: Path
) -> None:
    url = http_server.add("/model.ckpt", PAYLOAD, content_length=-1)

    download_file(url, tmp_path / "model.ckpt", md5=PAYLOAD_MD5, progress=False)

    assert (tmp_path / "model.ckpt").read_bytes() == PAYLOAD


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://example.com/x", "not a url", "http:///nohost"]
)
def test_only_http_urls(tmp_path: Path, url: str) -> None:
    with pytest.raises(DownloadError, match="only http and https"):
        download_file(url, tmp_path / "x", progress=False)
    assert folder_entries(tmp_path) == []


def test_redirect_to_another_scheme_is_refused(
    http_server: LocalHTTPServer, tmp_path: Path
) -> None:
    redirect = http_server.add(
        "/moved", b"", status=302, headers={"Location": "ftp://127.0.0.1/model.ckpt"}
    )

    with pytest.raises(DownloadError, match="redirects.*only http and https"):
        download_file(redirect, tmp_path / "x", progress=False)

    assert folder_entries(tmp_path) == []


@pytest.mark.parametrize(
    "url", ["http://mirror.invalid/model.ckpt", "http://[2001:db8::8]/model.ckpt"]
)
def test_plain_http_off_loopback_is_refused(tmp_path: Path, url: str) -> None:
    with pytest.raises(DownloadError, match=r"use a https:// URL.*loopback") as caught:
        download_file(url, tmp_path / "x", progress=False)
    assert url in str(caught.value)
    assert folder_entries(tmp_path) == []
    with (
        pytest.raises(DownloadError, match=r"use a https:// URL"),
        open_stream(url, progress=False),
    ):
        pytest.fail("a plain http URL off loopback must not be opened")


def test_redirect_to_plain_http_off_loopback_is_refused(
    http_server: LocalHTTPServer, tmp_path: Path
) -> None:
    redirect = http_server.add(
        "/moved", b"", status=302, headers={"Location": "http://mirror.invalid/model.ckpt"}
    )

    with pytest.raises(DownloadError, match=r"use a https:// URL"):
        download_file(redirect, tmp_path / "x", progress=False)

    assert folder_entries(tmp_path) == []


def test_sha256_is_checked(http_server: LocalHTTPServer, tmp_path: Path) -> None:
    url = http_server.add("/labels.csv", PAYLOAD)
    wanted = hashlib.sha256(PAYLOAD).hexdigest()
    download_file(url, tmp_path / "ok.csv", sha256=wanted.upper(), progress=False)
    assert (tmp_path / "ok.csv").read_bytes() == PAYLOAD
    with pytest.raises(DownloadError, match=f"sha256 {wanted}, expected {'0' * 64}"):
        download_file(url, tmp_path / "bad.csv", sha256="0" * 64, progress=False)
    assert folder_entries(tmp_path) == ["ok.csv"]


def test_redirect_within_http_is_followed(http_server: LocalHTTPServer, tmp_path: Path) -> None:
    target = http_server.add("/target", PAYLOAD)
    redirect = http_server.add("/moved", b"", status=302, headers={"Location": target})

    download_file(redirect, tmp_path / "x", md5=PAYLOAD_MD5, progress=False)

    assert (tmp_path / "x").read_bytes() == PAYLOAD


def test_progress_bar_does_not_change_the_result(
    http_server: LocalHTTPServer, tmp_path: Path
) -> None:
    url = http_server.add("/model.ckpt", PAYLOAD)
    download_file(url, tmp_path / "model.ckpt", md5=PAYLOAD_MD5, progress=True)
    assert (tmp_path / "model.ckpt").read_bytes() == PAYLOAD


# open_stream


def _tar_gz(members: dict[str, bytes]) -> bytes:
    buffer = BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, BytesIO(data))
    return buffer.getvalue()


def test_open_stream_feeds_tarfile_streaming(http_server: LocalHTTPServer) -> None:
    members = {"a/00.tfrecord": PAYLOAD[:5000], "a/01.tfrecord": PAYLOAD[5000:9000]}
    url = http_server.add("/features.tar.gz", _tar_gz(members), content_type="application/gzip")

    read: dict[str, bytes] = {}
    with open_stream(url, progress=False) as body, tarfile.open(fileobj=body, mode="r|gz") as tar:
        for member in tar:
            extracted = tar.extractfile(member)
            assert extracted is not None
            read[member.name] = extracted.read()

    assert read == members


def test_open_stream_cut_midway_raises(http_server: LocalHTTPServer) -> None:
    url = http_server.add("/features.tar.gz", PAYLOAD, cut_after=200_000)

    with (
        pytest.raises(DownloadError, match="cut short after 200000"),
        open_stream(url, progress=False) as body,
    ):
        body.read()


def test_open_stream_errors_before_yielding(http_server: LocalHTTPServer) -> None:
    with (
        pytest.raises(DownloadError, match="HTTP 404"),
        open_stream(http_server.url("/nothing"), progress=False),
    ):
        pytest.fail("a 404 must not yield a body")
    with (
        pytest.raises(DownloadError, match="Could not reach"),
        open_stream(
            f"http://127.0.0.1:{closed_port()}/x", timeout_s=SHORT_TIMEOUT_S, progress=False
        ),
    ):
        pytest.fail("an unreachable host must not yield a body")
