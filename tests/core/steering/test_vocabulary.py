"""Resolving words against a catalog's vocabulary: labels, synonyms, ontology groups,
everyday words, tags; case and plural folding; refusals with the nearest words; prefixes."""

from __future__ import annotations

import pytest

from musicrec_core.errors import BadWordsError, UnknownWordError
from musicrec_core.steering import (
    MAX_CHOICES,
    MAX_WORD_CHARS,
    MAX_WORDS,
    TermKind,
    Vocabulary,
)


def _labels(vocabulary: Vocabulary, *names: str) -> set[int]:
    return {vocabulary.label_index(name) for name in names}


@pytest.mark.parametrize(
    ("word", "names", "kind", "folded"),
    [
        ("Piano", ("Piano",), TermKind.LABEL, False),
        ("pianos", ("Piano",), TermKind.LABEL, True),
        ("Drums", ("Drum",), TermKind.LABEL, True),
        ("  jazz ", ("Jazz",), TermKind.LABEL, True),
        ("calm", ("Tender music",), TermKind.EVERYDAY, False),
        ("Energetic", ("Exciting music",), TermKind.EVERYDAY, True),
        ("hip hop", ("Hip hop music",), TermKind.EVERYDAY, False),
        ("fiddle", ("Violin, fiddle",), TermKind.SYNONYM, False),
        ("keyboard", ("Keyboard (musical)",), TermKind.SYNONYM, True),
        ("Tender", ("Tender music",), TermKind.SYNONYM, False),
        ("Music genre", None, TermKind.GROUP, False),
    ],
)
def test_audioset_words(
    audioset_vocabulary: Vocabulary, word: str, names: tuple | None, kind: TermKind, folded: bool
) -> None:
    resolution = audioset_vocabulary.resolve(word)
    if names is not None:
        assert resolution.names == names
    assert resolution.kind is kind
    assert resolution.folded is folded
    assert not resolution.negated
    assert resolution.tags == ()
    assert resolution.word == word.strip()


def test_a_label_covers_its_subclasses(audioset_vocabulary: Vocabulary) -> None:
    guitar = audioset_vocabulary.resolve("guitar")
    assert guitar.names == ("Guitar",)
    assert _labels(audioset_vocabulary, "Guitar", "Electric guitar", "Bass guitar") <= set(
        guitar.label_indices
    )
    assert audioset_vocabulary.label_index("Piano") not in guitar.label_indices
    assert list(guitar.label_indices) == sorted(guitar.label_indices)


def test_no_vocals_is_a_negated_mapping(audioset_vocabulary: Vocabulary) -> None:
    resolution = audioset_vocabulary.resolve("No Vocals")
    assert resolution.negated and resolution.kind is TermKind.EVERYDAY
    assert resolution.names == ("Singing", "Speech")
    assert _labels(audioset_vocabulary, "Singing", "Male singing", "Speech", "Rapping") <= set(
        resolution.label_indices
    )
    assert "not" in resolution.how and "everyday word" in resolution.how


def test_an_ontology_group_covers_the_classes_below_it(audioset_vocabulary: Vocabulary) -> None:
    moods = audioset_vocabulary.resolve("music mood")
    assert moods.kind is TermKind.GROUP
    assert set(moods.names) == {
        "Happy music", "Funny music", "Sad music", "Tender music",
        "Exciting music", "Angry music", "Scary music",
    }  # fmt: skip
    assert set(moods.label_indices) == _labels(audioset_vocabulary, *moods.names)


def test_an_exact_label_wins_over_a_synonym(audioset_vocabulary: Vocabulary) -> None:
    # "Burst, pop" would make "pop" a synonym; the everyday table points it at the genre.
    assert audioset_vocabulary.resolve("pop").names == ("Pop music",)
    assert audioset_vocabulary.resolve("Pop music").kind is TermKind.LABEL


@pytest.mark.parametrize(
    ("vocabulary", "word", "tags", "kind"),
    [
        ("mtt_vocabulary", "Piano", ("piano",), TermKind.TAG),
        ("mtt_vocabulary", "drum", ("drums",), TermKind.TAG),
        ("mtt_vocabulary", "no vocals", ("no vocals", "no vocal"), TermKind.TAG),
        ("mtt_vocabulary", "calm", ("soft", "quiet", "slow"), TermKind.EVERYDAY),
        ("msd_vocabulary", "hip hop", ("Hip-Hop",), TermKind.TAG),
        ("msd_vocabulary", "no vocals", ("instrumental",), TermKind.EVERYDAY),
        (
            "msd_vocabulary",
            "female vocalists",
            ("female vocalists", "female vocalist"),
            TermKind.TAG,
        ),
    ],
)
def test_tag_words(
    request: pytest.FixtureRequest, vocabulary: str, word: str, tags: tuple, kind: TermKind
) -> None:
    resolution = request.getfixturevalue(vocabulary).resolve(word)
    assert set(resolution.tags) == set(tags) and resolution.names == resolution.tags
    assert resolution.kind is kind
    assert resolution.label_indices == ()


