"""/recommend's more:/less: texts: splitting into words, and autocomplete of the last word."""

from __future__ import annotations

import pytest

from bot.steering_options import MAX_OPTION_CHARS, parse_words, steering_words, word_choices
from musicrec_core.steering import MAX_CHOICES, Vocabulary
from tests.fake_discord.limits import autocomplete_violations


@pytest.fixture(scope="module")
def mtt() -> Vocabulary:
    return Vocabulary.for_tags("mtt")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (None, ()),
        ("", ()),
        (" , ,", ()),
        ("jazz", ("jazz",)),
        (" jazz, ,piano ", ("jazz", "piano")),
        ("**jazz**, <@123>", ("**jazz**", "<@123>")),
    ],
)
def test_words_are_split_at_commas_and_empty_parts_dropped(text: str | None, words: tuple) -> None:
    assert parse_words(text) == words


def test_no_words_is_no_steering() -> None:
    assert not steering_words(None, " , ")
    both = steering_words("jazz", "vocals, drums")
    assert both and (both.more, both.less) == (("jazz",), ("vocals", "drums"))


def test_the_last_word_is_completed_and_the_earlier_ones_kept(mtt: Vocabulary) -> None:
    choices = word_choices(mtt, "drums,  pi")
    assert [choice.value for choice in choices] == ["drums, piano"]
    assert [choice.name for choice in choices] == ["drums, piano"]
    assert [choice.value for choice in word_choices(mtt, "pia")] == ["piano"]
    assert word_choices(mtt, "zzzz") == []


def test_choices_keep_discords_limits(mtt: Vocabulary) -> None:
    everything = word_choices(mtt, "")
    assert len(everything) == MAX_CHOICES
    long_head = ", ".join(["techno"] * 13)  # 102 characters before the last word
    assert word_choices(mtt, long_head + ", pi") == []
    near_limit = "a" * (MAX_OPTION_CHARS - len(", piano"))
    assert [c.value for c in word_choices(mtt, near_limit + ", pi")] == [near_limit + ", piano"]
    for typed in ("", "ro", "techno, ", long_head, "\u202e**x**\n, <@1>, ro"):
        payload = {"choices": [c.to_dict() for c in word_choices(mtt, typed)]}
        assert autocomplete_violations(payload) == []


def test_a_choice_is_named_by_what_a_reader_sees(mtt: Vocabulary) -> None:
    (choice,) = word_choices(mtt, "a\u202eb, pia")
    assert choice.value == "a\u202eb, piano"
    assert choice.name == "ab, piano"
