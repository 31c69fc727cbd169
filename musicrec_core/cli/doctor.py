"""``musicrec doctor``: check this installation, one line per check, and say what to fix.

::

    musicrec doctor                                  # programs, yt-dlp's solver, weights
    musicrec doctor --index ~/musicrec/index         # ... and the index a bot would serve
    musicrec doctor --cookies cookies.txt --proxy socks5://127.0.0.1:1080 --json

Each line starts with ``OK``, ``NOTE`` (missing, but not needed by what was asked) or
``FIX`` (needed: the line says what to do). The exit status is 1 when any line is ``FIX``.
VGGish's files are looked up as everywhere else (``MUSICREC_VGGISH_CHECKPOINT`` /
``MUSICREC_VGGISH_PCA``, then the model cache under ``MUSICREC_CACHE_DIR``); the bot runs
the same checks with its own settings at start-up and logs them.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from musicrec_core.js_runtime import RUNTIMES


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``doctor`` command."""
    parser = subparsers.add_parser(
        "doctor",
        help="check ffmpeg, yt-dlp's JavaScript solver, weights and an index; say what to fix",
        description=(
            "Check what musicrec needs, one line per check: OK, NOTE (not needed here) or "
            "FIX (what to do). Exit status 1 when something needed is missing or broken."
        ),
    )
    parser.add_argument(
        "--index", type=Path, metavar="DIR", help="also check this index and its weights"
    )
    parser.add_argument(
        "--cookies", type=Path, metavar="FILE", help="yt-dlp cookies file to check (Netscape)"
    )
    parser.add_argument("--proxy", metavar="URL", help="yt-dlp proxy URL to check (not shown)")
    parser.add_argument(
        "--js-runtime",
        choices=RUNTIMES,
        help="JavaScript runtime yt-dlp should use (default: the Deno musicrec installs)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the checks and print them; returns 1 when any needs fixing."""
    from musicrec_core.doctor import (
        DoctorInputs,
        exit_status,
        format_lines,
        run_doctor,
        to_json,
    )

    findings = run_doctor(
        DoctorInputs(
            index_dir=args.index,
            cookies=args.cookies,
            proxy=args.proxy,
            js_runtime=args.js_runtime,
        )
    )
    if args.json:
        print(json.dumps(to_json(findings), indent=2))
    else:
        print("\n".join(format_lines(findings)))
    return exit_status(findings)
