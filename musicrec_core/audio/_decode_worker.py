"""Long-lived decode worker for :mod:`musicrec_core.audio.decode_workers`.

Started as ``python -I <this file>`` with its end of a Unix socket pair as stdin, the
minimal environment and a memory limit already in force (``RLIMIT_DATA``, set by the
parent's :func:`musicrec_core.child_process.spawn` before the interpreter's first
instruction). It imports nothing from musicrec and holds no policy: the parent sends the
whitelist, the window to read and the limits with every request. It never receives a path:
each file arrives as an open read-only descriptor (``SCM_RIGHTS``), read through libav's
``fd`` protocol under ``protocol_whitelist=fd``, so no demuxer can open anything else.

Messages are a 4-byte big-endian length and a JSON object; a reply may be followed by a
binary payload of ``payload`` bytes. One file is a session::

    {"op": "ready"} -> {"ok": true}          (once, after the imports)
    {"op": "open", "formats": "mp3,ogg,..."} + descriptor
        -> {"ok": true, "info": {...}}  or  {"ok": false, "error": ..., "log": ...}
    {"op": "decode", "seek_s": s, "read_s": d, "sanitize": b, "max_channels": n, "cap": f}
        -> {"ok": true, "channels": c, "frames": f, "failed": b, "log": ..., "payload": bytes}
           + float32 little-endian samples at 16 kHz, interleaved [frames, channels]
    {"op": "close"} -> {"ok": true}

``error`` is one of "not_audio", "no_audio", "memory", "channels". Decoding follows the
ffmpeg command line's ``-ss`` (seek before the window, drop what precedes it by
timestamp, relative to the container's start time) and ``-t`` (a sample count from the
first kept sample); resampling is libsoxr at 28-bit precision (the ``soxr`` package's VHQ).

The open that probed the file decodes its first window; each later window of the file
(a long track's other candidates) opens a fresh demuxer and decoder on the same descriptor
and seeks, in this process. Not one demuxer for all: a decoder keeps state that seeking
and flushing do not reset (AAC's noise-substitution generator advances with every frame
decoded), so a window read after another would differ from the same window read alone,
as each ffmpeg process reads it.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import socket
import struct
import sys

if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    del sys.path[0]  # this folder's modules (probe, process, ...) are not the worker's
os.environ["OPENBLAS_NUM_THREADS"] = "1"  # before numpy: one thread, no per-core buffers
os.environ["OMP_NUM_THREADS"] = "1"

import av  # noqa: E402
import av.logging  # noqa: E402
import numpy as np  # noqa: E402
import soxr  # noqa: E402

TARGET_RATE_HZ = 16_000
AV_TIME_BASE = 1_000_000
_LENGTH = struct.Struct(">I")
_MEMORY_WORDS = ("cannot allocate memory", "out of memory")
_MALLOC_TRIM = getattr(ctypes.CDLL(None), "malloc_trim", None)  # glibc's; None elsewhere


def _send(sock: socket.socket, message: dict, payload: memoryview | bytes = b"") -> None:
    body = json.dumps({**message, "payload": len(payload)}).encode()
    sock.sendall(_LENGTH.pack(len(body)) + body)
    if payload:
        sock.sendall(payload)  # as it is: a window of 8 channels is megabytes


def _receive(sock: socket.socket) -> tuple[dict, list[int]]:
    """The next request and any descriptors sent with it; exits when the parent is gone."""
    head, fds, _flags, _address = socket.recv_fds(sock, _LENGTH.size, 1)
    if not head:
        sys.exit(0)
    while len(head) < _LENGTH.size:
        head += _exactly(sock, _LENGTH.size - len(head))
    (length,) = _LENGTH.unpack(head)
    return json.loads(_exactly(sock, length)), fds


def _exactly(sock: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            sys.exit(0)
        data += chunk
    return bytes(data)


def _failure(exc: BaseException, logs: list, default: str) -> dict:
    text = " ".join(str(entry[-1]).strip() for entry in logs[-8:])
    if isinstance(exc, MemoryError) or any(w in f"{exc} {text}".lower() for w in _MEMORY_WORDS):
        return {"ok": False, "error": "memory", "log": text}
    return {"ok": False, "error": default, "log": f"{text} {exc}".strip()[-2000:]}


def _open(fd: int, formats: str) -> av.container.InputContainer:
    with contextlib.suppress(OSError):  # a pipe cannot rewind: it is read as it comes
        os.lseek(fd, 0, os.SEEK_SET)  # a reopen shares the offset the last demuxer left
    options = {"fd": str(fd), "protocol_whitelist": "fd", "format_whitelist": formats}
    return av.open("fd:", options=options)


def _info(container: av.container.InputContainer, fd: int) -> dict:
    audio = container.streams.audio
    if not audio:
        raise LookupError("no audio stream")
    stream = audio[0]
    has_video = any(
        not (v.disposition & av.stream.Disposition.attached_pic) for v in container.streams.video
    )
    duration = container.duration / AV_TIME_BASE if container.duration else None
    if not duration and stream.duration and stream.time_base:
        duration = float(stream.duration * stream.time_base)
    return {
        "format_name": container.format.name,
        "duration_s": float(f"{duration:.6f}") if duration else None,
        "codec_name": stream.codec_context.name,
        "sample_rate_hz": stream.codec_context.sample_rate or None,
        "channels": stream.codec_context.channels or None,
        "stream_index": stream.index,
        "has_video": has_video,
        "tags": _tags(stream.metadata, container.metadata),
        "size_bytes": os.fstat(fd).st_size,
    }


def _tags(*layers: dict) -> dict[str, str]:
    """Tag names lowered to their values; a later layer wins (the container's over the
    stream's: Ogg keeps its tags on the stream, most containers on the file)."""
    return {str(k).lower(): str(v) for layer in layers for k, v in layer.items()}


def _float_frames(frame: av.AudioFrame, to_float: av.AudioResampler) -> np.ndarray:
    """float32 [samples, channels] of ``frame``: a float decoder's planes as they are (a
    copy, no arithmetic), any other sample format through libswresample, as ffmpeg's
    ``aresample`` converts it before resampling."""
    if frame.format.name == "fltp":  # one plane per channel, read by count: PyAV 18 lists
        # 9 planes for an 8-channel frame and its to_ndarray reads past the 8th (a crash)
        planes = frame.planes[: frame.layout.nb_channels]
        return np.stack([np.frombuffer(p, "<f4", count=frame.samples) for p in planes], axis=1)
    if frame.format.name == "flt":
        return frame.to_ndarray().reshape(-1, frame.layout.nb_channels)
    converted = [f.to_ndarray() for f in to_float.resample(frame)]
    return np.concatenate(converted, axis=1).reshape(-1, frame.layout.nb_channels)


def _decode(
    container: av.container.InputContainer, request: dict
) -> tuple[dict, memoryview | bytes]:
    """Decode ``read_s`` seconds from ``seek_s``; resample to 16 kHz float32 interleaved.

    A long track's window of 8 channels at 48 kHz is 15 MB before resampling, so no step
    keeps a copy it no longer needs: the decoded frames go once joined, non-finite samples
    are zeroed in place, the reply is sent from the array (a 12-minute 8-channel Opus
    file's four windows: peak resident 99 MiB, against 117 with those copies)."""
    stream = container.streams.audio[0]
    origin = (container.start_time or 0) / AV_TIME_BASE
    seek_s = request["seek_s"]
    if seek_s > 0:
        container.seek(round((origin + seek_s) * AV_TIME_BASE), backward=True)
    rate = stream.codec_context.sample_rate
    need = None
    kept: list[np.ndarray] = []
    have = errors = 0
    to_float = None
    for packet in container.demux(stream):
        try:
            frames = packet.decode()
        except av.error.FFmpegError:
            errors += 1
            continue
        for frame in frames:
            if frame.layout.nb_channels > request["max_channels"]:
                return {"ok": False, "error": "channels", "log": str(frame.layout.nb_channels)}, b""
            if need is None:
                rate = frame.sample_rate
                need = round(request["read_s"] * rate)
                to_float = av.AudioResampler(format="flt", layout=frame.layout, rate=rate)
            block = _float_frames(frame, to_float)
            if seek_s > 0 and frame.pts is not None:
                early = round((origin + seek_s - float(frame.pts * frame.time_base)) * rate)
                block = block[max(early, 0) :]
            block = block[: need - have]
            kept.append(block)
            have += block.shape[0]
        if need is not None and have >= need:
            break
    if not kept:
        return {"ok": True, "channels": 1, "frames": 0, "failed": errors > 0, "log": ""}, b""
    decoded = len(kept)
    samples = np.concatenate(kept)
    kept.clear()
    if request["sanitize"]:
        samples[~np.isfinite(samples)] = 0
    if rate != TARGET_RATE_HZ:
        samples = soxr.resample(samples, rate, TARGET_RATE_HZ, quality="VHQ")
    samples = np.ascontiguousarray(samples[: request["cap"]], dtype="<f4")
    reply = {
        "ok": True,
        "channels": samples.shape[1],
        "frames": samples.shape[0],
        "failed": errors > 0 and errors * 3 > 2 * (errors + decoded),
        "log": "corrupt packets" if errors else "",
    }
    return reply, memoryview(samples.reshape(-1).view(np.uint8))  # no copy


def _session(sock: socket.socket, fd: int, formats: str) -> bool:
    """Serve one file: open (probe), any number of decodes, close. True when it ended with
    the parent's close (not answered yet: see :func:`main`), False when the open failed
    (answered)."""
    container = None
    used = False
    try:
        with av.logging.Capture() as logs:
            try:
                container = _open(fd, formats)
                _send(sock, {"ok": True, "info": _info(container, fd)})
            except LookupError:
                _send(sock, {"ok": False, "error": "no_audio", "log": ""})
                return False
            except (av.error.FFmpegError, MemoryError, OSError) as exc:
                _send(sock, _failure(exc, logs, "not_audio"))
                return False
        while True:
            request, stray = _receive(sock)
            for extra in stray:
                os.close(extra)
            if request["op"] != "decode":
                return True
            with av.logging.Capture() as logs:
                try:
                    if used:  # every later window: a fresh demuxer and decoder (see above)
                        container.close()
                        container = None
                    container = container or _open(fd, formats)
                    used = True
                    reply, payload = _decode(container, request)
                except (av.error.FFmpegError, MemoryError, OSError) as exc:
                    reply, payload = _failure(exc, logs, "unreadable"), b""
            _send(sock, reply, payload)
    finally:
        if container is not None:
            container.close()
        os.close(fd)


def _give_back_freed_memory() -> None:
    """Return the heap's free pages to the system after a file. A file's buffers, freed,
    stay in the heap (about 25 MiB after four windows of 8-channel Opus) and would count
    against this worker for as long as it waits; ``malloc_trim`` releases them."""
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def main() -> None:
    av.logging.set_level(av.logging.ERROR)
    sock = socket.socket(fileno=0)
    while True:
        request, fds = _receive(sock)
        if request.get("op") == "ready" and not fds:
            _send(sock, {"ok": True})  # imports done: the parent may send files
            continue
        if request.get("op") != "open" or len(fds) != 1:
            for fd in fds:
                os.close(fd)
            _send(sock, {"ok": False, "error": "protocol", "log": "expected open + descriptor"})
            continue
        closed = _session(sock, fds[0], request["formats"])
        _give_back_freed_memory()
        if closed:  # answered once the file's memory is back: the worker is idle from now
            _send(sock, {"ok": True})


if __name__ == "__main__":
    main()
