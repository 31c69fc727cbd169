"""When a library track carries a musicnn tag: its stored score at or above the threshold."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from musicrec_core.catalog.index import TrackTag
from musicrec_core.steering.carried_tags import TAG_THRESHOLD, carried_tags

DOCS = Path(__file__).resolve().parents[3] / "docs"


def test_a_tag_at_the_threshold_is_carried_and_one_just_below_is_not() -> None:
    tags = [
        TrackTag("piano", TAG_THRESHOLD),
        TrackTag("drums", TAG_THRESHOLD - 1e-6),
        TrackTag("strings", 1.0),
        TrackTag("techno", 0.0),
    ]
    assert carried_tags(tags) == {"piano", "strings"}


def test_a_tag_without_a_score_counts_as_carried() -> None:
    # an index of format 1 kept only each track's top 5 names
    assert carried_tags([TrackTag("piano", None), TrackTag("drums", 0.0)]) == {"piano"}


def test_a_threshold_passed_in_replaces_the_default() -> None:
    tags = [TrackTag("piano", 0.3), TrackTag("drums", 0.1), TrackTag("guitar", None)]
    assert carried_tags(tags, threshold=0.1) == {"piano", "drums", "guitar"}
    assert carried_tags(tags, threshold=0.5) == {"guitar"}


@pytest.mark.parametrize("threshold", [0.0, -0.1, 1.5, float("nan")])
def test_a_threshold_outside_the_unit_interval_is_refused(threshold: float) -> None:
    with pytest.raises(ValueError, match="tag threshold"):
        carried_tags([TrackTag("piano", 0.3)], threshold=threshold)


@pytest.mark.parametrize("doc", ["steering.md", "discovery.md"])
def test_the_threshold_is_a_probability_and_the_one_the_docs_state(doc: str) -> None:
    assert 0.0 < TAG_THRESHOLD < 1.0
    stated = re.findall(r"`TAG_THRESHOLD` = ([0-9]+(?:\.[0-9]+)?)", (DOCS / doc).read_text())
    assert stated, f"docs/{doc} no longer states TAG_THRESHOLD"
    assert {float(value) for value in stated} == {TAG_THRESHOLD}
