"""When a library track carries a musicnn tag: the one rule that steering and discovery share.

A library index keeps, for each track, every musicnn tag with its score (the tag's
probability averaged over the track's windows; :meth:`CatalogIndex.track_tags`). A track
*carries* a tag when that score is at least :data:`TAG_THRESHOLD`. An index built before
scores were kept (format 1) holds only each track's top 5 tag names, without scores: those
count as carried.
"""

from __future__ import annotations

from collections.abc import Iterable

from musicrec_core.catalog.index import TrackTag

__all__ = ["TAG_THRESHOLD", "carried_tags", "check_tag_threshold"]

TAG_THRESHOLD = 0.1
"""Measured on real music (``benchmarks/bench_steering_quality.py``, docs/steering.md): over
eight MTT words and a judgement table written before measuring, 0.1 is the threshold whose
steered top-5 comes most often from the soundtracks each word should favour (0.42 of the
answers against 0.25 unsteered) while still answering every word that has carriers with
all five; at 0.15 and above piano, ambient and then most words leave replies short, and the
first guess, 0.25, answered only two of eight words in full. A mean over windows dilutes a
tag heard in part of a track, and the MTT model rarely gives a tag a high probability, so
useful scores sit far below the sigmoid's 0.5."""


def check_tag_threshold(threshold: float) -> float:
    """``threshold`` itself when it is a probability in (0, 1]; else ValueError."""
    if not (isinstance(threshold, int | float) and 0.0 < threshold <= 1.0):
        raise ValueError(f"A tag threshold is a probability in (0, 1], got {threshold!r}.")
    return float(threshold)


def carried_tags(tags: Iterable[TrackTag], threshold: float = TAG_THRESHOLD) -> frozenset[str]:
    """The names of the tags a track carries, from its stored ``tags``: those scoring at
    least ``threshold`` (a probability in (0, 1]; ValueError otherwise), and every tag
    stored without a score."""
    check_tag_threshold(threshold)
    return frozenset(tag.name for tag in tags if tag.score is None or tag.score >= threshold)
