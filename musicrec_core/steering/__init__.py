"""Steering by words: what a member may say ("calm", "more jazz", "no vocals") and what
each word stands for in the catalog at hand.

Mental model: every catalog has one :class:`Vocabulary` (:mod:`.vocabulary`): an AudioSet
catalog's label names, their synonyms, the ontology's groups and a hand-made table of
everyday words (:mod:`.everyday`, kept as data); a musicnn library's tags and the everyday
words that map onto them. A VGGish library has neither, and says so
(:class:`~musicrec_core.errors.NoVocabularyError`). A word resolves to a
:class:`Resolution` (:mod:`.resolution`) naming the labels or tags it stands for, whether
it is negated and how it matched (:mod:`.folding`: case and plural folded, caps on length
and count); an unknown word is refused with the nearest known ones. :mod:`.completion`
answers autocomplete prefixes; :mod:`.catalogs` picks the vocabulary of an open index from
its manifest, without loading a model. :mod:`.filter` turns ``more``/``less`` words into
the :class:`Steering` a recommender applies: results carrying every ``more`` word and no
``less`` word, all qualifying items ranked as usual where :mod:`.qualifying` names them
(label index, track tags), else among :data:`STEER_WIDTH_FACTOR` x k ranked as usual.

    vocabulary = catalog_vocabulary(index)
    vocabulary.resolve("no vocals")   # negated=True, names=("Singing", "Speech")
    steering = LabelSteering.from_words(vocabulary, ["jazz"], ["vocals"])
    recommender.recommend(clip, 5, steering=steering).steering.qualified
"""

from musicrec_core.steering.carried_tags import TAG_THRESHOLD
from musicrec_core.steering.catalogs import audioset_vocabulary, catalog_vocabulary
from musicrec_core.steering.completion import MAX_CHOICES
from musicrec_core.steering.filter import (
    STEER_WIDTH_FACTOR,
    LabelSteering,
    SteeredOutcome,
    Steering,
)
from musicrec_core.steering.folding import MAX_WORD_CHARS, MAX_WORDS
from musicrec_core.steering.resolution import Resolution, Term, TermKind
from musicrec_core.steering.vocabulary import NEAREST_COUNT, Vocabulary

__all__ = [
    "MAX_CHOICES",
    "MAX_WORDS",
    "MAX_WORD_CHARS",
    "NEAREST_COUNT",
    "STEER_WIDTH_FACTOR",
    "TAG_THRESHOLD",
    "LabelSteering",
    "Resolution",
    "SteeredOutcome",
    "Steering",
    "Term",
    "TermKind",
    "Vocabulary",
    "audioset_vocabulary",
    "catalog_vocabulary",
]
