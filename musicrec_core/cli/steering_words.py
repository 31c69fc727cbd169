"""``--more WORD`` and ``--less WORD``: the steering options ``recommend``, ``mix`` and
``path`` share, and the steering they ask for, resolved in the index's vocabulary
(:mod:`musicrec_core.steering.filter`, docs/steering.md).

Each option is repeatable, one word or phrase each (not comma-separated: AudioSet's label
names hold commas, "Violin, fiddle"), at most MAX_WORDS in all. An AudioSet catalog's words
come from the cached label files or ``--labels``/``--ontology``.
"""

from __future__ import annotations

import argparse

from musicrec_core.catalog.index import CatalogIndex
from musicrec_core.cli.arguments import add_vocabulary_file_options
from musicrec_core.steering.filter import LabelSteering


def add_steering_options(parser: argparse.ArgumentParser, subject: str) -> None:
    """``--more``, ``--less`` (``args.more``, ``args.less``: lists of words) and the
    vocabulary files; ``subject`` names what must carry the words ("results", "tracks")."""
    for option, meaning in (("--more", "carry"), ("--less", "not carry")):
        parser.add_argument(
            option,
            action="append",
            default=[],
            metavar="WORD",
            help=f"{subject} must {meaning} this word's labels or tags (repeatable; "
            "`musicrec vocab` lists the words)",
        )
    add_vocabulary_file_options(parser)


def steering_from_args(index: CatalogIndex, args: argparse.Namespace) -> LabelSteering | None:
    """The steering ``args.more``/``args.less`` ask for, resolved in ``index``'s vocabulary
    (its AudioSet files from ``--labels``/``--ontology`` when given); None without words.

    Raises:
        SteeringError: an unknown, contradictory or too many words, or a catalog without a
            vocabulary (a VGGish library).
    """
    if not args.more and not args.less:
        return None
    from musicrec_core.steering import catalog_vocabulary

    vocabulary = catalog_vocabulary(index, labels_path=args.labels, ontology_path=args.ontology)
    return LabelSteering.from_words(vocabulary, args.more, args.less)
