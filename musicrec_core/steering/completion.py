"""Prefix lookup over a vocabulary's terms, for autocomplete: at most :data:`MAX_CHOICES`
terms, those that start with the prefix first, then those with a later word that does,
each group in case-blind alphabetical order.

Every term is stored under its :func:`~.folding.normalise`\\ d text and under the rest of
that text from each later word on ("electric guitar", "guitar"), in one sorted list; a
lookup bisects to the first key with the prefix and reads on while keys still start with
it. ``benchmarks/bench_vocab.py`` measures it against a linear scan.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable

from musicrec_core.steering.folding import normalise

MAX_CHOICES = 25
"""Most choices a lookup returns (Discord's autocomplete shows at most 25)."""


class PrefixIndex:
    """Sorted word-start keys of a set of terms. Build once; :meth:`lookup` is read-only
    and thread-safe."""

    def __init__(self, terms: Iterable[str]) -> None:
        entries: set[tuple[str, int, str]] = set()
        for text in terms:
            words = normalise(text).split(" ")
            for start in range(len(words)):
                entries.add((" ".join(words[start:]), min(start, 1), text))
        ordered = sorted(entries)
        self._keys = [key for key, _, _ in ordered]
        self._entries = [(rank, text) for _, rank, text in ordered]

    def lookup(self, prefix: str, limit: int = MAX_CHOICES) -> list[str]:
        """Up to ``limit`` terms one of whose words starts with ``prefix`` (case-blind),
        terms starting with it first; each group sorted case-blind."""
        wanted = normalise(prefix)
        best: dict[str, int] = {}
        position = bisect.bisect_left(self._keys, wanted)
        while position < len(self._keys) and self._keys[position].startswith(wanted):
            rank, text = self._entries[position]
            best[text] = min(rank, best.get(text, rank))
            position += 1
        ranked = sorted(best, key=lambda text: (best[text], text.casefold(), text))
        return ranked[:limit]
