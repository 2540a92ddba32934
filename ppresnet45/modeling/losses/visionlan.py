"""VisionLAN's loss (PaddleOCR ``VLLoss``): cross-entropy over each line's characters and its end.

For every line the target is its characters followed by the end class 0, and the
prediction is the head's first ``n + 1`` steps (``n`` characters). All targeted steps of
the batch are pooled into one mean cross-entropy, as PaddleOCR does.

Unlike PaddleOCR, the end class is appended here rather than read from the label row: a
label of exactly ``max_text_length`` characters fills its row with no trailing 0, which
makes PaddleOCR's loss fail (``ValueError: 0 is not in list``). Here it trains its end at
step ``max_text_length``, the head's last step (the head reads ``max_text_length + 1``).
"""

import numpy as np
import paddle
import paddle.nn.functional as F
from paddle import nn

from ...errors import ConfigError, DataError
from ...registry import LOSSES

MODES = ("LF_1", "LF_2", "LA")


def _to_numpy(value):
    return value.numpy() if hasattr(value, "numpy") else np.asarray(value)


def line_targets(labels, steps, what="label"):
    """Flat indices into ``[B * steps]`` and targets (characters + end class 0) of a label batch.

    Args:
        labels: ``[B, L]`` int label rows (characters >= 1, padded with 0).
        steps (int): steps the head predicts per line.
        what (str): the batch field, named in errors.

    Returns:
        tuple[ndarray, ndarray]: int64 ``positions`` and ``targets`` of equal length.
    """
    rows = _to_numpy(labels).astype(np.int64)
    if rows.ndim != 2:
        raise DataError(f"VLLoss {what}: expected label rows [B, L], got shape {list(rows.shape)}")
    positions, targets = [], []
    for b, row in enumerate(rows):
        zeros = np.flatnonzero(row == 0)
        n = int(zeros[0]) if zeros.size else row.shape[0]
        if n + 1 > steps:
            raise DataError(
                f"VLLoss {what}: line {b} has {n} characters but the head reads {steps} steps "
                f"(at most {steps - 1} characters + the end class)"
            )
        positions.append(b * steps + np.arange(n + 1))
        targets.append(np.append(row[:n], 0))
    return np.concatenate(positions), np.concatenate(targets)


@LOSSES.register()
class VLLoss(nn.Layer):
    """Cross-entropy of VisionLAN's VRM, plus the MLM branches in ``LF_2`` and ``LA``.

    ``loss = CE(text_pre, label)`` in ``LF_1``; otherwise
    ``CE(text_pre, label) + weight_res * CE(text_rem, label_res) + weight_mas * CE(text_mas, label_sub)``.

    Args:
        mode (str): ``LF_1``, ``LF_2`` or ``LA``, the head's ``training_step``.
        weight_res (float): weight of the remaining-string loss.
        weight_mas (float): weight of the occluded-character loss.
    """

    def __init__(self, mode="LF_1", weight_res=0.5, weight_mas=0.5):
        super().__init__()
        if mode not in MODES:
            raise ConfigError(f"Loss.mode: expected one of {', '.join(MODES)}, got {mode!r}")
        for key, value in (("weight_res", weight_res), ("weight_mas", weight_mas)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ConfigError(f"Loss.{key}: expected a non-negative number, got {value!r}")
        self.mode = mode
        self.weight_res = float(weight_res)
        self.weight_mas = float(weight_mas)

    @staticmethod
    def _ce(logits, labels, what):
        steps, classes = logits.shape[1], logits.shape[2]
        positions, targets = line_targets(labels, steps, what)
        picked = paddle.gather(logits.reshape([-1, classes]), paddle.to_tensor(positions), axis=0)
        return F.cross_entropy(picked, paddle.to_tensor(targets), reduction="mean")

    @staticmethod
    def _field(batch, key, index):
        if isinstance(batch, dict):
            if key not in batch:
                raise DataError(f"VLLoss: the batch has no {key!r}")
            return batch[key]
        if len(batch) <= index:
            raise DataError(
                f"VLLoss: the batch has no {key!r} at position {index} "
                "(keep_keys [image, label, label_res, label_sub, label_id, length])"
            )
        return batch[index]

    def forward(self, predicts, batch):
        """Args:
            predicts (tuple): the head's train-mode outputs ``(text_pre, text_rem, text_mas, mask_map)``,
                logits ``[B, T, C]``.
            batch (list | dict): ``[image, label, label_res, label_sub, label_id, length]``
                (PaddleOCR's keep_keys order) or a dict with those keys.

        Returns:
            dict: ``{"loss": scalar Tensor}``.
        """
        loss = self._ce(predicts[0], self._field(batch, "label", 1), "label")
        if self.mode != "LF_1":
            loss_res = self._ce(predicts[1], self._field(batch, "label_res", 2), "label_res")
            loss_mas = self._ce(predicts[2], self._field(batch, "label_sub", 3), "label_sub")
            loss = loss + loss_res * self.weight_res + loss_mas * self.weight_mas
        return {"loss": loss}
