"""What a member is shown of a result list, read back from the surfaces that show it, and
the rule it must keep: the score shown is the score the list is ordered by."""

from __future__ import annotations

from musicrec_core.cli.recommend import format_table
from musicrec_core.recommender import RecommendationSet


def table_matches(result: RecommendationSet) -> list[str]:
    """The ``match`` column of ``musicrec recommend``'s table, top to bottom."""
    rows = format_table(result, len(result.items)).splitlines()
    header = next(i for i, line in enumerate(rows) if line.split()[:2] == ["#", "match"])
    return [row.split()[1] for row in rows[header + 1 :]]


def assert_shown_scores_fall(shown: list[str]) -> None:
    """``shown``: one cell per result, ``"identified"`` or a percentage (``"87.5%"``, or
    ``"**88%** similar"`` in a reply). Identified results come first; the percentages after
    them lie in [0, 100] and never rise down the list."""
    marked = [cell.strip("*").startswith("identified") for cell in shown]
    assert marked == sorted(marked, reverse=True), f"identified results come first: {shown}"
    percentages = [
        float(cell.strip("*").split("%")[0])
        for cell, mark in zip(shown, marked, strict=True)
        if not mark
    ]
    assert all(0.0 <= value <= 100.0 for value in percentages), shown
    assert percentages == sorted(percentages, reverse=True), f"shown out of order: {shown}"


def assert_shown_score_is_the_order(result: RecommendationSet) -> None:
    """The table's ``match`` column keeps the rule (:func:`assert_shown_scores_fall`) and
    shows each item's score; ``--json`` gives the same score, null and ``identified: true``
    for an identified item."""
    items = result.items
    assert [item.rank for item in items] == list(range(1, len(items) + 1))
    shown = table_matches(result)
    assert_shown_scores_fall(shown)
    assert shown == [
        "identified" if item.identified else f"{item.score * 100:.1f}%" for item in items
    ]
    for item, document in zip(items, result.to_json()["items"], strict=True):
        assert (item.score is None) == item.identified == document["identified"]
        assert document["score"] == (None if item.score is None else round(item.score, 4))
