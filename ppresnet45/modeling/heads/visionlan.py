"""VisionLAN's head (MLM + VRM) under PaddleOCR's name ``VLHead``.

The feature map ``[B, C, H, W]`` (512×8×32 from ResNet45 with strides ``[2, 2, 2, 1, 1]``
at 64×256) is read column by column into a sequence of ``H*W`` positions (``n_position``).

* **VRM** (the recogniser, the only part used at inference): a Transformer encoder
  (``SequenceModeling``, ``n_layers`` layers), then a parallel reading-order attention
  (``Prediction.pp``) that pools ``max_text_length + 1`` glimpses and a classifier
  ``Prediction.w_vrm`` over ``out_channels + 1`` classes (class 0 = end of text).
* **MLM** (training only, steps ``LF_2`` and ``LA``): from the position of one character
  (``label_id``) it predicts a soft mask over the sequence; the masked and the remaining
  features go through their own encoder and ``Prediction.pp_share`` / ``w_share``.

Attribute names equal PaddleOCR's ``rec_visionlan_head.py`` so its checkpoints load
unchanged (the three sinusoid tables ``...position_enc.pos_table`` are persistable buffers).
The encoder is :mod:`.visionlan_encoder`. The code is written from the architecture's
description, not copied.
"""

import numpy as np
import paddle
import paddle.nn.functional as F
from paddle import nn

from ...errors import ConfigError, DataError
from ...registry import HEADS
from .visionlan_encoder import TransformerEncoder

TRAINING_STEPS = ("LF_1", "LF_2", "LA")


class PPLayer(nn.Layer):
    """Parallel reading-order attention: ``n_steps`` learned queries pool ``[B, L, d]``.

    For step ``s`` the attention over positions is
    ``softmax_L(we(tanh(w0(E)^T + wv(x))))`` with ``E`` the ``f0_embedding`` rows; the
    output is the attention-weighted sum of ``x``: ``[B, n_steps, d]``.

    Args:
        n_dim (int): feature width ``d``.
        n_steps (int): reading steps (``max_text_length + 1``).
        n_position (int): sequence length ``L``.
    """

    def __init__(self, n_dim, n_steps, n_position):
        super().__init__()
        self.n_steps = n_steps
        self.f0_embedding = nn.Embedding(n_steps, n_dim)
        self.w0 = nn.Linear(n_steps, n_position)
        self.wv = nn.Linear(n_dim, n_dim)
        self.we = nn.Linear(n_dim, n_steps)

    def forward(self, x):
        # The embedding of the reading order 0..n_steps-1, looked up (reading the table's weight
        # directly would give the same numbers, but paddle.DataParallel then never all-reduces
        # its gradient and the ranks drift apart).
        steps = self.f0_embedding(paddle.arange(self.n_steps, dtype="int64"))  # [n_steps, d]
        order = self.w0(steps.transpose([1, 0])).transpose([1, 0])  # [L, d]
        t = self.we(paddle.tanh(order.unsqueeze(0) + self.wv(x)))  # [B, L, n_steps]
        attn = F.softmax(t.transpose([0, 2, 1]), axis=-1)  # [B, n_steps, L]
        return paddle.matmul(attn, x)


class Prediction(nn.Layer):
    """Two reading-order attentions with classifiers: ``pp``/``w_vrm`` (VRM) and
    ``pp_share``/``w_share`` (the MLM branches).

    Args:
        n_dim (int): feature width.
        n_position (int): sequence length.
        n_steps (int): reading steps (``max_text_length + 1``).
        n_class (int): classes (characters + the end class).
    """

    def __init__(self, n_dim, n_position, n_steps, n_class):
        super().__init__()
        self.pp = PPLayer(n_dim, n_steps, n_position)
        self.pp_share = PPLayer(n_dim, n_steps, n_position)
        self.w_vrm = nn.Linear(n_dim, n_class)
        self.w_share = nn.Linear(n_dim, n_class)

    def forward(self, x):
        return self.w_vrm(self.pp(x))

    def shared(self, f):
        """Logits of an MLM branch (remaining or occluded features)."""
        return self.w_share(self.pp_share(f))


