"""What a precision check ends with: a recorded pass, or the figures and no record.

Both checks (:mod:`.vggish_check`, :mod:`.musicnn_check`) end in :func:`settle`: a pass is
recorded for the precision, the weight files' sha256s and this CPU
(:func:`~musicrec_core.embedders.checked.record_pass`); a failure removes any earlier
record of that precision for those files and changes nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, Protocol, TypeVar

from musicrec_core.embedders.checked import CheckedModel, WeightsByRole, forget, record_pass
from musicrec_core.embedders.precision import Precision


class Figures(Protocol):
    """A check's figures: whether they reach the bar, and as JSON (with ``passed``)."""

    @property
    def passed(self) -> bool: ...

    def to_json(self) -> Mapping[str, object]: ...


FiguresT = TypeVar("FiguresT", bound=Figures)


@dataclass(frozen=True)
class CheckResult(Generic[FiguresT]):
    """What a check found.

    Attributes:
        agreement: the figures.
        checked: the record when the check passed, else None (the precision stays refused).
    """

    agreement: FiguresT
    checked: CheckedModel | None


def settle(
    embedder: str,
    precision: Precision,
    files: WeightsByRole,
    model: Path | None,
    figures: FiguresT,
) -> CheckResult[FiguresT]:
    """Record a pass (keeping ``model``, moved, if any) or forget an old one after a
    failure, and say what was found."""
    if figures.passed:
        checked = record_pass(embedder, precision, files, model, figures.to_json())
        return CheckResult(figures, checked)
    forget(embedder, precision, files)
    return CheckResult(figures, None)
