"""Clip -> ranked, de-duplicated, labelled recommendations from a catalog index.

The mental model: one :class:`Recommender` holds one embedder and one loaded
:class:`~musicrec_core.catalog.index.CatalogIndex` and is shared by every caller (the CLI,
every bot command). :meth:`Recommender.open` is the one way to open a catalog: it loads the
index and builds the embedder its manifest names (musicnn's variant included); settings only
say where weight files lie (:class:`~musicrec_core.embedders.WeightFiles`). A query goes::

    Clip --embedder.embed_many--> frames [n, d] --pool(index.pooling)--> vector [D]
      --catalog.ranking.rank_groups: k groups, excluded ones dropped--> top k Recommendations

rank_groups puts first the group of the item nearest the query (the recording a clip came
from; in a library index with landmarks, the track the clip's spectral peaks identify
confidently, :mod:`musicrec_core.catalog.identification`), then, in a library index, the
groups whose whole tracks sound most like that one (style order); elsewhere the groups
whose best items are nearest (item by item).

A *group* is what a listener thinks of as one piece of music: a YouTube video id
(AudioSet segments, linked videos) or a library track key. Many items of one group
(several 10-second windows of a track, several segments of a video) collapse into the
best-scoring one, so the k results are k different videos or tracks.

Score: each result carries the number its list is ordered by, in [0, 1]
(:attr:`Recommendation.score`, docs/scores.md): the shown window's cosine to the query item
by item, the style score in style order; the track identified by landmarks is marked
instead. The index searches by angle, so cosines are the natural measure; vectors pointing
away from the query (cosine <= 0) read 0, 1 means the same direction (an identical clip).

Threads: queries may run concurrently from any thread. :meth:`Recommender.swap_index`
replaces the index with one reference assignment under a lock; each query reads that
reference once at its start and uses only it, so in-flight queries finish on the index
they started with and later ones see the new index (each result carries the fingerprint of
the index it was computed on; :mod:`musicrec_core.catalog.index.slot`).
``swap_index(new, close_old=True)`` *retires* the old index: it waits a bounded time for the
queries still using it, then closes it, or leaves that to the last of them (an index is
never closed while a query reads it). :meth:`Recommender.reload` proves the index folder
(:meth:`CatalogIndex.load_for_serving`: sha256 of every file, a probe query), installs it
and retires the old one, one reload at a time; once installed, the new index is never
closed by the reload, whatever happens while the old one is retired.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Sequence
from contextlib import AbstractContextManager
from pathlib import Path

import numpy as np

from musicrec_core.catalog.identification import query_peaks, rank_identified
from musicrec_core.catalog.index import SWAP_WAIT_S, CatalogIndex, IndexSlot, ItemMeta
from musicrec_core.catalog.pooling import pool
from musicrec_core.catalog.ranking import OVERFETCH_FACTOR, Found
from musicrec_core.clip import Clip, Provenance
from musicrec_core.embedders import WeightFiles, load_embedder
from musicrec_core.embedders.base import Embedder, Tag
from musicrec_core.errors import IndexMismatchError, UnknownItemError
from musicrec_core.recommendation import Recommendation, RecommendationSet
from musicrec_core.steering.filter import STEER_WIDTH_FACTOR, SteeredOutcome, Steering, steer_found

__all__ = [
    "OVERFETCH_FACTOR",
    "Recommendation",
    "RecommendationSet",
    "Recommender",
    "youtube_url",
]


def youtube_url(video_id: str, start_s: float) -> str:
    """Watch link that starts playing at ``start_s`` (whole seconds, rounded down)."""
    return f"https://www.youtube.com/watch?v={video_id}&t={max(0, int(start_s))}s"


class Recommender:
    """Answers "what sounds like this clip?" from one index with one embedder.

    Attributes:
        embedder: the embedder queries are embedded with (fixed for the object's life).
        index: the index currently searched (replaced by :meth:`swap_index`).
    """

    def __init__(self, index: CatalogIndex, embedder: Embedder) -> None:
        """Pair ``index`` with ``embedder`` (most callers want :meth:`open`).

        Raises:
            IndexMismatchError: when the index was built with another embedder id.
        """
        index.check_embedder(embedder.id)
        self.embedder = embedder
        self._slot = IndexSlot(index)
        self._reload_lock = threading.Lock()

    @classmethod
    def open(
        cls, index_dir: Path, *, weights: WeightFiles | None = None, serving: bool = False
    ) -> Recommender:
        """Load the index at ``index_dir`` and the embedder its manifest names (blocking).

        Args:
            index_dir: an index folder (see :meth:`CatalogIndex.load`).
            weights: where VGGish's weight files lie, when not in the configured places.
            serving: open for a long-running server: prove the index first
                (:meth:`CatalogIndex.load_for_serving`: no bare version folder, every
                sha256, a probe query; about 1 s per GB of index).

        Raises:
            IndexNotFoundError / IndexCorruptError: no usable index there.
            IndexMismatchError: the index names an embedder this musicrec cannot build, or
                the weight files found make another version than the index's.
            WeightsMissingError / CheckpointError: the embedder's weights are unusable.
        """
        if serving:
            index = CatalogIndex.load_for_serving(index_dir)
        else:
            index = CatalogIndex.load(index_dir)
        try:
            built_with = index.embedder
            try:
                embedder = load_embedder(
                    built_with.name, variant=built_with.variant, weights=weights
                )
            except ValueError as exc:
                raise IndexMismatchError(
                    f"The index at {index_dir} was built with embedder {built_with.name!r}, "
                    f"which musicrec cannot load: {exc}."
                ) from exc
            return cls(index, embedder)
        except BaseException:
            index.close()
            raise

    @property
    def index(self) -> CatalogIndex:
        """The index new queries search."""
        return self._slot.index

    def held_index(self) -> AbstractContextManager[CatalogIndex]:
        """``with recommender.held_index() as index:`` the index new queries search, held
        for the block as a query holds it: a reload meanwhile serves its new index to later
        queries but does not close this one before the block ends (for callers that read
        the index themselves, such as discovery)."""
        return self._slot.using()

    def reload(self, index_dir: Path, *, wait_s: float = SWAP_WAIT_S) -> CatalogIndex:
        """Prove the index at ``index_dir``, swap it in and retire the old one (blocking:
        hashing takes about 1 s per GB); returns the new index. One reload runs at a time.

        The new index is loaded with :meth:`CatalogIndex.load_for_serving`. If it is refused,
        the old index keeps serving untouched. Once it is installed it stays open; the old one
        is retired as by ``swap_index(close_old=True, wait_s=wait_s)``.

        Raises:
            IndexNotFoundError: no index there, or a bare version folder.
            IndexCorruptError: a file fails its size or sha256 check, or the probe query.
            IndexMismatchError: the new index was built with another embedder.
        """
        with self._reload_lock:
            new_index = CatalogIndex.load_for_serving(index_dir, expect_embedder=self.embedder.id)
            self._slot.retire(self._slot.install(new_index), wait_s)
        return new_index

    def close(self) -> None:
        """Close the current index (waiting for searches in flight); queries then fail."""
        self._slot.index.close()

    def __enter__(self) -> Recommender:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def swap_index(
        self, new_index: CatalogIndex, *, close_old: bool = False, wait_s: float = SWAP_WAIT_S
    ) -> CatalogIndex:
        """Make ``new_index`` the one new queries search; return the previous one.

        The new index is validated against the embedder first (IndexMismatchError leaves
        the current one in place); no error is raised once it is installed. Queries already
        running finish on the old index. With ``close_old`` the old index is retired: the
        call waits up to ``wait_s`` seconds for those queries, then closes it, or, if some
        still run, leaves it to the last of them to close (and logs that). Without
        ``close_old`` do not ``close()`` the returned index while queries may still use it
        (dropping the reference is enough: its memory map is released with its last user).
        """
        new_index.check_embedder(self.embedder.id)
        old = self._slot.install(new_index)
        if close_old and old is not new_index:
            self._slot.retire(old, wait_s)
        return old

    def recommend(
        self,
        clip: Clip,
        k: int = 5,
        *,
        exclude_groups: Collection[str] = (),
        include_self: bool = False,
        steering: Steering | None = None,
    ) -> RecommendationSet:
        """Top ``k`` distinct groups for one clip (see :meth:`recommend_many`)."""
        return self.recommend_many(
            [clip], k, exclude_groups=exclude_groups, include_self=include_self, steering=steering
        )[0]

    def recommend_many(
        self,
        clips: Sequence[Clip],
        k: int = 5,
        *,
        exclude_groups: Collection[str] = (),
        include_self: bool = False,
        steering: Steering | None = None,
    ) -> list[RecommendationSet]:
        """Top ``k`` distinct groups for each clip, embedding all clips in one batched call.

        Each query's own groups (:attr:`Provenance.own_groups`: its YouTube video id, or the
        sha256 of its file's bytes, which is the library track key of that file) are left
        out of that query's results only, unless ``include_self``; every group in
        ``exclude_groups`` is left out of every query's results. With ``steering``, the
        first k of the items it qualifies, all ranked by the usual score when it can name
        them (a label index, a library's tags), else of the STEER_WIDTH_FACTOR x k groups
        ranked as usual (:mod:`musicrec_core.steering.filter`); each answer's ``steering``
        says how many qualified.

        Raises:
            ValueError: when ``k < 1``.
            AudioError: from the embedder (e.g. a clip shorter than one frame).
            IndexMismatchError: when the pooled query does not fit the index dimension.
        """
        _check_k(k)
        if not clips:
            return []
        results = []
        with self._slot.using() as index:
            embeddings = self.embedder.embed_many(clips)
            for clip, embedding in zip(clips, embeddings, strict=True):
                vector = pool(embedding.vectors, index.pooling)
                excluded = set(exclude_groups)
                if not include_self:
                    excluded |= clip.provenance.own_groups
                peaks = query_peaks(index, clip.samples)
                items, outcome = _search_distinct(index, vector, k, excluded, peaks, steering)
                results.append(
                    RecommendationSet(
                        query=clip.provenance,
                        query_vector=vector,
                        query_tags=embedding.tags,
                        items=items,
                        catalog=index.fingerprint,
                        query_peaks=peaks,
                        steering=outcome,
                    )
                )
        return results

    def recommend_vector(
        self,
        vector: np.ndarray,
        k: int = 5,
        *,
        pooling: str,
        query: Provenance | None = None,
        query_tags: tuple[Tag, ...] = (),
        query_peaks: np.ndarray | None = None,
        steering: Steering | None = None,
        exclude_groups: Collection[str] = (),
    ) -> RecommendationSet:
        """Top ``k`` distinct groups for ``vector`` (float32 [D]), a query this embedder
        embedded and pooled with ``pooling`` earlier (:mod:`musicrec_core.clip_cache`): no
        embedding; ``query``'s own groups and ``exclude_groups`` are left out; ``query_peaks`` (its
        :attr:`RecommendationSet.query_peaks`) identify it as a fresh query would;
        ``steering`` filters as in :meth:`recommend_many`. Raises
        ValueError when ``k < 1``, IndexMismatchError when the index now pools otherwise or
        holds another width."""
        _check_k(k)
        with self._slot.using() as index:
            if pooling != index.pooling:
                raise IndexMismatchError(
                    f"The query was pooled with {pooling!r} but the index uses {index.pooling!r}."
                )
            excluded = set(exclude_groups)
            if query is not None:
                excluded |= query.own_groups
            items, outcome = _search_distinct(index, vector, k, excluded, query_peaks, steering)
        return RecommendationSet(
            query=query,
            query_vector=vector,
            query_tags=query_tags,
            items=items,
            catalog=index.fingerprint,
            query_peaks=query_peaks,
            steering=outcome,
        )

    def recommend_from_item(
        self,
        item_id: int,
        k: int = 5,
        *,
        steering: Steering | None = None,
        exclude_groups: Collection[str] = (),
    ) -> RecommendationSet:
        """Top ``k`` distinct groups like a stored item, excluding that item's own group
        and ``exclude_groups``.

        Re-queries with the vector stored in the index (no download, no embedding). The
        query provenance describes the item (kind "youtube" or "file"). ``steering``
        filters as in :meth:`recommend_many` (a "More like" button of a steered reply).

        Raises:
            ValueError: when ``k < 1``.
            UnknownItemError: the current index has no item ``item_id`` (a forged button).
        """
        _check_k(k)
        with self._slot.using() as index:
            if not 0 <= item_id < len(index):
                raise UnknownItemError(
                    "That result is not in the catalog musicrec serves (it holds no item "
                    f"{item_id}); run /recommend again."
                )
            meta = index.meta(item_id)
            vector = index.vector(item_id)
            excluded = {meta.group, *exclude_groups}
            items, outcome = _search_distinct(index, vector, k, excluded, None, steering)
        return RecommendationSet(
            query=_provenance_of(meta),
            query_vector=vector,
            query_tags=(),
            items=items,
            catalog=index.fingerprint,
            steering=outcome,
        )


def _check_k(k: int) -> None:
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")


def _search_distinct(
    index: CatalogIndex,
    vector: np.ndarray,
    k: int,
    excluded: set[str],
    peaks: np.ndarray | None,
    steering: Steering | None,
) -> tuple[tuple[Recommendation, ...], SteeredOutcome | None]:
    """At most ``k`` groups not in ``excluded``, one item each, the track ``peaks`` identify
    first (:func:`rank_identified`); with ``steering``, from the items it qualifies, all
    ranked when it names them (:meth:`Steering.qualifying`), else those it admits among the
    STEER_WIDTH_FACTOR x k ranked; and the outcome."""
    if vector.shape != (index.dim,):
        raise IndexMismatchError(
            f"The query vector has shape {vector.shape} but the index holds {index.dim}-d "
            "vectors; it was built with another pooling rule or embedder."
        )
    outcome = None
    qualifying = None if steering is None else steering.qualifying(index)
    if steering is None:
        found = rank_identified(index, vector, k, excluded, peaks)
    elif qualifying is not None:
        found = rank_identified(index, vector, k, excluded, peaks, qualifying.items)
        count = qualifying.count
        outcome = SteeredOutcome(steering, count, count, count, exact=True, unit=qualifying.unit)
    else:
        width = STEER_WIDTH_FACTOR * k
        candidates = rank_identified(index, vector, width, excluded, peaks)
        found, outcome = steer_found(steering, index, candidates, k, width)
    return tuple(_recommendation(rank, item) for rank, item in enumerate(found, start=1)), outcome


def _recommendation(rank: int, found: Found) -> Recommendation:
    meta = found.meta
    return Recommendation(
        rank=rank,
        group=meta.group,
        title=meta.title,
        start_s=meta.start_s,
        end_s=meta.end_s,
        score=None if found.identified else found.score,
        window_cosine=found.cosine,
        labels=meta.labels,
        url=youtube_url(meta.group, meta.start_s) if meta.kind == "youtube" else None,
        source=meta.source,
        item_id=found.item_id,
        identified=found.identified,
    )


def _provenance_of(meta: ItemMeta) -> Provenance:
    """Describe a stored item as a query provenance."""
    if meta.kind == "youtube":
        ref = meta.group
    else:
        ref = Path(meta.source).name if meta.source else meta.group
    return Provenance(
        kind=meta.kind,
        ref=ref,
        title=meta.title,
        start_s=meta.start_s,
        duration_s=meta.end_s - meta.start_s,
    )
