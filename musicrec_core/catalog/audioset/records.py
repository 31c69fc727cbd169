"""Parse one release record field by field, straight from its protobuf wire bytes.

A record is a ``tf.train.SequenceExample``. Its context (field 1, a map from name to
``tf.train.Feature``) holds ``video_id`` (bytes), ``start_time_seconds`` and
``end_time_seconds`` (floats) and ``labels`` (int64 class indices); its feature lists
(field 2, a map from name to a list of features) hold ``audio_embedding``: one feature per
second of audio, each a single 128-byte value (the quantized VGGish embedding). A Feature
carries a bytes (1), float (2) or int64 (3) list, whose values are its field 1.

:func:`parse_record` does not copy payloads out: it returns where each payload lies in
the record (:class:`ParsedRecord`), so that :mod:`.batch_parser` can reuse those byte
positions for every record shaped the same way. No TensorFlow, no protobuf library: the
varints are read by :mod:`musicrec_core.protobuf_varint`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from musicrec_core.catalog.audioset.segments import BAD_VIDEO_ID, BAD_WIDTH, UNPARSABLE
from musicrec_core.protobuf_varint import VarintError, read_varint
from musicrec_core.sources.video_id import VIDEO_ID_RE

EMBEDDING_BYTES = 128
"""Bytes per second of audio in the release (128 uint8 values)."""


class MalformedRecord(Exception):
    """A record that cannot be used; ``reason`` is one of the skip reasons (:mod:`.segments`)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def _fields(data: bytes, start: int, end: int) -> Iterator[tuple[int, int, int, int, int]]:
    """Yield (field number, wire type, value start, value end, varint value) of a message.

    For length-delimited fields the span is the payload; for varints it is the varint's
    bytes; for fixed32/fixed64 the 4 or 8 bytes.
    """
    position = start
    while position < end:
        key, position = read_varint(data, position, end)
        number, wire_type = key >> 3, key & 7
        value_start = position
        value = 0
        if wire_type == 0:
            value, position = read_varint(data, position, end)
        elif wire_type == 1:
            position += 8
        elif wire_type == 2:
            size, value_start = read_varint(data, position, end)
            position = value_start + size
        elif wire_type == 5:
            position += 4
        else:
            raise MalformedRecord(UNPARSABLE, f"wire type {wire_type}")
        if position > end or number == 0:
            raise MalformedRecord(UNPARSABLE, "field runs past its message")
        yield number, wire_type, value_start, position, value


def _map_entries(data: bytes, start: int, end: int) -> dict[str, tuple[int, int]]:
    """A ``map<string, message>`` field's entries: key -> value payload span."""
    entries: dict[str, tuple[int, int]] = {}
    for number, wire_type, entry_start, entry_end, _ in _fields(data, start, end):
        if number != 1 or wire_type != 2:
            continue
        key, value = b"", (entry_end, entry_end)
        for inner, inner_type, value_start, value_end, _ in _fields(data, entry_start, entry_end):
            if inner == 1 and inner_type == 2:
                key = data[value_start:value_end]
            elif inner == 2 and inner_type == 2:
                value = (value_start, value_end)
        entries[key.decode("utf-8", "replace")] = value
    return entries


def _list_values(
    data: bytes, feature: tuple[int, int], kind: int
) -> list[tuple[int, int, int, int]]:
    """The values of one tf.train.Feature's list of the given kind (1 bytes, 2 float,
    3 int64): (wire type, start, end, varint value) per wire field of the list."""
    values = []
    for number, wire_type, start, end, _ in _fields(data, *feature):
        if number == kind and wire_type == 2:
            values.extend(
                (value_type, value_start, value_end, value)
                for inner, value_type, value_start, value_end, value in _fields(data, start, end)
                if inner == 1
            )
    return values


