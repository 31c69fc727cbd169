"""Run ffmpeg and ffprobe on untrusted input under hard limits.

Every process the audio package starts goes through :func:`run_process`:

- an argument list (no shell), stdin closed, and the input given by :func:`input_args`:
  named as ``file:<absolute path>`` (no file name is read as another protocol or an
  option), under ``-protocol_whitelist file`` and ``-format_whitelist`` of the containers in
  :data:`ALLOWED_FORMATS`. ffmpeg checks the container against that list right after
  probing the first bytes and before the demuxer opens anything, in ffprobe and in every
  decode alike, so a playlist (HLS), a list of files (concat/ffconcat), an image sequence
  or a metadata file is refused before it can name another file: nothing an upload names
  is ever opened, whichever process looks at it first;
- the minimal environment and memory limit of :func:`musicrec_core.child_process.spawn`
  (:data:`~musicrec_core.child_process.DECODER_MEMORY_LIMIT_BYTES` per process); a process
  that runs out of it is :class:`~musicrec_core.errors.UnreadableAudioError` saying so;
- one wall-clock deadline per public call (:class:`Budget`), shared by every process that
  call starts; passing it kills the process and raises
  :class:`~musicrec_core.errors.DecodeTimeoutError`;
- capped output: stdout up to a limit the caller sets (it may tighten the limit once the
  first bytes say how long the output should be), stderr kept to its last 4 KiB for logs.

Where the binaries are (:func:`find_binaries`): pydub is the configuration front, so the
ffmpeg binary is ``pydub.AudioSegment.converter`` and ffprobe sits next to it (or is pydub's
``get_prober_name()``): one setting points pydub and musicrec at the same ffmpeg. pydub does
not decode here: ``AudioSegment.from_file`` seeks after ``-i`` (decoding a 3-hour file from
its start), runs ffmpeg and ffprobe with no timeout and no output cap, reads the whole result
into memory and converts to integer PCM (hiding NaN/inf). A missing ffmpeg/ffprobe is
:class:`~musicrec_core.errors.UnreadableAudioError` with a message saying how to install it.

Resampler (:func:`resampler_for`): ffmpeg's ``aresample`` filter with the SoX resampler
(libsoxr) at ``precision=28`` (soxr's "very high quality", band-limited) whenever this ffmpeg
build has libsoxr, which Debian's and Ubuntu's ffmpeg packages do (checked once per ffmpeg
binary with ``ffmpeg -buildconf``); otherwise swresample's default windowed-sinc filter. The
VGGish reference uses resampy; the spec accepts any high-quality band-limited resampler.

Thread safety: every function may be called from several threads at once.
"""

from __future__ import annotations

import logging
import math
import os
import selectors
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from musicrec_core.child_process import (
    DECODER_MEMORY_LIMIT_BYTES,
    NORMAL_PRIORITY,
    ChildPriority,
    ran_out_of_memory,
    spawn,
)
from musicrec_core.errors import DecodeTimeoutError, UnreadableAudioError

__all__ = [
    "ALLOWED_FORMATS",
    "DEFAULT_TIMEOUT_S",
    "Budget",
    "ProcessResult",
    "checked_path",
    "find_binaries",
    "input_args",
    "resampler_for",
    "run_process",
]

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 30.0
"""Wall-clock limit in seconds for one ``load_clip`` / ``probe_audio`` call."""

ALLOWED_FORMATS = (
    "mp3", "ogg", "matroska", "mov", "wav", "w64", "flac", "aac", "loas", "ac3", "eac3",
    "aiff", "au", "amr", "amrnb", "amrwb", "ape", "asf", "xwma", "caf", "wv", "mpc", "mpc8",
    "tta", "tak", "shn", "dsf", "dts", "dtshd", "truehd", "mlp", "voc", "oma", "rm",
    "mpeg", "mpegts", "flv", "avi", "nut",
)  # fmt: skip
"""ffmpeg demuxers an upload may be read with (``-format_whitelist``): audio and video
containers people send. ``matroska`` covers WebM/MKA, ``mov`` MP4/M4A/3GP, ``ogg`` Opus and
Vorbis, ``asf`` WMA. None of them opens another file or URL (QuickTime's external
references stay off, ffmpeg's default). Left out on purpose: hls, dash, concat, ffmetadata,
image2 and the image pipes, lavfi, tee and every other demuxer that reads a list, a
sequence or a description of other inputs."""

_STDERR_KEEP_BYTES = 4096

_INSTALL_FFMPEG = (
    "is not installed or not on PATH. Install ffmpeg (it includes ffprobe), "
    "e.g. `sudo apt-get install ffmpeg` on Debian/Ubuntu."
)


