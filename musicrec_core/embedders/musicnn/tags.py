"""The two musicnn variants (MTT and MSD) and the 50 tags each one predicts.

The tag order is the order of the 50 logits of the network's last dense layer; it is part
of the published weights and must not change.
"""

from __future__ import annotations

from dataclasses import dataclass

MTT_TAGS: tuple[str, ...] = (
    "guitar", "classical", "slow", "techno", "strings", "drums", "electronic", "rock",
    "fast", "piano", "ambient", "beat", "violin", "vocal", "synth", "female", "indian",
    "opera", "male", "singing", "vocals", "no vocals", "harpsichord", "loud", "quiet",
    "flute", "woman", "male vocal", "no vocal", "pop", "soft", "sitar", "solo", "man",
    "classic", "choir", "voice", "new age", "dance", "male voice", "female vocal", "beats",
    "harp", "cello", "no voice", "weird", "country", "metal", "female voice", "choral",
)  # fmt: skip
"""MagnaTagATune tags, in logit order."""

MSD_TAGS: tuple[str, ...] = (
    "rock", "pop", "alternative", "indie", "electronic", "female vocalists", "dance", "00s",
    "alternative rock", "jazz", "beautiful", "metal", "chillout", "male vocalists",
    "classic rock", "soul", "indie rock", "Mellow", "electronica", "80s", "folk", "90s",
    "chill", "instrumental", "punk", "oldies", "blues", "hard rock", "ambient", "acoustic",
    "experimental", "female vocalist", "guitar", "Hip-Hop", "70s", "party", "country",
    "easy listening", "sexy", "catchy", "funk", "electro", "heavy metal", "Progressive rock",
    "60s", "rnb", "indie pop", "sad", "House", "happy",
)  # fmt: skip
"""Million Song Dataset (last.fm) tags, in logit order."""


@dataclass(frozen=True)
class Variant:
    """One set of published musicnn weights.

    Attributes:
        key: the short name users type ("mtt", "msd").
        checkpoint_name: the folder holding its checkpoint in the musicnn wheel.
        dataset: the training set, for help texts.
        tags: the tag of each of the 50 outputs, in logit order.
    """

    key: str
    checkpoint_name: str
    dataset: str
    tags: tuple[str, ...]


VARIANTS: dict[str, Variant] = {
    "mtt": Variant("mtt", "MTT_musicnn", "MagnaTagATune", MTT_TAGS),
    "msd": Variant("msd", "MSD_musicnn", "Million Song Dataset", MSD_TAGS),
}
"""Every variant by key."""

DEFAULT_MODEL = "mtt"
"""The variant used when none is named: MTT's tags describe the sound (instruments, voice,
tempo, mood) rather than genres and decades, and it is the variant the musicnn project
documents its reference tags with."""


def get_variant(model: str | None) -> Variant:
    """The variant called ``model`` ("mtt" or "msd", any case); None gives the default.

    Raises:
        ValueError: for an unknown name.
    """
    key = (model or DEFAULT_MODEL).lower()
    try:
        return VARIANTS[key]
    except KeyError:
        choices = ", ".join(VARIANTS)
        raise ValueError(f"unknown musicnn model {model!r}; choose one of {choices}") from None
