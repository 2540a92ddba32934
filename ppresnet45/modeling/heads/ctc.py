"""The CTC head."""

import paddle.nn.functional as F
from paddle import nn

from ...errors import ConfigError
from ...registry import HEADS


@HEADS.register()
class CTCHead(nn.Layer):
    """Per-time-step classification over ``out_channels`` classes (index 0 = blank).

    Returns logits while training and softmax probabilities in eval mode (what the CTC
    decoder and the exported inference model consume), as PaddleOCR's ``CTCHead`` does.

    Args:
        in_channels (int): features per time step (the neck's ``out_channels``).
        out_channels (int): number of classes = dictionary size + 1; filled in from the
            character dictionary by :func:`ppresnet45.build_model` when not given.
        mid_channels (int | None): optional hidden fc layer width (keys ``fc1``, ``fc2``).
        return_feats (bool): also return the features before the classifier (for
            distillation-style heads); off by default.
    """

    def __init__(self, in_channels, out_channels=None, mid_channels=None, return_feats=False):
        super().__init__()
        if isinstance(out_channels, bool) or not isinstance(out_channels, int) or out_channels < 2:
            raise ConfigError(
                f"Architecture.Head.out_channels: expected an int >= 2 (characters + blank), got {out_channels!r}"
            )
        self.out_channels = out_channels
        self.mid_channels = mid_channels
        self.return_feats = return_feats
        if mid_channels is None:
            self.fc = nn.Linear(in_channels, out_channels)
        else:
            self.fc1 = nn.Linear(in_channels, mid_channels)
            self.fc2 = nn.Linear(mid_channels, out_channels)

    def forward(self, x, targets=None):
        if self.mid_channels is None:
            feats, logits = x, self.fc(x)
        else:
            feats = self.fc1(x)
            logits = self.fc2(feats)
        out = logits if self.training else F.softmax(logits, axis=2)
        if self.return_feats:
            return feats, out
        return out
