"""The ResNet backbone family: shapes, parameter names/counts, mult-adds, initialisation, argument checks."""

import math

import numpy as np
import paddle
import pytest

import ppresnet45
from ppresnet45 import BACKBONES, ConfigError
from ppresnet45.modeling.summary import count_macs, count_parameters


def _paddleocr_resnet45_keys():
    """The state-dict key list of PaddleOCR's ResNet45, written out from its layer structure."""
    bn = ["weight", "bias", "_mean", "_variance"]
    keys = ["conv1.weight"] + [f"bn1.{s}" for s in bn]
    for stage, blocks in enumerate([3, 4, 6, 6, 3], start=1):
        for i in range(blocks):
            p = f"layer{stage}.{i}"
            keys += [f"{p}.conv1.weight"] + [f"{p}.bn1.{s}" for s in bn]
            keys += [f"{p}.conv2.weight"] + [f"{p}.bn2.{s}" for s in bn]
            if i == 0:
                keys += [f"{p}.downsample.0.weight"] + [f"{p}.downsample.1.{s}" for s in bn]
    return keys


def test_resnet45_state_dict_keys_match_paddleocr_in_order():
    model = ppresnet45.ResNet45()
    keys = list(model.state_dict().keys())
    assert len(keys) == 250
    assert keys == _paddleocr_resnet45_keys()


def test_resnet45_parameter_shapes_follow_the_stage_widths():
    sd = ppresnet45.ResNet45().state_dict()
    assert list(sd["conv1.weight"].shape) == [32, 3, 3, 3]
    assert list(sd["layer1.0.conv1.weight"].shape) == [32, 32, 1, 1]
    assert list(sd["layer1.0.conv2.weight"].shape) == [32, 32, 3, 3]
    assert list(sd["layer2.0.downsample.0.weight"].shape) == [64, 32, 1, 1]
    assert list(sd["layer5.2.conv2.weight"].shape) == [512, 512, 3, 3]
    assert list(sd["layer5.0.downsample.1._variance"].shape) == [512]


def test_resnet45_has_12994784_trainable_parameters():
    assert count_parameters(ppresnet45.ResNet45()) == 12_994_784


def test_resnet45_output_shape_and_out_channels():
    model = ppresnet45.ResNet45()
    model.eval()
    out = model(paddle.randn([2, 3, 32, 128]))
    assert list(out.shape) == [2, 512, 8, 32]
    assert model.out_channels == 512
    assert model.output_hw(32, 128) == (8, 32)


@pytest.mark.parametrize("width", [17, 100, 257])
def test_resnet45_accepts_any_width(width):
    model = ppresnet45.ResNet45()
    model.eval()
    out = model(paddle.randn([1, 3, 32, width]))
    assert list(out.shape) == [1, 512, 8, math.ceil(width / 4)]
    assert tuple(out.shape[2:]) == model.output_hw(32, width)


def test_resnet45_conv_mult_adds_at_32x128():
    macs = count_macs(ppresnet45.ResNet45(), (3, 32, 128))
    assert macs["conv"] == macs["total"]
    assert round(macs["conv"] / 1e9, 4) == 3.4848
    # Independent check from the layer shapes: sum over convs of H_out*W_out*C_out*C_in*k*k.
    expected = 32 * 128 * 32 * 3 * 9  # stem
    h, w, cin = 32, 128, 32
    for planes, blocks, s in zip([32, 64, 128, 256, 512], [3, 4, 6, 6, 3], [2, 1, 2, 1, 1]):
        ho, wo = (h - 1) // s + 1, (w - 1) // s + 1
        expected += ho * wo * planes * cin  # downsample 1x1
        for i in range(blocks):
            c_in_block = cin if i == 0 else planes
            expected += h * w * planes * c_in_block if i == 0 else ho * wo * planes * c_in_block  # conv1 1x1
            expected += ho * wo * planes * planes * 9  # conv2 3x3
        h, w, cin = ho, wo, planes
    assert macs["conv"] == expected


def test_visionlan_strides_at_64x256_give_8x32():
    model = ppresnet45.ResNet45(strides=[2, 2, 2, 1, 1])
    model.eval()
    assert list(model(paddle.randn([1, 3, 64, 256])).shape) == [1, 512, 8, 32]


def test_pair_strides_keep_horizontal_resolution():
    model = ppresnet45.ResNet45(strides=[2, 1, [2, 1], 1, 1])
    model.eval()
    assert list(model(paddle.randn([1, 3, 32, 320])).shape) == [1, 512, 8, 160]
    assert model.output_hw(32, 320) == (8, 160)


def _fan_in_std(weight):
    shape = weight.shape
    fan_in = shape[1] * shape[2] * shape[3]
    return math.sqrt(2.0 / fan_in)


@pytest.mark.parametrize(
    "key", ["conv1.weight", "layer3.0.downsample.0.weight", "layer5.0.downsample.0.weight", "layer4.1.conv2.weight"]
)
def test_kaiming_normal_init_std_within_5_percent(key):
    paddle.seed(123)
    model = ppresnet45.ResNet45()
    w = model.state_dict()[key].numpy()
    target = _fan_in_std(w)
    if w.size < 2000:  # the stem has only 864 weights: pool several draws for a stable estimate
        draws = [ppresnet45.ResNet45().state_dict()[key].numpy().ravel() for _ in range(6)]
        w = np.concatenate([w.ravel()] + draws)
    assert abs(float(np.std(w)) - target) / target < 0.05
    assert abs(float(np.mean(w))) < 0.1 * target


