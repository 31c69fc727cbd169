"""One vocabulary per catalog: the words a member may steer by, and what each stands for.

Mental model: a :class:`Vocabulary` is a list of :class:`~.resolution.Term`\\ s keyed by
their :func:`~.folding.fold`\\ ed text. An AudioSet catalog's terms are the 527 label
names, their synonyms (parts of the names), the ontology's groups and the everyday words
(:mod:`.everyday`); a musicnn library's are its variant's 50 tags and the everyday words
that map onto them. :meth:`Vocabulary.resolve` folds a word, finds the terms with that
key and keeps those of the best tier (:class:`~.resolution.TermKind`); nothing found is
an :class:`~musicrec_core.errors.UnknownWordError` naming the nearest terms, by
:func:`difflib.get_close_matches` (ratio of matching characters, cutoff
:data:`NEAREST_CUTOFF`) over the folded keys.

    vocabulary = Vocabulary.for_tags("mtt")
    vocabulary.resolve("Drums").tags        # ("drums",)
    vocabulary.complete("pi")               # ["piano"]

AudioSet's labels: a word naming a class also covers every class below it in the ontology
("guitar" covers "Electric guitar"), in :attr:`~.resolution.Resolution.label_indices`.
The ontology's descriptions are kept for display (:meth:`Vocabulary.label_description`).
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Iterable, Mapping, Sequence

from musicrec_core.catalog.labels import AudioSetClass, OntologyNode
from musicrec_core.embedders.musicnn.tags import get_variant
from musicrec_core.errors import UnknownWordError
from musicrec_core.steering.completion import MAX_CHOICES, PrefixIndex
from musicrec_core.steering.everyday import load_everyday_words
from musicrec_core.steering.folding import checked_word, checked_words, fold
from musicrec_core.steering.resolution import Resolution, Term, TermKind

logger = logging.getLogger(__name__)

NEAREST_COUNT = 5
"""Most nearest words an unknown word's error names."""
NEAREST_CUTOFF = 0.6
"""difflib similarity (0..1) below which a known word is not offered as near."""

_QUALIFIER = re.compile(r"\s*\([^)]*\)")
_MUSIC_SUFFIX = " music"


class Vocabulary:
    """The terms of one catalog, looked up by folded key. Build with :meth:`for_audioset`
    or :meth:`for_tags`; read-only afterwards (thread-safe).

    Attributes:
        catalog: "audioset", or the musicnn variant key ("mtt", "msd").
        description: the catalog in words ("AudioSet labels", "musicnn MTT tags").
    """

    def __init__(
        self,
        catalog: str,
        description: str,
        terms: Sequence[Term],
        *,
        covers: Mapping[str, tuple[int, ...]] | None = None,
        descriptions: Mapping[str, str] | None = None,
    ) -> None:
        """Use :meth:`for_audioset` or :meth:`for_tags`. ``covers`` maps each AudioSet
        label name to the class indices it covers (None for tag catalogs)."""
        self.catalog = catalog
        self.description = description
        self._terms = tuple(terms)
        self._covers = covers
        self._descriptions = dict(descriptions or {})
        self._by_key: dict[str, list[Term]] = {}
        for term in self._terms:
            self._by_key.setdefault(fold(term.text), []).append(term)
        self._prefixes = PrefixIndex(term.text for term in self._terms)

    @classmethod
    def for_audioset(
        cls, classes: Sequence[AudioSetClass], nodes: Mapping[str, OntologyNode] | None = None
    ) -> Vocabulary:
        """The vocabulary of an AudioSet catalog: labels, synonyms, ontology groups and
        everyday words. Without ``nodes`` (the ontology) there are no groups, and a label
        covers only itself. Everyday words naming labels ``classes`` lacks (a labels file
        of one's own) keep the names it has, or are left out."""
        nodes = nodes or {}
        covers = _covers(classes, nodes)
        terms = [Term(c.name, TermKind.LABEL, (c.name,)) for c in classes]
        terms += _everyday_terms("audioset", {c.name for c in classes})
        for audio_class in classes:
            terms += [
                Term(text, TermKind.SYNONYM, (audio_class.name,))
                for text in _synonyms(audio_class.name)
            ]
        by_mid = {c.mid: c for c in classes}
        for node in nodes.values():
            if node.mid in by_mid:
                continue
            below = sorted(_classes_below(node.mid, nodes, by_mid), key=lambda c: c.index)
            if below:
                names = tuple(c.name for c in below)
                for text in (node.name, *_synonyms(node.name)):
                    terms.append(Term(text, TermKind.GROUP, names))
        descriptions = {c.name: nodes[c.mid].description for c in classes if c.mid in nodes}
        return cls("audioset", "AudioSet labels", terms, covers=covers, descriptions=descriptions)

    @classmethod
    def for_tags(cls, variant: str) -> Vocabulary:
        """The vocabulary of a musicnn library: the variant's tags and the everyday words
        that map onto them. Raises ValueError for an unknown variant."""
        chosen = get_variant(variant)
        terms = [Term(tag, TermKind.TAG, (tag,)) for tag in chosen.tags]
        terms += _everyday_terms(chosen.key, set(chosen.tags))
        return cls(chosen.key, f"musicnn {chosen.key.upper()} tags ({chosen.dataset})", terms)

    def label_index(self, name: str) -> int:
        """The class index of the AudioSet label ``name``. Raises KeyError."""
        if self._covers is None:
            raise KeyError(f"{self.description} have no label indices")
        return self._covers[name][0]

    def label_description(self, name: str) -> str:
        """The ontology's description of label ``name`` ("" when unknown)."""
        return self._descriptions.get(name, "")

    def terms_by_kind(self) -> dict[TermKind, list[str]]:
        """Every term's text by kind, each once, in vocabulary order (labels by index,
        tags in logit order, everyday words in table order); kinds without terms left out."""
        grouped: dict[TermKind, list[str]] = {}
        for term in self._terms:
            texts = grouped.setdefault(term.kind, [])
            if term.text not in texts:
                texts.append(term.text)
        return grouped

    def everyday_terms(self) -> list[Term]:
        """The everyday words this catalog maps, with what each stands for."""
        return [term for term in self._terms if term.kind is TermKind.EVERYDAY]

    def resolve(self, word: str) -> Resolution:
        """What ``word`` stands for in this catalog (see the module docstring).

        Raises:
            BadWordsError: empty, longer than MAX_WORD_CHARS, or with control characters.
            UnknownWordError: no term matches; it names the nearest ones.
        """
        return self._resolve(checked_word(word))

    def resolve_all(self, words: Sequence[str]) -> list[Resolution]:
        """:meth:`resolve` for each word, in order, once there are at most MAX_WORDS."""
        return [self._resolve(word) for word in checked_words(words)]

    def complete(self, prefix: str, limit: int = MAX_CHOICES) -> list[str]:
        """Up to ``limit`` terms for autocomplete (:class:`~.completion.PrefixIndex`)."""
        return self._prefixes.lookup(prefix, limit)

    def _resolve(self, word: str) -> Resolution:
        found = self._by_key.get(fold(word))
        if not found:
            raise self._unknown(word)
        tier = min(term.kind.tier for term in found)
        chosen = [term for term in found if term.kind.tier == tier]
        names = tuple(dict.fromkeys(name for term in chosen for name in term.names))
        covered: tuple[int, ...] = ()
        if self._covers is not None:
            covered = tuple(sorted({i for name in names for i in self._covers[name]}))
        return Resolution(
            word=word,
            terms=tuple(dict.fromkeys(term.text for term in chosen)),
            kind=chosen[0].kind,
            folded=word not in {term.text for term in chosen},
            negated=chosen[0].negated,
            names=names,
            label_indices=covered,
            tags=() if self._covers is not None else names,
        )

    def _unknown(self, word: str) -> UnknownWordError:
        keys = difflib.get_close_matches(fold(word), self._by_key, NEAREST_COUNT, NEAREST_CUTOFF)
        nearest = tuple(dict.fromkeys(self._by_key[key][0].text for key in keys))
        if nearest:
            hint = "the nearest it knows: " + ", ".join(nearest)
        else:
            hint = "no word it knows is close; `musicrec vocab` lists them all"
        return UnknownWordError(
            f'"{word}" is not a word this catalog ({self.description}) knows; {hint}.',
            word,
            nearest,
        )


