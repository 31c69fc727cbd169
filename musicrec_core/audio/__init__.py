"""Decode any audio ffmpeg can read into the 10-second mono 16 kHz clip the embedders take.

Two calls make up the public API::

    info = probe_audio("song.opus")          # what is in the file (ffprobe), no decoding
    clip = load_clip("song.opus")            # the 10-s window, as a Clip
    clip = load_clip("song.opus", start_s=83.0)

One module per stage, each importing only the ones before it:

- :mod:`.process`: runs ffmpeg/ffprobe under hard limits (argument lists, one deadline per
  call, capped output, the stderr tail), finds the binaries through pydub's configuration
  and picks the resampler (libsoxr when ffmpeg has it).
- :mod:`.probe`: :func:`probe_audio` and :class:`AudioInfo`: what ffprobe says is in a
  file; refuses non-audio and playlist formats, and more than ``MAX_CHANNELS`` channels.
- :mod:`.window`: the window rule (which 10 seconds), as arithmetic shared with the YouTube
  section planner: a given start, moved back near the end and refused past it; otherwise
  the whole of a short source, or the loudest of four candidate windows of a long one.
- :mod:`.window_samples`: the lead-in before a window and the downmix, shared by both
  decoders; :mod:`.ffmpeg_window`: one window decoded by an ffmpeg process.
- :mod:`.decode_workers` (and :mod:`._decode_worker`, the worker's program): long-lived
  processes that probe and decode with libav in-process (PyAV), one open per file.
- :mod:`.decode`: :func:`load_clip`: the window rule applied through a worker (where PyAV
  is installed) or through ffprobe and ffmpeg processes; the downmix; NaN/inf sanitised.

Safety in one paragraph: processes run from argument lists with stdin closed, a minimal
environment and a memory limit (:mod:`musicrec_core.child_process`), the input opened as
``file:<absolute path>`` under ``-protocol_whitelist file`` and a ``-format_whitelist`` of
audio/video containers (no playlist, file list or image sequence is ever read, so nothing
an upload names is opened), one wall-clock deadline per call
(:class:`~musicrec_core.errors.DecodeTimeoutError`, processes killed), stdout capped at
the window's size plus 0.5 s and stderr at its last 4 KiB; no file is created. A decode
worker keeps the same limits: its memory limit is set before its interpreter starts, it
is handed an open descriptor (``protocol_whitelist=fd``, the same format whitelist), and
one that misses the deadline, dies or runs out of memory is killed and replaced, failing
only the call it served. Every function may be called from several threads at once.
"""

from musicrec_core.audio.decode import load_clip
from musicrec_core.audio.probe import AudioInfo, probe_audio
from musicrec_core.audio.process import DEFAULT_TIMEOUT_S
from musicrec_core.audio.window import CANDIDATE_FRACTIONS, MIN_CLIP_SAMPLES, MIN_CLIP_SECONDS

__all__ = [
    "CANDIDATE_FRACTIONS",
    "DEFAULT_TIMEOUT_S",
    "MIN_CLIP_SAMPLES",
    "MIN_CLIP_SECONDS",
    "AudioInfo",
    "load_clip",
    "probe_audio",
]
