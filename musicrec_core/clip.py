"""The unit every stage passes on: a short mono 16 kHz waveform and where it came from."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

SAMPLE_RATE_HZ = 16_000
"""Sample rate of every clip, in Hz (VGGish and musicnn both expect 16 kHz)."""

CLIP_SECONDS = 10.0
"""Length of the window taken from an input, in seconds."""


@dataclass(frozen=True)
class Provenance:
    """Where a clip came from, for replies and for excluding the query's own video or track.

    Attributes:
        kind: "file", "attachment" or "youtube".
        ref: a file name / attachment name, or the 11-character YouTube video id.
        title: human-readable title (file tags, video title) or None.
        channel: YouTube channel / uploader, when known.
        start_s: offset of the window in the source, in seconds.
        duration_s: length of the window actually used, in seconds.
        source_duration_s: length of the whole source in seconds, when known.
        content_sha256: hex sha256 of the source file's bytes when the clip was cut from a
            local file or an uploaded attachment, else None (YouTube clips are identified by
            their video id). It equals the library track key of the same file, so the
            recommender can leave the query's own track out of its results.
    """

    kind: str
    ref: str
    title: str | None = None
    channel: str | None = None
    start_s: float = 0.0
    duration_s: float = 0.0
    source_duration_s: float | None = None
    content_sha256: str | None = None

    @property
    def video_id(self) -> str | None:
        """The YouTube id when the clip came from YouTube, else None."""
        return self.ref if self.kind == "youtube" else None

    @property
    def own_groups(self) -> frozenset[str]:
        """The catalog groups this source itself is: its video id and its content sha256.

        Empty when neither is known (e.g. a waveform built in memory).
        """
        return frozenset(key for key in (self.video_id, self.content_sha256) if key is not None)

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict (the shape `musicrec clip` prints)."""
        return {
            "kind": self.kind,
            "ref": self.ref,
            "title": self.title,
            "channel": self.channel,
            "start": round(self.start_s, 3),
            "duration": round(self.duration_s, 3),
            "source_duration": (
                None if self.source_duration_s is None else round(self.source_duration_s, 3)
            ),
            "content_sha256": self.content_sha256,
        }


@dataclass(frozen=True)
class Clip:
    """A mono float32 waveform at 16 kHz in [-1, 1] with its provenance.

    Attributes:
        samples: float32 array of shape [num_samples], 16 kHz, finite values in [-1, 1].
        provenance: where it came from.
    """

    samples: np.ndarray
    provenance: Provenance = field(default_factory=lambda: Provenance(kind="file", ref="<array>"))

    @property
    def duration_s(self) -> float:
        """Length in seconds."""
        return self.samples.shape[0] / SAMPLE_RATE_HZ

    def with_content_sha256(self, digest: str) -> Clip:
        """This clip with ``provenance.content_sha256`` set to ``digest`` (hex sha256)."""
        return replace(self, provenance=replace(self.provenance, content_sha256=digest))
