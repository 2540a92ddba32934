"""From a model's text output to ``(text, score)``: the decoder ``PostProcess.name`` names.

The decoder is looked up in :data:`ppresnet45.registry.POSTPROCESS` (``CTCLabelDecode``,
``ABINetLabelDecode``, ``VLLabelDecode``, or a plugin's) over the file's dictionary, and fed
the model's text output in the layout it expects (:mod:`.families`).

The number of classes is checked against the model's output on the first batch. One case is
not an error: a CTC output with exactly one class more than blank + dictionary is PaddleOCR's
``use_space_char``: PaddleOCR's export writes the dictionary file's characters as
``character_dict`` and its decoders append the space themselves (PaddleX's always do), so
the space becomes the last class, as PaddleOCR decodes it. Our own exports list every
character, the space included.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..data.imgproc import MEAN, SCALE, STD
from ..errors import ModelDirError, RegistryError
from ..modeling import decoders  # noqa: F401 - importing registers the built-in decoders
from ..registry import POSTPROCESS
from .families import batch_major, to_decoder_input

if TYPE_CHECKING:
    import numpy as np

    from .._types import StrPath
    from .spec import InferenceSpec

SPACE_DECODERS = ("CTCLabelDecode",)  # decoders whose PaddleOCR files leave the space implied


def _close(a: Sequence[float], b: Sequence[float]) -> bool:
    return len(a) <= len(b) and all(abs(x - y) <= 1e-6 for x, y in zip(a, b))


def _num_classes(decoder: Any) -> int:
    return getattr(decoder, "num_classes", None) or len(decoder.character)


class OutputDecoder:
    """The spec's decoder, checked against the model's output.

    Args:
        spec (InferenceSpec): the model's settings.
        where (str): the model, for messages.

    Raises:
        ModelDirError: the decoder is not registered, or an aspect-ratio (``RecResizeImg``)
            model asks for another normalisation than the shared pre-processing's.
    """

    def __init__(self, spec: InferenceSpec, where: StrPath = "model") -> None:
        try:
            self.decoder_cls = POSTPROCESS.get(spec.postprocess)
        except RegistryError as exc:
            raise ModelDirError(f"{spec.source}: PostProcess.name: {exc}") from None
        if spec.keep_ratio_resize and (
            abs(spec.scale - SCALE) > 1e-6 or not _close(spec.mean, MEAN) or not _close(spec.std, STD)
        ):
            raise ModelDirError(
                f"{spec.source}: NormalizeImage scale={spec.scale:g} mean={list(spec.mean)} "
                f"std={list(spec.std)} differs from the recognizer's pre-processing "
                f"(scale=1/255, mean={list(MEAN)}, std={list(STD)})"
            )
        self.spec = spec
        self.where = where
        self.decoder = self.decoder_cls(character_list=spec.character_list)
        self.implied_space = False

    def _fit_classes(self, k: int) -> None:
        """Check the output's ``k`` classes; switch to the dictionary + space when ``k`` says so."""
        n = _num_classes(self.decoder)
        if k == n:
            return
        chars = self.spec.character_list
        if k == n + 1 and self.spec.postprocess in SPACE_DECODERS and not self.implied_space:
            self.decoder = self.decoder_cls(character_list=list(chars) + [" "])
            self.implied_space = True
            return
        raise ModelDirError(
            f"{self.where}: the model outputs {k} classes but inference.yml's character_dict has "
            f"{len(chars)} characters + {n - len(chars)} special = {n} ({self.spec.postprocess})"
        )

    def rows(self, out: np.ndarray, n_images: int) -> np.ndarray:
        """The text output as batch-major rows ``[N, T, K]``, after checking its shape and classes."""
        layout = self.spec.output_layout
        what = "logits" if layout.logits else "probabilities"
        rows = batch_major(out, self.spec.postprocess) if out.ndim == 3 else out
        if rows.ndim != 3 or rows.shape[0] != n_images:
            raise ModelDirError(
                f"{self.where}: expected {what} {'[T, N, K]' if layout.time_major else '[N, T, K]'} "
                f"for {n_images} images, got shape {list(out.shape)}"
            )
        self._fit_classes(rows.shape[-1])
        return rows

    def __call__(self, rows: np.ndarray) -> tuple[str, float]:
        """``(text, score)`` of one line's batch-major output ``[T, K]``."""
        text, score = self.decoder(to_decoder_input(rows[None], self.spec.postprocess))[0]
        return text, float(score)
