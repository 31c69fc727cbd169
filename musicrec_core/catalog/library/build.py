"""The library build: key every input, reuse or embed its windows, publish the index.

Mental model::

    inputs --collect_inputs--> files + links --hash / video id--> track keys
      --cache hit?--> reuse the stored frames
      --else decode windows (one open in a decode worker / yt-dlp), add each window's
        phone view (views.py), embed them in batches, store in the cache-->
    pool(frames, DEFAULT_POOLING) per window and per phone view, both in the track's group
      --IndexBuilder--> INDEX_DIR (published atomically)
    the same windows' spectral landmarks (landmarks.py, cached alike)
      --LandmarkStore--> landmark files in the same version, listed in its manifest
    each file's album and artist tags (owners.py, cached with the embedding)
      --write_owners--> the owners file in the same version

Decoded tracks wait in a batch until :data:`EMBED_BATCH_WINDOWS` windows have gathered
(across tracks), then go to the embedder in one call; when it refuses a batch, the tracks
are embedded one by one to find the one it refuses. While the embedder runs, a helper
thread decodes the next tracks and makes their phone views and landmarks
(:mod:`~musicrec_core.catalog.library.prepare`), at most ``PREFETCH_TRACKS`` ahead; their
results are taken in input order.

Failures: an input that cannot be decoded or fetched is skipped with its reason and
counted (:class:`~musicrec_core.catalog.library.report.LibraryBuildReport`); a missing
path on the command line, or a build where nothing could be indexed, is a
:class:`~musicrec_core.errors.CatalogError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import numpy as np
from tqdm import tqdm

from musicrec_core import paths
from musicrec_core.audio import probe_audio
from musicrec_core.catalog.index import DEFAULT_BACKEND, IndexBuilder, ItemMeta
from musicrec_core.catalog.library.cache import EmbeddingCache
from musicrec_core.catalog.library.decode import (
    DECODE_WORKERS,
    DecodedTrack,
    LinkFetcher,
    decode_file,
    fetch_link,
    fetch_with_ytdlp,
    owner_of,
)
from musicrec_core.catalog.library.inputs import FileInput, LinkInput, collect_inputs
from musicrec_core.catalog.library.landmarks import LandmarkCache
from musicrec_core.catalog.library.owners import OWNERS_FILE, TrackOwner, write_owners
from musicrec_core.catalog.library.prepare import Prefetch, PreparedTrack, prepare
from musicrec_core.catalog.library.report import LibraryBuildReport, SkippedInput
from musicrec_core.catalog.library.tracks import (
    DEFAULT_WINDOWS,
    TrackEmbedding,
    plan_windows,
    track_key,
)
from musicrec_core.catalog.pooling import DEFAULT_POOLING, pool_segments
from musicrec_core.clip import CLIP_SECONDS
from musicrec_core.embedders.base import Embedder, Embedding, Tag
from musicrec_core.errors import AudioError, CatalogError, SourceError
from musicrec_core.fingerprint.landmarks import Landmarks
from musicrec_core.fingerprint.store import STORE_FILES, LandmarkStore, StoredTrack

__all__ = ["EMBED_BATCH_WINDOWS", "build_library"]

EMBED_BATCH_WINDOWS = 32
"""Windows gathered (across tracks) before one batched embedder call."""


@dataclass(frozen=True)
class _Input:
    """An input admitted for decoding: how it is named, keyed and stored, and its cached
    embedding (None: to embed)."""

    source: str
    kind: str
    stored_source: str
    key: str
    cached: TrackEmbedding | None


@dataclass(frozen=True)
class _Track:
    key: str
    kind: str
    source: str
    embedding: TrackEmbedding


def build_library(
    inputs: Sequence[str],
    target_dir: Path,
    embedder: Embedder,
    *,
    windows: int = DEFAULT_WINDOWS,
    cache_root: Path | None = None,
    fetch_clip: LinkFetcher | None = None,
    progress: bool = False,
    landmarks: bool = True,
    backend: str = DEFAULT_BACKEND,
) -> LibraryBuildReport:
    """Index the tracks in ``inputs`` into ``target_dir`` (see the package docstring).

    Args:
        inputs: folders, audio files, link-list files and YouTube links.
        target_dir: the index folder to create or replace (atomically).
        embedder: the embedder for every window (its identity goes into the manifest).
        windows: windows per track (fewer for short tracks).
        cache_root: the embedding cache root (None: ``paths.cache_root()/"embeddings"``).
        fetch_clip: how a window of a YouTube video is fetched (None: yt-dlp via
            :func:`musicrec_core.sources.youtube.fetch_youtube_clip`).
        progress: show a progress bar on stderr.
        landmarks: also store the windows' spectral landmarks, so a clip of a track is
            identified even when noise hides it from the embedding
            (:mod:`musicrec_core.catalog.identification`).
        backend: the index's vector backend ("annoy", the default, or "usearch").

    Raises:
        ValueError: when ``windows < 1``.
        CatalogError: an input that is neither a path nor a link, or nothing to index.
    """
    plan_windows(None, windows)  # validates the count before any work
    collected = collect_inputs(inputs)
    root = cache_root if cache_root is not None else paths.cache_root() / "embeddings"
    cache = EmbeddingCache(root, embedder.id, windows)
    landmark_cache = LandmarkCache(root, windows) if landmarks else None
    run = _LibraryRun(embedder, cache, landmark_cache, windows, fetch_clip or fetch_with_ytdlp)
    run.skipped.extend(collected.skipped)
    # The builder comes first so an unusable target fails before any decoding; leaving
    # the block by an exception removes the unpublished build.
    with (
        IndexBuilder(
            target_dir, embedder=embedder.id, pooling=DEFAULT_POOLING, backend=backend
        ) as builder,
        ThreadPoolExecutor(DECODE_WORKERS, thread_name_prefix="musicrec-decode") as decoder,
        Prefetch[_Input]() as prefetch,
    ):
        for entry in tqdm(collected.inputs, disable=not progress, unit="track", desc="library"):
            run.add(entry, decoder, prefetch)
        run.finish(prefetch.drain())
        run.flush()
        tracks = [run.tracks[key] for key in run.order if key in run.tracks]
        if not tracks:
            first = run.skipped[0] if run.skipped else None
            detail = f" (first: {first.source}: {first.reason})" if first else ""
            raise CatalogError(
                f"Nothing to index: no input gave playable audio; {len(run.skipped)} skipped, "
                f"{collected.ignored} ignored{detail}."
            )
        items = _add_tracks(builder, tracks)
        write_owners(
            builder.extra_file(OWNERS_FILE),
            {track.key: track.embedding.owner or TrackOwner() for track in tracks},
        )
        library: dict[str, object] = {
            "inputs": list(inputs),
            "tracks": len(tracks),
            "windows_per_track": windows,
            "window_seconds": CLIP_SECONDS,
        }
        if landmarks:
            store = _landmark_store(tracks, run.landmarks)
            store.save(builder.extra_file(STORE_FILES[0]).parent)
            for name in STORE_FILES[1:]:
                builder.extra_file(name)
            library["landmarks"] = {"tracks": len(store.tracks), "postings": len(store)}
        builder.commit(extra_manifest={"library": library})
    return LibraryBuildReport(
        index_dir=Path(target_dir),
        tracks=len(tracks),
        windows=items // 2,
        items=items,
        embedded=run.embedded,
        reused=run.reused,
        duplicates=run.duplicates,
        ignored=collected.ignored,
        skipped=tuple(run.skipped),
    )


class _LibraryRun:
    """The mutable state of one build: decoded tracks waiting for a batch, results, counts."""

    def __init__(
        self,
        embedder: Embedder,
        cache: EmbeddingCache,
        landmark_cache: LandmarkCache | None,
        windows: int,
        fetch_clip: LinkFetcher,
    ) -> None:
        self.embedder = embedder
        self.cache = cache
        self.landmark_cache = landmark_cache
        self.landmarks: dict[str, Landmarks] = {}  # track key -> its windows' landmarks
        self.windows = windows
        self.fetch_clip = fetch_clip
        self.order: list[str] = []  # track keys in input order
        self.seen: set[str] = set()
        self.tracks: dict[str, _Track] = {}
        self.pending: list[PreparedTrack] = []
        self.skipped: list[SkippedInput] = []
        self.embedded = 0
        self.reused = 0
        self.duplicates = 0

    def add(
        self, entry: FileInput | LinkInput, decoder: ThreadPoolExecutor, prefetch: Prefetch[_Input]
    ) -> None:
        """Key the input, reuse its cache entry or have it prepared (decoded, its views and
        landmarks made) for the pending batch; take the prepared tracks now due."""
        if isinstance(entry, FileInput):
            source, kind, stored_source = str(entry.path), "file", str(entry.path.resolve())
            try:
                key = track_key(entry.path)
            except OSError as exc:
                self.finish(prefetch.drain())  # skips stay in input order
                self.skipped.append(SkippedInput(source, f"cannot read it ({exc.strerror})."))
                return
        else:
            source, kind, stored_source = entry.origin, "youtube", entry.link.url
            key = entry.link.video_id
        if key in self.seen:
            self.duplicates += 1
            return
        self.seen.add(key)
        self.order.append(key)
        cached = self.cache.get(key)
        if cached is not None and self._cached_landmarks(key):
            self._reuse(_Input(source, kind, stored_source, key, cached), cached)
            return
        if isinstance(entry, FileInput):
            decode = partial(decode_file, entry.path, key, stored_source, self.windows, decoder)
        else:
            decode = partial(fetch_link, entry.link, key, self.windows, self.fetch_clip)
        call = partial(
            prepare, decode, views=cached is None, landmarks=self.landmark_cache is not None
        )
        self.finish(prefetch.submit(_Input(source, kind, stored_source, key, cached), call))

    def finish(self, due: list[tuple[_Input, Future[PreparedTrack]]]) -> None:
        """Take prepared tracks in order: skip, reuse or batch each; embed full batches."""
        for admitted, future in due:
            try:
                prepared = future.result()
            except (AudioError, SourceError) as exc:
                if admitted.cached is not None:  # indexed from the cache, without landmarks
                    self._reuse(admitted, admitted.cached)
                else:
                    self.skipped.append(SkippedInput(admitted.source, str(exc)))
                continue
            if self.landmark_cache is not None and prepared.landmarks is not None:
                self.landmarks[admitted.key] = prepared.landmarks
                self.landmark_cache.put(admitted.key, prepared.landmarks)
            if admitted.cached is not None:
                self._reuse(admitted, admitted.cached)
                continue
            self.pending.append(prepared)
            if sum(len(track.decoded.clips) for track in self.pending) >= EMBED_BATCH_WINDOWS:
                self.flush()

    def _reuse(self, admitted: _Input, embedding: TrackEmbedding) -> None:
        """Index the track from its cached embedding; an entry written before owners were
        kept gets them from the file's tags (ffprobe, no decoding) and is rewritten."""
        key, kind, source = admitted.key, admitted.kind, admitted.stored_source
        if embedding.owner is None:
            embedding = replace(
                embedding, owner=_file_owner(source) if kind == "file" else TrackOwner()
            )
            self.cache.put(key, embedding)
        self.tracks[key] = _Track(key, kind, source, embedding)
        self.reused += 1

    def _cached_landmarks(self, key: str) -> bool:
        """Whether track ``key`` needs no landmark extraction (kept from the cache, or
        landmarks are not built)."""
        if self.landmark_cache is None:
            return True
        stored = self.landmark_cache.get(key)
        if stored is not None:
            self.landmarks[key] = stored
        return stored is not None

    def flush(self) -> None:
        """Embed every pending track in one batched call, cache and keep the results."""
        pending, self.pending = self.pending, []
        self._embed(pending)

    def _embed(self, batch: list[PreparedTrack]) -> None:
        if not batch:
            return
        clips = [clip for track in batch for clip in (*track.decoded.clips, *track.views)]
        try:
            embeddings = self.embedder.embed_many(clips)
        except AudioError as exc:
            if len(batch) == 1:
                self.skipped.append(SkippedInput(batch[0].decoded.source, str(exc)))
                return
            for track in batch:  # find the track the embedder refused
                self._embed([track])
            return
        offset = 0
        for prepared in batch:
            track = prepared.decoded
            count = len(track.clips)
            own = embeddings[offset : offset + count]
            phone = embeddings[offset + count : offset + 2 * count]
            offset += 2 * count
            embedded = _track_embedding(track, own, phone)
            self.cache.put(track.key, embedded)
            self.tracks[track.key] = _Track(track.key, track.kind, track.source, embedded)
            self.embedded += 1


