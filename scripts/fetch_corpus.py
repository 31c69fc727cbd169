"""Fetch the quality benchmark's corpus: freely licensed game soundtracks from Debian packages.

    python3 scripts/fetch_corpus.py [CORPUS_DIR] [--per-collection N] [--dry-run]

Mental model: one *collection* per Debian package, each a soundtrack of one style; the
corpus folder holds one sub-folder per collection with links to (or, for tracks packed in
an archive, copies of) its tracks, and ``corpus.json`` describing what is where. Tracker
modules (``.mod``, ``.xm``, ``.s3m``, ``.it``: notes and samples, not recorded audio) are
rendered once with ffmpeg's libopenmpt to Ogg Vorbis, so every track is plain audio that
decodes and seeks alike. The music
itself never enters the repository: it lives in the Debian packages' folders under
``/usr/share`` and in CORPUS_DIR (default ``$MUSICREC_CACHE_DIR/corpus``, else
``~/.cache/musicrec/corpus``).

Idempotent: a package already installed is not installed again, a link, copy or rendering
already in place is kept, the folders of collections no longer listed are removed, and
running it twice gives the same folder. It says what it installs
(``apt-get install`` needs root, or sudo). Tracks shorter than :data:`MIN_TRACK_S` (jingles,
stingers) are left out; of the rest, the first N by file name are kept (default
:data:`DEFAULT_PER_COLLECTION`), so every collection weighs about the same. Only the
Python standard library and ffprobe are used, so it runs before the project's virtual
environment exists.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

MIN_TRACK_S = 45.0
"""Tracks shorter than this are jingles, not music to recommend."""

DEFAULT_PER_COLLECTION = 14
"""Tracks kept per collection (6 collections: 84 tracks)."""

TRACKER_SUFFIXES = (".mod", ".xm", ".s3m", ".it")
"""Tracker modules: rendered to Ogg Vorbis (:func:`render`) rather than linked."""
AUDIO_SUFFIXES = (".ogg", ".opus", ".mp3", ".flac", *TRACKER_SUFFIXES)


@dataclass(frozen=True)
class Collection:
    """One soundtrack: the Debian package that ships it and where its tracks lie.

    Attributes:
        name: the collection's folder name in the corpus (its "style" label).
        package: the Debian package.
        style: a few words on what it sounds like.
        licence: the licence of the music, as the package's copyright file states it.
        folder: where the package installs the tracks (searched recursively).
        archive: a zip file (relative to ``folder``) holding the tracks, or None.
    """

    name: str
    package: str
    style: str
    licence: str
    folder: str
    archive: str | None = None


COLLECTIONS = (
    Collection(
        "wesnoth",
        "wesnoth-1.16-music",
        "orchestral fantasy score",
        "GPL-2+",
        "/usr/share/games/wesnoth/1.16/data/core/music",
    ),
    Collection(
        "warzone2100",
        "warzone2100-music",
        "electronic, ambient techno",
        "GPL-2+ / CC0",
        "/usr/share/games/warzone2100/music",
    ),
    Collection(
        "nexuiz",
        "nexuiz-music",
        "electronic, industrial metal",
        "GPL-2+",
        "/usr/share/games/nexuiz/data",
        archive="music.pk3",
    ),
    Collection(
        "hyperrogue",
        "hyperrogue-music",
        "acoustic and folk-like game themes",
        "CC-BY-SA-3.0 / CC-BY-SA-4.0",
        "/usr/share/hyperrogue/music",
    ),
    Collection(
        "singularity",
        "singularity-music",
        "ambient, piano and pads",
        "CC-BY-SA-3.0",
        "/usr/share/games/singularity/music",
    ),
    Collection(
        "tecnoballz",
        "tecnoballz-data",
        "Amiga tracker chiptune (4-channel ProTracker modules)",
        "GPL-3+",
        "/usr/share/games/tecnoballz/musics",
    ),
)


def default_corpus_dir() -> Path:
    """``$MUSICREC_CACHE_DIR/corpus``, else ``~/.cache/musicrec/corpus``."""
    root = os.environ.get("MUSICREC_CACHE_DIR") or Path.home() / ".cache" / "musicrec"
    return Path(root).expanduser() / "corpus"


def installed(package: str) -> bool:
    """Whether dpkg has ``package`` installed."""
    result = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True
    )
    return result.returncode == 0 and result.stdout.endswith(" installed")


def install(packages: list[str], dry_run: bool) -> None:
    """``apt-get install`` the packages (through sudo unless root); says what it does."""
    if not packages:
        print("all packages already installed")
        return
    command = ["apt-get", "install", "-y", "--no-install-recommends", *packages]
    if os.geteuid() != 0:
        command.insert(0, "sudo")
    print("installing:", " ".join(packages))
    print("  $", " ".join(command))
    if not dry_run:
        subprocess.run(command, check=True, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


def duration_s(path: Path) -> float:
    """The audio duration in seconds (ffprobe), 0.0 when it cannot be read."""
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", path],
        capture_output=True,
        text=True,
    )
    try:
        return float(result.stdout.strip())
    except ValueError:
        return 0.0


def unpack(collection: Collection, scratch: Path) -> Path:
    """The folder to search for tracks: the package folder, or its archive unpacked."""
    folder = Path(collection.folder)
    if collection.archive is None:
        return folder
    target = scratch / collection.name
    if not target.is_dir():
        with zipfile.ZipFile(folder / collection.archive) as archive:
            members = [m for m in archive.namelist() if m.lower().endswith(AUDIO_SUFFIXES)]
            archive.extractall(target, members)
    return target


def gather(collection: Collection, source: Path, per_collection: int) -> list[Path]:
    """The first ``per_collection`` tracks of at least MIN_TRACK_S, by file name."""
    candidates = sorted(
        (p for p in source.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES),
        key=lambda p: str(p.relative_to(source)),
    )
    kept = []
    for path in candidates:
        if len(kept) == per_collection:
            break
        if duration_s(path) >= MIN_TRACK_S:
            kept.append(path)
    return kept


def render(module: Path, destination: Path) -> None:
    """Render a tracker module to stereo Ogg Vorbis (quality 5) with ffmpeg's libopenmpt,
    through a temporary name so an interrupted run leaves no half-written track."""
    partial = destination.with_name(destination.name + ".partial.ogg")
    command = ["ffmpeg", "-v", "error", "-y", "-i", str(module), "-ac", "2"]
    command += ["-c:a", "libvorbis", "-q:a", "5", str(partial)]
    try:
        subprocess.run(command, check=True)
        partial.replace(destination)
    finally:
        partial.unlink(missing_ok=True)


def place(tracks: list[Path], target: Path, copy: bool) -> list[str]:
    """Link (or copy; tracker modules: render) the tracks into ``target`` (names made
    unique) and remove anything else there. Returns the names."""
    target.mkdir(parents=True, exist_ok=True)
    names = []
    for path in tracks:
        tracker = path.suffix.lower() in TRACKER_SUFFIXES
        name = (path.with_suffix(".ogg") if tracker else path).name.replace(" ", "_")
        if name in names:
            name = f"{path.parent.name}-{name}"
        destination = target / name
        if not destination.exists():
            if tracker:
                render(path, destination)
            elif copy:
                shutil.copyfile(path, destination)
            else:
                destination.symlink_to(path)
        names.append(name)
    for stale in target.iterdir():  # left by a run with another --per-collection
        if stale.name not in names:
            stale.unlink()
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus_dir", nargs="?", type=Path, default=default_corpus_dir())
    parser.add_argument("--per-collection", type=int, default=DEFAULT_PER_COLLECTION)
    parser.add_argument("--dry-run", action="store_true", help="say what would be installed")
    args = parser.parse_args(argv)

    install([c.package for c in COLLECTIONS if not installed(c.package)], args.dry_run)
    if args.dry_run:
        return 0
    corpus: Path = args.corpus_dir.expanduser().resolve()
    listed = {collection.name for collection in COLLECTIONS}
    for folder in sorted(corpus.glob("[!.]*")):  # a collection dropped from the list
        if folder.is_dir() and folder.name not in listed:
            print(f"removing {folder} (no longer a collection)")
            shutil.rmtree(folder)
    description = []
    for collection in COLLECTIONS:
        source = unpack(collection, corpus / ".unpacked")
        tracks = gather(collection, source, args.per_collection)
        names = place(tracks, corpus / collection.name, copy=collection.archive is not None)
        description.append(
            {
                "name": collection.name,
                "package": collection.package,
                "style": collection.style,
                "licence": collection.licence,
                "tracks": names,
            }
        )
        print(f"{collection.name:<12} {len(names):3d} tracks  {collection.style}")
    manifest = corpus / "corpus.json"
    manifest.write_text(json.dumps({"collections": description}, indent=2) + "\n")
    total = sum(len(entry["tracks"]) for entry in description)
    print(f"{total} tracks in {len(description)} collections at {corpus} ({manifest.name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
