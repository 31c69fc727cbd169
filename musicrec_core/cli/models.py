"""``musicrec models``: fetch model weights and data files, and show where they are.

::

    musicrec models download vggish [--no-progress]   # prints the paths of the files
    musicrec models list                              # expected places, present or missing

Each downloadable name maps to a ``"module:function"`` string naming a
``download(*, progress: bool = True) -> list[Path]`` function. Modules are imported only
when their name is used, so ``musicrec models download vggish`` never loads TensorFlow or
another model's code, and a module that cannot be imported fails only its own name.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from musicrec_core import paths
from musicrec_core.cli import EXIT_OK, EXIT_USAGE
from musicrec_core.errors import MusicrecError


def _vggish_files() -> list[Path]:
    from musicrec_core.embedders.vggish import weights

    return list(weights.locate())


def _audioset_label_files() -> list[Path]:
    from musicrec_core.catalog import labels

    return [labels.default_labels_path(), labels.default_ontology_path()]


@dataclass(frozen=True)
class ModelEntry:
    """A downloadable name: its download function and where its files are expected.

    Attributes:
        downloader: ``"module:function"`` of ``download(*, progress: bool) -> list[Path]``.
        expected: the files (or, when their names are the module's business, the folder)
            that ``models list`` reports as present or missing; may import lazily.
    """

    downloader: str
    expected: Callable[[], list[Path]]


MODELS: dict[str, ModelEntry] = {
    "vggish": ModelEntry("musicrec_core.embedders.vggish.weights:download", _vggish_files),
    "musicnn": ModelEntry(
        "musicrec_core.embedders.musicnn.weights:download", lambda: [paths.models_dir("musicnn")]
    ),
    "audioset-labels": ModelEntry("musicrec_core.catalog.labels:download", _audioset_label_files),
}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``models download`` and ``models list``."""
    parser = subparsers.add_parser(
        "models", help="download model weights and data files, or list where they are"
    )
    parser.set_defaults(func=lambda _args: _usage(parser))
    commands = parser.add_subparsers(dest="models_command", metavar="ACTION")

    download = commands.add_parser(
        "download",
        help="download files into the cache (md5-verified)",
        description="Download a model's files into the musicrec cache and print their paths.",
    )
    download.add_argument("name", choices=sorted(MODELS), help="what to download")
    download.add_argument(
        "--no-progress", dest="progress", action="store_false", help="hide the progress bar"
    )
    download.set_defaults(func=run_download)

    listing = commands.add_parser("list", help="show where each model's files are expected")
    listing.set_defaults(func=run_list)


def run_download(args: argparse.Namespace) -> int:
    """Download ``args.name`` and print each file's path on its own line."""
    download = _load_downloader(args.name)
    for path in download(progress=args.progress):
        print(path)
    return EXIT_OK


def run_list(args: argparse.Namespace) -> int:
    """Print one line per expected file or folder: name, present/missing, path."""
    width = max(len(name) for name in MODELS)
    for name, entry in MODELS.items():
        try:
            expected = entry.expected()
        except ImportError as exc:
            print(f"{name:<{width}}  unavailable ({exc})")
            continue
        for path in expected:
            state = "present" if _present(path) else "missing"
            print(f"{name:<{width}}  {state:<7}  {path}")
    return EXIT_OK


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return EXIT_USAGE


def _present(path: Path) -> bool:
    """A file exists, or a folder exists and holds something."""
    return path.is_file() or (path.is_dir() and any(path.iterdir()))


def _load_downloader(name: str) -> Callable[..., list[Path]]:
    """Import the download function registered for ``name``."""
    module_name, _, function_name = MODELS[name].downloader.partition(":")
    try:
        function: Callable[..., list[Path]] = getattr(
            importlib.import_module(module_name), function_name
        )
    except (ImportError, AttributeError) as exc:
        raise MusicrecError(
            f"Downloading {name} is not available in this installation ({exc})."
        ) from exc
    return function
