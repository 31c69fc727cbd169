"""``musicrec quantize check``: prove bfloat16 or int8 VGGish agrees with float32 on your
weights.

::

    musicrec quantize check                          # bfloat16, configured / cached weights
    musicrec quantize check --precision int8 --checkpoint F --pca F [--library 400
        --queries 200] [--json]

Makes the bfloat16 (default) or int8 model of the weight files, embeds the project's
generated clips with it and with float32, and prints the figures. Exit status 0 and a
recorded pass when both figures reach the bar (then ``MUSICREC_PRECISION`` may name that
precision); 1 and the figures when they do not (the precision stays refused). The pass
holds for those exact files: a changed file needs a new check.
See :mod:`musicrec_core.quantized.vggish_check`.
"""

from __future__ import annotations

import argparse
import json
import sys

from musicrec_core.cli.arguments import add_vggish_file_options, positive_int
from musicrec_core.cli.exit_codes import EXIT_ERROR, EXIT_OK, EXIT_USAGE


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``quantize check``."""
    parser = subparsers.add_parser(
        "quantize", help="check bfloat16/int8 VGGish against float32 before switching it on"
    )
    parser.set_defaults(func=lambda _args: _usage(parser))
    actions = parser.add_subparsers(dest="quantize_command", metavar="ACTION")
    check = actions.add_parser(
        "check",
        help="make bfloat16/int8 VGGish for these weights and measure its agreement",
        description=(
            "Make the bfloat16 or int8 VGGish model of these weight files and compare its "
            "embeddings with float32's on generated music clips. On a pass, record it so "
            "that MUSICREC_PRECISION may name that precision; otherwise print the figures "
            "and exit 1. Takes a few minutes at the default sizes."
        ),
    )
    check.add_argument(
        "--precision",
        choices=["bfloat16", "int8"],
        default="bfloat16",
        help="what to check (default bfloat16)",
    )
    add_vggish_file_options(check)
    check.add_argument(
        "--library", type=positive_int, default=None, metavar="N", help="library clips (400)"
    )
    check.add_argument(
        "--queries", type=positive_int, default=None, metavar="N", help="query clips (200)"
    )
    check.add_argument("--json", action="store_true", help="print JSON for scripts")
    check.set_defaults(func=run_check)


def run_check(args: argparse.Namespace) -> int:
    """Run the check, print its figures; 0 when it passed and was recorded, else 1."""
    from musicrec_core.embedders.precision import Precision
    from musicrec_core.quantized.vggish_check import (
        DEFAULT_LIBRARY,
        DEFAULT_QUERIES,
        check_vggish,
    )

    result = check_vggish(
        args.checkpoint,
        args.pca,
        precision=Precision(args.precision),
        library=args.library or DEFAULT_LIBRARY,
        queries=args.queries or DEFAULT_QUERIES,
        progress=lambda line: print(f"musicrec: {line} ...", file=sys.stderr),
    )
    figures = result.agreement
    if args.json:
        document = {**figures.to_json(), "precision": args.precision}
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
