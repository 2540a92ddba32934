"""Losses."""

import paddle
from paddle import nn

from ...registry import LOSSES


@LOSSES.register()
class CTCLoss(nn.Layer):
    """CTC loss over the head's logits (blank = 0), averaged over the batch.

    Args:
        use_focal_loss (bool): weight each sample by ``(1 - exp(-loss))**2`` as PaddleOCR's
            option does.
        zero_infinity (bool): replace infinite losses (impossible alignments, e.g. a label
            longer than the sequence) by 0 so one bad sample cannot poison a batch.
    """

    def __init__(self, use_focal_loss=False, zero_infinity=True):
        super().__init__()
        self.loss_func = nn.CTCLoss(blank=0, reduction="none")
        self.use_focal_loss = use_focal_loss
        self.zero_infinity = zero_infinity

    def forward(self, predicts, batch):
        """Args:
            predicts (Tensor): logits ``[B, T, C]`` (or a tuple whose last item is).
            batch (list): ``[images, labels [B, L] int, label_lengths [B] int, ...]``.

        Returns:
            dict: ``{"loss": scalar Tensor}``.
        """
        if isinstance(predicts, (list, tuple)):
            predicts = predicts[-1]
        logits = predicts.transpose([1, 0, 2])  # [T, B, C]
        steps, batch_size = logits.shape[0], logits.shape[1]
        pred_lengths = paddle.full([batch_size], steps, dtype="int64")
        labels = batch[1].astype("int32")
        label_lengths = batch[2].astype("int64")
        loss = self.loss_func(logits, labels, pred_lengths, label_lengths)
        if self.zero_infinity:
            loss = paddle.where(paddle.isinf(loss), paddle.zeros_like(loss), loss)
        if self.use_focal_loss:
            weight = (1.0 - paddle.exp(-loss)) ** 2
            loss = loss * weight
        return {"loss": loss.mean()}