def _file_owner(path: str) -> TrackOwner:
    """The album and artist tags of the file at ``path`` (none when it cannot be probed:
    its cached embedding still indexes it)."""
    try:
        return owner_of(probe_audio(path))
    except AudioError:
        return TrackOwner()


def _track_embedding(
    track: DecodedTrack, embeddings: Sequence[Embedding], phone: Sequence[Embedding]
) -> TrackEmbedding:
    """Collect a track's window and phone-view embeddings; average the tag probabilities
    over the (clean) windows."""
    tags: tuple[Tag, ...] = ()
    if all(embedding.tags for embedding in embeddings):
        totals: dict[str, float] = {}
        for embedding in embeddings:
            for tag in embedding.tags:
                totals[tag.name] = totals.get(tag.name, 0.0) + tag.probability
        averaged = (Tag(name, total / len(embeddings)) for name, total in totals.items())
        tags = tuple(sorted(averaged, key=lambda tag: -tag.probability))
    starts = np.array([clip.provenance.start_s for clip in track.clips], dtype=np.float64)
    durations = np.array([clip.duration_s for clip in track.clips], dtype=np.float64)
    return TrackEmbedding(
        title=track.title,
        starts=starts,
        ends=starts + durations,
        frames=np.concatenate([e.vectors for e in embeddings]).astype(np.float32),
        lengths=np.array([e.vectors.shape[0] for e in embeddings], dtype=np.int64),
        phone_frames=np.concatenate([e.vectors for e in phone]).astype(np.float32),
        phone_lengths=np.array([e.vectors.shape[0] for e in phone], dtype=np.int64),
        tags=tags,
        owner=track.owner,
    )


