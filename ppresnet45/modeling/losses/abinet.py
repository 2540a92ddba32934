"""Cross-entropy loss of attention heads (PaddleOCR's ``CELoss``, as ABINet configures it)."""

import paddle
import paddle.nn.functional as F
from paddle import nn

from ...errors import ConfigError
from ...registry import LOSSES


@LOSSES.register()
class CELoss(nn.Layer):
    """Token-level cross-entropy, averaged over the non-ignored label positions.

    For ABINet the head returns a dict of logits (``align`` and ``lang``: lists of
    ``[B, N, C]``, one per refinement round; ``vision``: ``[B, N, C]``); each entry is
    scored against the label ``[B, N]`` (a list against the label repeated per round) and
    the result is ``{"align_loss", "lang_loss", "vision_loss", "loss": their sum}``.
    A plain ``[B, N, C]`` tensor is scored as PaddleOCR does: against the whole label with
    ``with_all``, else NRTR-style against ``label[:, 1 : 2 + max(length)]``.

    Args:
        smoothing (bool): label smoothing (epsilon 0.1, ignoring padding index 0) in the
            NRTR-style tensor case, as in PaddleOCR; not used for dict (ABINet) outputs.
        with_all (bool): score a tensor output against the whole label (ViTSTR-style).
        ignore_index (int): label value excluded from the loss (ABINet's padding, 100 in
            PaddleOCR's config); a negative value disables it.
    """

    def __init__(self, smoothing=False, with_all=False, ignore_index=-1):
        super().__init__()
        if isinstance(ignore_index, bool) or not isinstance(ignore_index, int):
            raise ConfigError(f"Loss.ignore_index: expected an int, got {ignore_index!r}")
        self.smoothing = bool(smoothing)
        self.with_all = bool(with_all)
        self.ignore_index = ignore_index
        # Paddle's own default ignore value (-100) stands for "nothing ignored".
        self._ignore = ignore_index if ignore_index >= 0 else -100

    def _ce(self, logits, target):
        """Mean cross-entropy of ``logits [..., C]`` against int ``target [...]``."""
        flat = logits.reshape([-1, logits.shape[-1]])
        return F.cross_entropy(flat, target.reshape([-1]).astype("int64"), ignore_index=self._ignore, reduction="mean")

    def forward(self, predicts, batch):
        """Args:
            predicts (dict | Tensor): the head's train-mode output.
            batch (list): ``[images, labels [B, N] int, lengths [B] int, ...]``.

        Returns:
            dict: ``{"loss": scalar Tensor, ...}`` (per-part losses for dict outputs).
        """
        label = batch[1]
        if isinstance(predicts, dict):
            losses = {}
            for name, logits in predicts.items():
                if isinstance(logits, (list, tuple)):
                    if not logits:
                        continue
                    logits = paddle.concat(list(logits), axis=0)
                    target = paddle.concat([label] * (logits.shape[0] // label.shape[0]), axis=0)
                else:
                    target = label
                losses[f"{name}_loss"] = self._ce(logits, target)
            if not losses:
                raise ConfigError("CELoss: the head returned no logits to score")
            losses["loss"] = paddle.add_n(list(losses.values()))
            return losses
        if self.with_all:
            return {"loss": self._ce(predicts, label)}
        max_len = int(batch[2].max())
        target = label[:, 1 : 2 + max_len]
        if not self.smoothing:
            return {"loss": self._ce(predicts, target)}
        return {"loss": self._smoothed(predicts, target)}

    @staticmethod
    def _smoothed(logits, target, eps=0.1):
        """Label-smoothed cross-entropy averaged over the non-padding (non-zero) targets."""
        n_class = logits.shape[-1]
        flat = logits.reshape([-1, n_class])
        tgt = target.reshape([-1]).astype("int64")
        one_hot = F.one_hot(tgt, n_class)
        soft = one_hot * (1 - eps) + (1 - one_hot) * eps / (n_class - 1)
        per_token = -(soft * F.log_softmax(flat, axis=1)).sum(axis=1)
        return per_token.masked_select(tgt != 0).mean()
