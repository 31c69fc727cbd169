"""hashing: file digests read in chunks, and copy_digest hashing what it copies."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from musicrec_core import hashing
from musicrec_core.hashing import copy_digest, file_digest, file_sha256

# Not a multiple of the copy chunk, and more than two chunks.
DATA = bytes(range(256)) * (2 * hashing.COPY_CHUNK_BYTES // 256 + 3) + b"tail"


@pytest.mark.parametrize("data", [b"", b"abc", DATA])
@pytest.mark.parametrize("algorithm", ["sha256", "md5"])
def test_file_digest_is_hashlib_of_the_bytes(tmp_path: Path, data: bytes, algorithm: str) -> None:
    path = tmp_path / "file.bin"
    path.write_bytes(data)
    assert file_digest(path, algorithm) == hashlib.new(algorithm, data).hexdigest()


def test_file_sha256_is_64_lowercase_hex_digits(tmp_path: Path) -> None:
    path = tmp_path / "file.bin"
    path.write_bytes(DATA)
    digest = file_sha256(path)
    assert digest == hashlib.sha256(DATA).hexdigest() == file_digest(path)
    assert len(digest) == 64 and digest == digest.lower()
    int(digest, 16)


def test_an_unreadable_file_is_an_oserror(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        file_sha256(tmp_path / "missing.bin")
    with pytest.raises(OSError):
        file_digest(tmp_path, "md5")  # a folder


@pytest.mark.parametrize("data", [b"", b"abc", DATA])
@pytest.mark.parametrize("algorithm", ["sha256", "md5"])
def test_copy_digest_copies_everything_and_hashes_it(data: bytes, algorithm: str) -> None:
    sink = io.BytesIO()
    digest = copy_digest(io.BytesIO(data), sink, algorithm)
    assert sink.getvalue() == data
    assert digest == hashlib.new(algorithm, data).hexdigest()


def test_copy_digest_reads_in_bounded_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hashing, "COPY_CHUNK_BYTES", 10)
    sizes: list[int] = []

    class Source(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            sizes.append(-1 if size is None else size)
            return super().read(size)

    sink = io.BytesIO()
    copy_digest(Source(b"x" * 25), sink)
    assert sizes == [10, 10, 10, 10]  # three chunks (10, 10, 5), then the empty end
    assert sink.getvalue() == b"x" * 25


def test_copy_digest_passes_on_a_read_error() -> None:
    class Broken(io.RawIOBase):
        def __init__(self) -> None:
            self.calls = 0

        def read(self, size: int = -1) -> bytes:
            self.calls += 1
            if self.calls > 1:
                raise OSError("connection reset")
            return b"first"

    sink = io.BytesIO()
    with pytest.raises(OSError, match="connection reset"):
        copy_digest(Broken(), sink)
    assert sink.getvalue() == b"first"