class MLM(nn.Layer):
    """Masked language-aware module: a soft mask over the sequence for one character.

    Returns ``(f_res, f_sub, mask)``: the features with the character removed and kept,
    each through the WCL encoder, and the mask ``[B, L, 1]`` (1 = occluded).

    Args:
        n_dim (int): feature width.
        n_position (int): sequence length.
        max_text_length (int): positions a masked character can have (``pos_embedding`` rows).
    """

    def __init__(self, n_dim, n_position, max_text_length):
        super().__init__()
        self.MLM_SequenceModeling_mask = TransformerEncoder(2, n_position, n_dim)
        self.MLM_SequenceModeling_WCL = TransformerEncoder(1, n_position, n_dim)
        self.pos_embedding = nn.Embedding(max_text_length, n_dim)
        self.w0_linear = nn.Linear(1, n_position)
        self.wv = nn.Linear(n_dim, n_dim)
        self.we = nn.Linear(n_dim, 1)

    def forward(self, x, label_pos):
        feats = self.MLM_SequenceModeling_mask(x)
        pos = self.pos_embedding(label_pos.astype("int64"))  # [B, d]
        pos = self.w0_linear(pos.unsqueeze(2)).transpose([0, 2, 1])  # [B, L, d]
        mask = F.sigmoid(self.we(paddle.tanh(pos + self.wv(feats))))  # [B, L, 1]
        f_res = self.MLM_SequenceModeling_WCL(x * (1 - mask))
        f_sub = self.MLM_SequenceModeling_WCL(x * mask)
        return f_res, f_sub, mask


class MLM_VRM(nn.Layer):  # named after the attribute path head.MLM_VRM
    """The MLM and the VRM (``SequenceModeling`` + ``Prediction``) around one feature sequence.

    Args:
        n_layers (int): VRM encoder layers.
        n_position (int): sequence length.
        n_dim (int): feature width.
        max_text_length (int): most characters per line.
        n_class (int): classes (characters + the end class).
    """

    def __init__(self, n_layers, n_position, n_dim, max_text_length, n_class):
        super().__init__()
        self.MLM = MLM(n_dim, n_position, max_text_length)
        self.SequenceModeling = TransformerEncoder(n_layers, n_position, n_dim)
        self.Prediction = Prediction(n_dim, n_position, max_text_length + 1, n_class)


def _check_int(value, key, low):
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(f"Architecture.Head.{key}: expected an int >= {low}, got {value!r}")
    return value


