"""Which arithmetic the embedders run in: float32 (the default), bfloat16 or int8.

The setting is the environment variable ``MUSICREC_PRECISION`` (``float32``, ``bfloat16``
or ``int8``; empty = ``float32``), read by :func:`precision_from_env` when a caller does not
name a precision itself (the ``musicrec`` command; the bot reads the same name through its
own settings and passes it on). VGGish offers bfloat16 and int8, musicnn bfloat16 (int8 is
refused with a one-line error); each runs only after ``musicrec quantize check`` passed for
it with the very weight files in use, on this CPU (see
:mod:`musicrec_core.embedders.checked`).
"""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping

from musicrec_core.errors import MusicrecError

__all__ = ["PRECISION_ENV", "Precision", "precision_from_env"]

PRECISION_ENV = "MUSICREC_PRECISION"


class Precision(enum.StrEnum):
    """The arithmetic of an embedder's network (frontends, PCA and musicnn's non-convolution
    layers stay float32)."""

    FLOAT32 = "float32"
    BFLOAT16 = "bfloat16"
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
        *others, last = (precision.value for precision in Precision)
        choices = f"{', '.join(others)} or {last}"
        raise MusicrecError(f"{PRECISION_ENV} must be {choices}, not {text!r}.") from None
