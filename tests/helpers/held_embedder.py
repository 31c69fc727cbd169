"""A band-energy embedder that can hold a query mid-flight, for tests of swaps and reloads.

While ``hold`` is set, :meth:`HeldEmbedder.embed_many` sets ``entered`` and waits for
``release``: the query then counts as in flight on the index it started with, for as long as
the test wants, with no sleeps.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from musicrec_core.clip import Clip
from musicrec_core.embedders.base import Embedding
from tests.helpers.band_embedder import BandEnergyEmbedder

HOLD_LIMIT_S = 60.0
"""A held query gives up (AssertionError) after this long, so a broken test cannot hang."""


class HeldEmbedder(BandEnergyEmbedder):
    """:class:`BandEnergyEmbedder` whose embedding waits for ``release`` while ``hold`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.hold = threading.Event()
        self.entered = threading.Event()
        self.release = threading.Event()

    def embed_many(self, clips: Sequence[Clip]) -> list[Embedding]:
        if self.hold.is_set():
            self.entered.set()
            assert self.release.wait(HOLD_LIMIT_S), "the held query was never released"
        return super().embed_many(clips)
