"""The doctor's checks that need no yt-dlp: programs, operator files, weights, the index.

Each check takes explicit inputs and returns :class:`~musicrec_core.doctor.report.Finding`
objects; none reads settings of its own, so the CLI (flags and ``MUSICREC_*`` paths) and
the bot (its validated settings) run the same code. ``needed`` says whether the configured
program depends on the thing checked: a problem with it is a ``FIX``, otherwise a
``NOTE``. Checks reuse the code that does the real work (``find_binaries`` for ffmpeg, the
weights modules' lookups and digests, ``CatalogIndex.load`` and ``check_embedder``), so
the doctor and the program cannot disagree. Nothing here imports TensorFlow.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

from musicrec_core import private_url
from musicrec_core.doctor.report import Finding
from musicrec_core.embedders import WeightFiles
from musicrec_core.embedders.base import EmbedderId
from musicrec_core.errors import CheckpointError, MusicrecError, WeightsMissingError
from musicrec_core.sources.blocks import BLOCK_FIX, read_last_block
from musicrec_core.sources.ytdlp_inputs import check_cookies_file, check_proxy_url

RECENT_BLOCK_S = 24 * 3600.0
"""A block younger than this (seconds) is reported as a NOTE."""
VERSION_TIMEOUT_S = 10.0
"""Longest wait for ``ffmpeg -version`` / ``ffprobe -version``, in seconds."""
MUSICNN_VARIANTS = ("mtt", "msd")
"""musicnn's published weights, checked one by one."""


def _needed(needed: bool, check: str, message: str) -> Finding:
    return Finding.fix(check, message) if needed else Finding.note(check, message)


def check_ffmpeg() -> list[Finding]:
    """ffmpeg and ffprobe, found the way the decoder finds them, with their versions."""
    from musicrec_core.audio.process import find_binaries

    try:
        binaries = find_binaries()
    except MusicrecError as exc:
        return [Finding.fix("ffmpeg", str(exc))]
    ffmpeg, ffprobe = binaries
    return [_program_version("ffmpeg", ffmpeg), _program_version("ffprobe", ffprobe)]


