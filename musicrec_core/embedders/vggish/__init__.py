"""VGGish: Google's AudioSet audio embedder, reimplemented to the published recipe.

Mental model: a :class:`~musicrec_core.clip.Clip` (mono 16 kHz) is cut into 0.96-s log-mel
examples (:mod:`.frontend`), each becomes a 128-d raw embedding (:mod:`.model`, weights from
:mod:`.checkpoint`), which is PCA-whitened, clipped and quantized to 8 bits
(:mod:`.postprocess`) — the format of AudioSet's released features. Search uses the
dequantized values, so queries and AudioSet items sit on the same grid.

Version: ``params.AUDIOSET_VERSION`` ("vggish-audioset-v1") when the checkpoint and PCA file
are the official ones (by md5), because only then do embeddings share the space of
AudioSet's released features, and an index built from those features (which never sees the
checkpoint) records that same string. Any other pair of files gets
"vggish-custom-<checkpoint md5[:12]>-<pca md5[:12]>", so an index built with one synthetic or
fine-tuned model refuses queries from another.

Precision: float32 (TensorFlow) unless bfloat16 or int8 is asked for; then the network is
the one ``musicrec quantize check`` checked for these exact files (:mod:`.checked`), and
the frontend, PCA and version stay as they are (the check proved the embeddings agree).

Importing this package does not import TensorFlow; :meth:`VGGishEmbedder.from_files` does
(for float32).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from musicrec_core.clip import Clip
from musicrec_core.embedders.base import Embedder, Embedding
from musicrec_core.embedders.precision import Precision
from musicrec_core.embedders.vggish import params
from musicrec_core.embedders.vggish.frontend import waveform_to_examples
from musicrec_core.embedders.vggish.postprocess import PCAParams, dequantize, quantize
from musicrec_core.errors import AudioTooShortError

if TYPE_CHECKING:
    from musicrec_core.embedders.vggish.int8 import OnnxVGGishModel
    from musicrec_core.embedders.vggish.model import VGGishModel

__all__ = ["VGGishEmbedder", "embedder_version"]


def embedder_version(checkpoint_md5: str, pca_md5: str) -> str:
    """The version string for a checkpoint/PCA pair identified by their md5s."""
    if checkpoint_md5 == params.CHECKPOINT_MD5 and pca_md5 == params.PCA_MD5:
        return params.AUDIOSET_VERSION
    return f"vggish-custom-{checkpoint_md5[:12]}-{pca_md5[:12]}"


class VGGishEmbedder(Embedder):
    """VGGish embeddings in AudioSet's space: one 128-d vector per 0.96 s of audio.

    ``embed(clip).quantized`` is uint8 [n, 128] (AudioSet's format), ``.vectors`` its
    dequantized float32 values, ``.raw`` the float32 network output before PCA. One instance
    is safe to share between threads.
    """

    name = "vggish"
    frame_rate_hz = 1.0 / params.EXAMPLE_SECONDS
    frame_seconds = params.EXAMPLE_SECONDS
    dim = params.EMBEDDING_SIZE

    def __init__(
        self,
        model: VGGishModel | OnnxVGGishModel,
        pca: PCAParams,
        version: str,
        precision: Precision = Precision.FLOAT32,
    ) -> None:
        """Wrap a built network and PCA; most callers want :meth:`from_files`."""
        self._model = model
        self._pca = pca
        self.version = version
        self.precision = precision

    @property
    def model(self) -> VGGishModel | OnnxVGGishModel:
        """The network: float32 [n, 96, 64] log-mel examples -> float32 [n, 128] raw."""
        return self._model

    @property
    def pca(self) -> PCAParams:
        """The PCA parameters applied before quantization."""
        return self._pca

    @classmethod
    def from_files(
        cls,
        checkpoint: Path | None = None,
        pca: Path | None = None,
        precision: Precision = Precision.FLOAT32,
    ) -> VGGishEmbedder:
        """Load the network and PCA from the given files, or the configured / cached ones.

        ``None`` falls back to ``MUSICREC_VGGISH_CHECKPOINT`` / ``MUSICREC_VGGISH_PCA`` and
        then to the model cache (see ``musicrec models download vggish``). ``precision``
        bfloat16 or int8 runs the model checked for these files instead of float32.

        Raises:
            WeightsMissingError: a file is absent (the message says how to get it).
            CheckpointError: a file is present but unusable (the message names the problem).
            PrecisionNotCheckedError: bfloat16 or int8 asked for, but no check passed for
                these files.
        """
        from musicrec_core.embedders.vggish.checkpoint import file_md5, load_weights
        from musicrec_core.embedders.vggish.postprocess import load_pca_params
        from musicrec_core.embedders.vggish.weights import resolve_paths

        checkpoint_path, pca_path = resolve_paths(checkpoint=checkpoint, pca=pca)
        pca_params = load_pca_params(pca_path)
        version = embedder_version(file_md5(checkpoint_path), file_md5(pca_path))
        if precision is not Precision.FLOAT32:
            from musicrec_core.embedders.vggish.checked import load_checked_model

            model = load_checked_model(precision, checkpoint_path, pca_path)
            return cls(model, pca_params, version, precision)
        from musicrec_core.embedders.vggish.model import VGGishModel

        return cls(VGGishModel(load_weights(checkpoint_path)), pca_params, version)

    def embed_many(self, clips: Sequence[Clip]) -> list[Embedding]:
        """Embed clips with one batched network call; one Embedding per clip, in order.

        Raises:
            AudioTooShortError: a clip is shorter than 0.975 s (no whole example fits).
        """
        per_clip = [waveform_to_examples(clip.samples) for clip in clips]
        for clip, examples in zip(clips, per_clip, strict=True):
            if examples.shape[0] == 0:
                raise AudioTooShortError(
                    f"The audio from {clip.provenance.ref} is {clip.duration_s:.2f} s long; "
                    f"VGGish needs at least "
                    f"{params.MIN_SAMPLES_FOR_ONE_EXAMPLE / params.SAMPLE_RATE_HZ:.3f} s."
                )
        if not per_clip:
            return []
        raw = self._model(np.concatenate(per_clip))
        quantized = quantize(raw, self._pca)
        bounds = np.cumsum([examples.shape[0] for examples in per_clip])[:-1]
        return [
            Embedding(vectors=dequantize(codes), raw=clip_raw, quantized=codes)
            for clip_raw, codes in zip(
                np.split(raw, bounds), np.split(quantized, bounds), strict=True
            )
        ]