@pytest.mark.parametrize("name", sorted(BACKBONES.names()))
def test_every_registered_backbone_forward_backward_without_nan(name):
    model = BACKBONES.build({"name": name, "in_channels": 3})
    model.train()
    x = paddle.randn([2, 3, 32, 64])
    x.stop_gradient = False
    out = model(x)
    assert out.shape[0] == 2 and out.shape[1] == model.out_channels
    assert out.shape[2] == 8 and out.shape[3] == 16
    assert not bool(paddle.isnan(out).any())
    out.mean().backward()
    grads = [p.grad for p in model.parameters() if not p.stop_gradient]
    assert all(g is not None for g in grads)
    assert not any(bool(paddle.isnan(g).any()) for g in grads)
    assert x.grad is not None


def test_presets_use_their_block_types():
    assert isinstance(ppresnet45.ResNet45().layer1[0], ppresnet45.BasicBlock)
    r18 = ppresnet45.ResNet18()
    assert isinstance(r18.layer1[0], ppresnet45.ClassicBasicBlock)
    assert [len(getattr(r18, f"layer{i}")) for i in range(1, 5)] == [2, 2, 2, 2]
    assert r18.layer1[0].downsample is None  # same width, stride 1: identity shortcut
    assert r18.layer2[0].downsample is not None
    r50 = ppresnet45.ResNet50()
    assert isinstance(r50.layer1[0], ppresnet45.Bottleneck)
    assert r50.out_channels == 2048
    assert r50.layer1[0].downsample is not None  # 64 -> 256 channels needs a projection
    assert r50.layer1[1].downsample is None


def test_in_channels_one_for_gray_images():
    model = ppresnet45.ResNet45(in_channels=1)
    model.eval()
    assert list(model(paddle.randn([1, 1, 32, 128])).shape) == [1, 512, 8, 32]


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        (dict(layers=[3, 4, 6, 6]), "one entry per stage"),
        (dict(strides=[2, 1, 2]), "one entry per stage"),
        (dict(layers=[3, 0, 6, 6, 3]), "layers[1] must be a positive int"),
        (dict(strides=[2, -1, 2, 1, 1]), "strides[1] must be positive"),
        (dict(strides=[2, [2, 0], 2, 1, 1]), "strides[1] must have positive entries"),
        (dict(strides=[2, [2, 1, 1], 2, 1, 1]), "strides[1] must be a positive int or a pair"),
        (dict(in_channels=0), "in_channels must be a positive int"),
        (dict(layers="34663"), "layers must be a non-empty list"),
    ],
)
def test_bad_backbone_arguments_give_one_clear_line(kwargs, fragment):
    with pytest.raises(ConfigError) as err:
        ppresnet45.ResNet45(**kwargs)
    msg = str(err.value)
    assert fragment in msg and "ResNet45" in msg
    assert "\n" not in msg


def test_unknown_block_type_names_the_choices():
    with pytest.raises(ConfigError, match="unknown block 'Basic'.*BasicBlock"):
        ppresnet45.ResNet(block="Basic")


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        (dict(layers=[3, 10**12, 6, 6, 3]), "Architecture.Backbone.layers[1] must be a positive int of at most 1000"),
        (dict(layers=[3, "a", 6, 6, 3]), "Architecture.Backbone.layers[1] must be a positive int, got 'a'"),
        (dict(strides=[2, [10**12, 1], 2, 1, 1]), "Architecture.Backbone.strides[1] must have entries of at most 64"),
        (dict(strides=[2, 10**12, 2, 1, 1]), "Architecture.Backbone.strides[1] must be at most 64"),
        (dict(strides=[2, "x", 2, 1, 1]), "Architecture.Backbone.strides[1] must be a positive int or a pair"),
        (dict(in_channels=10**12), "Architecture.Backbone.in_channels must be a positive int of at most 65536"),
        (dict(in_channels=[1, "a"]), "Architecture.Backbone.in_channels must be a positive int"),
        (dict(stem_channels=10**12), "Architecture.Backbone.stem_channels must be a positive int of at most 65536"),
        (dict(channels=[32, 64, 10**12, 256, 512]), "Architecture.Backbone.channels[2] must be a positive int of"),
        (dict(stem_stride=10**12), "Architecture.Backbone.stem_stride must be at most 64"),
    ],
)
def test_huge_or_malformed_backbone_values_fail_fast_naming_the_key(kwargs, fragment):
    # Regression (fuzz): Architecture.in_channels=10**12 / Backbone.strides.1.0=10**12 overflowed int32
    # inside Paddle; layers=10**12 would build blocks until memory ran out.
    with pytest.raises(ConfigError) as err:
        ppresnet45.ResNet45(**kwargs)
    msg = str(err.value)
    assert fragment in msg and msg.startswith("ResNet45: ") and "\n" not in msg


def test_validation_leaves_the_paddleocr_parameter_names_unchanged():
    names = [n for n, _ in ppresnet45.ResNet45(layers=[1, 1, 1, 1, 1]).named_parameters()]
    assert names[:3] == ["conv1.weight", "bn1.weight", "bn1.bias"]
    assert "layer1.0.downsample.0.weight" in names and "layer5.0.conv2.weight" in names
