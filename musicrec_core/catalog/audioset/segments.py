"""What reading the release yields: pooled segments column by column, and counts by reason.

:class:`SegmentBatch` holds one batch of pooled segments (ids, times, labels, vectors);
:class:`IngestStats` counts what one run kept, filtered out and skipped. A record that
cannot be used is never fatal: it is counted under one of the skip reasons below, which
are the words the summary prints (a damaged archive is fatal instead: :mod:`.archive`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

MAX_PROBLEMS_KEPT = 20
"""Problem descriptions kept per run (the counts go on past it)."""

# Skip reasons, as shown in the summary.
BAD_CHECKSUM = "bad record checksum"
BAD_LENGTH = "bad length checksum (rest of file lost)"
TRUNCATED = "file cut short"
UNPARSABLE = "unparsable record"
NO_EMBEDDINGS = "no embeddings"
BAD_WIDTH = "embedding not 128 bytes"
UNREADABLE = "unreadable file"
BAD_VIDEO_ID = "bad video id"
"""Not 11 characters of YouTube's id alphabet (:mod:`musicrec_core.sources.video_id`)."""


@dataclass
class IngestStats:
    """Counts of one ingest run.

    Attributes:
        files: TFRecord files opened.
        kept: segments pooled and passed on.
        filtered: intact segments left out by the class filter (``--music-only``).
        skipped: skip reason -> count.
        problems: the first few problem descriptions, "file: what".
    """

    files: int = 0
    kept: int = 0
    filtered: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    def skip(self, reason: str, count: int = 1, problem: str | None = None) -> None:
        """Count ``count`` records skipped for ``reason``."""
        if count <= 0:
            return
        self.skipped[reason] += count
        if problem is not None and len(self.problems) < MAX_PROBLEMS_KEPT:
            self.problems.append(problem)

    @property
    def records(self) -> int:
        """Records met: kept + filtered + skipped (an unreadable file counts as one)."""
        return self.kept + self.filtered + sum(self.skipped.values())

    @property
    def segments(self) -> int:
        """Segments read whole and valid, music or not: kept + filtered (what the release's
        published count counts)."""
        return self.kept + self.filtered

    def summary(self) -> str:
        """One paragraph: files, records read, kept, filtered, skipped by reason."""
        skipped = sum(self.skipped.values())
        text = (
            f"Read {self.records:,} records from {self.files:,} files: kept {self.kept:,}, "
            f"filtered out {self.filtered:,}, skipped {skipped:,}"
        )
        if skipped:
            reasons = ", ".join(f"{reason} {n:,}" for reason, n in self.skipped.most_common())
            text += f" ({reasons})"
        return text + "."

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly copy (for the index manifest)."""
        return {
            "files": self.files,
            "records": self.records,
            "kept": self.kept,
            "filtered": self.filtered,
            "skipped": dict(self.skipped),
        }


@dataclass
class SegmentBatch:
    """Pooled segments, column by column.

    Attributes:
        video_ids: m YouTube ids.
        start_s: float64 [m], segment start in seconds.
        end_s: float64 [m], segment end in seconds.
        label_counts: int64 [m], labels per segment.
        label_values: int64 [sum(label_counts)], class indices, segment after segment.
        frame_counts: int64 [m], seconds of embeddings per segment.
        vectors: float32 [m, D], pooled dequantized embeddings.
    """

    video_ids: list[str]
    start_s: np.ndarray
    end_s: np.ndarray
    label_counts: np.ndarray
    label_values: np.ndarray
    frame_counts: np.ndarray
    vectors: np.ndarray

    def __len__(self) -> int:
        return len(self.video_ids)

    @staticmethod
    def join(parts: Sequence[SegmentBatch]) -> SegmentBatch:
        """One batch holding ``parts`` one after another."""
        if not parts:
            empty = np.zeros(0)
            return SegmentBatch([], empty, empty, empty, empty, empty, np.zeros((0, 0), np.float32))
        return SegmentBatch(
            video_ids=[v for part in parts for v in part.video_ids],
            start_s=np.concatenate([p.start_s for p in parts]),
            end_s=np.concatenate([p.end_s for p in parts]),
            label_counts=np.concatenate([p.label_counts for p in parts]),
            label_values=np.concatenate([p.label_values for p in parts]),
            frame_counts=np.concatenate([p.frame_counts for p in parts]),
            vectors=np.concatenate([p.vectors for p in parts]),
        )

    def labels(self) -> list[list[int]]:
        """Class indices per segment."""
        bounds = np.concatenate([[0], np.cumsum(self.label_counts)]).tolist()
        values = self.label_values.tolist()
        return [values[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
