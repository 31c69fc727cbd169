"""Write a file so that readers see either the old content or the complete new one.

The content goes to a temporary file (prefix ``musicrec-``) in the target's own folder,
which is renamed over the target only when writing succeeded; on any failure the
temporary file is removed and the target is untouched.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

TEMP_PREFIX = "musicrec-"


def temporary_name_pattern(target: Path) -> str:
    """Glob pattern (relative to the target's folder) of the temporary files for ``target``."""
    return f"{TEMP_PREFIX}*.{target.name}.part"


def _read_umask() -> int:
    """The process umask. Reading it means setting it briefly, which races with threads
    creating files, so it is read once, at import, before the library starts any."""
    umask = os.umask(0)
    os.umask(umask)
    return umask


_NEW_FILE_MODE = 0o666 & ~_read_umask()
"""The mode a plain ``open()`` gives a new file; temporary files are set to it."""


@contextlib.contextmanager
def atomic_write(target: Path, *, durable: bool = False) -> Iterator[BinaryIO]:
    """Yield a binary file whose content replaces ``target`` when the block ends cleanly.

    ``durable=True`` also fsyncs the content before the rename, so after a power cut the
    target holds the old or the new content, never an empty file (fsync the folder after
    the call to make the rename itself durable).

    Raises:
        OSError: the folder does not exist or cannot be written, the disk is full, ...
    """
    descriptor, temporary = tempfile.mkstemp(
        prefix=TEMP_PREFIX, suffix=f".{target.name}.part", dir=target.parent
    )
    try:
        with os.fdopen(descriptor, "wb") as handle:
            yield handle
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.chmod(temporary, _NEW_FILE_MODE)  # mkstemp made it private
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
