"""A steered reply's words in its "More like" buttons' custom_id: term indices behind a
digest of the term list, read back to the same steering, stale or forged codes refused."""

from __future__ import annotations

import re

import numpy as np
import pytest

from bot.button_words import (
    MAX_BUTTON_WORDS,
    MAX_CODE_CHARS,
    STALE_MESSAGE,
    ButtonWordsError,
    TermCodec,
    button_words,
    codec_for,
)
from bot.views import MoreLikeButton, build_reply
from musicrec_core.catalog.labels import read_labels, read_ontology_nodes
from musicrec_core.errors import ContradictoryWordsError
from musicrec_core.recommender import RecommendationSet
from musicrec_core.steering import LabelSteering, SteeredOutcome, Vocabulary
from tests.fake_discord.limits import CUSTOM_ID
from tests.helpers.shared_data import AUDIOSET_METADATA, needs_audioset_metadata


@pytest.fixture(scope="module")
def mtt() -> TermCodec:
    return TermCodec(Vocabulary.for_tags("mtt"))


def same_filter(a: LabelSteering, b: LabelSteering) -> bool:
    return (a.required, a.excluded) == (b.required, b.excluded)


@needs_audioset_metadata
def test_words_round_trip_and_labels_keep_their_class_index() -> None:
    audioset_vocabulary = Vocabulary.for_audioset(
        read_labels(AUDIOSET_METADATA / "class_labels_indices.csv"),
        read_ontology_nodes(AUDIOSET_METADATA / "ontology.json"),
    )
    codec = TermCodec(audioset_vocabulary)
    assert codec.index_of("Jazz") == audioset_vocabulary.label_index("Jazz")
    assert codec.index_of("Speech") == 0
    steering = LabelSteering.from_words(
        audioset_vocabulary, ["Drums", "calm", "guitar"], ["no vocals", "fiddle"]
    )
    code = codec.encode(steering)
    assert re.fullmatch(r"[0-9a-f]{4}(\+[0-9a-z]+){3}(-[0-9a-z]+){2}", code), code
    back = codec.decode(code)
    assert same_filter(back, steering)
    assert [r.terms for r in back.more + back.less] == [
        r.terms for r in steering.more + steering.less
    ]


def test_the_longest_code_fits_a_custom_id(mtt: TermCodec) -> None:
    words = ["classical", "piano", "no vocals", "strings", "slow", "soft", "quiet", "violin"]
    steering = LabelSteering.from_words(mtt.vocabulary, words[:MAX_BUTTON_WORDS], [])
    code = mtt.encode(steering)
    worst = MoreLikeButton(catalog="0123abcd", item_id=10**12 - 1, count=10, words=code)
    assert len(worst.item.custom_id or "") <= CUSTOM_ID
    longest_possible = mtt.digest + "+zzzz" * MAX_BUTTON_WORDS
    assert len(longest_possible) == MAX_CODE_CHARS
    assert len(f"musicrec:more:0123abcd:{10**12 - 1}:10:{longest_possible}") <= CUSTOM_ID
    assert same_filter(mtt.decode(code), steering)


@pytest.mark.parametrize(
    "forged",
    [
        "{other}+1",  # another term list's digest
        "{digest}",  # no words
        "{digest}+zzzz",  # past the list
        "{digest}+1+",  # malformed
        "{digest}" + "+1" * (MAX_BUTTON_WORDS + 1),  # over the cap
    ],
)
def test_a_stale_or_forged_code_is_refused_clearly(mtt: TermCodec, forged: str) -> None:
    other = "0000" if mtt.digest != "0000" else "ffff"
    with pytest.raises(ButtonWordsError, match=f"^{re.escape(STALE_MESSAGE)}$"):
        mtt.decode(forged.format(digest=mtt.digest, other=other))


def test_forged_contradictory_words_are_refused_as_the_command_would(mtt: TermCodec) -> None:
    with pytest.raises(ContradictoryWordsError):
        mtt.decode(f"{mtt.digest}+1-1")


def test_a_steered_reply_carries_its_words_on_every_more_like_button(mtt: TermCodec) -> None:
    steering = LabelSteering.from_words(mtt.vocabulary, ["piano"], ["vocals"])
    result = RecommendationSet(
        None,
        np.zeros(4, np.float32),
        (),
        (),
        "0123abcd",
        steering=SteeredOutcome(steering, 0, 9, 9),
    )
    assert button_words(result.steering) == codec_for(mtt.vocabulary).encode(steering)
    assert button_words(None) == ""
    _, view = build_reply(result, heading="h", fingerprint="0123abcd", count=3)
    assert view.children == []  # no results: no buttons, and the embed says why
