"""The ``musicrec`` command.

Each sub-command lives in its own module in this package and exposes
``register(subparsers)``, which adds its parser and sets ``func(args) -> int`` as the
handler. :func:`main` discovers those modules, so adding a command touches nothing here.

Errors: handlers raise :class:`~musicrec_core.errors.MusicrecError`; ``main`` prints its
message as one line on stderr and exits 1 (a traceback only with ``--debug``).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
from collections.abc import Sequence

from musicrec_core import __version__
from musicrec_core.errors import MusicrecError

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every sub-command module registered."""
    parser = argparse.ArgumentParser(
        prog="musicrec",
        description="Recommend music by how it sounds (VGGish / musicnn + Annoy).",
    )
    parser.add_argument("--version", action="version", version=f"musicrec {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show tracebacks and debug logging on errors"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``musicrec`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.func(args) or EXIT_OK)
    except MusicrecError as error:
        if args.debug:
            raise
        print(f"musicrec: {error}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("musicrec: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
