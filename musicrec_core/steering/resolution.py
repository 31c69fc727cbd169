"""What a vocabulary holds (terms, by kind) and what looking a word up gives (a
:class:`Resolution`)."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class TermKind(enum.Enum):
    """Where a vocabulary term comes from. When a word matches terms of several kinds, the
    kind of the lowest :attr:`tier` wins (a label named "Pop music" beats the synonym
    "pop" of "Burst, pop" only through the everyday word "pop")."""

    LABEL = "label"
    """An AudioSet class's display name ("Violin, fiddle")."""
    TAG = "tag"
    """A musicnn tag ("no vocals", "Hip-Hop")."""
    EVERYDAY = "everyday word"
    """A row of the hand-made table (:mod:`.everyday`)."""
    SYNONYM = "synonym"
    """Part of a display name: a comma-separated alternative ("fiddle"), the name without
    its bracketed qualifier ("Keyboard"), or without a final "music" ("Tender")."""
    GROUP = "ontology group"
    """An ontology node that is no class itself ("Music mood"): all classes below it."""

    @property
    def tier(self) -> int:
        """0 for names the catalog itself uses, 1 for everyday words, 2 for synonyms."""
        return _TIERS[self]


_TIERS = {
    TermKind.LABEL: 0,
    TermKind.TAG: 0,
    TermKind.EVERYDAY: 1,
    TermKind.SYNONYM: 2,
    TermKind.GROUP: 2,
}


@dataclass(frozen=True)
class Term:
    """One entry of a vocabulary.

    Attributes:
        text: the term as shown (and offered by autocomplete).
        kind: where it comes from.
        names: the labels (AudioSet display names) or tags it stands for.
        negated: True when it means "none of ``names``" ("no vocals" on AudioSet).
    """

    text: str
    kind: TermKind
    names: tuple[str, ...]
    negated: bool = False


@dataclass(frozen=True)
class Resolution:
    """How one word resolved in a catalog's vocabulary.

    Attributes:
        word: the word as given, stripped.
        terms: the vocabulary terms it matched (several when they fold alike, e.g. MSD's
            "female vocalists" and "female vocalist").
        kind: the kind of those terms.
        folded: True when the word equals none of ``terms`` character for character, i.e.
            it matched after case, spacing, hyphen or plural folding ("Drums" -> "Drum").
        negated: True when the word means items carrying none of ``names``.
        names: the AudioSet display names or musicnn tags the terms name, in vocabulary
            order.
        label_indices: AudioSet only: the class indices (into the labels CSV, as in the
            features' ``labels``) of ``names`` and of every class below them in the
            ontology, ascending; () for tag catalogs.
        tags: tag catalogs only: the tags named (= ``names``); () for AudioSet.
    """

    word: str
    terms: tuple[str, ...]
    kind: TermKind
    folded: bool
    negated: bool
    names: tuple[str, ...]
    label_indices: tuple[int, ...] = ()
    tags: tuple[str, ...] = ()

    @property
    def how(self) -> str:
        """How the word was resolved, in words ("label, after plural/case folding")."""
        text = self.kind.value
        if self.folded:
            text += ", after plural/case folding"
        if self.negated:
            text += "; not: results must carry none of them"
        return text

    def to_json(self) -> dict[str, object]:
        """The ``--json`` form (and the API's later)."""
        document: dict[str, object] = {
            "word": self.word,
            "terms": list(self.terms),
            "kind": self.kind.value,
            "folded": self.folded,
            "negated": self.negated,
            "how": self.how,
            "names": list(self.names),
        }
        if self.label_indices:
            document["label_indices"] = list(self.label_indices)
        if self.tags:
            document["tags"] = list(self.tags)
        return document
