"""musicnn's float32 network run by onnxruntime, and the choice between it and numpy.

The graph is :func:`~.onnx_graph.musicnn_graph`, built in memory from the checkpoint's
variables (no file is written). On real weights its outputs agree with the numpy reference
(:class:`~.model.MusicnnNetwork`) within 2e-5 (embeddings; 1e-5 for tag probabilities),
each being within 8e-6 of a float64 forward pass. ``benchmarks/bench_musicnn.py`` measured
on a busy 2-core machine: a 3-minute track's 30 windows in 0.40-0.47x the reference's CPU
time, a single 10-s clip in about the same (0.9-1.2x), with far steadier timings.
The graph's front end then took its max over frequency before ReLU and batch norm, in
onnxruntime's blocked layout (:mod:`.onnx_graph`): on one thread, batches of 16
patches, interleaved with the graph before in the same run, about 29 instead of 40
CPU-ms per patch (0.71x, both variants, on a machine at load 9-13).
The numpy network stays the reference, and the fallback when onnxruntime cannot be
imported or cannot build the session.

Threads: as many intra-op threads as OpenBLAS uses (:func:`~musicrec_core.blas_threads.
compute_threads`), and idle threads block instead of spinning (``allow_spinning`` 0), for
the reason :mod:`musicrec_core.blas_threads` gives for OpenBLAS.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np

from musicrec_core.blas_threads import compute_threads
from musicrec_core.embedders.musicnn.frontend import MEL_BANDS, PATCH_FRAMES
from musicrec_core.embedders.musicnn.model import MusicnnNetwork, NetworkOutput

log = logging.getLogger(__name__)


class OnnxMusicnnNetwork:
    """The network in an onnxruntime session, with :class:`MusicnnNetwork`'s call.
    onnxruntime sessions may be run from several threads at once."""

    def __init__(self, variables: Mapping[str, np.ndarray]) -> None:
        """Build the graph and its session.

        Args:
            variables: as for :class:`MusicnnNetwork`.

        Raises:
            ImportError: onnx or onnxruntime is not installed.
            Exception: onnxruntime could not build the session (its own error types).
        """
        import onnxruntime

        from musicrec_core.embedders.musicnn.onnx_graph import INPUT_NAME, OUTPUTS, musicnn_graph

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = compute_threads()
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3  # warnings, e.g. about unused initializers, are noise
        self._session = onnxruntime.InferenceSession(
            musicnn_graph(variables).SerializeToString(),
            options,
            providers=["CPUExecutionProvider"],
        )
        self._input = INPUT_NAME
        self._outputs = list(OUTPUTS)

    def __call__(self, patches: np.ndarray) -> NetworkOutput:
        """Run patches float32 [n, PATCH_FRAMES, MEL_BANDS] (n >= 1) through the network.

        Raises:
            ValueError: ``patches`` does not have shape [n, 187, 96].
        """
        batch = np.ascontiguousarray(patches, dtype=np.float32)
        if batch.ndim != 3 or batch.shape[1:] != (PATCH_FRAMES, MEL_BANDS):
            raise ValueError(f"expected patches of shape [n, 187, 96], got {batch.shape}")
        embedding, probabilities, dense = self._session.run(self._outputs, {self._input: batch})
        return NetworkOutput(probabilities, embedding, dense)


def build_network(variables: Mapping[str, np.ndarray]) -> OnnxMusicnnNetwork | MusicnnNetwork:
    """The onnxruntime network, or the numpy one (with one warning saying why) when
    onnxruntime cannot be imported or cannot build the session.

    Args:
        variables: as for :class:`MusicnnNetwork`.
    """
    try:
        return OnnxMusicnnNetwork(variables)
    except ImportError as error:
        reason = f"onnxruntime cannot be imported ({error})"
    except Exception as error:  # onnxruntime's own error types, from a native library
        reason = f"onnxruntime could not build the session ({type(error).__name__}: {error})"
    log.warning("musicnn runs in numpy (about twice the CPU per track): %s", reason)
    return MusicnnNetwork(variables)
