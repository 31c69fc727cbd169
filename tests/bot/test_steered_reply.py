"""A steered reply says how each word was resolved and, when fewer than asked qualified, how
many of those searched did: never a short or empty list without a reason."""

from __future__ import annotations

import numpy as np

from bot.views import build_reply
from musicrec_core.recommender import RecommendationSet
from musicrec_core.steering import LabelSteering, SteeredOutcome, Vocabulary
from tests.bot.test_reply_scores import library_item
from tests.fake_discord.markdown import render


def description(items: int, qualified: int, *, count: int = 3, exact: bool = False) -> str:
    """The visible description of a reply steered by more "Piano, techno", less "vocals",
    holding ``items`` results of which ``qualified`` of 60 searched qualified (``exact``:
    ``qualified`` tracks of the whole catalog, all ranked)."""
    vocabulary = Vocabulary.for_tags("mtt")
    steering = LabelSteering.from_words(vocabulary, ["Piano", "techno"], ["vocals"])
    searched = qualified if exact else 60
    outcome = SteeredOutcome(steering, qualified, searched, searched, exact=exact, unit="track")
    result = RecommendationSet(
        None,
        np.zeros(4, np.float32),
        (),
        tuple(library_item(rank, 0.9 - rank / 10, 0.9) for rank in range(1, items + 1)),
        "0123abcd",
        steering=outcome,
    )
    embed, _ = build_reply(result, heading="Sounds like this", fingerprint="0123abcd", count=count)
    rendering = render(embed.description or "")
    assert not rendering.active, rendering
    return rendering.visible


def test_the_words_are_shown_as_resolved() -> None:
    text = description(3, 12)
    assert "Steering: more Piano (= piano), techno (= techno); less vocals (= " in text
    assert "carry these words" not in text  # enough qualified: nothing to explain


def test_fewer_than_asked_are_counted() -> None:
    text = description(2, 2)
    assert "Only 2 of the 60 nearest results carry these words: 2 shown of the 3 asked" in text


def test_fewer_than_asked_from_an_exact_ranking_count_the_whole_catalog() -> None:
    assert (
        "4 tracks of the catalog carry these words, one result per video or track and "
        "never the query's own: 2 shown of the 3 asked." in description(2, 4, exact=True)
    )
    assert "1 track of the catalog carries these words" in description(0, 1, exact=True)


def test_none_qualifying_is_explained_not_an_empty_reply() -> None:
    text = description(0, 0)
    assert "Nothing among the 60 nearest results carries these words" in text
    assert "nothing else to compare with" not in text
    exact = description(0, 0, exact=True)
    assert "Nothing in the catalog carries these words, so there is nothing to show" in exact
