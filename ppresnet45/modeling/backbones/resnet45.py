"""The ResNet backbone family for text recognition: ResNet45 (ABINet / PaddleOCR) and friends.

One :class:`ResNet` class builds every preset from data: a block type, the number of
blocks per stage, each stage's stride and width. Three block types plug into the same
``_make_layer``:

* :class:`BasicBlock` — ABINet's block: conv1x1 → BN → ReLU → conv3x3(stride) → BN,
  plus the shortcut, then ReLU. ResNet45 uses it.
* :class:`ClassicBasicBlock` — the classic 3x3 + 3x3 block of the Keras ResNet18
  (stride on the first 3x3).
* :class:`Bottleneck` — the Keras ``block1``/``stack1`` bottleneck: 1x1(stride) → 3x3 →
  1x1 to 4× filters, each followed by BN, ReLU after the add.

Parameter names follow PaddleOCR's ``rec_resnet_45.py`` exactly (``conv1``, ``bn1``,
``layer1.0.conv1``, ``layer1.0.downsample.0`` …) so its checkpoints load unchanged.

A stride may be an int or ``[stride_h, stride_w]``; ``[2, 1]`` halves the height but
keeps the horizontal resolution, which suits CTC on long text lines.
"""

from typing import Optional

import paddle
from paddle import nn

from ...errors import ConfigError
from ...registry import BACKBONES


def _kaiming():
    # He-normal with fan_in = in_channels * kh * kw, as in PaddleOCR's ResNet45.
    return paddle.ParamAttr(initializer=nn.initializer.KaimingNormal())


def conv1x1(in_planes, out_planes, stride=1):
    """1x1 convolution without bias, Kaiming-normal initialised."""
    return nn.Conv2D(in_planes, out_planes, 1, stride=stride, weight_attr=_kaiming(), bias_attr=False)


def conv3x3(in_planes, out_planes, stride=1):
    """3x3 convolution with padding 1, without bias, Kaiming-normal initialised."""
    return nn.Conv2D(in_planes, out_planes, 3, stride=stride, padding=1, weight_attr=_kaiming(), bias_attr=False)


class _TwoConvBlock(nn.Layer):
    """Residual block of two convolutions: conv1 → BN → ReLU → conv2 → BN, + shortcut, ReLU.

    Subclasses choose the two convolutions (and which one carries the stride) in ``_convs``.
    """

    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        conv1, conv2 = self._convs(inplanes, planes, stride)
        self.conv1 = conv1
        self.bn1 = nn.BatchNorm2D(planes)
        self.relu = nn.ReLU()
        self.conv2 = conv2
        self.bn2 = nn.BatchNorm2D(planes)
        self.downsample = downsample
        self.stride = stride

    def _convs(self, inplanes, planes, stride):
        raise NotImplementedError

    def forward(self, x):
        residual = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + residual)


class BasicBlock(_TwoConvBlock):
    """ABINet's residual block: conv1x1 → BN → ReLU → conv3x3(stride) → BN, + shortcut, ReLU.

    Args:
        inplanes (int): input channels.
        planes (int): output channels (``expansion`` is 1).
        stride (int | tuple[int, int]): stride of the 3x3 convolution.
        downsample (nn.Layer | None): projection applied to the shortcut.
    """

    def _convs(self, inplanes, planes, stride):
        return conv1x1(inplanes, planes), conv3x3(planes, planes, stride)


class ClassicBasicBlock(_TwoConvBlock):
    """The classic two-3x3 block of the Keras ResNet18: conv3x3(stride) → BN → ReLU → conv3x3 → BN,
    + shortcut, ReLU.

    Args:
        inplanes (int): input channels.
        planes (int): output channels (``expansion`` is 1).
        stride (int | tuple[int, int]): stride of the first 3x3 convolution.
        downsample (nn.Layer | None): projection applied to the shortcut.
    """

    def _convs(self, inplanes, planes, stride):
        return conv3x3(inplanes, planes, stride), conv3x3(planes, planes)


