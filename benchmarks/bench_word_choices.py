"""The bot's autocomplete answer for /recommend more:/less: and /discover words:, against
the vocabulary lookup it is built on, on the full AudioSet vocabulary.

Run: ``python benchmarks/bench_word_choices.py [--labels CSV --ontology JSON] [--repeats 5]``

For every distinct prefix of 0 to 4 characters of every word of every term (as
``bench_vocab.py``), the typed text is ``"jazz, calm, " + prefix`` (two words already
given). Each is answered ``--repeats`` times by :func:`bot.steering_options.word_choices`
(split at the last comma, complete, rebuild each choice, its shown name, the 100-character
check) and, as the baseline in the same run, by :meth:`Vocabulary.complete` of the prefix
alone. Goal: every answer under 50 ms (Discord allows 3 s; the event loop should not wait).

Reported: per method the median, 99th percentile and worst time in milliseconds, and the
ratio of the medians (what the bot adds to the lookup).
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

from benchmarks.bench_vocab import MAX_PREFIX_CHARS, load_vocabulary  # noqa: E402
from bot.steering_options import word_choices  # noqa: E402
from musicrec_core.steering.folding import normalise  # noqa: E402

HEAD = "jazz, calm, "


def timed(answer: Callable[[str], object], texts: list[str], repeats: int) -> list[float]:
    """Milliseconds of each answer, every text ``repeats`` times."""
    times = []
    for _ in range(repeats):
        for text in texts:
            began = time.perf_counter()
            answer(text)
            times.append((time.perf_counter() - began) * 1000)
    return times


def summary(name: str, times: list[float]) -> str:
    ordered = sorted(times)
    p99 = ordered[int(0.99 * (len(ordered) - 1))]
    return (
        f"{name}: median {statistics.median(times):.3f} ms, p99 {p99:.3f} ms, "
        f"worst {ordered[-1]:.3f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=Path)
    parser.add_argument("--ontology", type=Path)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    vocabulary = load_vocabulary(args.labels, args.ontology)
    texts = [t for ts in vocabulary.terms_by_kind().values() for t in ts]
    prefixes = sorted(
        {
            word[:length]
            for text in texts
            for word in normalise(text).split(" ")
            for length in range(MAX_PREFIX_CHARS + 1)
        }
    )
    print(f"{len(texts)} terms, {len(prefixes)} prefixes, {args.repeats} repeats")
    baseline = timed(vocabulary.complete, prefixes, args.repeats)
    bot = timed(lambda p: word_choices(vocabulary, HEAD + p), prefixes, args.repeats)
    print(summary("Vocabulary.complete (baseline)", baseline))
    print(summary(f'word_choices("{HEAD}<prefix>")', bot))
    print(f"ratio of medians: {statistics.median(bot) / statistics.median(baseline):.2f}")


if __name__ == "__main__":
    main()
