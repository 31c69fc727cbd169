"""``musicrec vocab [--index DIR] [--json] [WORD...]``: the words a catalog can be steered by.

::

    musicrec vocab                              # the default (AudioSet) catalog's words
    musicrec vocab --index ~/music-index        # a library's tags and everyday words
    musicrec vocab --index ~/music-index Drums "no vocals" calm

With no words it lists the catalog's vocabulary by group (labels or tags, everyday words,
synonyms, ontology groups); with words, how each one resolves, or why it does not (with
the nearest words the catalog knows), exiting 1 when any word is unknown. ``--json`` adds
the ontology's description of each AudioSet label a word names. The catalog's
kind comes from the index's manifest and labels (:func:`musicrec_core.steering.catalog_vocabulary`):
the index is opened as ``musicrec recommend`` opens it, but no model is loaded. Without
``--index`` the vocabulary is AudioSet's, the default catalog's; it needs the label files
``musicrec models download audioset-labels`` fetches, or ``--labels``/``--ontology``.
"""

from __future__ import annotations

import argparse
import json
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from musicrec_core.cli.arguments import add_vocabulary_file_options
from musicrec_core.cli.exit_codes import EXIT_ERROR, EXIT_OK
from musicrec_core.errors import UnknownWordError

if TYPE_CHECKING:
    from musicrec_core.steering import Term, Vocabulary

LIST_WIDTH = 100
"""Characters per line of the listing."""
NAME_SEPARATOR = " | "
"""Between names in the listing (AudioSet's names hold commas)."""

_HEADINGS = {
    "label": ("Labels", "labels"),
    "tag": ("Tags", "tags"),
    "everyday word": ("Everyday words", "everyday_words"),
    "synonym": ("Synonyms", "synonyms"),
    "ontology group": ("Ontology groups", "ontology_groups"),
}
"""TermKind value -> (text heading, JSON key)."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``vocab`` command."""
    parser = subparsers.add_parser(
        "vocab",
        help="list the words a catalog can be steered by, or show how words resolve",
        description=(
            "With no WORD, list the vocabulary of the index's catalog: AudioSet labels, "
            "their synonyms and groups, or a musicnn library's tags, and the everyday words "
            "that map onto them. With words, show what each one stands for and how it "
            "matched, or the nearest words the catalog knows."
        ),
    )
    parser.add_argument("words", nargs="*", metavar="WORD", help='words or phrases ("no vocals")')
    parser.add_argument(
        "--index",
        type=Path,
        metavar="DIR",
        help="the index folder (default: the default catalog, whose words are AudioSet's)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    add_vocabulary_file_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Open the vocabulary, then list it or resolve the words."""
    from musicrec_core.catalog.index import CatalogIndex
    from musicrec_core.steering import audioset_vocabulary, catalog_vocabulary

    if args.index is None:
        vocabulary = audioset_vocabulary(args.labels, args.ontology)
    else:
        with CatalogIndex.load(args.index) as index:
            vocabulary = catalog_vocabulary(
                index, labels_path=args.labels, ontology_path=args.ontology
            )
    if not args.words:
        _print_listing(vocabulary, args.json)
        return EXIT_OK
    return _print_words(vocabulary, args.words, args.json)


def _print_listing(vocabulary: Vocabulary, as_json: bool) -> None:
    groups = vocabulary.terms_by_kind()
    everyday = {term.text: term for term in vocabulary.everyday_terms()}
    if as_json:
        document: dict[str, object] = {
            "catalog": vocabulary.catalog,
            "description": vocabulary.description,
        }
        for kind, texts in groups.items():
            key = _HEADINGS[kind.value][1]
            if kind.value == "everyday word":
                document[key] = [
                    {
                        "word": text,
                        "names": list(everyday[text].names),
                        "negated": everyday[text].negated,
                    }
                    for text in texts
                ]
            else:
                document[key] = texts
        print(json.dumps(document, indent=2, ensure_ascii=False))
        return
    blocks = [f"Vocabulary of this catalog: {vocabulary.description}"]
    for kind, texts in groups.items():
        if kind.value == "everyday word":
            texts = [_everyday_text(everyday[text]) for text in texts]
        body = textwrap.fill(
            NAME_SEPARATOR.join(texts),
            LIST_WIDTH,
            initial_indent="  ",
            subsequent_indent="  ",
            break_long_words=False,
            break_on_hyphens=False,
        )
        blocks.append(f"{_HEADINGS[kind.value][0]} ({len(texts)}):\n{body}")
    print("\n\n".join(blocks))


def _everyday_text(term: Term) -> str:
    negation = "not " if term.negated else ""
    return f"{term.text} = {negation}{', '.join(term.names)}"


def _print_words(vocabulary: Vocabulary, words: Sequence[str], as_json: bool) -> int:
    from musicrec_core.steering.folding import checked_words

    entries: list[dict[str, object]] = []
    lines = []
    for word in checked_words(words):
        try:
            resolution = vocabulary.resolve(word)
        except UnknownWordError as error:
            entries.append({"word": word, "error": str(error), "nearest": list(error.nearest)})
            lines.append(f"{word}: {error}")
            continue
        entry: dict[str, object] = {"word": word, "resolution": resolution.to_json()}
        if resolution.label_indices:
            entry["descriptions"] = {
                name: vocabulary.label_description(name) for name in resolution.names
            }
        entries.append(entry)
        negation = "not " if resolution.negated else ""
        extent = ""
        if len(resolution.label_indices) > len(resolution.names):
            extent = f"; {len(resolution.label_indices)} labels with the ones below them"
        lines.append(
            f"{word} -> {negation}{', '.join(resolution.names)} ({resolution.how}{extent})"
        )
    if as_json:
        document = {"catalog": vocabulary.catalog, "words": entries}
        print(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        print("\n".join(lines))
    return EXIT_ERROR if any("error" in entry for entry in entries) else EXIT_OK