@HEADS.register()
class VLHead(nn.Layer):
    """VisionLAN's head (PaddleOCR ``VLHead``).

    Train mode returns ``(text_pre, text_rem, text_mas, mask_map)``: logits
    ``[B, max_text_length + 1, out_channels + 1]`` of the VRM, of the remaining string and
    of the occluded character (both equal to ``text_pre`` in ``LF_1``), and the MLM mask
    ``[B, 1, H, W]`` (``text_pre`` in ``LF_1``) — what :class:`~ppresnet45.modeling.losses.visionlan.VLLoss`
    reads. Eval mode returns ``(text_pre, features)``: logits time-major
    ``[max_text_length + 1, B, out_channels + 1]`` and the encoder input ``[B, H*W, C]`` —
    what :class:`~ppresnet45.modeling.decoders.visionlan.VLLabelDecode` and PaddleOCR's
    ``predict_rec`` read.

    Args:
        in_channels (int): channels of the backbone output; must equal ``n_dim``.
        out_channels (int): number of characters; the head adds the end class 0 itself
            (``w_vrm`` has ``out_channels + 1`` outputs). PaddleOCR's default dictionary: 36.
        n_layers (int): layers of the VRM encoder (``SequenceModeling``).
        n_position (int): positions of the feature sequence, ``H*W`` of the backbone output.
        n_dim (int): feature width of the encoders and attentions.
        max_text_length (int): most characters per line; the VRM reads
            ``max_text_length + 1`` steps (the last room for the end class).
        training_step (str): ``LF_1`` (VRM only), ``LF_2`` (VRM + MLM) or ``LA`` (the MLM
            mask occludes the features of half the batch before the VRM).
    """

    needs_targets = True  # train mode reads the masked character's position (label_id) from the targets
    requires_fixed_width = True  # n_position = 8 x 32 feature cells: the 64x256 input is fixed

    def __init__(
        self,
        in_channels,
        out_channels=36,
        n_layers=3,
        n_position=256,
        n_dim=512,
        max_text_length=25,
        training_step="LA",
    ):
        super().__init__()
        for key, value, low in (
            ("in_channels", in_channels, 1),
            ("out_channels", out_channels, 1),
            ("n_layers", n_layers, 1),
            ("n_position", n_position, 1),
            ("n_dim", n_dim, 8),
            ("max_text_length", max_text_length, 1),
        ):
            _check_int(value, key, low)
        if n_dim % 8:
            raise ConfigError(f"Architecture.Head.n_dim: expected a multiple of 8 (8 attention heads), got {n_dim}")
        if in_channels != n_dim:
            raise ConfigError(
                f"Architecture.Head.n_dim: must equal the backbone's out_channels {in_channels}, got {n_dim}"
            )
        if training_step not in TRAINING_STEPS:
            raise ConfigError(
                f"Architecture.Head.training_step: expected one of {', '.join(TRAINING_STEPS)}, got {training_step!r}"
            )
        self.out_channels = out_channels
        self.n_position = n_position
        self.max_text_length = max_text_length
        self.training_step = training_step
        self.MLM_VRM = MLM_VRM(n_layers, n_position, n_dim, max_text_length, out_channels + 1)

    def mlm_parameters(self):
        """Parameters of the MLM branch (``MLM``, ``Prediction.pp_share``, ``Prediction.w_share``):
        the group that trains at the full rate in ``LF_2`` with ``group_lr``."""
        net = self.MLM_VRM
        return net.MLM.parameters() + net.Prediction.pp_share.parameters() + net.Prediction.w_share.parameters()

    def _sequence(self, feat):
        _, c, h, w = feat.shape
        if h * w != self.n_position:
            raise DataError(
                f"VLHead.n_position: the {h}x{w} feature map has {h * w} positions, "
                f"expected {self.n_position} (input 64x256 for ResNet45 strides [2, 2, 2, 1, 1])"
            )
        # column-major read: position index = w_index * H + h_index
        return feat.transpose([0, 1, 3, 2]).reshape([0, c, h * w]).transpose([0, 2, 1])

    def forward(self, feat, targets=None):
        net = self.MLM_VRM
        x = self._sequence(feat)
        if not self.training:
            text_pre = net.Prediction(net.SequenceModeling(x))
            return text_pre.transpose([1, 0, 2]), x
        if self.training_step == "LF_1":
            text_pre = net.Prediction(net.SequenceModeling(x))
            return text_pre, text_pre, text_pre, text_pre
        f_res, f_sub, mask = net.MLM(x, self._label_pos(targets))
        if self.training_step == "LA":
            x = x * (1 - self._occlusion(mask))
        text_pre = net.Prediction(net.SequenceModeling(x))
        text_rem = net.Prediction.shared(f_res)
        text_mas = net.Prediction.shared(f_sub)
        _, _, h, w = feat.shape
        mask_map = mask.reshape([0, w, h]).transpose([0, 2, 1]).unsqueeze(1)  # [B, 1, H, W]
        return text_pre, text_rem, text_mas, mask_map

    @staticmethod
    def _occlusion(mask):
        """LA: the (gradient-free) MLM mask for the first half of the batch, zeros for the rest;
        a batch of one uses its mask as it is (with gradient), as PaddleOCR does."""
        half = mask.shape[0] // 2
        if half < 1:
            return mask
        return paddle.concat([mask[:half].detach(), paddle.zeros_like(mask[half:])], axis=0)

    def _label_pos(self, targets):
        """The masked character's position per line: ``targets[-2]`` (PaddleOCR's
        ``batch[1:]`` with keep_keys ``[image, label, label_res, label_sub, label_id, length]``),
        ``targets["label_id"]`` or the tensor itself."""
        if isinstance(targets, dict):
            pos = targets.get("label_id")
        elif isinstance(targets, (list, tuple)):
            pos = targets[-2] if len(targets) >= 2 else None
        else:
            pos = targets
        if pos is None:
            raise DataError(
                f"VLHead.training_step {self.training_step}: needs targets with label_id "
                "(the character position VLLabelEncode masks)"
            )
        if not isinstance(pos, paddle.Tensor):
            pos = paddle.to_tensor(np.asarray(pos))
        return pos.reshape([-1])