def test_mtt_has_no_jazz_and_says_what_is_near(mtt_vocabulary: Vocabulary) -> None:
    with pytest.raises(UnknownWordError) as caught:
        mtt_vocabulary.resolve("jazz")
    assert caught.value.word == "jazz"
    assert "jazz" in str(caught.value) and "musicnn MTT" in str(caught.value)


def test_an_unknown_word_lists_the_nearest_words(audioset_vocabulary: Vocabulary) -> None:
    with pytest.raises(UnknownWordError) as caught:
        audioset_vocabulary.resolve("jaz")
    assert caught.value.nearest[0] == "Jazz"
    assert 1 <= len(caught.value.nearest) <= 5
    assert "Jazz" in str(caught.value)
    with pytest.raises(UnknownWordError) as far:
        audioset_vocabulary.resolve("qqqqqqqq")
    assert far.value.nearest == () and "musicrec vocab" in str(far.value)


@pytest.mark.parametrize("word", ["**jazz**", "<@123456789>", "@everyone", "`piano`"])
def test_markdown_and_mentions_are_just_characters(
    audioset_vocabulary: Vocabulary, word: str
) -> None:
    with pytest.raises(UnknownWordError) as caught:
        audioset_vocabulary.resolve(word)
    assert caught.value.word == word


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (["x" * (MAX_WORD_CHARS + 1)], f"at most {MAX_WORD_CHARS} characters"),
        (["piano"] * (MAX_WORDS + 1), f"at most {MAX_WORDS} words"),
        (["   "], "empty"),
        (["pia\x00no"], "control"),
        (["piano\u202e"], "control"),
    ],
)
def test_bad_words_are_refused(
    audioset_vocabulary: Vocabulary, words: list[str], message: str
) -> None:
    with pytest.raises(BadWordsError, match=message):
        audioset_vocabulary.resolve_all(words)


def test_resolve_all_keeps_the_order(audioset_vocabulary: Vocabulary) -> None:
    found = audioset_vocabulary.resolve_all(["calm", "Drums"])
    assert [r.names for r in found] == [("Tender music",), ("Drum",)]


def test_prefix_lookup_is_sorted_capped_and_case_blind(audioset_vocabulary: Vocabulary) -> None:
    choices = audioset_vocabulary.complete("GUIT")
    assert choices[0] == "Guitar" and "Electric guitar" in choices
    assert len(audioset_vocabulary.complete("")) == MAX_CHOICES == 25
    assert len(audioset_vocabulary.complete("s")) == MAX_CHOICES
    starting = [c for c in choices if c.casefold().startswith("guit")]
    assert starting == sorted(starting, key=str.casefold) and choices[: len(starting)] == starting
    assert audioset_vocabulary.complete("zzzz") == []
    assert "calm" in audioset_vocabulary.complete("Cal")


def test_every_choice_resolves(audioset_vocabulary: Vocabulary, mtt_vocabulary: Vocabulary) -> None:
    for vocabulary in (audioset_vocabulary, mtt_vocabulary):
        for prefix in ("a", "dr", "no", "pi", "s"):
            for choice in vocabulary.complete(prefix):
                vocabulary.resolve(choice)


def test_listing_groups_the_terms(
    audioset_vocabulary: Vocabulary, mtt_vocabulary: Vocabulary
) -> None:
    groups = audioset_vocabulary.terms_by_kind()
    assert len(groups[TermKind.LABEL]) == 527
    assert "calm" in groups[TermKind.EVERYDAY] and "fiddle" in groups[TermKind.SYNONYM]
    tag_groups = mtt_vocabulary.terms_by_kind()
    assert len(tag_groups[TermKind.TAG]) == 50 and TermKind.LABEL not in tag_groups
    # Only everyday words that map onto MTT's tags are offered there.
    everyday = tag_groups[TermKind.EVERYDAY]
    assert "calm" in everyday and "hip hop" not in everyday


def test_json_form_says_how(audioset_vocabulary: Vocabulary) -> None:
    document = audioset_vocabulary.resolve("Drums").to_json()
    assert document["word"] == "Drums" and document["names"] == ["Drum"]
    assert document["kind"] == "label" and document["folded"] is True
    assert document["negated"] is False
    assert audioset_vocabulary.label_index("Drum") in document["label_indices"]
