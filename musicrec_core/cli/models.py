"""``musicrec models``: fetch model weights and data files, and show where they are.

::

    musicrec models download vggish [--no-progress]   # prints the paths of the files
    musicrec models list                              # expected places, present or missing

Each downloadable name maps to a function that imports and returns its module's
``download(*, progress: bool = True) -> list[Path]``. Modules are imported only when
their name is used, so ``musicrec models download vggish`` never loads TensorFlow or
another model's code, and a module that cannot be imported fails only its own name.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from musicrec_core import paths
from musicrec_core.cli.exit_codes import EXIT_OK, EXIT_USAGE
from musicrec_core.errors import MusicrecError

Download = Callable[..., list[Path]]
"""``download(*, progress: bool = True) -> list[Path]``: fetch a model's files, return them."""


def _vggish_download() -> Download:
    from musicrec_core.embedders.vggish.weights import download

    return download


def _vggish_files() -> list[Path]:
    from musicrec_core.embedders.vggish import weights

    return list(weights.locate())


def _musicnn_download() -> Download:
    from musicrec_core.embedders.musicnn.weights import download

    return download


def _audioset_labels_download() -> Download:
    from musicrec_core.catalog.labels import download

    return download


def _audioset_label_files() -> list[Path]:
    from musicrec_core.catalog import labels

    return [labels.default_labels_path(), labels.default_ontology_path()]


@dataclass(frozen=True)
class ModelEntry:
    """A downloadable name: its download function and where its files are expected.

    Attributes:
        downloader: imports the model's module and returns its :data:`Download` function.
        expected: the files (or, when their names are the module's business, the folder)
            that ``models list`` reports as present or missing; may import lazily.
    """

    downloader: Callable[[], Download]
    expected: Callable[[], list[Path]]


MODELS: dict[str, ModelEntry] = {
    "vggish": ModelEntry(_vggish_download, _vggish_files),
    "musicnn": ModelEntry(_musicnn_download, lambda: [paths.models_dir("musicnn")]),
    "audioset-labels": ModelEntry(_audioset_labels_download, _audioset_label_files),
}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``models download`` and ``models list``."""
    parser = subparsers.add_parser(
        "models", help="download model weights and data files, or list where they are"
    )
    parser.set_defaults(func=lambda _args: _usage(parser))
    actions = parser.add_subparsers(dest="models_command", metavar="ACTION")
    _register_download(actions)
    _register_list(actions)


def _register_download(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = actions.add_parser(
        "download",
        help="download files into the cache (md5-verified)",
        description="Download a model's files into the musicrec cache and print their paths.",
    )
    parser.add_argument("name", choices=sorted(MODELS), help="what to download")
    parser.add_argument(
        "--no-progress", dest="progress", action="store_false", help="hide the progress bar"
    )
    parser.set_defaults(func=run_download)


def _register_list(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = actions.add_parser("list", help="show where each model's files are expected")
    parser.set_defaults(func=run_list)


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


def _load_downloader(name: str) -> Download:
    """Import the download function registered for ``name``."""
    try:
        function = MODELS[name].downloader()
    except ImportError as exc:
        raise MusicrecError(
            f"Downloading {name} is not available in this installation ({exc})."
        ) from exc
    return function
