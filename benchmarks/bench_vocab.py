"""Autocomplete prefix lookups on the full AudioSet vocabulary, against a linear scan.

Run: ``python benchmarks/bench_vocab.py [--labels CSV --ontology JSON] [--repeats 5]``

The vocabulary is AudioSet's (527 labels, their synonyms, ontology groups and everyday
words: :meth:`Vocabulary.for_audioset`), from the given files, else the cached pinned
copies, else ``../shared/data/audioset``. The prefixes are every distinct prefix of 0 to 4
characters of every word of every term, plus a few that match nothing: each is looked up
``--repeats`` times by :meth:`Vocabulary.complete` (bisect into sorted word-start keys)
and, as the baseline in the same run, by a linear scan over every term that ranks and
sorts the same way; both must give the same 25 choices. Goal: every lookup under 50 ms.

Reported: the vocabulary's size, the lookups, and per lookup the median, 99th percentile
and worst time of each method in milliseconds (with the worst one's prefix), and the
scan/bisect ratio of the medians. The garbage collector runs as in any process: on a
shared 2-core machine the worst bisect lookup (11-23 ms) was a collection that lands on
the same prefix every run; with ``gc.disable()`` it was 1.0 ms, the empty prefix.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from musicrec_core.catalog import labels  # noqa: E402
from musicrec_core.steering import MAX_CHOICES, Vocabulary, audioset_vocabulary  # noqa: E402
from musicrec_core.steering.folding import normalise  # noqa: E402
from tests.helpers.shared_data import AUDIOSET_METADATA  # noqa: E402

MAX_PREFIX_CHARS = 4
NO_MATCH_PREFIXES = ("zzz", "qx", "**", "<@1")


def load_vocabulary(labels_path: Path | None, ontology_path: Path | None) -> Vocabulary:
    """AudioSet's vocabulary from the given, cached or shared files."""
    if labels_path is None and not labels.cached_files_intact():
        labels_path = AUDIOSET_METADATA / labels.LABELS_FILE
        ontology_path = AUDIOSET_METADATA / labels.ONTOLOGY_FILE
    return audioset_vocabulary(labels_path, ontology_path)


def linear_scan(terms: list[str], prefix: str) -> list[str]:
    """The baseline: test every word of every term, then rank and sort the matches."""
    wanted = normalise(prefix)
    ranked = []
    for text in terms:
        words = normalise(text).split(" ")
        starts = [i for i in range(len(words)) if " ".join(words[i:]).startswith(wanted)]
        if starts:
            ranked.append((min(starts[0], 1), text.casefold(), text))
    return [text for _, _, text in sorted(ranked)][:MAX_CHOICES]


def timed_ms(
    lookup: Callable[[str], list[str]], prefixes: list[str], repeats: int
) -> tuple[list[float], list[list[str]]]:
    """Per-lookup times in ms (each prefix ``repeats`` times) and the last answers."""
    times, answers = [], []
    for _ in range(repeats):
        answers = []
        for prefix in prefixes:
            started = time.perf_counter()
            answers.append(lookup(prefix))
            times.append((time.perf_counter() - started) * 1000.0)
    return times, answers


def summary(times: list[float], prefixes: list[str]) -> str:
    """Median, 99th percentile and worst time, and the prefix of the worst."""
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    worst = max(range(len(times)), key=times.__getitem__)
    return (
        f"median {statistics.median(ordered):.4f}  p99 {p99:.4f}  worst {ordered[-1]:.4f} ms "
        f"(prefix {prefixes[worst % len(prefixes)]!r})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=Path)
    parser.add_argument("--ontology", type=Path)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    started = time.perf_counter()
    vocabulary = load_vocabulary(args.labels, args.ontology)
    built_ms = (time.perf_counter() - started) * 1000.0
    terms = [text for texts in vocabulary.terms_by_kind().values() for text in texts]
    terms = list(dict.fromkeys(terms))
    prefixes = {""} | set(NO_MATCH_PREFIXES)
    for text in terms:
        for word in text.split():
            prefixes.update(word[:length] for length in range(1, MAX_PREFIX_CHARS + 1))
    ordered = sorted(prefixes)
    fast_times, fast = timed_ms(vocabulary.complete, ordered, args.repeats)
    scan_times, scanned = timed_ms(lambda p: linear_scan(terms, p), ordered, args.repeats)
    if fast != scanned:
        wrong = next(p for p, a, b in zip(ordered, fast, scanned, strict=True) if a != b)
        raise SystemExit(f"the two methods disagree on prefix {wrong!r}")
    print(f"vocabulary: {len(terms)} distinct terms, built in {built_ms:.1f} ms")
    print(f"prefixes: {len(ordered)} x {args.repeats} repeats, answers identical")
    print(f"bisect (Vocabulary.complete): {summary(fast_times, ordered)}")
    print(f"linear scan (baseline):       {summary(scan_times, ordered)}")
    ratio = statistics.median(scan_times) / statistics.median(fast_times)
    print(f"scan / bisect, medians: {ratio:.1f}x; goal: worst lookup < 50 ms")


if __name__ == "__main__":
    main()
