"""The default catalog: what the bot serves when no index folder is configured.

Mental model: a recipe with three ingredients in the cache (:mod:`musicrec_core.paths`),
each checked and fetched on its own, in this order:

1. the VGGish weights in ``<cache>/models/vggish/``, md5-verified
   (:func:`musicrec_core.embedders.vggish.weights.download`); skipped when the operator
   points ``MUSICREC_VGGISH_CHECKPOINT`` / ``MUSICREC_VGGISH_PCA`` elsewhere;
2. AudioSet's labels CSV and ontology in ``<cache>/data/audioset/``, sha256-pinned (a
   cached copy that does not match is fetched again);
3. the index folder :func:`default_index_dir` (``<cache>/catalogs/audioset-music``): the
   music segments of AudioSet's release, streamed from the official archive into
   :func:`~musicrec_core.catalog.audioset.build_release_index` (the path of ``musicrec
   index build-audioset --download --music-only``) and never stored.

:func:`plan_default_catalog` looks at what is there without touching the network and says
what is missing: the downloads (official URL, about how many bytes, where each lands) and
the disk the result needs. :func:`prepare_default_catalog` states that in one log line,
refuses when the disk cannot hold it, then fetches and builds what is missing; a complete
catalog costs a few ``stat`` calls, an md5 memo lookup and the sha256 of the two label
files (about 0.4 MB). Progress: a tqdm bar on a
terminal, otherwise a log line every :data:`LOG_EVERY_PERCENT` percent of the archive.

Interruptions: downloads land as ``.part`` files renamed only once whole and verified, and
an index is published atomically (:mod:`musicrec_core.catalog.index.builder`), so an index
folder whose ``CURRENT`` names a version is complete, and a killed build leaves at worst a
build folder that the next build removes. The archive is accepted only whole (its gzip
trailer, its tar end marker and, against the release's published count, its segments:
:mod:`musicrec_core.catalog.audioset.archive`), so a cut or damaged stream publishes
nothing and the next plan still lacks the index. A stream cannot resume: the next start
builds again from the beginning. A file lock keeps two processes that start together (several
shards) from building at once; the second waits and finds the catalog complete.

Offline or blocked: the :class:`~musicrec_core.errors.DownloadError` names the cause and,
in the same line, every missing file's official URL and the folder it goes in.

Tests only: :func:`_expect_test_weights` makes the build expect other VGGish md5s (stand-in
weights) instead of the official ones; like the sources seam it is a module-level registry
reachable only by that Python call, never by a setting or an environment variable.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import logging
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from musicrec_core import paths
from musicrec_core.catalog import audioset, labels
from musicrec_core.catalog.index.manifest import read_manifest, resolve_version_dir
from musicrec_core.embedders import WeightFiles
from musicrec_core.embedders.vggish import embedder_version, weights
from musicrec_core.errors import CatalogError, DownloadError
from musicrec_core.mirrors import mirrored

logger = logging.getLogger(__name__)

CATALOG_NAME = "audioset-music"
"""Folder name of the default catalog under ``<cache>/catalogs/``."""
LOG_EVERY_PERCENT = 5
"""Without a terminal, the archive's progress is logged every this many percent."""
STREAM_TIMEOUT_S = 60.0
"""Longest wait for a connection or one read of the features archive."""

_WEIGHT_BYTES = {weights.CHECKPOINT.name: 289_000_000, weights.PCA.name: 70_000}
"""About how large each official VGGish file is (for the up-front statement)."""
_LABEL_BYTES = 400_000
"""About the labels CSV and the ontology together."""
_GB = 1e9

_TEST_WEIGHT_MD5S: dict[str, str] = {}
"""Tests only: VGGish file name -> the md5 expected instead of the official one."""


@dataclass(frozen=True)
class Fetch:
    """One download the default catalog still needs.

    Attributes:
        url: the official URL (a mirror variable may redirect the actual request).
        dest: the folder it lands in, or None for the features archive (streamed into the
            index, never stored).
        approx_bytes: about how large it is.
    """

    url: str
    dest: Path | None
    approx_bytes: int


