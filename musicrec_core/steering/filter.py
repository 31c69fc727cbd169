"""Steering: resolved ``more``/``less`` words, which results carry them, and the answer.

Mental model: :class:`Steering` is the one interface the recommender applies;
:class:`LabelSteering` is its implementation from a catalog's own labels or tags, built with
:meth:`LabelSteering.from_words`. A text-audio model (CLAP-like) would be another
:class:`Steering` (docs/steering.md). A steering answers in one of two ways::

    more, less words --vocabulary.resolve--> Resolutions --> requirements + exclusions
    exact:   Steering.qualifying(index) --> every qualifying item of the catalog (label
             index, track tags) --rank_identified(among = them)--> the first k, ranked by
             the same score as unsteered + SteeredOutcome(exact, qualified = all of them)
    filter:  qualifying(index) is None (nothing required: less words only; a steering
             that cannot name its items) --rank_identified(width = STEER_WIDTH_FACTOR * k)
             --> candidates --Steering.admits--> the qualifying ones, order kept, first k
             + SteeredOutcome(qualified of the searched width)

A result *carries* a label (AudioSet: one of its segment's labels, or a class below it in
the ontology, as :attr:`Resolution.label_indices` names them) or a tag (a library track's
tag score at least :data:`~musicrec_core.steering.carried_tags.TAG_THRESHOLD`). It
qualifies when it carries, for every ``more`` word, one of the labels that word stands for,
and none of the labels of any ``less`` word. A negated word ("no vocals") turns round: in
``more`` its labels are ruled out, in ``less`` one of them is required.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from musicrec_core.catalog.index import CatalogIndex
from musicrec_core.catalog.ranking import Found
from musicrec_core.errors import ContradictoryWordsError
from musicrec_core.steering.carried_tags import TAG_THRESHOLD, carried_tags, check_tag_threshold
from musicrec_core.steering.qualifying import Qualifying, qualifying_segments, qualifying_tracks
from musicrec_core.steering.resolution import Resolution
from musicrec_core.steering.vocabulary import Vocabulary

STEER_WIDTH_FACTOR = 20
"""Where a steering cannot name its qualifying items (``less`` words only), a steered query
ranks this many times k groups (videos or tracks) as it would unsteered, then keeps the
first k that qualify: 200 groups for k = 10. Fixed, so it costs a bounded amount more than
an unsteered query; qualifying groups beyond that width are not searched for."""


@dataclass(frozen=True)
class SteeredOutcome:
    """How a steered query went.

    Attributes:
        steering: the steering applied.
        qualified: exact: how many ``unit``s of the whole catalog qualify (segments;
            tracks for a library), every one ranked. Filter: how many of the groups
            searched qualified. May exceed k; fewer results than k means no more
            qualify (exact) or none within the width (filter), and the summary says so.
        searched: exact: the same as ``qualified`` (all of them were ranked). Filter: how
            many groups were ranked and checked (the width, or fewer in a small catalog).
        width: exact: the same as ``qualified``. Filter: the groups asked for,
            :data:`STEER_WIDTH_FACTOR` x the k asked.
        exact: whether the qualifying items were named and ranked in full.
        unit: what ``qualified`` counts: "segment", "track", or "group" (a video or track
            of the width searched).
    """

    steering: Steering
    qualified: int
    searched: int
    width: int
    exact: bool = False
    unit: str = "group"

    def summary(self, k: int, shown: int | None = None) -> str:
        """One line for a table or reply: the steering and the counts, for ``k`` asked and
        ``shown`` results (when known; else assumed min(k, qualified))."""
        shown = min(k, self.qualified) if shown is None else shown
        line = f"Steering: {self.steering.describe()}. "
        if self.exact:
            line += f"{self.qualified:,} {self.unit}{_plural(self.qualified)} of the catalog "
            line += "qualify, all ranked"
        else:
            line += f"{self.qualified} of the {self.searched} nearest results searched qualify"
        if shown < k:
            line += f", fewer than the {k} asked: only {shown} shown"
            if self.exact and shown < self.qualified:
                line += " (the others are more of the same videos or tracks, or excluded)"
        return line + "."

    def to_json(self) -> dict[str, object]:
        """The ``--json`` form: the words as resolved and the counts."""
        return {
            **self.steering.to_json(),
            "qualified": self.qualified,
            "searched": self.searched,
            "width": self.width,
            "exact": self.exact,
            "unit": self.unit,
        }


class Steering(Protocol):
    """What a recommender needs of any steering (the seam for a text-audio model)."""

    def qualifying(self, index: CatalogIndex) -> Qualifying | None:
        """Every item of ``index`` that qualifies, when this steering can name them all
        from the index (then they are ranked in full); None when it can only judge ranked
        candidates (:meth:`admits`, over a fixed width)."""
        ...

    def admits(self, index: CatalogIndex, candidates: Sequence[Found]) -> list[bool]:
        """For each candidate (in order), whether it qualifies."""
        ...

    def describe(self) -> str:
        """The steering in words, for a table or a reply."""
        ...

    def to_json(self) -> dict[str, object]:
        """How each word was resolved, JSON-ready."""
        ...


@dataclass(frozen=True)
class LabelSteering:
    """Steering by the catalog's own labels (AudioSet) or tags (a musicnn library).

    Attributes:
        vocabulary: the catalog's vocabulary the words were resolved in.
        more: the ``more`` words, resolved, in the order given.
        less: the ``less`` words, resolved, in the order given.
        required: for each requirement, the labels (AudioSet class indices) or tags of
            which a result must carry one.
        excluded: the labels or tags a result must carry none of.
        tag_threshold: a library track carries a tag whose score is at least this
            (:func:`~musicrec_core.steering.carried_tags.carried_tags`); unused on AudioSet.
    """

    vocabulary: Vocabulary
    more: tuple[Resolution, ...]
    less: tuple[Resolution, ...]
    required: tuple[frozenset[int | str], ...]
    excluded: frozenset[int | str]
    tag_threshold: float = TAG_THRESHOLD

    @classmethod
    def from_words(
        cls,
        vocabulary: Vocabulary,
        more: Sequence[str],
        less: Sequence[str],
        *,
        tag_threshold: float = TAG_THRESHOLD,
    ) -> LabelSteering:
        """Resolve the words and check they can be satisfied together. ``tag_threshold``:
        the tag score a library track must reach to carry a tag (a benchmark sweeps it;
        everything else keeps the default).

        Raises:
            ValueError: ``tag_threshold`` outside (0, 1].
            BadWordsError: more than MAX_WORDS words (more and less together), or a word
                empty, too long or with control characters.
            UnknownWordError: a word the vocabulary lacks (naming the nearest).
            ContradictoryWordsError: a requirement every one of whose labels is ruled out.
        """
        check_tag_threshold(tag_threshold)
        resolved = vocabulary.resolve_all([*more, *less])
        resolved_more, resolved_less = tuple(resolved[: len(more)]), tuple(resolved[len(more) :])
        required: list[tuple[Resolution, frozenset[int | str]]] = []
        excluded: set[int | str] = set()
        for resolution, wanted in [(r, True) for r in resolved_more] + [
            (r, False) for r in resolved_less
        ]:
            marks = _marks(resolution)
            if wanted != resolution.negated:
                required.append((resolution, marks))
            else:
                excluded |= marks
        for resolution, marks in required:
            if marks <= excluded:
                raise ContradictoryWordsError(
                    f'"{resolution.word}" asks for {_names(resolution)}, which the other '
                    "words rule out: they contradict each other, so no result could carry "
                    "it. Drop one of them."
                )
        return cls(
            vocabulary,
            resolved_more,
            resolved_less,
            tuple(marks for _, marks in required),
            frozenset(excluded),
            tag_threshold,
        )

    def qualifying(self, index: CatalogIndex) -> Qualifying | None:
        """AudioSet: the segments the label index names; a library: the items of the
        tracks whose tags qualify. None when nothing is required (``less`` words only:
        most of the catalog qualifies, and the nearest width holds enough)."""
        if not self.required:
            return None
        if self.vocabulary.catalog == "audioset":
            return qualifying_segments(index, self.vocabulary, self.required, self.excluded)
        return qualifying_tracks(index, self.carries, self.tag_threshold)

    def admits(self, index: CatalogIndex, candidates: Sequence[Found]) -> list[bool]:
        """For each candidate, whether it carries every requirement and no exclusion."""
        if self.vocabulary.catalog == "audioset":
            carried = [self._labels_of(found) for found in candidates]
        else:
            tags = index.track_tags(found.meta.group for found in candidates)
            carried = [
                carried_tags(tags.get(found.meta.group, ()), self.tag_threshold)
                for found in candidates
            ]
        return [self.carries(marks) for marks in carried]

    def carries(self, marks: frozenset[int | str]) -> bool:
        """Whether an item with these labels (class indices) or tags qualifies: one label of
        every requirement, none excluded."""
        return all(marks & requirement for requirement in self.required) and not (
            marks & self.excluded
        )

    def describe(self) -> str:
        parts = []
        if self.more:
            parts.append("more " + ", ".join(_shown(r) for r in self.more))
        if self.less:
            parts.append("less " + ", ".join(_shown(r) for r in self.less))
        return "; ".join(parts)

    def to_json(self) -> dict[str, object]:
        return {
            "catalog": self.vocabulary.catalog,
            "more": [resolution.to_json() for resolution in self.more],
            "less": [resolution.to_json() for resolution in self.less],
            "tag_threshold": None if self.vocabulary.catalog == "audioset" else self.tag_threshold,
        }

    def _labels_of(self, found: Found) -> frozenset[int | str]:
        indices: set[int | str] = set()
        for name in found.meta.labels:
            try:
                indices.add(self.vocabulary.label_index(name))
            except KeyError:  # a label outside the vocabulary's labels file
                continue
        return frozenset(indices)


def steer_found(
    steering: Steering, index: CatalogIndex, candidates: Sequence[Found], k: int, width: int
) -> tuple[list[Found], SteeredOutcome]:
    """The first ``k`` of ``candidates`` (ranked for ``width`` groups, best first) that
    ``steering`` admits, order kept, and the outcome."""
    admitted = [
        found
        for found, ok in zip(candidates, steering.admits(index, candidates), strict=True)
        if ok
    ]
    return admitted[:k], SteeredOutcome(steering, len(admitted), len(candidates), width)


def _plural(count: int) -> str:
    return "" if count == 1 else "s"


def _marks(resolution: Resolution) -> frozenset[int | str]:
    """The class indices (AudioSet) or tags (libraries) a resolved word stands for."""
    return frozenset(resolution.label_indices or resolution.tags)


def _names(resolution: Resolution) -> str:
    return ", ".join(resolution.names)


def _shown(resolution: Resolution) -> str:
    negation = "not " if resolution.negated else ""
    return f"{resolution.word} (= {negation}{_names(resolution)})"
