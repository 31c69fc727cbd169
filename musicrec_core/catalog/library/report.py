"""What a library build tells its caller: the inputs it left out and the counts it made.

Mental model: a build never stops for one bad input. An input that cannot be decoded or
fetched becomes a :class:`SkippedInput` (where it came from, and why, in a readable
sentence) and the build goes on; :class:`LibraryBuildReport` gathers the counts and the
skipped inputs, and :meth:`LibraryBuildReport.summary` says them in a few lines for the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["LibraryBuildReport", "SkippedInput"]


@dataclass(frozen=True)
class SkippedInput:
    """An input left out of the build: where it came from and why (a readable sentence)."""

    source: str
    reason: str


@dataclass(frozen=True)
class LibraryBuildReport:
    """What a library build did.

    Attributes:
        index_dir: the published index folder.
        tracks: tracks in the index.
        windows: the tracks' windows in the index.
        items: index items: every window and its phone view (twice ``windows``).
        embedded: tracks decoded and embedded in this run.
        reused: tracks whose embeddings came from the cache (unchanged inputs).
        duplicates: inputs that were the same track as an earlier one (same bytes / video).
        ignored: files in folders skipped by suffix as not media.
        skipped: inputs that failed (undecodable, not audio, rejected link), with reasons.
    """

    index_dir: Path
    tracks: int
    windows: int
    items: int
    embedded: int
    reused: int
    duplicates: int
    ignored: int
    skipped: tuple[SkippedInput, ...]

    def summary(self) -> str:
        """A few human-readable lines for the CLI."""
        lines = [
            f"Indexed {self.tracks} tracks ({self.windows} windows, {self.items} items with "
            f"their phone views) into {self.index_dir}: "
            f"{self.embedded} embedded, {self.reused} reused from the cache."
        ]
        if self.duplicates:
            lines.append(f"Left out {self.duplicates} duplicate inputs (same file or video).")
        if self.ignored:
            lines.append(f"Ignored {self.ignored} files that are not media (by suffix).")
        if self.skipped:
            lines.append(f"Skipped {len(self.skipped)} inputs:")
            lines += [f"  {entry.source}: {entry.reason}" for entry in self.skipped]
        return "\n".join(lines)
