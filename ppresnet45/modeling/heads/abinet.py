"""ABINet's head (Fang et al., "Read Like Humans", CVPR 2021), as PaddleOCR configures it.

Three parts, all over ``d_model`` features:

* vision model — a Transformer encoder over the backbone's ``H/4 x W/4`` map (flattened,
  with a sinusoid position table), then :class:`PositionAttention`: a small conv U-Net
  computes the keys, position queries attend over the map and give one feature per
  output step (``max_length + 1`` steps: the characters and ``</s>``); ``cls`` classifies.
* language model (:class:`BCNLanguage`) — a bidirectional cloze network fed with the
  class probabilities (detached: the vision model gets no gradient through it), where
  each step attends to every other step within the predicted length.
* alignment — a gated fusion of the vision and language features (``w_att_align``,
  ``cls_align``), repeated ``iter_size`` times with the fused prediction fed back.

Parameter and buffer names equal PaddleOCR's ``ABINetHead``, so its checkpoints load.
Class 0 is the stop token ``</s>``; with ``Global.character_dict_path`` holding ``n``
characters, ``out_channels`` is ``n + 1``.
"""

import paddle
import paddle.nn.functional as F
from paddle import nn

from ...errors import ConfigError
from ...registry import HEADS
from .transformer import (
    MAX_DEPTH,
    MAX_STEPS,
    MAX_WIDTH,
    SinusoidalPositionEncoding,
    TransformerBlock,
    check_heads,
    check_int,
    check_rate,
    padding_mask,
)


def _conv_bn_relu(in_c, out_c, stride):
    return nn.Sequential(nn.Conv2D(in_c, out_c, 3, stride, 1), nn.BatchNorm2D(out_c), nn.ReLU())


class NearestUpsample(nn.Layer):
    """Nearest-neighbour upsampling of ``[B, C, h, w]`` to ``size``, by whole-number factors:
    each pixel is repeated (``reshape`` + ``expand`` + ``reshape``), which gives exactly
    ``nn.Upsample(mode="nearest")``'s pixels without its ``nearest_interp`` op. That op
    carries a float64 ``scale`` list (empty when a size is given), which Paddle Inference's
    oneDNN executor cannot convert (``ConvertPirAttribute2RuntimeAttribute not support
    [pir::ArrayAttribute<pir::DoubleAttribute>]``); paddle2onnx 2.1 rejects a non-empty one.
    A size that is not a whole multiple of the input falls back to ``F.interpolate``. No
    parameters.
    """

    def __init__(self, size):
        super().__init__()
        self.size = (int(size[0]), int(size[1]))

    def forward(self, x):
        c, h, w = x.shape[1], x.shape[2], x.shape[3]
        if self.size[0] % h or self.size[1] % w:
            return F.interpolate(x, size=self.size, mode="nearest")
        fh, fw = self.size[0] // h, self.size[1] // w
        x = x.reshape([-1, c, h, 1, w, 1]).expand([-1, c, h, fh, w, fw])
        return x.reshape([-1, c, h * fh, w * fw])


def _up_conv_bn_relu(in_c, out_c, size):
    return nn.Sequential(
        NearestUpsample(size),
        nn.Conv2D(in_c, out_c, 3, 1, 1),
        nn.BatchNorm2D(out_c),
        nn.ReLU(),
    )


def predicted_length(logits):
    """Length (stop token included) of the greedy reading of ``logits [B, N, C]``: the
    position of the first arg-max ``</s>`` (class 0) plus one, or ``N`` without one."""
    n = logits.shape[1]
    is_end = (logits.argmax(-1) == 0).astype("int64")  # [B, N]
    first_end = is_end.argmax(-1)  # first maximum: the first </s> (0 when there is none)
    no_end = 1 - is_end.max(-1)
    # Integer arithmetic instead of where/full_like (which warn under PIR export): n without </s>.
    return first_end + 1 + (n - 1 - first_end) * no_end


