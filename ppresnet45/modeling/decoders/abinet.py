"""Post-processing of ABINet's output: greedy reading up to the stop token ``</s>``."""

import numpy as np

from ...registry import POSTPROCESS
from .base import DictionaryDecoder, softmax

STOP_TOKEN = "</s>"


@POSTPROCESS.register()
class ABINetLabelDecode(DictionaryDecoder):
    """Arg-max per step; the text ends at the first ``</s>`` (class 0).

    The score of a line is the mean of the kept steps' maximum probabilities (an empty
    line scores 0.0, where PaddleOCR gives NaN). Repeated characters are kept (no CTC
    merging).

    Arguments as :class:`.base.DictionaryDecoder`.
    """

    def __init__(self, character_dict_path=None, use_space_char=False, character_list=None):
        super().__init__(character_dict_path, use_space_char, character_list)
        self.character = [STOP_TOKEN] + self.characters  # PaddleOCR's attribute: class index -> text

    @property
    def num_classes(self):
        """Head output size: characters + ``</s>``."""
        return len(self.character)

    def decode_indices(self, indices, probs=None):
        """Decode one row of arg-max indices (and their probabilities) to (text, score)."""
        indices = np.asarray(indices).astype(np.int64)
        ends = np.flatnonzero(indices == 0)
        n = int(ends[0]) if ends.size else indices.shape[0]
        kept = indices[:n]
        valid = kept < len(self.character)  # an index outside the dictionary is skipped
        text = "".join(self.character[i] for i in kept[valid])
        if not valid.any():
            return text, 0.0
        if probs is None:
            return text, 1.0
        return text, float(np.mean(np.asarray(probs)[:n][valid]))

    @staticmethod
    def _probabilities(preds):
        """``[B, N, C]`` float probabilities from eval output (probabilities) or the train
        output dict (logits: the last alignment round, else the vision model's)."""
        if isinstance(preds, dict):
            align = preds.get("align")
            logits = align[-1] if align else preds["vision"]
            if hasattr(logits, "numpy"):
                logits = logits.numpy()
            return softmax(np.asarray(logits, dtype=np.float32), axis=2)
        if isinstance(preds, (list, tuple)):
            preds = preds[-1]
        if hasattr(preds, "numpy"):
            preds = preds.numpy()
        return np.asarray(preds)

    def __call__(self, preds, labels=None):
        """Decode a batch.

        Args:
            preds (ndarray | Tensor | dict): probabilities ``[B, N, C]`` (eval/inference
                output), or the train-mode dict of logits.
            labels: unused; accepted for PaddleOCR call compatibility.

        Returns:
            list[tuple[str, float]]: one (text, score) per line.
        """
        probs = self._probabilities(preds)
        idx = probs.argmax(axis=2)
        prob = np.take_along_axis(probs, idx[..., None], axis=2)[..., 0]
        return [self.decode_indices(idx[b], prob[b]) for b in range(probs.shape[0])]