@dataclass(frozen=True)
class DefaultCatalogPlan:
    """What the default catalog lacks, and what fetching it costs (nothing for a complete one).

    Attributes:
        index_dir: the index folder the bot serves.
        weight_files: VGGish files to download (with the md5s expected of them).
        need_labels: the labels CSV or the ontology is missing or not the pinned copy.
        need_index: no complete index is published in ``index_dir``.
        disk_bytes: about how much disk the missing parts take once built, in bytes
            (weights, their parsed cache, the index).
        free_bytes: free bytes on the cache's file system.
    """

    index_dir: Path
    weight_files: tuple[weights.WeightsFile, ...]
    need_labels: bool
    need_index: bool
    disk_bytes: int
    free_bytes: int

    @property
    def complete(self) -> bool:
        """Nothing to fetch or build."""
        return not (self.weight_files or self.need_labels or self.need_index)

    @property
    def fetches(self) -> list[Fetch]:
        """Every download still needed, in the order they run."""
        result = [
            Fetch(file.url, weights.default_dir(), _WEIGHT_BYTES[file.name])
            for file in self.weight_files
        ]
        if self.need_labels:
            folder = labels.default_labels_path().parent
            result += [
                Fetch(labels.LABELS_URL, folder, _LABEL_BYTES // 2),
                Fetch(labels.ONTOLOGY_URL, folder, _LABEL_BYTES // 2),
            ]
        if self.need_index:
            result.append(Fetch(audioset.FEATURES_URL, None, audioset.FEATURES_ARCHIVE_BYTES))
        return result

    @property
    def download_bytes(self) -> int:
        """About how many bytes the missing parts download."""
        return sum(fetch.approx_bytes for fetch in self.fetches)

    def statement(self) -> str:
        """The one line said before anything is fetched: downloads and disk."""
        return (
            f"Building the default catalog in {self.index_dir}: about "
            f"{self.download_bytes / _GB:.1f} GB to download from {_hosts(self.fetches)}, "
            f"about {self.disk_bytes / _GB:.1f} GB of disk needed, "
            f"{self.free_bytes / _GB:.1f} GB free. The AudioSet archive is streamed, not "
            "stored; this runs once."
        )

    def by_hand(self) -> str:
        """One sentence naming every missing file, its URL and where it goes."""
        steps = []
        stored = [fetch for fetch in self.fetches if fetch.dest is not None]
        for folder in dict.fromkeys(fetch.dest for fetch in stored):
            urls = " and ".join(fetch.url for fetch in stored if fetch.dest == folder)
            steps.append(f"download {urls} into {folder}")
        if self.need_index:
            steps.append(
                f"download {audioset.FEATURES_URL} and run `musicrec index build-audioset "
                f"--features features.tar.gz --music-only -o {self.index_dir}`"
            )
        return (
            "To set it up by hand, "
            + "; ".join(steps)
            + " (or set MUSICREC_INDEX_DIR to an index you built, or point the "
            "MUSICREC_*_URL_BASE variables at a mirror)."
        )


def default_index_dir() -> Path:
    """Where the default catalog's index folder lives: ``<cache>/catalogs/audioset-music``."""
    return paths.cache_root() / "catalogs" / CATALOG_NAME


def expected_weight_files() -> tuple[weights.WeightsFile, weights.WeightsFile]:
    """The VGGish files the default catalog accepts: the official ones with their md5s."""
    checkpoint, pca = weights.official_files()
    return (
        dataclasses.replace(checkpoint, md5=_TEST_WEIGHT_MD5S.get(checkpoint.name, checkpoint.md5)),
        dataclasses.replace(pca, md5=_TEST_WEIGHT_MD5S.get(pca.name, pca.md5)),
    )


def plan_default_catalog(weight_files: WeightFiles | None = None) -> DefaultCatalogPlan:
    """What the default catalog lacks (no network is used).

    Args:
        weight_files: the VGGish files the server will load (None: the environment or the
            cache); only files that resolve to the cache are fetched.
    """
    explicit = weight_files or WeightFiles()
    located = weights.locate(explicit.vggish_checkpoint, explicit.vggish_pca)
    missing_weights = tuple(
        file
        for file, path in zip(expected_weight_files(), located, strict=True)
        if not path.is_file() and path == weights.default_dir() / file.name
    )
    need_labels = not labels.cached_files_intact()  # missing, or not the pinned files
    index_dir = default_index_dir()
    need_index = not _published(index_dir)
    disk = 2 * sum(_WEIGHT_BYTES[file.name] for file in missing_weights)  # files + parsed cache
    if need_labels:
        disk += _LABEL_BYTES
    if need_index:
        disk += audioset.release_index_estimate(music_only=True)[1]
    return DefaultCatalogPlan(
        index_dir=index_dir,
        weight_files=missing_weights,
        need_labels=need_labels,
        need_index=need_index,
        disk_bytes=disk,
        free_bytes=audioset.free_disk_bytes(paths.cache_root()),
    )


def prepare_default_catalog(
    weight_files: WeightFiles | None = None, *, progress: bool = True
) -> Path:
    """Fetch and build whatever the default catalog lacks; returns its index folder.

    Holds a lock on ``<cache>/catalogs/`` meanwhile, so processes starting together build
    it once. A complete catalog returns at once (nothing is downloaded).

    Raises:
        CatalogError: the disk cannot hold it (nothing was fetched), or the build failed.
        DownloadError: a download failed or a VGGish file's md5 differs; the one-line
            message ends with what to fetch by hand and where to put it.
    """
    plan = plan_default_catalog(weight_files)
    if plan.complete:
        return plan.index_dir
    with _build_lock(plan.index_dir):
        plan = plan_default_catalog(weight_files)  # another process may have built it
        if plan.complete:
            return plan.index_dir
        logger.info("%s", plan.statement())
        if plan.free_bytes < plan.disk_bytes:
            raise CatalogError(
                f"Not enough disk space for the default catalog in {paths.cache_root()}: about "
                f"{plan.disk_bytes / _GB:.1f} GB needed, {plan.free_bytes / _GB:.1f} GB free. "
                "Free some space, or move the cache with MUSICREC_CACHE_DIR."
            )
        try:
            _build(plan, progress=progress)
        except (DownloadError, CatalogError) as exc:
            # weights.download adds its own hand-install advice; the plan's covers it all.
            cause = exc.__cause__ if isinstance(exc.__cause__, DownloadError) else exc
            message = f"Could not build the default catalog: {cause} {plan.by_hand()}"
            raise type(exc)(message) from exc
    return plan.index_dir


def _build(plan: DefaultCatalogPlan, *, progress: bool) -> None:
    """Run the plan: weights, labels, then the index streamed from the archive."""
    from musicrec_core.download import open_stream

    if plan.weight_files:
        logger.info("default catalog: downloading the VGGish weights (md5-verified)")
        weights.download(progress=progress, files=plan.weight_files)
    if plan.need_labels:
        logger.info("default catalog: downloading AudioSet's labels and ontology")
        labels.download(progress=progress)
    if not plan.need_index:
        return
    logger.info("default catalog: streaming %s into the index", audioset.FEATURES_URL)
    checkpoint, pca = expected_weight_files()
    embedder = dataclasses.replace(
        audioset.AUDIOSET_EMBEDDER, version=embedder_version(checkpoint.md5, pca.md5)
    )
    on_bytes = None if _terminal(progress) else _ProgressLog(audioset.FEATURES_ARCHIVE_BYTES)
    with open_stream(audioset.FEATURES_URL, timeout_s=STREAM_TIMEOUT_S, progress=progress) as body:
        count, stats = audioset.build_release_index(
            body,
            plan.index_dir,
            music_only=True,
            embedder=embedder,
            on_bytes=on_bytes,
            expected_segments=audioset.official_release_segments(),
        )
    logger.info("default catalog: %s", stats.summary().replace("\n", "; "))
    logger.info("default catalog: %d music segments indexed in %s", count, plan.index_dir)


def _published(index_dir: Path) -> bool:
    """A complete index is published there (builds publish atomically, so CURRENT naming a
    version with a readable manifest means complete; the server proves the files)."""
    try:
        read_manifest(resolve_version_dir(index_dir, bare_version_ok=False))
    except CatalogError:
        return False
    return True


def _terminal(progress: bool) -> bool:
    """A progress bar shows (tqdm draws only on a terminal)."""
    return progress and sys.stderr.isatty()


class _ProgressLog:
    """``on_bytes`` callback logging every :data:`LOG_EVERY_PERCENT` percent of ``total``."""

    def __init__(self, total: int) -> None:
        self._total = total
        self._read = 0
        self._next = LOG_EVERY_PERCENT

    def __call__(self, n: int) -> None:
        self._read += n
        percent = 100 * self._read // self._total
        if percent >= self._next:
            logger.info(
                "default catalog: %d%% of the features archive read (%.2f of about %.1f GB)",
                percent,
                self._read / _GB,
                self._total / _GB,
            )
            self._next = percent - percent % LOG_EVERY_PERCENT + LOG_EVERY_PERCENT


@contextlib.contextmanager
def _build_lock(index_dir: Path) -> Iterator[None]:
    """An exclusive lock beside ``index_dir`` (released when the process ends, however)."""
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    lock_path = index_dir.parent / f".{index_dir.name}.lock"
    with open(lock_path, "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            logger.info("another process is building the default catalog; waiting for it")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def _expect_test_weights(checkpoint_md5: str, pca_md5: str) -> Iterator[None]:
    """Tests only: expect VGGish files with these md5s instead of the official ones.

    The md5 check still runs, against these values; the index records the embedder version
    these md5s name, so it serves with the stand-in weights.
    """
    _TEST_WEIGHT_MD5S.update(
        {weights.CHECKPOINT.name: checkpoint_md5.lower(), weights.PCA.name: pca_md5.lower()}
    )
    try:
        yield
    finally:
        _TEST_WEIGHT_MD5S.clear()


def _hosts(fetches: list[Fetch]) -> str:
    """The distinct hosts of ``fetches`` (for the statement)."""
    hosts = (urlsplit(mirrored(fetch.url)).hostname or "?" for fetch in fetches)
    return ", ".join(dict.fromkeys(hosts))