class PositionAttention(nn.Layer):
    """Position attention of ABINet's vision model.

    Keys come from a 4-level conv encoder (strides ``(1, 2)`` then ``(2, 2)`` x3) and a
    nearest-upsampling decoder with skip connections back to ``h x w``; the queries are
    the projected position table; the values are the input map.

    Args:
        max_length (int): number of output steps (characters + ``</s>``).
        in_channels (int): channels of the input map.
        num_channels (int): channels inside the key U-Net.
        h (int): input map height (divisible by 8).
        w (int): input map width (divisible by 16).
    """

    def __init__(self, max_length, in_channels=512, num_channels=64, h=8, w=32):
        super().__init__()
        self.max_length = max_length
        self.k_encoder = nn.Sequential(
            _conv_bn_relu(in_channels, num_channels, (1, 2)),
            _conv_bn_relu(num_channels, num_channels, (2, 2)),
            _conv_bn_relu(num_channels, num_channels, (2, 2)),
            _conv_bn_relu(num_channels, num_channels, (2, 2)),
        )
        # Each level doubles the map back to its skip's size (PaddleOCR: scale_factor=2), by
        # pixel repetition (NearestUpsample: the same pixels, and no nearest_interp op, which
        # neither oneDNN inference nor paddle2onnx takes).
        self.k_decoder = nn.Sequential(
            _up_conv_bn_relu(num_channels, num_channels, size=(h // 4, w // 8)),
            _up_conv_bn_relu(num_channels, num_channels, size=(h // 2, w // 4)),
            _up_conv_bn_relu(num_channels, num_channels, size=(h, w // 2)),
            _up_conv_bn_relu(num_channels, in_channels, size=(h, w)),
        )
        self.pos_encoder = SinusoidalPositionEncoding(in_channels, max_length, dropout=0.0)
        self.project = nn.Linear(in_channels, in_channels)

    def forward(self, x):
        """Args:
            x (Tensor): ``[B, C, H, W]``.

        Returns:
            tuple: features ``[B, max_length, C]`` and attention maps ``[B, max_length, H, W]``.
        """
        c, h, w = x.shape[1], x.shape[2], x.shape[3]
        k, skips = x, []
        for layer in self.k_encoder:
            k = layer(k)
            skips.append(k)
        levels = len(self.k_decoder)
        for i in range(levels - 1):
            k = self.k_decoder[i](k) + skips[levels - 2 - i]
        k = self.k_decoder[levels - 1](k)
        # The queries do not depend on the image: one [N, C] set for the whole batch, used as
        # the right operand of a [B, H*W, C] x [C, N] product (a broadcast [1, N, C] x
        # [B, C, H*W] matmul would make PIR record a batch of 1 for every later tensor).
        q = self.project(self.pos_encoder(paddle.zeros([1, self.max_length, c], dtype=x.dtype)))[0]
        scores = paddle.matmul(k.flatten(2), q, transpose_x=True, transpose_y=True)  # [B, H*W, N]
        scores = scores.transpose([0, 2, 1]) / (c**0.5)  # [B, N, H*W]
        scores = F.softmax(scores, axis=-1)
        values = x.flatten(2).transpose([0, 2, 1])  # [B, H*W, C]
        return paddle.matmul(scores, values), scores.reshape([-1, self.max_length, h, w])


class BCNLanguage(nn.Layer):
    """ABINet's bidirectional cloze language model.

    Args:
        d_model (int): feature size.
        nhead (int): attention heads.
        num_layers (int): cross-attention decoder layers.
        dim_feedforward (int): feed-forward inner size.
        dropout (float): attention and residual dropout.
        max_length (int): longest text; the model works on ``max_length + 1`` steps.
        detach (bool): stop the gradient into the input probabilities.
        num_classes (int): classes (``</s>`` + characters).
    """

    def __init__(
        self,
        d_model=512,
        nhead=8,
        num_layers=4,
        dim_feedforward=2048,
        dropout=0.0,
        max_length=25,
        detach=True,
        num_classes=37,
    ):
        super().__init__()
        self.d_model = d_model
        self.detach = detach
        self.max_length = max_length + 1
        self.proj = nn.Linear(num_classes, d_model, bias_attr=False)
        self.token_encoder = SinusoidalPositionEncoding(d_model, self.max_length, dropout=0.1)
        self.pos_encoder = SinusoidalPositionEncoding(d_model, self.max_length, dropout=0.0)
        self.decoder = nn.LayerList(
            [
                TransformerBlock(
                    d_model,
                    nhead,
                    dim_feedforward,
                    attention_dropout_rate=dropout,
                    residual_dropout_rate=dropout,
                    with_self_attn=False,
                    with_cross_attn=True,
                )
                for _ in range(num_layers)
            ]
        )
        self.cls = nn.Linear(d_model, num_classes)

    def forward(self, tokens, lengths):
        """Args:
            tokens (Tensor): class probabilities ``[B, N, num_classes]``.
            lengths (Tensor): int ``[B]``, valid steps (``</s>`` included), at least 2.

        Returns:
            tuple: features ``[B, N, d_model]`` and logits ``[B, N, num_classes]``.
        """
        if self.detach:
            tokens = tokens.detach()
        embed = self.token_encoder(self.proj(tokens))
        mask = padding_mask(lengths, self.max_length, mask_self=True)  # a step never sees itself
        query = self.pos_encoder(embed * 0.0)  # the position table alone, batch-shaped
        for layer in self.decoder:
            query = layer(query, embed, cross_mask=mask)
        return query, self.cls(query)


MAX_CLASSES = 1000000  # out_channels: dictionary size + 1
MAX_IMAGE_SIDE = 8192


def _positive_int(value, key, high=None):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1 or (high is not None and value > high):
        bound = "" if high is None else f" <= {high}"
        raise ConfigError(f"Architecture.Head.{key}: expected a positive int{bound}, got {value!r}")
    return value


def _check_image_size(image_size):
    ok = (
        isinstance(image_size, (list, tuple))
        and len(image_size) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) and 0 < v <= MAX_IMAGE_SIDE for v in image_size)
    )
    if not ok or image_size[0] % 32 or image_size[1] % 64:
        raise ConfigError(
            f"Architecture.Head.image_size: expected [H, W] of ints <= {MAX_IMAGE_SIDE} with H divisible by 32 "
            f"and W by 64, got {image_size!r}"
        )


@HEADS.register()
class ABINetHead(nn.Layer):
    """ABINet: vision model, iterative language model and fusion (PaddleOCR's ``ABINetHead``).

    In train mode it returns logits, a dict ``{"align": [iter_size x [B, N, C]],
    "lang": [iter_size x [B, N, C]], "vision": [B, N, C]}`` (``{"vision": ...}`` alone
    without the language model) for :class:`ppresnet45.modeling.losses.abinet.CELoss`; in
    eval mode the softmax probabilities ``[B, N, C]`` of the last alignment (of the vision
    model without the language model), ``N = max_length + 1``. No targets are needed.

    Args:
        in_channels (int): backbone channels; must equal ``d_model``.
        out_channels (int): classes = dictionary size + 1 (``</s>`` at index 0).
        d_model (int): feature size.
        nhead (int): attention heads.
        num_layers (int): vision Transformer encoder layers.
        dim_feedforward (int): feed-forward inner size.
        dropout (float): attention and residual dropout.
        max_length (int): longest text (``Global.max_text_length``).
        use_lang (bool): add the language model and the alignment.
        iter_size (int): refinement rounds of language model + alignment.
        image_size (list[int]): model input ``[H, W]``; the backbone map is ``H/4 x W/4``
            (``H`` divisible by 32, ``W`` by 64).
    """

    # The position attention's key U-Net is sized for one map: export with a fixed input width.
    requires_fixed_width = True
    needs_targets = False  # train and eval read the image alone

    def __init__(
        self,
        in_channels,
        out_channels=None,
        d_model=512,
        nhead=8,
        num_layers=3,
        dim_feedforward=2048,
        dropout=0.1,
        max_length=25,
        use_lang=False,
        iter_size=1,
        image_size=(32, 128),
    ):
        super().__init__()
        _positive_int(out_channels, "out_channels", MAX_CLASSES)
        if out_channels < 2:
            raise ConfigError(
                f"Architecture.Head.out_channels: expected an int >= 2 (</s> + characters), got {out_channels}"
            )
        if in_channels != d_model:
            raise ConfigError(
                f"Architecture.Head.d_model: must equal the backbone's out_channels {in_channels}, got {d_model!r}"
            )
        check_heads(d_model, nhead)
        if d_model % 2:
            raise ConfigError(f"Architecture.Head.d_model: expected an even int (sinusoid positions), got {d_model}")
        check_int(num_layers, "num_layers", high=MAX_DEPTH)
        check_int(dim_feedforward, "dim_feedforward", high=MAX_WIDTH)
        check_rate(dropout, "dropout")
        _positive_int(max_length, "max_length", MAX_STEPS - 1)
        _positive_int(iter_size, "iter_size", MAX_DEPTH)
        if not isinstance(use_lang, bool):
            raise ConfigError(f"Architecture.Head.use_lang: expected true or false, got {use_lang!r}")
        _check_image_size(image_size)
        self.out_channels = out_channels
        self.max_length = max_length + 1  # + the stop token
        self.use_lang = bool(use_lang)
        self.iter_size = iter_size
        h, w = image_size[0] // 4, image_size[1] // 4
        self.pos_encoder = SinusoidalPositionEncoding(d_model, h * w, dropout=0.1)
        self.encoder = nn.LayerList(
            [
                TransformerBlock(
                    d_model,
                    nhead,
                    dim_feedforward,
                    attention_dropout_rate=dropout,
                    residual_dropout_rate=dropout,
                    with_self_attn=True,
                    with_cross_attn=False,
                )
                for _ in range(num_layers)
            ]
        )
        self.decoder = PositionAttention(self.max_length, in_channels=d_model, h=h, w=w)
        self.cls = nn.Linear(d_model, out_channels)
        if self.use_lang:
            self.language = BCNLanguage(
                d_model,
                nhead,
                num_layers=4,
                dim_feedforward=dim_feedforward,
                dropout=dropout,
                max_length=max_length,
                num_classes=out_channels,
            )
            self.w_att_align = nn.Linear(2 * d_model, d_model)
            self.cls_align = nn.Linear(d_model, out_channels)

    def vision(self, x):
        """Vision model: ``[B, C, H, W]`` map -> (features, logits), each ``[B, N, *]``."""
        h, w, c = x.shape[2], x.shape[3], x.shape[1]
        feature = self.pos_encoder(x.transpose([0, 2, 3, 1]).flatten(1, 2))  # [B, H*W, C]
        for layer in self.encoder:
            feature = layer(feature)
        feature = feature.reshape([-1, h, w, c]).transpose([0, 3, 1, 2])
        v_feature, _ = self.decoder(feature)
        return v_feature, self.cls(v_feature)

    def forward(self, x, targets=None):
        v_feature, vis_logits = self.vision(x)
        if not self.use_lang:
            return {"vision": vis_logits} if self.training else F.softmax(vis_logits, axis=-1)
        align_logits = vis_logits
        all_lang, all_align = [], []
        for _ in range(self.iter_size):
            lengths = paddle.clip(predicted_length(align_logits), 2, self.max_length)
            l_feature, l_logits = self.language(F.softmax(align_logits, axis=-1), lengths)
            gate = F.sigmoid(self.w_att_align(paddle.concat([l_feature, v_feature], axis=-1)))
            align_logits = self.cls_align(gate * v_feature + (1 - gate) * l_feature)
            all_lang.append(l_logits)
            all_align.append(align_logits)
        if self.training:
            return {"align": all_align, "lang": all_lang, "vision": vis_logits}
        return F.softmax(align_logits, axis=-1)
