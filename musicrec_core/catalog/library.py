"""Library catalogs: an index of your own music (folders, files, lists of YouTube links).

Mental model: every input becomes a *track*, every track a few 10-second *windows* spread
across it, every window one index item, so any part of a song can match a query::

    inputs --collect_inputs--> files + links --hash / video id--> track keys
      --cache hit?--> reuse the stored frames
      --else decode windows (ffmpeg / yt-dlp), embed them in batches, store in the cache-->
    pool(frames, DEFAULT_POOLING) per window --IndexBuilder--> INDEX_DIR (published atomically)

Inputs (``build_library(inputs, ...)``; the CLI is ``musicrec index build-library``):
    - a folder: searched recursively (hidden entries and symlinked folders skipped). Every
      file is probed with ffprobe, so audio is recognised by content, not by its name; files
      whose suffix marks them as plainly not media (:data:`NON_MEDIA_SUFFIXES`: images,
      text, playlists, archives) are ignored without probing and only counted.
    - a file: a link list when its suffix is in :data:`LINK_LIST_SUFFIXES`, else audio.
    - a link list: UTF-8 text, one YouTube link per line; blank lines and lines starting
      with ``#`` are ignored, as is a `` # comment`` after a link.
    - a YouTube link.

Track identity (the items' ``group``): a file's key is the sha256 of its bytes, so a copy
of a song in two folders is one track; a link's key is its video id, so YouTube queries of
that video exclude it. The recommender returns one window per group.

Windows (:func:`plan_windows`): ``n`` windows of :data:`~musicrec_core.clip.CLIP_SECONDS`,
centred in ``n`` equal parts of the track (so intros and fade-outs are not favoured), and
fewer for short tracks so windows never overlap: ``min(n, floor(duration / 10 s))``, at
least one (a track shorter than a window is one shorter window).

Labels: when the embedder gives music tags (musicnn), each window's item carries the
*track's* top :data:`TRACK_TAG_LABELS` tags (tag probabilities averaged over its windows);
otherwise no labels.

Cache (decision: in the user cache, not in the index folder, so several indexes and
rebuilds into new folders share it, and the index folder stays exactly what the index
builder publishes): ``paths.cache_root()/"embeddings"/<embedder>-<plan id>/<key>.npz``,
where ``<plan id>`` hashes the embedder's name, version and dimension, the window count and
length and :data:`CACHE_FORMAT`, and ``<key>`` is the track key (sha256 or video id).
An entry stores the windows' per-frame embeddings (pooling happens at build time, so a
change of pooling rule needs no re-embedding), their offsets, the title and the track tags.
Entries are written atomically (temporary file + rename); an unreadable one is a miss.
Failed inputs are never cached.

Failures: an input that cannot be decoded or fetched is skipped with its reason and
counted (:class:`LibraryBuildReport`); a missing path on the command line, or a build
where nothing could be indexed, is a :class:`~musicrec_core.errors.CatalogError`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import zipfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from musicrec_core import paths
from musicrec_core.atomic_file import atomic_write
from musicrec_core.audio import AudioInfo, load_clip, probe_audio
from musicrec_core.catalog.index import IndexBuilder, ItemMeta
from musicrec_core.catalog.pooling import DEFAULT_POOLING, pool_segments
from musicrec_core.clip import CLIP_SECONDS, Clip
from musicrec_core.embedders.base import Embedder, EmbedderId, Embedding, Tag
from musicrec_core.errors import AudioError, CatalogError, LinkRejectedError, SourceError
from musicrec_core.hashing import file_sha256
from musicrec_core.sources.youtube import YouTubeLink, fetch_youtube_clip, parse_youtube_link

__all__ = [
    "CACHE_FORMAT",
    "DEFAULT_WINDOWS",
    "LINK_LIST_SUFFIXES",
    "NON_MEDIA_SUFFIXES",
    "TRACK_TAG_LABELS",
    "EmbeddingCache",
    "LibraryBuildReport",
    "LinkFetcher",
    "SkippedInput",
    "TrackEmbedding",
    "build_library",
    "plan_windows",
    "track_key",
]

logger = logging.getLogger(__name__)

DEFAULT_WINDOWS = 6
"""Windows per track unless told otherwise (a 3-minute song: one every 30 s)."""

TRACK_TAG_LABELS = 5
"""How many of a track's best music tags its items carry as labels."""

