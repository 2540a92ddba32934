"""VisionLAN's decoder (PaddleOCR ``VLLabelDecode``): the head's logits -> (text, score).

Class ``i >= 1`` is character ``i - 1`` of the dictionary; class 0 ends the text. Rules
(PaddleOCR's):

* **Length.** Eval outputs: a line ends at its first step whose arg-max is 0, that step
  included; a line without an end within ``max_text_length`` steps keeps all of them.
  Train outputs with ``length`` given: the first ``length`` steps (the label's characters).
* **Text.** The arg-max classes of the kept steps; class 0 contributes nothing.
* **Score.** The geometric mean of the kept steps' maximum softmax probabilities,
  ``exp(sum(log p) / (n + 1e-6))`` (the end step counts; ``n = 0`` gives 1.0).
"""

import numpy as np

from ...registry import POSTPROCESS
from .base import DictionaryDecoder, as_numpy, softmax


@POSTPROCESS.register()
class VLLabelDecode(DictionaryDecoder):
    """Decode VisionLAN logits to ``[(text, score), ...]``.

    Args:
        character_dict_path (str | None): dictionary file (PaddleOCR format); default 0-9a-z.
        use_space_char (bool): append a space to the dictionary.
        max_text_length (int | None): most steps read per line; default the head's
            (its step count minus one: 25 for PaddleOCR's config, as PaddleOCR reads).
        character_list (list[str] | None): the characters directly (as stored in
            ``inference.yml``); overrides the two dictionary arguments.
    """

    def __init__(self, character_dict_path=None, use_space_char=False, max_text_length=None, character_list=None):
        super().__init__(character_dict_path, use_space_char, character_list)
        self.character = self.characters  # PaddleOCR's attribute: the characters, no specials
        self.max_text_length = max_text_length

    @classmethod
    def head_out_channels(cls, num_characters):
        """VisionLAN's head adds the end class itself: ``out_channels`` is the dictionary size."""
        return num_characters

    @property
    def num_classes(self):
        """Classes of the head: characters + the end class."""
        return len(self.character) + 1

    def _text(self, indices):
        n = len(self.character)
        return "".join(self.character[i - 1] for i in indices if 0 < i <= n)

    def decode_steps(self, logits, length=None):
        """Decode one line's logits ``[T, C]`` to (text, score).

        Args:
            logits (ndarray): the line's per-step logits.
            length (int | None): steps to keep; ``None`` applies the end rule within
                ``max_text_length`` steps.
        """
        logits = np.asarray(logits)
        if length is None:
            limit = logits.shape[0] - 1 if self.max_text_length is None else self.max_text_length
            limit = max(1, min(int(limit), logits.shape[0]))
            ends = np.flatnonzero(logits[:limit].argmax(axis=-1) == 0)
            length = int(ends[0]) + 1 if ends.size else limit
        probs = softmax(logits[: int(length)])
        idx = probs.argmax(axis=-1)
        best = probs.max(axis=-1).astype(np.float64)
        score = float(np.exp(np.log(best).sum() / (best.shape[0] + 1e-6)))
        return self._text(idx.tolist()), score

    def decode_label(self, labels):
        """Label rows ``[B, L]`` (0 ends / pads) -> ``[(text, 1.0), ...]``, PaddleOCR's label decode."""
        rows = as_numpy(labels).astype(np.int64)
        return [(self._text([int(i) for i in row if i != 0]), 1.0) for row in rows]

    def __call__(self, preds, label=None, length=None):
        """Decode a batch.

        Args:
            preds: eval outputs ``(text_pre [T, B, C], features)`` (or ``text_pre`` alone), or
                train outputs ``(text_pre [B, T, C], text_rem, text_mas, mask_map)``.
            label: unused; accepted for PaddleOCR call compatibility (see :meth:`decode_label`).
            length: per-line character counts for train outputs (PaddleOCR passes the batch's
                ``length``); without it the end rule applies to train outputs too.

        Returns:
            list[tuple[str, float]]: one (text, score) per line.
        """
        if isinstance(preds, (list, tuple)) and len(preds) != 2:
            logits = as_numpy(preds[0])  # train outputs: batch-major
        else:
            text_pre = preds[0] if isinstance(preds, (list, tuple)) else preds
            logits = as_numpy(text_pre).transpose(1, 0, 2)  # eval outputs: time-major
            length = None
        if length is not None:
            lengths = as_numpy(length).reshape(-1)
            return [self.decode_steps(logits[b], int(lengths[b])) for b in range(logits.shape[0])]
        return [self.decode_steps(logits[b]) for b in range(logits.shape[0])]