def _program_version(name: str, path: str) -> Finding:
    try:
        run = subprocess.run(
            [path, "-version"], capture_output=True, text=True, timeout=VERSION_TIMEOUT_S
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Finding.fix(name, f"{path} does not run ({type(exc).__name__}); reinstall ffmpeg.")
    first = (run.stdout.splitlines() or [""])[0].split()
    if run.returncode != 0 or len(first) < 3 or first[1] != "version":
        return Finding.fix(name, f"{path} -version failed; reinstall ffmpeg.")
    return Finding.ok(name, f"{name} {first[2]} at {path}")


def check_cookies(path: Path | None) -> Finding:
    """The yt-dlp cookies file: readable and in Netscape format (None: guest access)."""
    if path is None:
        return Finding.ok(
            "cookies",
            "none (guest access); if YouTube asks musicrec to confirm it is not a bot, "
            "export a logged-in browser session's cookies (Netscape format) and set "
            "MUSICREC_YTDLP_COOKIES",
        )
    try:
        check_cookies_file(path)
    except ValueError as exc:
        return Finding.fix("cookies", f"the cookies file is unusable ({exc}).")
    return Finding.ok("cookies", "the cookies file is readable and in Netscape format")


def check_proxy(url: str | None) -> Finding:
    """The yt-dlp proxy URL's syntax (None: direct connection). The URL is never shown."""
    if url is None:
        return Finding.ok("proxy", "none (direct connection)")
    try:
        check_proxy_url(url)
    except ValueError as exc:
        return Finding.fix("proxy", f"the proxy URL is invalid: {exc}.")
    return Finding.ok("proxy", f"{urlsplit(url).scheme.lower()} proxy, well formed")


def check_youtube_blocks(path: Path | None = None, *, now: float | None = None) -> Finding:
    """When YouTube last blocked musicrec, from the marker the bot writes
    (:mod:`musicrec_core.sources.blocks`): within :data:`RECENT_BLOCK_S` a NOTE with the fix."""
    record = read_last_block(path)
    if record is None:
        return Finding.ok("YouTube blocks", "none recorded")
    now = time.time() if now is None else now
    if now - record.at > RECENT_BLOCK_S:
        return Finding.ok("YouTube blocks", f"none lately (last {record.describe(now)})")
    return Finding.note(
        "YouTube blocks", f"YouTube blocked musicrec {record.describe(now)}; {BLOCK_FIX}."
    )


def installed_embedder_id(built_with: EmbedderId, weights: WeightFiles) -> EmbedderId:
    """The id the installed weights give the embedder ``built_with`` names (no model built).

    The width is the network's, fixed by musicrec's code, so it is taken from
    ``built_with``; the name, variant and version come from the installed files.

    Raises:
        ValueError: an embedder or variant musicrec cannot build.
        WeightsMissingError / CheckpointError: its weights are absent or damaged.
    """
    if built_with.name == "vggish":
        from musicrec_core.embedders.vggish import embedder_version
        from musicrec_core.embedders.vggish.checkpoint import file_md5
        from musicrec_core.embedders.vggish.weights import resolve_paths

        checkpoint, pca = resolve_paths(weights.vggish_checkpoint, weights.vggish_pca)
        version = embedder_version(file_md5(checkpoint), file_md5(pca))
        return EmbedderId("vggish", version, built_with.dim)
    if built_with.name == "musicnn":
        from musicrec_core.embedders.musicnn import weights as musicnn_weights
        from musicrec_core.embedders.musicnn.tags import get_variant

        key = get_variant(built_with.variant).key
        musicnn_weights.resolve_checkpoint(key)
        version = musicnn_weights.embedder_version(key)
        return EmbedderId("musicnn", version, built_with.dim, variant=key)
    raise ValueError(f"musicrec has no embedder called {built_with.name!r}")


def check_vggish_weights(weights: WeightFiles, *, needed: bool) -> Finding:
    """VGGish's checkpoint and PCA file: present, and the official ones by md5."""
    from musicrec_core.embedders.vggish import params
    from musicrec_core.embedders.vggish.checkpoint import file_md5
    from musicrec_core.embedders.vggish.weights import DOWNLOAD_COMMAND, resolve_paths

    check = _weights_check("vggish")
    try:
        checkpoint, pca = resolve_paths(weights.vggish_checkpoint, weights.vggish_pca)
        digests = (file_md5(checkpoint), file_md5(pca))
    except (MusicrecError, OSError) as exc:
        if needed:
            return Finding.fix(check, str(exc))
        return Finding.note(
            check, f"not installed (only VGGish catalogs need it): `{DOWNLOAD_COMMAND}`"
        )
    if digests != (params.CHECKPOINT_MD5, params.PCA_MD5):
        return Finding.note(
            check,
            f"{checkpoint} and {pca} are not the official files (md5 differs): they serve "
            f"only catalogs built with these very files; `{DOWNLOAD_COMMAND}` fetches the "
            "official ones",
        )
    return Finding.ok(check, f"official checkpoint and PCA, md5 verified ({checkpoint.parent})")


def check_musicnn_weights(variant: str, *, needed: bool) -> Finding:
    """One musicnn variant's checkpoint: installed, with the published sha256s."""
    from musicrec_core.embedders.musicnn import weights as musicnn_weights

    check = _weights_check("musicnn", variant)
    try:
        prefix = musicnn_weights.resolve_checkpoint(variant)
    except MusicrecError as exc:
        if needed or not isinstance(exc, WeightsMissingError):
            return _needed(needed, check, str(exc))
        return Finding.note(
            check,
            f"not installed (only musicnn {variant} catalogs need it): "
            f"`{musicnn_weights.DOWNLOAD_COMMAND}`",
        )
    return Finding.ok(check, f"sha256 verified ({prefix.parent})")


def _weights_check(name: str, variant: str | None = None) -> str:
    """The name of the finding about one embedder's weights ("musicnn mtt weights")."""
    return " ".join(part for part in (name, variant, "weights") if part)


def check_weights(weights: WeightFiles, needed: EmbedderId | None) -> list[Finding]:
    """Every embedder's weights; those of ``needed`` (the index's embedder) are a FIX."""

    def wants(name: str, variant: str | None = None) -> bool:
        return needed is not None and needed.name == name and needed.variant == variant

    findings = [check_vggish_weights(weights, needed=wants("vggish"))]
    findings += [
        check_musicnn_weights(variant, needed=wants("musicnn", variant))
        for variant in MUSICNN_VARIANTS
    ]
    return findings


def check_index(index_dir: Path, weights: WeightFiles) -> tuple[Finding, EmbedderId | None]:
    """The index: loadable, and built with the embedder the installed weights make.

    Returns the finding and the index's embedder id (None when the index did not load), so
    the weights checks know which embedder is needed.
    """
    from musicrec_core.catalog.index import CatalogIndex

    try:
        index = CatalogIndex.load(index_dir)
    except MusicrecError as exc:
        return Finding.fix("index", str(exc)), None
    with index:
        built_with, items = index.embedder, len(index)
        try:
            index.check_embedder(installed_embedder_id(built_with, weights))
        except ValueError as exc:
            return Finding.fix("index", f"built with {built_with}: {exc}; rebuild it."), built_with
        except (WeightsMissingError, CheckpointError):
            weights_line = _weights_check(built_with.name, built_with.variant)
            message = f"built with {built_with}, whose weights are unusable (see {weights_line!r})."
            return Finding.fix("index", message), built_with
        except MusicrecError as exc:
            return Finding.fix("index", str(exc)), built_with
    return (
        Finding.ok("index", f"{items} items, built with {built_with}; the weights match"),
        built_with,
    )


def check_private_url(check: str, url: str, *, secure: str, plain: str) -> Finding:
    """A URL a secret travels in: scheme ``secure``, or ``plain`` to a loopback host only.

    Args:
        check: the finding's name (e.g. "Discord API URL").
        url: the URL to check.
        secure: the encrypted scheme ("https", "wss").
        plain: its clear-text twin ("http", "ws"), accepted for loopback hosts only.
    """
    try:
        url = private_url.check_private_url(url, secure=secure, plain=plain)
    except ValueError as exc:
        return Finding.fix(check, str(exc))
    parts = urlsplit(url)
    if parts.scheme.lower() == secure:
        return Finding.ok(check, f"{secure}:// to {parts.hostname}")
    return Finding.ok(check, f"{plain}:// to the loopback host {parts.hostname}")