EMBED_BATCH_WINDOWS = 32
"""Windows gathered (across tracks) before one batched embedder call."""

DECODE_WORKERS = 4
"""Windows of one file decoded concurrently (each is its own ffmpeg process)."""

CACHE_FORMAT = 1
"""Version of the cache entry layout; part of every cache directory name."""

LINK_LIST_SUFFIXES = frozenset({".txt", ".list"})
"""Suffixes of a file given on the command line that make it a list of YouTube links."""

NON_MEDIA_SUFFIXES = frozenset(
    {
        ".txt", ".md", ".nfo", ".log", ".cue", ".lrc", ".srt", ".pdf", ".json", ".xml",
        ".html", ".htm", ".ini", ".db", ".sfv", ".md5", ".m3u", ".m3u8", ".pls",
        ".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff", ".svg", ".ico",
        ".zip", ".rar", ".7z", ".gz", ".tar", ".exe", ".dll", ".py", ".sh", ".npy", ".npz",
    }
)  # fmt: skip
"""Suffixes of files in a folder that are ignored without probing (cover art, notes, ...)."""

_INLINE_COMMENT = re.compile(r"\s#")

LinkFetcher = Callable[[YouTubeLink, float | None], Clip]
"""Fetches one window of a video: (link, start in seconds or None for the default) -> Clip."""