@dataclass
class ParsedRecord:
    """One record parsed field by field; spans are byte offsets within the record."""

    video_id: str
    video_id_span: tuple[int, int]
    start_at: int
    end_at: int
    label_spans: list[tuple[int, int]]
    labels_packed: bool
    labels: list[int]
    frame_offsets: list[int]


def _decode_varints(data: bytes, start: int, end: int) -> list[int]:
    values = []
    position = start
    while position < end:
        value, position = read_varint(data, position, end)
        values.append(value)
    return values


def _first_float_at(data: bytes, context: dict[str, tuple[int, int]], key: str) -> int:
    if key not in context:
        raise MalformedRecord(UNPARSABLE, f"no {key}")
    for wire_type, start, end, _ in _list_values(data, context[key], 2):
        if (wire_type == 2 and end - start >= 4) or wire_type == 5:
            return start
    raise MalformedRecord(UNPARSABLE, f"{key} holds no float")


def parse_record(record: bytes) -> ParsedRecord:
    """Parse one release-format SequenceExample. Raises MalformedRecord (also for a video
    id that is not a YouTube id: it would go into links and buttons)."""
    try:
        return _parse(record)
    except VarintError as exc:  # translated here, once, not at every varint
        raise MalformedRecord(UNPARSABLE, "bad varint") from exc


def _parse(record: bytes) -> ParsedRecord:
    """:func:`parse_record`, letting a bad varint's VarintError through."""
    context_span = lists_span = None
    for number, wire_type, start, end, _ in _fields(record, 0, len(record)):
        if number == 1 and wire_type == 2:
            context_span = (start, end)
        elif number == 2 and wire_type == 2:
            lists_span = (start, end)
    if context_span is None:
        raise MalformedRecord(UNPARSABLE, "no context")
    context = _map_entries(record, *context_span)
    if "video_id" not in context:
        raise MalformedRecord(UNPARSABLE, "no video_id")
    ids = [v for v in _list_values(record, context["video_id"], 1) if v[0] == 2]
    if not ids:
        raise MalformedRecord(UNPARSABLE, "empty video_id")
    video_id_span = (ids[0][1], ids[0][2])
    video_id = record[video_id_span[0] : video_id_span[1]].decode("ascii", "replace")
    if not VIDEO_ID_RE.fullmatch(video_id):
        raise MalformedRecord(BAD_VIDEO_ID, f"video id {video_id[:40]!r}")
    label_spans: list[tuple[int, int]] = []
    labels: list[int] = []
    packed = True
    if "labels" in context:
        for wire_type, start, end, value in _list_values(record, context["labels"], 3):
            if wire_type == 2:
                label_spans.append((start, end))
                labels.extend(_decode_varints(record, start, end))
            elif wire_type == 0:
                packed = False
                label_spans.append((start, end))
                labels.append(value)
    if (
        label_spans
        and not packed
        and any(len(_decode_varints(record, *s)) != 1 for s in label_spans)
    ):
        raise MalformedRecord(UNPARSABLE, "mixed label encodings")
    frame_offsets: list[int] = []
    if lists_span is not None:
        feature_lists = _map_entries(record, *lists_span)
        if "audio_embedding" in feature_lists:
            for number, wire_type, start, end, _ in _fields(
                record, *feature_lists["audio_embedding"]
            ):
                if number != 1 or wire_type != 2:
                    continue
                values = [v for v in _list_values(record, (start, end), 1) if v[0] == 2]
                if len(values) != 1 or values[0][2] - values[0][1] != EMBEDDING_BYTES:
                    raise MalformedRecord(BAD_WIDTH, "an audio_embedding value is not 128 bytes")
                frame_offsets.append(values[0][1])
    return ParsedRecord(
        video_id=video_id,
        video_id_span=video_id_span,
        start_at=_first_float_at(record, context, "start_time_seconds"),
        end_at=_first_float_at(record, context, "end_time_seconds"),
        label_spans=label_spans,
        labels_packed=packed,
        labels=labels,
        frame_offsets=frame_offsets,
    )