def _landmark_store(tracks: Sequence[_Track], landmarks: dict[str, Landmarks]) -> LandmarkStore:
    """The landmark store of the indexed tracks, each with the item range
    :func:`_add_tracks` gives it (its windows, then their phone views); a track without
    landmarks (its audio could not be decoded again) is left out."""
    stored, first = [], 0
    for track in tracks:
        count = 2 * track.embedding.starts.size
        if track.key in landmarks:
            stored.append((StoredTrack(track.key, first, count), landmarks[track.key]))
        first += count
    return LandmarkStore.build(stored)


def _add_tracks(builder: IndexBuilder, tracks: Sequence[_Track]) -> int:
    """Pool every window and every phone view of every track into the builder (a track's
    windows, then their views), with every tag of the track and its score; returns the
    number of items."""
    vectors = []
    metas: list[ItemMeta] = []
    for track in tracks:
        embedding = track.embedding
        vectors.append(pool_segments(embedding.frames, embedding.lengths, DEFAULT_POOLING))
        vectors.append(
            pool_segments(embedding.phone_frames, embedding.phone_lengths, DEFAULT_POOLING)
        )
        metas += 2 * [
            ItemMeta(
                group=track.key,
                start_s=float(start),
                end_s=float(end),
                labels=embedding.labels,
                title=embedding.title,
                source=track.source,
                kind=track.kind,
            )
            for start, end in zip(embedding.starts, embedding.ends, strict=True)
        ]
        if embedding.tags:
            builder.set_track_tags(track.key, embedding.tags)
    builder.add_many(np.concatenate(vectors), metas)
    return len(metas)