class Bottleneck(nn.Layer):
    """The Keras ``block1`` bottleneck: conv1x1(stride) → BN → ReLU → conv3x3 → BN → ReLU →
    conv1x1 (4× filters) → BN, + shortcut (conv1x1 + BN when the shape changes), ReLU.

    Args:
        inplanes (int): input channels.
        planes (int): bottleneck width; the block outputs ``4 * planes`` channels.
        stride (int | tuple[int, int]): stride of the first 1x1 convolution.
        downsample (nn.Layer | None): projection applied to the shortcut.
    """

    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv1x1(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2D(planes)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2D(planes)
        self.conv3 = conv1x1(planes, planes * self.expansion)
        self.bn3 = nn.BatchNorm2D(planes * self.expansion)
        self.relu = nn.ReLU()
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        residual = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + residual)


BLOCKS = {cls.__name__: cls for cls in (BasicBlock, ClassicBasicBlock, Bottleneck)}


# Sane bounds: beyond them a config value is a typo (and 10**12 blocks or channels would try to
# allocate until memory runs out, or overflow Paddle's int32 shapes).
MAX_CHANNELS = 65536
MAX_BLOCKS = 1000
MAX_STRIDE = 64


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _normalise_stride(value, where):
    """Return a stride as an int or an (h, w) tuple of positive ints <= :data:`MAX_STRIDE`;
    raise ConfigError otherwise."""
    if isinstance(value, bool):
        raise ConfigError(f"{where} must be a positive int or [h, w], got {value!r}")
    if isinstance(value, int):
        if value <= 0:
            raise ConfigError(f"{where} must be positive, got {value}")
        if value > MAX_STRIDE:
            raise ConfigError(f"{where} must be at most {MAX_STRIDE}, got {value}")
        return value
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(_is_int(v) for v in value):
        if min(value) <= 0:
            raise ConfigError(f"{where} must have positive entries, got {list(value)}")
        if max(value) > MAX_STRIDE:
            raise ConfigError(f"{where} must have entries of at most {MAX_STRIDE}, got {list(value)}")
        return value[0] if value[0] == value[1] else (int(value[0]), int(value[1]))
    raise ConfigError(f"{where} must be a positive int or a pair [h, w] of positive ints, got {value!r}")


def _stride_is_one(stride):
    return stride == 1 or stride == (1, 1)