def _everyday_terms(catalog: str, known: set[str]) -> list[Term]:
    """The everyday words mapping onto ``catalog``, keeping only names in ``known``."""
    terms = []
    for row in load_everyday_words():
        target = row.targets.get(catalog)
        if target is None:
            continue
        names = tuple(name for name in target.names if name in known)
        if len(names) < len(target.names):
            logger.debug("everyday word %r: %s lacks some of %s", row.word, catalog, target.names)
        if names:
            terms.append(Term(row.word, TermKind.EVERYDAY, names, target.negated))
    return terms


def _synonyms(name: str) -> list[str]:
    """The other ways a display name can be said: its comma-separated parts, the name
    without a bracketed qualifier, each without a final " music"."""
    plain = _QUALIFIER.sub("", name).strip()
    parts = [part.strip().removeprefix("and ").strip() for part in plain.split(",")]
    candidates = [part for part in parts if part and part.casefold() != "etc."]
    candidates += [
        part[: -len(_MUSIC_SUFFIX)]
        for part in candidates
        if part.casefold().endswith(_MUSIC_SUFFIX) and len(part) > len(_MUSIC_SUFFIX)
    ]
    return [text for text in dict.fromkeys(candidates) if fold(text) != fold(name)]


def _classes_below(
    mid: str, nodes: Mapping[str, OntologyNode], by_mid: Mapping[str, AudioSetClass]
) -> set[AudioSetClass]:
    """The classes at or below ontology node ``mid`` (cycles are harmless)."""
    seen, frontier = {mid}, [mid]
    while frontier:
        node = nodes.get(frontier.pop())
        for child in node.child_ids if node else ():
            if child not in seen:
                seen.add(child)
                frontier.append(child)
    return {by_mid[m] for m in seen if m in by_mid}


def _covers(
    classes: Iterable[AudioSetClass], nodes: Mapping[str, OntologyNode]
) -> dict[str, tuple[int, ...]]:
    """Each label name -> its own class index first, then the indices of the classes below
    it, ascending."""
    by_mid = {c.mid: c for c in classes}
    covers = {}
    for audio_class in by_mid.values():
        below = sorted(c.index for c in _classes_below(audio_class.mid, nodes, by_mid))
        below.remove(audio_class.index)
        covers[audio_class.name] = (audio_class.index, *below)
    return covers
