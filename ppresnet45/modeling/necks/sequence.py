"""Necks that turn a C×H×W feature map into a W-long sequence for CTC."""

import paddle
from paddle import nn

from ...errors import ConfigError
from ...registry import NECKS


@NECKS.register()
class SequenceEncoder(nn.Layer):
    """Collapse the height of a feature map and optionally encode the sequence.

    Input ``[B, C, H, W]`` → output ``[B, W, out_channels]``.

    Args:
        in_channels (int): channels ``C`` of the backbone output.
        encoder_type (str): ``"reshape"`` (no encoder, PaddleOCR's name; ``"none"`` is an
            alias), ``"fc"`` (one linear layer to ``hidden_size``) or ``"rnn"`` (two-layer
            BiLSTM with ``hidden_size`` units per direction, as PaddleOCR's CRNN).
        hidden_size (int): width of the fc / LSTM encoder.
        height_reduce (str): how H is removed: ``"avg"`` or ``"max"`` pooling over H, or
            ``"fold"`` (H is folded into channels, ``C*H`` features; needs ``feature_height``).
        feature_height (int | None): H of the feature map, needed by ``"fold"`` (8 for a
            32 px input to ResNet45).
    """

    def __init__(self, in_channels, encoder_type="reshape", hidden_size=48, height_reduce="avg", feature_height=None):
        super().__init__()
        if encoder_type == "none":
            encoder_type = "reshape"
        if encoder_type not in ("reshape", "fc", "rnn"):
            raise ConfigError(f"Architecture.Neck.encoder_type: expected one of reshape, fc, rnn, got {encoder_type!r}")
        if height_reduce not in ("avg", "max", "fold"):
            raise ConfigError(f"Architecture.Neck.height_reduce: expected one of avg, max, fold, got {height_reduce!r}")
        if height_reduce == "fold" and not (isinstance(feature_height, int) and feature_height > 0):
            raise ConfigError(
                "Architecture.Neck.feature_height: height_reduce 'fold' needs the feature-map height "
                f"as a positive int (8 for ResNet45 at 32 px), got {feature_height!r}"
            )
        if isinstance(hidden_size, bool) or not isinstance(hidden_size, int) or hidden_size <= 0:
            raise ConfigError(f"Architecture.Neck.hidden_size: expected a positive int, got {hidden_size!r}")
        self.encoder_type = encoder_type
        self.height_reduce = height_reduce
        self.feature_height = feature_height
        seq_channels = in_channels * feature_height if height_reduce == "fold" else in_channels
        self.seq_channels = seq_channels
        if encoder_type == "fc":
            self.encoder = nn.Linear(seq_channels, hidden_size)
            self.out_channels = hidden_size
        elif encoder_type == "rnn":
            self.encoder = nn.LSTM(seq_channels, hidden_size, direction="bidirectional", num_layers=2)
            self.out_channels = hidden_size * 2
        else:
            self.encoder = None
            self.out_channels = seq_channels

    def forward(self, x):
        if self.height_reduce == "avg":
            x = paddle.mean(x, axis=2)
        elif self.height_reduce == "max":
            x = paddle.max(x, axis=2)
        else:
            # [B, C, H, W] -> [B, C*H, W]; 0 keeps the batch dimension symbolic at export.
            x = paddle.reshape(x, [0, self.seq_channels, -1])
        x = paddle.transpose(x, [0, 2, 1])  # [B, W, C]
        if self.encoder_type == "fc":
            x = self.encoder(x)
        elif self.encoder_type == "rnn":
            x, _ = self.encoder(x)
        return x