class ResNet(nn.Layer):
    """A ResNet for text recognition, built stage by stage by :meth:`_make_layer`.

    The stem is a 3x3 convolution (stride ``stem_stride``, no bias, Kaiming-normal) + BN +
    ReLU; then one stage per entry of ``layers``, named ``layer1``, ``layer2`` …; the first
    block of a stage gets a 1x1 conv (stride, no bias, Kaiming-normal) + BN downsample when
    its stride is not 1 or its channel count changes.

    Args:
        in_channels (int): image channels (3 for RGB, 1 for gray).
        block (str | type): ``"BasicBlock"``, ``"ClassicBasicBlock"``, ``"Bottleneck"`` or a
            block class with an ``expansion`` attribute.
        layers (list[int]): blocks per stage.
        strides (list[int | list[int]]): stride of each stage, an int or ``[h, w]``.
        channels (list[int]): width (``planes``) of each stage.
        stem_channels (int): output channels of the stem convolution.
        stem_stride (int | list[int]): stride of the stem convolution.

    Attributes:
        out_channels (int): channels of the output feature map, ``channels[-1] * expansion``.
    """

    def __init__(
        self,
        in_channels=3,
        block="BasicBlock",
        layers=(3, 4, 6, 6, 3),
        strides=(2, 1, 2, 1, 1),
        channels=(32, 64, 128, 256, 512),
        stem_channels=32,
        stem_stride=1,
    ):
        super().__init__()
        # Messages name the class and the config key: "ResNet45: Architecture.Backbone.layers[1] must be ...".
        name = type(self).__name__
        key = f"{name}: Architecture.Backbone"
        if isinstance(block, str):
            if block not in BLOCKS:
                raise ConfigError(f"{key}.block: unknown block '{block}', expected one of {', '.join(BLOCKS)}")
            block = BLOCKS[block]
        for arg, value in (("in_channels", in_channels), ("stem_channels", stem_channels)):
            hint = " (it defaults to Architecture.in_channels)" if arg == "in_channels" else ""
            if not _is_int(value) or value <= 0:
                raise ConfigError(f"{key}.{arg} must be a positive int, got {value!r}{hint}")
            if value > MAX_CHANNELS:
                raise ConfigError(f"{key}.{arg} must be a positive int of at most {MAX_CHANNELS}, got {value!r}{hint}")
        for arg, seq in (("layers", layers), ("strides", strides), ("channels", channels)):
            if not isinstance(seq, (list, tuple)) or len(seq) == 0:
                raise ConfigError(f"{key}.{arg} must be a non-empty list, got {seq!r}")
        if not (len(layers) == len(strides) == len(channels)):
            raise ConfigError(
                f"{key}: layers, strides and channels must have one entry per stage, got "
                f"{len(layers)} layers {list(layers)}, {len(strides)} strides {list(strides)}, "
                f"{len(channels)} channels {list(channels)}"
            )
        for i, n in enumerate(layers):
            if not _is_int(n) or n <= 0:
                raise ConfigError(f"{key}.layers[{i}] must be a positive int, got {n!r}")
            if n > MAX_BLOCKS:
                raise ConfigError(f"{key}.layers[{i}] must be a positive int of at most {MAX_BLOCKS} blocks, got {n!r}")
        for i, c in enumerate(channels):
            if not _is_int(c) or c <= 0:
                raise ConfigError(f"{key}.channels[{i}] must be a positive int, got {c!r}")
            if c > MAX_CHANNELS:
                raise ConfigError(f"{key}.channels[{i}] must be a positive int of at most {MAX_CHANNELS}, got {c!r}")
        strides = [_normalise_stride(s, f"{key}.strides[{i}]") for i, s in enumerate(strides)]
        stem_stride = _normalise_stride(stem_stride, f"{key}.stem_stride")

        self.in_channels = in_channels
        self.layers_cfg = list(layers)
        self.strides = strides
        self.stem_stride = stem_stride
        self.inplanes = stem_channels
        self.conv1 = nn.Conv2D(
            in_channels, stem_channels, 3, stride=stem_stride, padding=1, weight_attr=_kaiming(), bias_attr=False
        )
        self.bn1 = nn.BatchNorm2D(stem_channels)
        self.relu = nn.ReLU()
        self.stage_names = []
        for i, (n, s, c) in enumerate(zip(layers, strides, channels)):
            stage_name = f"layer{i + 1}"
            setattr(self, stage_name, self._make_layer(block, c, n, s))
            self.stage_names.append(stage_name)
        self.out_channels = channels[-1] * block.expansion

    def _make_layer(self, block, planes, blocks, stride=1):
        """Build one stage of ``blocks`` blocks; the first carries the stride and the downsample."""
        downsample = None
        if not _stride_is_one(stride) or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                nn.Conv2D(
                    self.inplanes,
                    planes * block.expansion,
                    1,
                    stride=stride,
                    weight_attr=_kaiming(),
                    bias_attr=False,
                ),
                nn.BatchNorm2D(planes * block.expansion),
            )
        stage = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            stage.append(block(self.inplanes, planes))
        return nn.Sequential(*stage)

    def output_hw(self, height, width):
        """Spatial size of the output feature map for an input of ``height`` × ``width``."""
        h, w = height, width
        for s in [self.stem_stride] + self.strides:
            sh, sw = (s, s) if isinstance(s, int) else s
            # k=3,p=1 and k=1,p=0 both give floor((x - 1) / s) + 1
            h, w = (h - 1) // sh + 1, (w - 1) // sw + 1
        return h, w

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        for name in self.stage_names:
            x = getattr(self, name)(x)
        return x