def plan_windows(
    duration_s: float | None, n_windows: int, window_s: float = CLIP_SECONDS
) -> tuple[float, ...]:
    """Start offsets (seconds, rounded to ms) of the windows to embed for one track.

    ``min(n_windows, floor(duration_s / window_s))`` windows (at least one), each centred in
    its equal share of the track and kept inside it. Unknown or short durations give one
    window at 0.
    """
    if n_windows < 1:
        raise ValueError(f"n_windows must be at least 1, got {n_windows}")
    if duration_s is None or duration_s <= window_s:
        return (0.0,)
    count = max(1, min(n_windows, int(duration_s // window_s)))
    share = duration_s / count
    latest = duration_s - window_s
    return tuple(
        round(min(latest, max(0.0, (i + 0.5) * share - window_s / 2)), 3) for i in range(count)
    )


def track_key(path: Path) -> str:
    """The library key (group) of a local file: the hex sha256 of its bytes.

    It equals the ``content_sha256`` of a clip cut from that file (or from an upload of
    its bytes), which is how the recommender leaves a query's own track out of its results.
    """
    return file_sha256(path)


@dataclass(frozen=True)
class SkippedInput:
    """An input left out of the build: where it came from and why (a readable sentence)."""

    source: str
    reason: str


@dataclass(frozen=True)
class LibraryBuildReport:
    """What a library build did.

    Attributes:
        index_dir: the published index folder.
        tracks: tracks in the index.
        items: index items (windows) in the index.
        embedded: tracks decoded and embedded in this run.
        reused: tracks whose embeddings came from the cache (unchanged inputs).
        duplicates: inputs that were the same track as an earlier one (same bytes / video).
        ignored: files in folders skipped by suffix as not media.
        skipped: inputs that failed (undecodable, not audio, rejected link), with reasons.
    """

    index_dir: Path
    tracks: int
    items: int
    embedded: int
    reused: int
    duplicates: int
    ignored: int
    skipped: tuple[SkippedInput, ...]

    def summary(self) -> str:
        """A few human-readable lines for the CLI."""
        lines = [
            f"Indexed {self.tracks} tracks ({self.items} windows) into {self.index_dir}: "
            f"{self.embedded} embedded, {self.reused} reused from the cache."
        ]
        if self.duplicates:
            lines.append(f"Left out {self.duplicates} duplicate inputs (same file or video).")
        if self.ignored:
            lines.append(f"Ignored {self.ignored} files that are not media (by suffix).")
        if self.skipped:
            lines.append(f"Skipped {len(self.skipped)} inputs:")
            lines += [f"  {entry.source}: {entry.reason}" for entry in self.skipped]
        return "\n".join(lines)


@dataclass(frozen=True)
class TrackEmbedding:
    """One track's embedded windows (what the cache stores).

    Attributes:
        title: the track title (tags, yt-dlp or file name), or None.
        starts: float64 [w], window offsets in the source, in seconds.
        ends: float64 [w], window ends, in seconds.
        frames: float32 [total_frames, dim], the windows' frames one window after another.
        lengths: int64 [w], frames per window (each >= 1, summing to total_frames).
        tags: track tags (window probabilities averaged), best first; () without tags.
    """

    title: str | None
    starts: np.ndarray
    ends: np.ndarray
    frames: np.ndarray
    lengths: np.ndarray
    tags: tuple[Tag, ...]

    @property
    def labels(self) -> tuple[str, ...]:
        """The names of the best :data:`TRACK_TAG_LABELS` tags."""
        return tuple(tag.name for tag in self.tags[:TRACK_TAG_LABELS])


class EmbeddingCache:
    """Embedded tracks on disk, keyed by embedder identity, window plan and track key.

    Args:
        root: the cache root (``paths.cache_root()/"embeddings"`` by default).
        embedder: the id of the embedder (its variant is named by its version).
        n_windows: the window count requested per track.
    """

    def __init__(self, root: Path, embedder: EmbedderId, n_windows: int) -> None:
        plan = json.dumps(
            {
                "embedder": {
                    "name": embedder.name,
                    "version": embedder.version,
                    "dim": embedder.dim,
                },
                "windows": n_windows,
                "window_s": CLIP_SECONDS,
                "format": CACHE_FORMAT,
            },
            sort_keys=True,
        )
        plan_id = hashlib.sha256(plan.encode()).hexdigest()[:16]
        self.directory = Path(root) / f"{embedder.name}-{plan_id}"
        self.dim = embedder.dim

    def _path(self, key: str) -> Path:
        return self.directory / f"{key}.npz"

    def get(self, key: str) -> TrackEmbedding | None:
        """The stored embedding of track ``key``, or None (absent or unreadable)."""
        path = self._path(key)
        try:
            with np.load(path, allow_pickle=False) as data:
                info = json.loads(str(data["info"]))
                track = TrackEmbedding(
                    title=info["title"],
                    starts=data["starts"].astype(np.float64),
                    ends=data["ends"].astype(np.float64),
                    frames=data["frames"].astype(np.float32),
                    lengths=data["lengths"].astype(np.int64),
                    tags=tuple(
                        Tag(str(name), float(p))
                        for name, p in zip(data["tag_names"], data["tag_probs"], strict=True)
                    ),
                )
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as exc:
            logger.warning("ignoring unreadable cache entry %s: %s", path, exc)
            return None
        consistent = (
            track.frames.ndim == 2
            and track.frames.shape[1] == self.dim
            and track.lengths.shape == track.starts.shape == track.ends.shape
            and track.lengths.size >= 1
            and int(track.lengths.min()) >= 1
            and int(track.lengths.sum()) == track.frames.shape[0]
        )
        return track if consistent else None

    def put(self, key: str, track: TrackEmbedding) -> None:
        """Store ``track`` atomically; a failure to write is logged, never raised."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with atomic_write(self._path(key)) as handle:
                np.savez(
                    handle,
                    info=np.array(json.dumps({"title": track.title})),
                    starts=track.starts,
                    ends=track.ends,
                    frames=track.frames,
                    lengths=track.lengths,
                    tag_names=np.array([tag.name for tag in track.tags], dtype=np.str_),
                    tag_probs=np.array([tag.probability for tag in track.tags], np.float32),
                )
        except OSError as exc:
            logger.warning("cannot write the embedding cache entry for %s: %s", key, exc)


@dataclass(frozen=True)
class _FileInput:
    path: Path


@dataclass(frozen=True)
class _LinkInput:
    link: YouTubeLink
    origin: str  # the URL as given, or "list.txt:LINE"


@dataclass
class _Collected:
    inputs: list[_FileInput | _LinkInput]
    skipped: list[SkippedInput]
    ignored: int = 0


@dataclass(frozen=True)
class _DecodedTrack:
    """A track's windows decoded and waiting for the embedder."""

    key: str
    kind: str
    source: str
    title: str | None
    clips: tuple[Clip, ...]


@dataclass(frozen=True)
class _Track:
    key: str
    kind: str
    source: str
    embedding: TrackEmbedding


def _collect_inputs(inputs: Sequence[str]) -> _Collected:
    """Expand command-line inputs into files and links (see the module docstring).

    Raises:
        CatalogError: when an input is neither an existing path nor a YouTube link.
    """
    collected = _Collected(inputs=[], skipped=[])
    for raw in inputs:
        path = Path(raw).expanduser()
        if path.is_dir():
            for file_path in _walk(path):
                if file_path.suffix.lower() in NON_MEDIA_SUFFIXES:
                    collected.ignored += 1
                else:
                    collected.inputs.append(_FileInput(file_path))
        elif path.is_file():
            if path.suffix.lower() in LINK_LIST_SUFFIXES:
                _read_link_list(path, collected)
            else:
                collected.inputs.append(_FileInput(path))
        else:
            try:
                collected.inputs.append(_LinkInput(parse_youtube_link(raw), raw))
            except LinkRejectedError as exc:
                raise CatalogError(
                    f"{raw} is neither an existing file or folder nor a YouTube link."
                ) from exc
    return collected


def _walk(folder: Path) -> Iterator[Path]:
    """Files under ``folder``, sorted, skipping hidden names and symlinked folders."""
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith("."):
                yield Path(root) / name


def _read_link_list(path: Path, collected: _Collected) -> None:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise CatalogError(f"Cannot read the link list {path}: {exc.strerror}.") from exc
    for number, line in enumerate(text.splitlines(), start=1):
        entry = _INLINE_COMMENT.split(line, maxsplit=1)[0].strip()
        if not entry or entry.startswith("#"):
            continue
        origin = f"{path}:{number}"
        try:
            collected.inputs.append(_LinkInput(parse_youtube_link(entry), origin))
        except LinkRejectedError as exc:
            collected.skipped.append(SkippedInput(origin, str(exc)))


def build_library(
    inputs: Sequence[str],
    target_dir: Path,
    embedder: Embedder,
    *,
    windows: int = DEFAULT_WINDOWS,
    cache_root: Path | None = None,
    fetch_clip: LinkFetcher | None = None,
    progress: bool = False,
) -> LibraryBuildReport:
    """Index the tracks in ``inputs`` into ``target_dir`` (see the module docstring).

    Args:
        inputs: folders, audio files, link-list files and YouTube links.
        target_dir: the index folder to create or replace (atomically).
        embedder: the embedder for every window (its identity goes into the manifest).
        windows: windows per track (fewer for short tracks).
        cache_root: the embedding cache root (None: ``paths.cache_root()/"embeddings"``).
        fetch_clip: how a window of a YouTube video is fetched (None: yt-dlp via
            :func:`musicrec_core.sources.youtube.fetch_youtube_clip`).
        progress: show a progress bar on stderr.

    Raises:
        ValueError: when ``windows < 1``.
        CatalogError: an input that is neither a path nor a link, or nothing to index.
    """
    plan_windows(None, windows)  # validates the count before any work
    collected = _collect_inputs(inputs)
    cache = EmbeddingCache(
        cache_root if cache_root is not None else paths.cache_root() / "embeddings",
        embedder.id,
        windows,
    )
    run = _LibraryRun(embedder, cache, windows, fetch_clip or _fetch_with_ytdlp)
    run.skipped.extend(collected.skipped)
    # The builder comes first so an unusable target fails before any decoding; leaving
    # the block by an exception removes the unpublished build.
    with (
        IndexBuilder(target_dir, embedder=embedder.id, pooling=DEFAULT_POOLING) as builder,
        ThreadPoolExecutor(DECODE_WORKERS, thread_name_prefix="musicrec-decode") as decoder,
    ):
        for entry in tqdm(collected.inputs, disable=not progress, unit="track", desc="library"):
            run.add(entry, decoder)
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
        builder.commit(
            extra_manifest={
                "library": {
                    "inputs": list(inputs),
                    "tracks": len(tracks),
                    "windows_per_track": windows,
                    "window_seconds": CLIP_SECONDS,
                }
            }
        )
    return LibraryBuildReport(
        index_dir=Path(target_dir),
        tracks=len(tracks),
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
        self, embedder: Embedder, cache: EmbeddingCache, windows: int, fetch_clip: LinkFetcher
    ) -> None:
        self.embedder = embedder
        self.cache = cache
        self.windows = windows
        self.fetch_clip = fetch_clip
        self.order: list[str] = []  # track keys in input order
        self.seen: set[str] = set()
        self.tracks: dict[str, _Track] = {}
        self.pending: list[_DecodedTrack] = []
        self.skipped: list[SkippedInput] = []
        self.embedded = 0
        self.reused = 0
        self.duplicates = 0

    def add(self, entry: _FileInput | _LinkInput, decoder: ThreadPoolExecutor) -> None:
        """Key the input, reuse its cache entry or decode it into the pending batch."""
        if isinstance(entry, _FileInput):
            source, kind, stored_source = str(entry.path), "file", str(entry.path.resolve())
            try:
                key = track_key(entry.path)
            except OSError as exc:
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
        if cached is not None:
            self.tracks[key] = _Track(key, kind, stored_source, cached)
            self.reused += 1
            return
        try:
            if isinstance(entry, _FileInput):
                decoded = _decode_file(entry.path, key, stored_source, self.windows, decoder)
            else:
                decoded = _fetch_link(entry.link, key, self.windows, self.fetch_clip)
        except (AudioError, SourceError) as exc:
            self.skipped.append(SkippedInput(source, str(exc)))
            return
        self.pending.append(decoded)
        if sum(len(track.clips) for track in self.pending) >= EMBED_BATCH_WINDOWS:
            self.flush()

    def flush(self) -> None:
        """Embed every pending track in one batched call, cache and keep the results."""
        pending, self.pending = self.pending, []
        self._embed(pending)

    def _embed(self, batch: list[_DecodedTrack]) -> None:
        if not batch:
            return
        try:
            embeddings = self.embedder.embed_many([c for track in batch for c in track.clips])
        except AudioError as exc:
            if len(batch) == 1:
                self.skipped.append(SkippedInput(batch[0].source, str(exc)))
                return
            for track in batch:  # find the track the embedder refused
                self._embed([track])
            return
        offset = 0
        for track in batch:
            own = embeddings[offset : offset + len(track.clips)]
            offset += len(track.clips)
            embedded = _track_embedding(track, own)
            self.cache.put(track.key, embedded)
            self.tracks[track.key] = _Track(track.key, track.kind, track.source, embedded)
            self.embedded += 1


def _decode_file(
    path: Path, key: str, source: str, windows: int, decoder: ThreadPoolExecutor
) -> _DecodedTrack:
    """Probe the file and decode its planned windows (in parallel).

    Windows that fail to decode (a truncated file) are dropped; raises the first error
    when none decodes.
    """
    info = probe_audio(path)
    starts = plan_windows(info.duration_s, windows)
    futures = [decoder.submit(load_clip, path, start_s=start, info=info) for start in starts]
    clips: list[Clip] = []
    errors: list[AudioError] = []
    for future in futures:
        try:
            clips.append(future.result())
        except AudioError as exc:
            errors.append(exc)
    if not clips:
        raise errors[0]
    if errors:
        logger.warning("%s: %d of %d windows could not be decoded", path, len(errors), len(starts))
    return _DecodedTrack(key, "file", source, _title_from_tags(info) or path.stem, tuple(clips))


def _title_from_tags(info: AudioInfo) -> str | None:
    if info.title and info.artist:
        return f"{info.artist} - {info.title}"
    return info.title


def _fetch_link(
    link: YouTubeLink, key: str, windows: int, fetch_clip: LinkFetcher
) -> _DecodedTrack:
    """Fetch the planned windows of a video.

    The first fetch takes the source's default window and reports the video's length and
    title; the planned window nearest to it is replaced by it, the others are fetched.
    """
    first = fetch_clip(link, None)
    starts = list(plan_windows(first.provenance.source_duration_s, windows))
    nearest = min(range(len(starts)), key=lambda i: abs(starts[i] - first.provenance.start_s))
    clips = [first if i == nearest else fetch_clip(link, start) for i, start in enumerate(starts)]
    return _DecodedTrack(key, "youtube", link.url, first.provenance.title, tuple(clips))


def _fetch_with_ytdlp(link: YouTubeLink, start_s: float | None) -> Clip:
    return fetch_youtube_clip(link, start_s=start_s)


def _track_embedding(track: _DecodedTrack, embeddings: Sequence[Embedding]) -> TrackEmbedding:
    """Collect a track's window embeddings; average the tag probabilities over windows."""
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
        tags=tags,
    )


def _add_tracks(builder: IndexBuilder, tracks: Sequence[_Track]) -> int:
    """Pool every window of every track into the builder; returns the number of items."""
    vectors = []
    metas: list[ItemMeta] = []
    for track in tracks:
        embedding = track.embedding
        vectors.append(pool_segments(embedding.frames, embedding.lengths, DEFAULT_POOLING))
        metas += [
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
    builder.add_many(np.concatenate(vectors), metas)
    return len(metas)
