"""The title lookups of ``musicrec recommend``, ``mix`` and ``path``: YouTube results are
looked up through YouTube's oEmbed endpoint (:mod:`musicrec_core.titles`;
``MUSICREC_TITLE_LOOKUP``, ``MUSICREC_OEMBED_URL``, ``MUSICREC_TITLE_BUDGET_S``) for their
title and channel, and to leave out the videos that are gone; ``--no-titles`` asks
nothing."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager

from musicrec_core.titles import TitleLookup, TitleSettings


def add_titles_option(parser: argparse.ArgumentParser, what: str) -> None:
    """Add ``--no-titles`` (``what``: the results it is about, e.g. "results")."""
    parser.add_argument(
        "--no-titles",
        action="store_true",
        help=f"do not look YouTube {what} up (no title, channel or gone check)",
    )


@contextmanager
def title_lookup(args: argparse.Namespace) -> Iterator[TitleLookup | None]:
    """The lookup the environment configures (closed on exit), or None when ``--no-titles``
    is given or the environment turns lookups off.

    Raises:
        MusicrecError: the environment names a bad endpoint or budget.
    """
    settings = TitleSettings.from_env()
    if args.no_titles or not settings.enabled:
        yield None
        return
    with TitleLookup.from_settings(settings) as lookup:
        yield lookup
