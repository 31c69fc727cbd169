"""bfloat16 musicnn runs only for the weights, and on the CPU, a check passed on.

``MUSICREC_PRECISION=bfloat16`` runs :class:`~.bf16_network.Bfloat16MusicnnNetwork` only
once ``musicrec quantize check --embedder musicnn`` found, for the very checkpoint files in
use and on this CPU, that its embeddings agree with float32's and that it is faster
(:mod:`musicrec_core.quantized.musicnn_check`), and recorded so
(:mod:`musicrec_core.embedders.checked`). int8 is not offered for musicnn: on real music it
agreed on 91 % of top-10 neighbours (the bar is 95 %) and ran no faster than float32.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from musicrec_core.embedders.checked import CHECK_COMMAND, WeightsByRole, require_checked
from musicrec_core.embedders.precision import PRECISION_ENV, Precision
from musicrec_core.errors import MusicrecError

if TYPE_CHECKING:
    from musicrec_core.embedders.musicnn.bf16_network import Bfloat16MusicnnNetwork

EMBEDDER = "musicnn"


def weight_files(prefix: Path) -> WeightsByRole:
    """A checkpoint's files by role, as its records name them (the data file is the key)."""
    return {
        "checkpoint_data": prefix.with_name(prefix.name + ".data-00000-of-00001"),
        "checkpoint_index": prefix.with_name(prefix.name + ".index"),
    }


def check_command(model: str) -> str:
    """The command line that checks variant ``model`` (without ``--precision``)."""
    return f"{CHECK_COMMAND} --embedder musicnn --model {model}"


def require_offered(precision: Precision) -> None:
    """Raise unless ``precision`` is one musicnn offers besides float32 (bfloat16).

    Raises:
        MusicrecError: int8 or float32; one line that says why.
    """
    if precision is Precision.FLOAT32:
        raise MusicrecError("float32 is the reference; check bfloat16.")
    if precision is not Precision.BFLOAT16:
        raise MusicrecError(
            f"{PRECISION_ENV}={precision.value} is not offered for musicnn (bfloat16 or "
            f"float32 are): int8 musicnn agreed too little with float32 and ran no faster."
        )


def load_checked_network(
    precision: Precision, prefix: Path, variables: Mapping[str, np.ndarray], model: str
) -> Bfloat16MusicnnNetwork:
    """The ``precision`` network of checkpoint ``prefix`` (whose ``variables`` these are),
    checked on this CPU, ready to run.

    Raises:
        MusicrecError: int8 (not offered for musicnn) or float32 (nothing to check) asked for.
        PrecisionNotCheckedError: no passing check is recorded for these files on this CPU.
    """
    require_offered(precision)
    require_checked(EMBEDDER, precision, weight_files(prefix), check_command(model))
    from musicrec_core.embedders.musicnn.bf16_network import Bfloat16MusicnnNetwork

    return Bfloat16MusicnnNetwork(variables)