class Budget:
    """One deadline shared by every process a call starts. Its clock can be stopped while
    the worker doing the call is stopped (:mod:`musicrec_core.worker_watch`): that time is
    not the input's fault, so the deadline moves on by it.

    Attributes:
        timeout_s: the call's wall-clock limit in seconds.
        deadline: ``time.monotonic()`` value at which the call is out of time (while the
            clock runs).
        display: how the input is named in messages (never a server path).
    """

    def __init__(self, timeout_s: float, display: str) -> None:
        if not (math.isfinite(timeout_s) and timeout_s > 0):
            raise ValueError(f"timeout_s must be > 0, got {timeout_s!r}")
        self.timeout_s = timeout_s
        self.deadline = time.monotonic() + timeout_s
        self.display = display
        self._stopped_at: float | None = None

    def restart(self) -> None:
        """A fresh ``timeout_s`` from now: a caller that reads many windows through one open
        (:func:`musicrec_core.audio.track_windows.load_windows`) gives each its own."""
        now = time.monotonic()
        self.deadline = now + self.timeout_s
        if self._stopped_at is not None:
            self._stopped_at = now

    def stop_clock(self) -> None:
        """Stop counting time (the worker is being stopped); :meth:`remaining` holds still."""
        if self._stopped_at is None:
            self._stopped_at = time.monotonic()

    def start_clock(self) -> None:
        """Count time again, the deadline moved on by the time the clock stood still."""
        stopped_at, self._stopped_at = self._stopped_at, None
        if stopped_at is not None:
            self.deadline += time.monotonic() - stopped_at

    def remaining(self) -> float:
        """Seconds left before the deadline (negative once it has passed)."""
        stopped_at = self._stopped_at
        return self.deadline - (time.monotonic() if stopped_at is None else stopped_at)

    def expired(self) -> DecodeTimeoutError:
        """The error to raise once the deadline has passed."""
        return DecodeTimeoutError(
            f"Reading {self.display} took longer than {self.timeout_s:g} s and was stopped."
        )


@dataclass(frozen=True)
class ProcessResult:
    """What one finished (or stopped) process left behind."""

    returncode: int
    stdout: bytes
    log_tail: str
    """The last 4 KiB of stderr, decoded as UTF-8 (invalid bytes replaced)."""
    truncated: bool
    """stdout reached its cap and the process was stopped (the output is complete enough)."""


