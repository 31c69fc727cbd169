"""Discovery without a clip: the items of a catalog that carry all the given words.

- AudioSet catalogs: a segment qualifies when its labels include, for every plain word,
  one of the classes the word covers (the class named or one below it in the ontology),
  and, for every negated word ("no vocals"), none of them. The label index
  (:meth:`~musicrec_core.catalog.index.CatalogIndex.label_items`) gives each label's
  segments as one slice, so this is a few set operations on sorted id arrays.
- musicnn libraries: a track qualifies when, for every plain word, it carries one of the
  word's tags (:func:`~musicrec_core.steering.carried_tags.carried_tags`; for a negated
  word, none), the rule steering uses too.
- VGGish libraries have no words: :func:`~.catalogs.catalog_vocabulary` refuses them.

The page: the qualifying items in a shuffled order seeded by ``seed`` (the same seed gives
the same page, another seed another page), keeping the first item of each group, so no
video gives two segments and no track two windows. Library items carry no album, so
spreading a page over albums waits for album metadata.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from musicrec_core.catalog.index import CatalogIndex, ItemMeta
from musicrec_core.catalog.index.tracks import first_items
from musicrec_core.errors import BadWordsError, NoItemsError
from musicrec_core.recommender import youtube_url
from musicrec_core.steering.filter import LabelSteering
from musicrec_core.steering.qualifying import qualifying_segments, tracks_qualifying
from musicrec_core.steering.resolution import Resolution
from musicrec_core.steering.vocabulary import Vocabulary

MAX_PAGE = 50
"""The most items one discovery returns."""

GROUP_BATCH = 64
"""Items whose group is looked up at once while filling a page (one SQLite round trip)."""

FULL_SHUFFLE_MAX = 50_000
"""Up to this many qualifying items, a page walks one full seeded shuffle of them."""

SAMPLED_BATCHES = 8
"""Above FULL_SHUFFLE_MAX, random batches tried before falling back to a full shuffle."""


@dataclass(frozen=True)
class Discovered:
    """One item of a discovery page: its id in the index and its metadata."""

    item_id: int
    meta: ItemMeta

    @property
    def url(self) -> str | None:
        """The YouTube link at the segment's start; None for a library file."""
        if self.meta.kind != "youtube":
            return None
        return youtube_url(self.meta.group, self.meta.start_s)


@dataclass(frozen=True)
class Discovery:
    """The answer to :func:`discover`.

    Attributes:
        resolutions: how each word resolved, in the order given.
        qualified: how many items carry all the words (segments, or tracks for a library).
        unit: "segment" or "track".
        seed: the shuffle's seed.
        items: the page, at most k items, one per group.
    """

    resolutions: tuple[Resolution, ...]
    qualified: int
    unit: str
    seed: int
    items: tuple[Discovered, ...]

    def to_json(self) -> dict[str, object]:
        """The ``--json`` form."""
        return {
            "words": [resolution.to_json() for resolution in self.resolutions],
            "qualified": self.qualified,
            "unit": self.unit,
            "seed": self.seed,
            "items": [
                {
                    "rank": rank,
                    "item_id": found.item_id,
                    "group": found.meta.group,
                    "start_s": found.meta.start_s,
                    "end_s": found.meta.end_s,
                    "labels": list(found.meta.labels),
                    "title": found.meta.title,
                    "source": found.meta.source,
                    "url": found.url,
                }
                for rank, found in enumerate(self.items, 1)
            ],
        }


def discover(
    index: CatalogIndex, vocabulary: Vocabulary, words: Sequence[str], k: int, seed: int
) -> Discovery:
    """A seeded page of at most ``k`` items of ``index`` carrying all ``words``.

    Raises:
        BadWordsError: no word, too many, a malformed one, or k outside [1, MAX_PAGE].
        ContradictoryWordsError: words that contradict each other ("singing" and
            "no vocals").
        UnknownWordError: a word the vocabulary lacks (naming the nearest ones).
        NoItemsError: no item carries all the words.
    """
    if not words:
        raise BadWordsError("Say at least one word to discover by.")
    if not 1 <= k <= MAX_PAGE:
        raise BadWordsError(f"Ask for between 1 and {MAX_PAGE} items; {k} were asked for.")
    steering = LabelSteering.from_words(vocabulary, words, ())
    resolutions = steering.more
    if vocabulary.catalog == "audioset":
        unit = "segment"
        candidates = qualifying_segments(
            index, vocabulary, steering.required, steering.excluded
        ).items
    else:
        unit = "track"
        first = first_items(index)
        tracks = tracks_qualifying(index, steering.carries, steering.tag_threshold)
        candidates = np.array(sorted(first[group] for group in tracks), dtype=np.int32)
    if not len(candidates):
        said = ", ".join(
            f"{r.word} ({'not ' if r.negated else ''}{'/'.join(r.names)})" for r in resolutions
        )
        raise NoItemsError(f"0 {unit}s of this catalog carry all of: {said}.")
    metas: dict[int, ItemMeta] = {}

    def groups_of(item_ids: np.ndarray) -> list[str]:
        found = index.metas(int(i) for i in item_ids)
        metas.update(zip((int(i) for i in item_ids), found, strict=True))
        return [meta.group for meta in found]

    page = spread_page(candidates, k, seed, groups_of)
    items = tuple(Discovered(item_id, metas[item_id]) for item_id in page)
    return Discovery(resolutions, len(candidates), unit, seed, items)


def spread_page(
    candidates: np.ndarray, k: int, seed: int, groups_of: Callable[[np.ndarray], list[str]]
) -> list[int]:
    """Up to ``k`` of ``candidates`` in an order shuffled by ``seed``, the first of each
    group only; ``groups_of`` names the group of each id of a batch."""
    page: list[int] = []
    seen: set[str] = set()
    for positions in _shuffled_batches(len(candidates), np.random.default_rng(seed)):
        batch = candidates[positions]
        for item_id, group in zip(batch, groups_of(batch), strict=True):
            if group not in seen:
                seen.add(group)
                page.append(int(item_id))
                if len(page) == k:
                    return page
    return page


def _shuffled_batches(count: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Positions in [0, count) in a random order, GROUP_BATCH at a time. Above
    FULL_SHUFFLE_MAX, first SAMPLED_BATCHES batches drawn without replacement each (the
    page usually fills from them, without shuffling all the positions: 15 ms for 1M),
    then every position in a full shuffle (repeats are skipped as seen groups)."""
    if count > FULL_SHUFFLE_MAX:
        for _ in range(SAMPLED_BATCHES):
            yield rng.choice(count, GROUP_BATCH, replace=False)
    order = rng.permutation(count)
    for start in range(0, count, GROUP_BATCH):
        yield order[start : start + GROUP_BATCH]
