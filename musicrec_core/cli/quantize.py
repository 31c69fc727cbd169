"""``musicrec quantize check``: prove a reduced-precision embedder agrees with float32 on
your weights (and, for musicnn, that it is faster on this CPU).

::

    musicrec quantize check                          # VGGish bfloat16, configured / cached weights
    musicrec quantize check --precision int8 --checkpoint F --pca F [--library 400
        --queries 200] [--json]
    musicrec quantize check --embedder musicnn [--model mtt]    # musicnn bfloat16

Makes the bfloat16 (default) or int8 model of the weight files, embeds the project's
generated clips with it and with float32, and prints the figures. Exit status 0 and a
recorded pass when they reach the bar (then ``MUSICREC_PRECISION`` may name that
precision); 1 and the figures when they do not (the precision stays refused). The pass
holds for those exact files on this CPU: a changed file, or another CPU, needs a new check.
See :mod:`musicrec_core.quantized.vggish_check` and :mod:`musicrec_core.quantized.musicnn_check`.
"""

from __future__ import annotations

import argparse
import json
import sys

from musicrec_core.cli.arguments import add_vggish_file_options, positive_int
from musicrec_core.cli.exit_codes import EXIT_ERROR, EXIT_OK, EXIT_USAGE
from musicrec_core.embedders.musicnn.tags import DEFAULT_MODEL, VARIANTS
from musicrec_core.errors import MusicrecError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``quantize check``."""
    parser = subparsers.add_parser(
        "quantize", help="check bfloat16/int8 embedders against float32 before switching on"
    )
    parser.set_defaults(func=lambda _args: _usage(parser))
    actions = parser.add_subparsers(dest="quantize_command", metavar="ACTION")
    check = actions.add_parser(
        "check",
        help="make a bfloat16/int8 embedder for these weights and measure its agreement",
        description=(
            "Make the bfloat16 or int8 model of these weight files (VGGish; musicnn: "
            "bfloat16 only) and compare its embeddings with float32's on generated music "
            "clips; for musicnn, also that bfloat16 is faster on this CPU. On a pass, "
            "record it so that MUSICREC_PRECISION may name that precision; otherwise print "
            "the figures and exit 1. Takes a few minutes at the default sizes."
        ),
    )
    check.add_argument(
        "--embedder",
        choices=["vggish", "musicnn"],
        default="vggish",
        help="what to check (default vggish)",
    )
    check.add_argument(
        "--precision",
        choices=["bfloat16", "int8"],
        default="bfloat16",
        help="what to check (default bfloat16; musicnn offers bfloat16 only)",
    )
    add_vggish_file_options(check)
    check.add_argument(
        "--model",
        choices=sorted(VARIANTS),
        help=f"musicnn variant (default {DEFAULT_MODEL})",
    )
    check.add_argument(
        "--library", type=positive_int, default=None, metavar="N", help="library clips (400)"
    )
    check.add_argument(
        "--queries", type=positive_int, default=None, metavar="N", help="query clips (200)"
    )
    check.add_argument("--json", action="store_true", help="print JSON for scripts")
    check.set_defaults(func=run_check)


def run_check(args: argparse.Namespace) -> int:
    """Run the check, print its figures; 0 when it passed and was recorded, else 1.

    Raises:
        MusicrecError: options of the other embedder, or what the check raises.
    """
    from musicrec_core.embedders.precision import Precision
    from musicrec_core.quantized.check_clips import DEFAULT_LIBRARY, DEFAULT_QUERIES

    precision = Precision(args.precision)
    sizes = {
        "library": args.library or DEFAULT_LIBRARY,
        "queries": args.queries or DEFAULT_QUERIES,
        "progress": lambda line: print(f"musicrec: {line} ...", file=sys.stderr),
    }
    if args.embedder == "musicnn":
        if args.checkpoint is not None or args.pca is not None:
            raise MusicrecError("--checkpoint and --pca name VGGish files; musicnn takes --model.")
        from musicrec_core.quantized.musicnn_check import check_musicnn

        result = check_musicnn(args.model, precision=precision, **sizes)
    else:
        if args.model is not None:
            raise MusicrecError("--model names a musicnn variant; VGGish has none.")
        from musicrec_core.quantized.vggish_check import check_vggish

        result = check_vggish(args.checkpoint, args.pca, precision=precision, **sizes)
    figures = result.agreement
    if args.json:
        document = {**figures.to_json(), "embedder": args.embedder, "precision": args.precision}
        print(json.dumps(document, indent=2))
    elif result.checked is not None:
        print(f"PASS: {figures.summary()}.")
        print(f"It may run for these weights: MUSICREC_PRECISION={args.precision}.")
    else:
        print(f"REFUSED: {figures.summary()}.")
        print(f"{args.precision} stays off for these weights; float32 stays in use.")
    return EXIT_OK if result.checked is not None else EXIT_ERROR


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return EXIT_USAGE