def run_process(
    args: list[str],
    budget: Budget,
    max_stdout: int,
    stdout_cap: Callable[[bytes], int | None] | None,
    cancel: threading.Event | None = None,
    priority: ChildPriority = NORMAL_PRIORITY,
) -> ProcessResult:
    """Run a command with a deadline, capped stdout and the tail of stderr.

    ``max_stdout`` bounds stdout (in bytes) until ``stdout_cap(first bytes of stdout, at most
    max_stdout of them)`` returns a number, which then replaces it. Reaching the cap stops
    the process (``truncated=True``). Passing the deadline kills it and raises
    DecodeTimeoutError; ``cancel`` being set kills it and returns what was read.
    ``priority`` lowers its CPU priority further (see
    :class:`musicrec_core.child_process.ChildPriority`).

    Raises:
        DecodeTimeoutError: the budget ran out (before or while the process ran).
        UnreadableAudioError: the program is missing or cannot be started, or it ran out of
            its memory limit.
    """
    if budget.remaining() <= 0:
        raise budget.expired()
    try:
        proc = spawn(
            args,
            memory_limit_bytes=DECODER_MEMORY_LIMIT_BYTES,
            priority=priority,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    except FileNotFoundError as exc:
        raise UnreadableAudioError(f"{os.path.basename(args[0])} {_INSTALL_FFMPEG}") from exc
    except OSError as exc:
        raise UnreadableAudioError(f"Could not run {args[0]}: {exc.strerror}.") from exc
    out = bytearray()
    err = bytearray()
    cap = max_stdout
    capped = False
    truncated = False
    timed_out = False
    assert proc.stdout is not None and proc.stderr is not None
    try:
        with selectors.DefaultSelector() as selector:
            selector.register(proc.stdout, selectors.EVENT_READ, "out")
            selector.register(proc.stderr, selectors.EVENT_READ, "err")
            while selector.get_map():
                remaining = budget.remaining()
                if remaining <= 0:
                    timed_out = True
                    break
                if cancel is not None:
                    if cancel.is_set():
                        break
                    remaining = min(remaining, 0.05)
                for key, _ in selector.select(timeout=remaining):
                    chunk = os.read(key.fd, 1 << 16)
                    if not chunk:
                        selector.unregister(key.fileobj)
                    elif key.data == "err":
                        err += chunk
                        if len(err) > 2 * _STDERR_KEEP_BYTES:
                            del err[:-_STDERR_KEEP_BYTES]
                    else:
                        out += chunk
                        if stdout_cap is not None and not capped:
                            limit = stdout_cap(bytes(out[:max_stdout]))
                            if limit is not None:
                                cap, capped = limit, True
                        if len(out) >= cap:
                            del out[cap:]
                            truncated = True
                if truncated:
                    break
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    if timed_out:
        raise budget.expired()
    log_tail = err[-_STDERR_KEEP_BYTES:].decode("utf-8", errors="replace")
    if proc.returncode != 0 and not truncated and ran_out_of_memory(log_tail):
        log.warning("%s ran out of memory on %s: %s", args[0], budget.display, log_tail[-300:])
        raise UnreadableAudioError(
            f"Reading {budget.display} needs more memory than musicrec allows; "
            "try a shorter or simpler file."
        )
    return ProcessResult(
        returncode=proc.returncode, stdout=bytes(out), log_tail=log_tail, truncated=truncated
    )


def find_binaries() -> tuple[str, str]:
    """Paths of ffmpeg and ffprobe, located through pydub's configuration.

    Raises:
        UnreadableAudioError: either program is not found (the message says how to install).
    """
    converter = "ffmpeg"
    prober = "ffprobe"
    try:
        from pydub import AudioSegment
        from pydub.utils import get_prober_name

        converter = str(AudioSegment.converter or "ffmpeg")
        prober = get_prober_name()
    except Exception:  # pydub missing or broken (e.g. no audioop on Python 3.13)
        log.debug("pydub unavailable; looking for ffmpeg on PATH", exc_info=True)
    if os.path.basename(converter).startswith("avconv"):
        converter = "ffmpeg"  # pydub prefers libav's avconv when present; we need ffmpeg
    if os.path.basename(prober).startswith("avprobe"):
        prober = "ffprobe"
    folder = os.path.dirname(converter)
    if folder:  # an explicit ffmpeg location: take the ffprobe next to it
        prober = os.path.join(folder, "ffprobe" + (".exe" if converter.endswith(".exe") else ""))
    ffmpeg = shutil.which(converter)
    if ffmpeg is None:
        raise UnreadableAudioError(f"ffmpeg ({converter}) {_INSTALL_FFMPEG}")
    ffprobe = shutil.which(prober)
    if ffprobe is None:
        raise UnreadableAudioError(f"ffprobe ({prober}) {_INSTALL_FFMPEG}")
    return ffmpeg, ffprobe


_resamplers: dict[str, str] = {}
_resamplers_lock = threading.Lock()
_lookups: dict[str, threading.Lock] = {}
"""One lock per binary, held while its ``-buildconf`` runs: callers asking at the same time
(a long file's candidate windows, the first time) wait for that answer."""


def resampler_for(ffmpeg: str, budget: Budget) -> str:
    """Say "soxr" when this ffmpeg was built with libsoxr, else "swr" (cached per binary).

    The check runs ``ffmpeg -buildconf`` once per binary, within the caller's deadline
    (a timed-out check raises DecodeTimeoutError and is not cached); callers that ask
    while it runs wait for its answer, within their own deadlines.
    """
    with _resamplers_lock:
        known = _resamplers.get(ffmpeg)
        lookup = _lookups.setdefault(ffmpeg, threading.Lock())
    if known is not None:
        return known
    if not lookup.acquire(timeout=max(budget.remaining(), 0)):
        raise budget.expired()
    try:
        with _resamplers_lock:
            known = _resamplers.get(ffmpeg)
        if known is not None:
            return known
        run = run_process([ffmpeg, "-hide_banner", "-buildconf"], budget, 1 << 16, None)
        found = "soxr" if "--enable-libsoxr" in run.stdout.decode("utf-8", "replace") else "swr"
        with _resamplers_lock:
            _resamplers[ffmpeg] = found
        return found
    finally:
        lookup.release()


def checked_path(path: str | os.PathLike[str], name: str | None) -> Path:
    """``path`` made absolute, after checking it is a readable regular file.

    Raises:
        UnreadableAudioError: missing, not a regular file, or not readable; the message
            calls the file ``name`` (default: its base name).
    """
    file = Path(os.path.abspath(os.fspath(path)))
    display = name or file.name
    if not file.exists():
        raise UnreadableAudioError(f"{display} does not exist.")
    if not file.is_file():
        raise UnreadableAudioError(f"{display} is not a regular file.")
    if not os.access(file, os.R_OK):
        raise UnreadableAudioError(f"{display} cannot be read (permission denied).")
    return file


def input_args(file: Path) -> list[str]:
    """The input options of every ffmpeg/ffprobe call, ending with ``-i file:<path>``.

    The whitelists come before ``-i`` so they apply to that input: only the file protocol
    and the containers of :data:`ALLOWED_FORMATS`. The path is given as ffmpeg's file
    protocol URL, so no name is read as another protocol or an option.
    """
    return [
        "-protocol_whitelist", "file",
        "-format_whitelist", ",".join(ALLOWED_FORMATS),
        "-i", "file:" + str(file),
    ]  # fmt: skip
