"""Parse a batch of release records in bulk into pooled, class-filtered segments.

Records written by one writer share their wire layout: the same tags, keys and length
prefixes at the same byte positions, differing only in payload bytes (the id's characters,
the two floats, the label varints, the embedding bytes). For each record length in a
batch, one record is parsed field by field (:func:`.records.parse_record`) into such a
:class:`RecordLayout`; every other record of that length whose non-payload bytes are
identical parses the same way, so its fields are gathered for all those records at once
with numpy indexing; the rest of the group gets the next layout. Where layouts keep
fitting only a few records (records shaped in many ways), and for labels that do not fit
two-byte varints, records are parsed one by one by the same field-by-field parser. The
result does not depend on which path a record took.

Evenly spaced embedding frames are pooled as a strided view of the record rows, summed in
integers (:func:`musicrec_core.catalog.pooling.pool_quantized`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import as_strided, sliding_window_view

from musicrec_core.catalog.audioset.records import (
    EMBEDDING_BYTES,
    MalformedRecord,
    ParsedRecord,
    parse_record,
)
from musicrec_core.catalog.audioset.segments import (
    BAD_VIDEO_ID,
    NO_EMBEDDINGS,
    IngestStats,
    SegmentBatch,
)
from musicrec_core.catalog.pooling import pool_quantized
from musicrec_core.sources.video_id import VIDEO_ID_ALPHABET

MIN_SHARED_LAYOUT = 8
"""A layout fitting fewer records of a batch counts as a miss (see _MAX_LAYOUT_MISSES)."""

_MAX_LAYOUT_MISSES = 4
"""After this many layouts fitting too few records, the rest of a length group is parsed
one record at a time (bounds the cost when every record is shaped differently)."""
_POOL_CHUNK_ROWS = 4096
_LAYOUTS_KEPT_PER_LENGTH = 8
"""Layouts remembered per record length, so later batches skip parsing a representative."""
_ID_BYTE_OK = np.zeros(256, dtype=bool)
_ID_BYTE_OK[np.frombuffer(VIDEO_ID_ALPHABET.encode("ascii"), dtype=np.uint8)] = True
"""byte -> whether it may appear in a video id (a layout's id span already has the length)."""


@dataclass
class RecordLayout:
    """Byte positions shared by every record shaped like one parsed record.

    ``structure`` holds the positions of every byte that is not payload (tags, keys,
    length prefixes); a record of the same length whose bytes there equal ``expected``
    parses to payloads at the same positions.
    """

    parsed: ParsedRecord
    structure: np.ndarray
    expected: np.ndarray
    label_positions: np.ndarray
    label_span_ends: np.ndarray
    frame_positions: np.ndarray

    @classmethod
    def of(cls, record: bytes, parsed: ParsedRecord) -> RecordLayout:
        payload = np.zeros(len(record), dtype=bool)
        spans = [
            parsed.video_id_span,
            (parsed.start_at, parsed.start_at + 4),
            (parsed.end_at, parsed.end_at + 4),
            *parsed.label_spans,
            *((offset, offset + EMBEDDING_BYTES) for offset in parsed.frame_offsets),
        ]
        for start, end in spans:
            payload[start:end] = True
        structure = np.flatnonzero(~payload)
        label_positions = np.concatenate(
            [np.arange(start, end) for start, end in parsed.label_spans] or [np.zeros(0, int)]
        ).astype(np.int64)
        span_lengths = [end - start for start, end in parsed.label_spans]
        frame_positions = (
            np.asarray(parsed.frame_offsets, dtype=np.int64)[:, None] + np.arange(EMBEDDING_BYTES)
        ).ravel()
        return cls(
            parsed=parsed,
            structure=structure.astype(np.int64),
            expected=np.frombuffer(record, dtype=np.uint8)[structure],
            label_positions=label_positions,
            label_span_ends=np.cumsum(span_lengths, dtype=np.int64) - 1,
            frame_positions=frame_positions,
        )


def _decode_label_block(
    block: np.ndarray, span_ends: np.ndarray, packed: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decode label varints of many records at once.

    Args:
        block: uint8 [m, k], each record's label payload bytes (all spans, concatenated).
        span_ends: positions in k where a wire span ends (a varint must end there).
        packed: False when each span must hold exactly one varint.

    Returns:
        (ok [m] bool, counts [m], values [sum(counts[ok])]) for the rows that decode with
        varints of at most two bytes (class indices < 16384); others are not ok.
    """
    rows, width = block.shape
    if width == 0:
        return np.ones(rows, bool), np.zeros(rows, np.int64), np.zeros(0, np.int64)
    continues = block >= 0x80
    ok = ~continues[:, span_ends].any(axis=1)
    ok &= ~(continues[:, 1:] & continues[:, :-1]).any(axis=1)
    ends = ~continues
    if not packed:
        ok &= ends.sum(axis=1) == span_ends.size
    values = block.astype(np.int64)
    low = values & 0x7F
    two_byte = np.zeros_like(continues)
    two_byte[:, 1:] = continues[:, :-1]
    values[:, 1:] = np.where(two_byte[:, 1:], (values[:, 1:] << 7) | low[:, :-1], values[:, 1:])
    ends &= ok[:, None]
    return ok, ends.sum(axis=1), values[ends]


class BatchParser:
    """Parses the records of one batch buffer into pooled, filtered segments."""

    def __init__(
        self,
        data: bytes,
        pooling: str,
        keep_classes: np.ndarray | None,
        stats: IngestStats,
        layouts: dict[int, list[RecordLayout]],
    ) -> None:
        self.data = data
        self.layouts = layouts
        self.buffer = np.frombuffer(data, dtype=np.uint8)
        self.pooling = pooling
        self.keep_classes = keep_classes
        self.stats = stats
        self.parts: list[SegmentBatch] = []

    def parse(self, offsets: np.ndarray, lengths: np.ndarray) -> SegmentBatch:
        """Parse every record (offset, length) of the buffer; skipped ones are counted."""
        if offsets.size == 0:
            return SegmentBatch.join([])
        order = np.argsort(lengths, kind="stable")
        group_lengths, group_starts = np.unique(lengths[order], return_index=True)
        groups = np.split(offsets[order], group_starts[1:])
        for length, remaining in zip(group_lengths.tolist(), groups, strict=True):
            # All records of this length, one per row: uint8 [m, length] (one copy).
            rows = sliding_window_view(self.buffer, length)[remaining]
            known = self.layouts.setdefault(length, [])
            for layout in known:  # layouts met in earlier batches: no parsing needed
                if remaining.size:
                    remaining, rows = self._apply(layout, remaining, rows)
            misses = 0
            while remaining.size:
                if misses == _MAX_LAYOUT_MISSES:
                    self._one_by_one(remaining, length)
                    break
                record = rows[0].tobytes()
                try:
                    layout = RecordLayout.of(record, parse_record(record))
                except MalformedRecord as error:
                    self.stats.skip(error.reason, 1, f"record at byte {remaining[0]}: {error}")
                    remaining, rows = remaining[1:], rows[1:]
                    continue
                before = remaining.size
                remaining, rows = self._apply(layout, remaining, rows)
                if before - remaining.size < MIN_SHARED_LAYOUT:
                    misses += 1
                elif len(known) < _LAYOUTS_KEPT_PER_LENGTH:
                    known.append(layout)
        return SegmentBatch.join(self.parts)

    def _apply(
        self, layout: RecordLayout, offsets: np.ndarray, rows: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Decode the records shaped like ``layout``; returns the others (offsets, rows)."""
        fits = (rows[:, layout.structure] == layout.expected).all(axis=1)
        if fits.all():  # the usual case: no copies
            self._with_layout(rows, offsets, layout)
            return offsets[:0], rows[:0]
        if fits.any():
            self._with_layout(rows[fits], offsets[fits], layout)
        return offsets[~fits], rows[~fits]

    def _with_layout(self, rows: np.ndarray, offsets: np.ndarray, layout: RecordLayout) -> None:
        """Decode records [m, length] that share ``layout``, all at once."""
        parsed = layout.parsed
        id_start, id_end = parsed.video_id_span
        id_ok = _ID_BYTE_OK[rows[:, id_start:id_end]].all(axis=1)
        if not id_ok.all():
            bad = np.flatnonzero(~id_ok)
            self.stats.skip(
                BAD_VIDEO_ID, bad.size, f"record at byte {offsets[bad[0]]}: bad video id"
            )
            rows, offsets = rows[id_ok], offsets[id_ok]
        ok, counts, values = _decode_label_block(
            rows[:, layout.label_positions], layout.label_span_ends, parsed.labels_packed
        )
        if not ok.all():
            self._one_by_one(offsets[~ok], rows.shape[1])
            rows, counts = rows[ok], counts[ok]
        if not parsed.frame_offsets:
            self.stats.skip(NO_EMBEDDINGS, rows.shape[0])
            return
        id_bytes = np.ascontiguousarray(rows[:, id_start:id_end]).view(f"S{id_end - id_start}")
        video_ids = id_bytes.ravel().astype(f"U{id_end - id_start}").tolist()  # checked ASCII
        self._add(
            video_ids,
            _floats(rows, parsed.start_at),
            _floats(rows, parsed.end_at),
            counts,
            values,
            _frames(rows, layout),
        )

    def _one_by_one(self, offsets: np.ndarray, length: int) -> None:
        for offset in offsets.tolist():
            record = self.data[offset : offset + length]
            try:
                parsed = parse_record(record)
            except MalformedRecord as error:
                self.stats.skip(error.reason, 1, f"record at byte {offset}: {error}")
                continue
            if not parsed.frame_offsets:
                self.stats.skip(NO_EMBEDDINGS)
                continue
            frames = np.frombuffer(record, dtype=np.uint8)[
                np.asarray(parsed.frame_offsets)[:, None] + np.arange(EMBEDDING_BYTES)
            ]
            start, end = (
                np.frombuffer(record, dtype="<f4", count=1, offset=at).astype(np.float64)
                for at in (parsed.start_at, parsed.end_at)
            )
            self._add(
                [parsed.video_id],
                start,
                end,
                np.array([len(parsed.labels)]),
                np.array(parsed.labels, dtype=np.int64),
                frames[None],
            )

    def _add(
        self,
        video_ids: list[str],
        starts: np.ndarray,
        ends: np.ndarray,
        counts: np.ndarray,
        values: np.ndarray,
        frames: np.ndarray,
    ) -> None:
        """Filter by class, pool uint8 frames [m, n, 128] and keep the segments."""
        rows = len(video_ids)
        keep = np.ones(rows, dtype=bool)
        if self.keep_classes is not None:
            owner = np.repeat(np.arange(rows), counts)
            hits = owner[np.isin(values, self.keep_classes)]
            keep = np.bincount(hits, minlength=rows) > 0
            self.stats.filtered += int(rows - keep.sum())
            values = values[keep[owner]]
            counts = counts[keep]
            video_ids = [v for v, k in zip(video_ids, keep.tolist(), strict=True) if k]
            starts, ends, frames = starts[keep], ends[keep], frames[keep]
        kept = len(video_ids)
        if kept == 0:
            return
        vectors = np.concatenate(
            [
                pool_quantized(frames[i : i + _POOL_CHUNK_ROWS], self.pooling)
                for i in range(0, kept, _POOL_CHUNK_ROWS)
            ]
        )
        self.stats.kept += kept
        self.parts.append(
            SegmentBatch(
                video_ids=video_ids,
                start_s=starts,
                end_s=ends,
                label_counts=counts.astype(np.int64),
                label_values=values.astype(np.int64),
                frame_counts=np.full(kept, frames.shape[1], dtype=np.int64),
                vectors=vectors,
            )
        )


def _floats(rows: np.ndarray, at: int) -> np.ndarray:
    """float64 [m] from the little-endian float32 at byte ``at`` of each row."""
    return np.ascontiguousarray(rows[:, at : at + 4]).view("<f4")[:, 0].astype(np.float64)


def _frames(rows: np.ndarray, layout: RecordLayout) -> np.ndarray:
    """uint8 [m, n, 128] embedding frames of records [m, length] laid out like ``layout``
    (a read-only view of ``rows`` where the frames are evenly spaced)."""
    frame_offsets = layout.parsed.frame_offsets
    gaps = set(np.diff(frame_offsets).tolist())
    if len(gaps) <= 1:
        # Evenly spaced frames (the usual case): a strided view of ``rows``, pooled in place.
        stride = gaps.pop() if gaps else EMBEDDING_BYTES
        view = as_strided(
            rows[:, frame_offsets[0] :],
            shape=(rows.shape[0], len(frame_offsets), EMBEDDING_BYTES),
            strides=(rows.strides[0], stride, 1),
            writeable=False,
        )
        return view
    return rows[:, layout.frame_positions].reshape(rows.shape[0], -1, EMBEDDING_BYTES)
