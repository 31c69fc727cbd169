"""Which arithmetic VGGish runs in: float32 (the default) or the checked int8 model.

The setting is the environment variable ``MUSICREC_PRECISION`` (``float32`` or ``int8``;
empty = ``float32``), read by :func:`precision_from_env` when a caller does not name a
precision itself (the ``musicrec`` command; the bot reads the same name through its own
settings and passes it on). ``int8`` runs only after ``musicrec quantize check`` passed for
the very weight files in use (see :mod:`musicrec_core.embedders.vggish.int8`).
"""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping

from musicrec_core.errors import MusicrecError

__all__ = ["PRECISION_ENV", "Precision", "precision_from_env"]

PRECISION_ENV = "MUSICREC_PRECISION"


class Precision(enum.StrEnum):
    """The arithmetic of the VGGish network (the frontend and PCA stay float)."""

    FLOAT32 = "float32"
    INT8 = "int8"


def precision_from_env(environ: Mapping[str, str] = os.environ) -> Precision:
    """The precision ``MUSICREC_PRECISION`` names; float32 when it is unset or empty.

    Raises:
        MusicrecError: any other value; the message names the variable and the choices.
    """
    text = environ.get(PRECISION_ENV, "").strip().lower()
    if not text:
        return Precision.FLOAT32
    try:
        return Precision(text)
    except ValueError:
        choices = " or ".join(precision.value for precision in Precision)
        raise MusicrecError(f"{PRECISION_ENV} must be {choices}, not {text!r}.") from None
