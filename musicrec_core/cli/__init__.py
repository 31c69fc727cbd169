"""The ``musicrec`` command.

Each sub-command lives in its own module in this package and exposes
``register(subparsers)``, which adds its parser and sets ``func(args) -> int`` as the
handler. :data:`COMMANDS` names those modules; adding a command adds it there. A command
with actions (``index build-audioset``, ``models download``) registers each action the
same way, from its own ``register``. Command modules import heavy code (TensorFlow, model
code) only inside their handlers, so building the parser stays cheap.

TensorFlow's native start-up banner is kept off stderr unless ``--debug`` is given or the
user set ``TF_CPP_MIN_LOG_LEVEL`` (:mod:`musicrec_core.tf_banner`).

Errors: handlers raise :class:`~musicrec_core.errors.MusicrecError`; ``main`` prints its
message as one line on stderr and exits 1 (a traceback only with ``--debug``).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from musicrec_core import __version__
from musicrec_core.cli import (
    api_key,
    clip,
    discover,
    doctor,
    embed,
    index,
    mix,
    models,
    path,
    quantize,
    recommend,
    serve,
    tag,
    vocab,
)
from musicrec_core.cli.exit_codes import EXIT_ERROR, EXIT_OK, EXIT_USAGE
from musicrec_core.errors import MusicrecError
from musicrec_core.tf_banner import silence_tensorflow_banner

COMMANDS = (
    clip,
    embed,
    index,
    models,
    quantize,
    recommend,
    mix,
    path,
    discover,
    tag,
    vocab,
    doctor,
    api_key,
    serve,
)
"""The sub-command modules, in the order ``musicrec --help`` lists them."""


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every sub-command module registered."""
    parser = argparse.ArgumentParser(
        prog="musicrec",
        description="Recommend music by how it sounds (VGGish / musicnn + Annoy).",
    )
    parser.add_argument("--version", action="version", version=f"musicrec {__version__}")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show tracebacks and debug logging on errors, and native libraries' start-up lines",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``musicrec`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not args.debug:
        silence_tensorflow_banner()
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
