"""What one doctor check found, and how a list of findings is shown.

A check returns a :class:`Finding`: its name, a :class:`Status` and one sentence — what is
in place when the status is ``OK``, otherwise what to do about it. ``FIX`` marks something
the configured program needs (the exit status is non-zero); ``NOTE`` marks something
missing that this configuration does not need (VGGish weights beside a musicnn catalog, no
cookies file), so it never fails the run.

Output: :func:`format_lines` gives one line per finding (``OK    ffmpeg: ffmpeg 5.1.6 at
/usr/bin/ffmpeg``), :func:`to_json` a document for scripts, :func:`exit_status` 0 or 1.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass


class Status(enum.Enum):
    """How a check came out."""

    OK = "ok"
    """In place and usable."""
    NOTE = "note"
    """Missing or odd, but not needed by this configuration."""
    FIX = "fix"
    """Needed and missing or broken: the message says what to do."""


@dataclass(frozen=True)
class Finding:
    """The outcome of one check.

    Attributes:
        check: short name of what was checked ("ffmpeg", "cookies", "musicnn-mtt weights").
        status: see :class:`Status`.
        message: one sentence: what is in place (OK) or what to do (NOTE, FIX).
    """

    check: str
    status: Status
    message: str

    @classmethod
    def ok(cls, check: str, message: str) -> Finding:
        return cls(check, Status.OK, message)

    @classmethod
    def note(cls, check: str, message: str) -> Finding:
        return cls(check, Status.NOTE, message)

    @classmethod
    def fix(cls, check: str, message: str) -> Finding:
        return cls(check, Status.FIX, message)

    def line(self) -> str:
        """The finding as one line: status word, check name, message."""
        return f"{self.status.name:<5} {self.check}: {self.message}"


def format_lines(findings: Sequence[Finding]) -> list[str]:
    """One line per finding, in order."""
    return [finding.line() for finding in findings]


def exit_status(findings: Sequence[Finding]) -> int:
    """1 when any finding is :attr:`Status.FIX`, else 0."""
    return 1 if any(finding.status is Status.FIX for finding in findings) else 0


def to_json(findings: Sequence[Finding]) -> dict[str, object]:
    """``{"ok": bool, "checks": [{"check", "status", "message"}, ...]}`` for ``--json``."""
    return {
        "ok": exit_status(findings) == 0,
        "checks": [
            {"check": f.check, "status": f.status.value, "message": f.message} for f in findings
        ],
    }