# Presets are data: block type, blocks per stage, strides, widths, stem. At a 32×128 input every
# preset gives an 8×32 feature map, so the same necks and heads fit them all.
PRESETS = {
    "ResNet45": dict(
        block="BasicBlock",
        layers=[3, 4, 6, 6, 3],
        strides=[2, 1, 2, 1, 1],
        channels=[32, 64, 128, 256, 512],
        stem_channels=32,
    ),
    "ResNet18": dict(
        block="ClassicBasicBlock",
        layers=[2, 2, 2, 2],
        strides=[1, 1, 2, 1],
        channels=[64, 128, 256, 512],
        stem_channels=64,
        stem_stride=2,
    ),
    "ResNet50": dict(
        block="Bottleneck",
        layers=[3, 4, 6, 3],
        strides=[2, 1, 2, 1],
        channels=[64, 128, 256, 512],
        stem_channels=64,
    ),
}


BACKBONES.register("ResNet", ResNet)  # the generic network: every argument from the config


class _ResNetPreset(ResNet):
    """A :class:`ResNet` whose arguments default to one row of :data:`PRESETS`."""

    preset: Optional[dict[str, object]] = None  # the PRESETS row; set by each subclass

    def __init__(self, in_channels=3, layers=None, strides=None, channels=None, stem_channels=None, stem_stride=None):
        row = self.preset
        super().__init__(
            in_channels=in_channels,
            block=row["block"],
            layers=row["layers"] if layers is None else layers,
            strides=row["strides"] if strides is None else strides,
            channels=row["channels"] if channels is None else channels,
            stem_channels=row["stem_channels"] if stem_channels is None else stem_channels,
            stem_stride=row.get("stem_stride", 1) if stem_stride is None else stem_stride,
        )


@BACKBONES.register()
class ResNet45(_ResNetPreset):
    """ResNet45 of ABINet, as PaddleOCR ships it (``rec_resnet_45.py``).

    Stem conv3x3 3→32 + BN + ReLU; five stages of :class:`BasicBlock` with 32/64/128/256/512
    channels, ``layers=[3, 4, 6, 6, 3]``, ``strides=[2, 1, 2, 1, 1]``; ``out_channels = 512``.
    A 3×32×128 image gives a 512×8×32 map; 12,994,784 trainable parameters; 3.4848 G conv
    multiply-adds at 3×32×128 (architecture facts, checked by the tests). VisionLAN uses ``strides=[2, 2, 2, 1, 1]`` at
    64×256; for CTC on long lines use e.g. ``strides=[2, [2, 1], 2, 1, 1]``.

    Args:
        in_channels (int): image channels.
        layers (list[int] | None): blocks per stage (default ``[3, 4, 6, 6, 3]``).
        strides (list[int | list[int]] | None): per-stage strides (default ``[2, 1, 2, 1, 1]``).
        channels (list[int] | None): per-stage widths (default ``[32, 64, 128, 256, 512]``).
        stem_channels (int | None): stem width (default 32).
        stem_stride (int | list[int] | None): stem stride (default 1).
    """

    preset = PRESETS["ResNet45"]


@BACKBONES.register()
class ResNet18(_ResNetPreset):
    """ResNet18 with the classic 3x3 + 3x3 block (Keras ``ResNet18``), adapted to text lines.

    Recognition-friendly stem: one 3x3 conv (64, stride 2) instead of the 7x7/2 conv and
    max-pool of ImageNet models (which would shrink a 32 px line 4× before any residual
    block); four stages of :class:`ClassicBasicBlock` (64/128/256/512, ``layers=[2, 2, 2, 2]``)
    with ``strides=[1, 1, 2, 1]``, so, as in Keras, the first stage keeps an identity
    shortcut and later stages open with a 1x1 conv + BN shortcut: a 32×128 line gives a
    512×8×32 map like ResNet45. Arguments as :class:`ResNet45`.
    """

    preset = PRESETS["ResNet18"]


@BACKBONES.register()
class ResNet50(_ResNetPreset):
    """ResNet50 with the Keras ``block1``/``stack1`` :class:`Bottleneck` (expansion 4), adapted to text lines.

    Recognition-friendly stem: one 3x3 conv (64, stride 1); four stages (64/128/256/512
    bottleneck widths, ``layers=[3, 4, 6, 3]``) with ``strides=[2, 1, 2, 1]``: a 32×128
    line gives a 2048×8×32 map (``out_channels = 2048``). Arguments as :class:`ResNet45`.
    """

    preset = PRESETS["ResNet50"]
