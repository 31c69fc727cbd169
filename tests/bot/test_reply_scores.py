"""A reply shows each result's score, the one the list is ordered by, as a whole percentage,
and "identified" (no percentage) for the track the clip's fingerprint identified."""

from __future__ import annotations

import re

import numpy as np
import pytest

from bot.views import build_reply
from musicrec_core.recommender import Recommendation, RecommendationSet
from tests.fake_discord.markdown import field_rows
from tests.helpers.shown_score import assert_shown_scores_fall

SHOWN = re.compile(r"· (identified|\d+% similar)$", re.MULTILINE)


def library_item(rank: int, score: float | None, window_cosine: float) -> Recommendation:
    return Recommendation(
        rank=rank,
        group=f"{rank:064x}",
        title=f"Track {rank}",
        start_s=0.0,
        end_s=10.0,
        score=score,
        window_cosine=window_cosine,
        labels=("piano",),
        url=None,
        source=f"/music/track{rank}.flac",
        item_id=rank,
        identified=score is None,
    )


def shown_scores(result: RecommendationSet) -> list[str]:
    embed, _ = build_reply(result, heading="Sounds like this", fingerprint="0123abcd", count=3)
    values = list(field_rows(embed.to_dict()).values())
    return [SHOWN.search(value).group(1) for value in values]  # type: ignore[union-attr]


def result_of(*items: Recommendation) -> RecommendationSet:
    return RecommendationSet(None, np.zeros(4, np.float32), (), items, "0123abcd")


def test_the_reply_shows_the_ordering_score_not_the_windows_cosine() -> None:
    """Style order: the windows' cosines (0.99, 0.70, 0.95) are not what orders the list."""
    result = result_of(
        library_item(1, 0.91, 0.99), library_item(2, 0.8049, 0.70), library_item(3, 0.62, 0.95)
    )
    shown = shown_scores(result)
    assert shown == ["91% similar", "80% similar", "62% similar"]
    assert_shown_scores_fall(shown)


def test_an_identified_track_reads_identified_without_a_percentage() -> None:
    result = result_of(
        library_item(1, None, 0.31), library_item(2, 0.77, 0.8), library_item(3, 0.7, 0.9)
    )
    shown = shown_scores(result)
    assert shown == ["identified", "77% similar", "70% similar"]
    assert_shown_scores_fall(shown)


@pytest.mark.parametrize(("score", "identified"), [(None, False), (0.5, True), (1.5, False)])
def test_a_score_must_agree_with_the_identified_mark(score: float | None, identified: bool) -> None:
    with pytest.raises(ValueError):
        Recommendation(1, "g", None, 0.0, 10.0, score, 0.5, (), None, None, 0, identified)
