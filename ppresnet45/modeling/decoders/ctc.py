"""Post-processing: CTC greedy decoding of the head's probabilities to (text, score)."""

import numpy as np

from ...charset import CTCCharset
from ...registry import POSTPROCESS
from .base import DictionaryDecoder


@POSTPROCESS.register()
class CTCLabelDecode(DictionaryDecoder):
    """Greedy CTC decoding: arg-max per step, merge repeats, drop blanks.

    The score of a line is the mean of the kept steps' maximum probabilities (1.0 for an
    empty result is avoided: an empty line scores 0.0).

    Arguments as :class:`.base.DictionaryDecoder`.
    """

    def __init__(self, character_dict_path=None, use_space_char=False, character_list=None):
        super().__init__(character_dict_path, use_space_char, character_list)
        self.charset = CTCCharset(self.characters)
        self.character = self.charset.labels  # PaddleOCR's attribute name: ['blank', ...]

    def decode_indices(self, indices, probs=None):
        """Decode one row of arg-max indices (and their probabilities) to (text, score)."""
        indices = np.asarray(indices)
        if indices.size == 0:
            return "", 0.0
        keep = np.ones(indices.shape[0], dtype=bool)
        keep[1:] = indices[1:] != indices[:-1]
        keep &= indices != 0
        chars = [self.character[i] for i in indices[keep]]
        if probs is None or not keep.any():
            return "".join(chars), 0.0 if not keep.any() else 1.0
        return "".join(chars), float(np.mean(np.asarray(probs)[keep]))

    def __call__(self, preds, labels=None):
        """Decode a batch.

        Args:
            preds (ndarray | Tensor): probabilities ``[B, T, C]`` (or a tuple whose last item is).
            labels: unused; accepted for PaddleOCR call compatibility.

        Returns:
            list[tuple[str, float]]: one (text, score) per line.
        """
        if isinstance(preds, (list, tuple)):
            preds = preds[-1]
        if hasattr(preds, "numpy"):
            preds = preds.numpy()
        preds = np.asarray(preds)
        idx = preds.argmax(axis=2)
        prob = np.take_along_axis(preds, idx[..., None], axis=2)[..., 0]
        return [self.decode_indices(idx[b], prob[b]) for b in range(preds.shape[0])]
