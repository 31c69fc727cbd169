"""``musicrec api-key add|list|revoke``: the keys HTTP clients send (issue 21).

::

    musicrec api-key add jukebox --rate 5 --burst 20 --inflight 8 --youtube-share 0.5
    musicrec api-key list [--json]
    musicrec api-key revoke jukebox

``add`` prints the new key once, on stdout alone (the notice that it will not be shown
again goes to stderr, so ``KEY=$(musicrec api-key add NAME)`` captures just the key);
``list`` shows names, limits and times, never keys or hashes; ``revoke`` takes effect in a
running server within a second or so (:mod:`musicrec_core.api.keys`). The keys live in
``<cache root>/api-keys.sqlite3``. Bad input (a taken or unknown name, a name with control
characters or over 64 characters, limits out of range) is one line on stderr and exit 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime

from musicrec_core.api.key_limits import parse_limits
from musicrec_core.cli.exit_codes import EXIT_OK

_HEADER = ("NAME", "RATE/S", "BURST", "INFLIGHT", "YT-SHARE", "CREATED", "REVOKED")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``api-key`` command and its actions."""
    parser = subparsers.add_parser("api-key", help="create, list and revoke HTTP API keys")
    actions = parser.add_subparsers(dest="api_key_action", metavar="ACTION", required=True)

    add = actions.add_parser(
        "add",
        help="create a key and print it once",
        description="Create an API key named NAME with its limits, and print the key once.",
    )
    add.add_argument("name", metavar="NAME", help="who the key is for (at most 64 characters)")
    add.add_argument("--rate", metavar="R", help="requests per second, on average (default 2)")
    add.add_argument("--burst", metavar="B", help="requests at once after a pause (default 10)")
    add.add_argument("--inflight", metavar="N", help="requests running together (default 4)")
    add.add_argument(
        "--youtube-share",
        metavar="F",
        help="fraction of the hourly YouTube fetch budget, above 0 and at most 1 (default 0.25)",
    )
    add.set_defaults(func=_add)

    listing = actions.add_parser("list", help="list the keys' names, limits and times")
    listing.add_argument("--json", action="store_true", help="print JSON instead of text")
    listing.set_defaults(func=_list)

    revoke = actions.add_parser("revoke", help="revoke a key for good")
    revoke.add_argument("name", metavar="NAME", help="the key's name")
    revoke.set_defaults(func=_revoke)


def _add(args: argparse.Namespace) -> int:
    from musicrec_core.api.keys import ApiKeyStore

    limits = parse_limits(args.rate, args.burst, args.inflight, args.youtube_share)
    store = ApiKeyStore()
    try:
        key = store.add(args.name, limits)
    finally:
        store.close()
    print(key)
    print(
        f"musicrec: API key {args.name!r} created; it is shown only this once, so keep it now.",
        file=sys.stderr,
    )
    return EXIT_OK


def _list(args: argparse.Namespace) -> int:
    from musicrec_core.api.keys import ApiKeyStore

    store = ApiKeyStore()
    try:
        keys = store.all_keys()
    finally:
        store.close()
    if args.json:
        rows = [
            {
                "name": key.name,
                "rate": key.limits.rate,
                "burst": key.limits.burst,
                "inflight": key.limits.inflight,
                "youtube_share": key.limits.youtube_share,
                "created": _iso(key.created_at),
                "revoked": None if key.revoked_at is None else _iso(key.revoked_at),
            }
            for key in keys
        ]
        print(json.dumps({"keys": rows}, indent=2))
        return EXIT_OK
    if not keys:
        print("No API keys yet; create one with: musicrec api-key add NAME")
        return EXIT_OK
    table = [_HEADER] + [
        (
            key.name,
            f"{key.limits.rate:g}",
            str(key.limits.burst),
            str(key.limits.inflight),
            f"{key.limits.youtube_share:g}",
            _iso(key.created_at),
            "-" if key.revoked_at is None else _iso(key.revoked_at),
        )
        for key in keys
    ]
    widths = [max(len(row[column]) for row in table) for column in range(len(_HEADER))]
    for row in table:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    return EXIT_OK


def _revoke(args: argparse.Namespace) -> int:
    from musicrec_core.api.keys import ApiKeyStore

    store = ApiKeyStore()
    try:
        key = store.revoke(args.name)
    finally:
        store.close()
    print(f"API key {key.name!r} revoked (since {_iso(key.revoked_at or 0.0)}).")
    return EXIT_OK


def _iso(unix_s: float) -> str:
    """``2026-12-05T03:20:00Z``."""
    return datetime.fromtimestamp(unix_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
