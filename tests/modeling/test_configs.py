"""Every shipped config builds, runs a forward pass and a CTC loss; the model wiring follows PaddleOCR."""

import pathlib

import numpy as np
import paddle
import pytest

import ppresnet45
from ppresnet45.charset import CTCCharset
from ppresnet45.config import PACKAGE_CONFIG_DIR, image_shape_of
from ppresnet45.modeling.summary import count_macs

REC_DIR = pathlib.Path(PACKAGE_CONFIG_DIR) / "rec"

CONFIGS = sorted(REC_DIR.glob("*.yml"))
# ABINet / VisionLAN configs are built, trained and evaluated in tests/training/test_*_training.py.
CTC_CONFIGS = [p for p in CONFIGS if ppresnet45.load_config(p)["Architecture"].get("algorithm") == "CTC"]


def test_the_three_required_configs_are_shipped():
    names = {p.name for p in CONFIGS}
    assert {"rec_resnet45_ctc.yml", "rec_resnet45_ctc_long.yml", "rec_resnet45_visionlan_ctc.yml"} <= names


@pytest.mark.parametrize("path", CTC_CONFIGS, ids=lambda p: p.stem)
def test_config_builds_runs_forward_and_ctc_loss(path):
    cfg = ppresnet45.load_config(path)
    c, h, w = image_shape_of(cfg)
    model = ppresnet45.build_model(cfg)
    loss_fn = ppresnet45.LOSSES.build(cfg["Loss"])
    charset = CTCCharset.from_config(cfg["Global"])
    assert model.head.out_channels == charset.num_classes
    model.train()
    x = paddle.randn([2, c, h, w])
    logits = model(x)
    steps = model.backbone.output_hw(h, w)[1]
    assert list(logits.shape) == [2, steps, charset.num_classes]
    texts = ["abc", "7"] if "a" in charset.index else ["7", "1"]
    max_len = cfg["Global"]["max_text_length"]
    labels = np.zeros((2, max_len), dtype="int64")
    lengths = np.zeros((2,), dtype="int64")
    for i, t in enumerate(texts):
        idx, _ = charset.encode(t)
        labels[i, : len(idx)] = idx
        lengths[i] = len(idx)
    loss = loss_fn(logits, [x, paddle.to_tensor(labels), paddle.to_tensor(lengths)])["loss"]
    assert np.isfinite(float(loss)) and float(loss) > 0
    loss.backward()
    assert model.backbone.conv1.weight.grad is not None
    model.eval()
    probs = model(x)
    np.testing.assert_allclose(probs.sum(axis=-1).numpy(), 1.0, rtol=1e-4)
    post = ppresnet45.POSTPROCESS.build(
        {
            **cfg["PostProcess"],
            "character_dict_path": cfg["Global"].get("character_dict_path"),
            "use_space_char": cfg["Global"].get("use_space_char", False),
        }
    )
    decoded = post(probs)
    assert len(decoded) == 2 and all(isinstance(t, str) and 0.0 <= s <= 1.0 for t, s in decoded)


def test_full_model_keys_carry_paddleocr_prefixes():
    model = ppresnet45.build_model(REC_DIR / "rec_resnet45_ctc.yml")
    keys = list(model.state_dict().keys())
    assert keys[0] == "backbone.conv1.weight"
    assert "backbone.layer1.0.downsample.0.weight" in keys
    assert keys[-2:] == ["head.fc.weight", "head.fc.bias"]


def test_build_model_accepts_a_yaml_path_and_a_dict():
    path = REC_DIR / "rec_resnet45_ctc.yml"
    a = ppresnet45.build_model(str(path))
    b = ppresnet45.build_model(ppresnet45.load_config(path))
    assert list(a.state_dict()) == list(b.state_dict())


def test_in_channels_flows_from_architecture_to_backbone():
    cfg = ppresnet45.load_config(REC_DIR / "rec_resnet45_ctc.yml", ["Architecture.in_channels=1"])
    model = ppresnet45.build_model(cfg)
    assert model.backbone.conv1.weight.shape[1] == 1


@pytest.mark.parametrize(
    "neck, seq_channels",
    [
        ({"encoder_type": "reshape", "height_reduce": "max"}, 512),
        ({"encoder_type": "fc", "hidden_size": 96}, 96),
        ({"encoder_type": "rnn", "hidden_size": 48}, 96),
        ({"encoder_type": "reshape", "height_reduce": "fold", "feature_height": 8}, 4096),
    ],
)
def test_neck_variants_give_a_width_long_sequence(neck, seq_channels):
    cfg = ppresnet45.load_config(REC_DIR / "rec_resnet45_ctc.yml")
    cfg["Architecture"]["Neck"] = {"name": "SequenceEncoder", **neck}
    model = ppresnet45.build_model(cfg)
    assert model.neck.out_channels == seq_channels
    model.eval()
    assert list(model(paddle.randn([1, 3, 32, 64])).shape) == [1, 16, model.head.out_channels]


def test_bad_neck_arguments_name_the_key():
    cfg = ppresnet45.load_config(REC_DIR / "rec_resnet45_ctc.yml", ["Architecture.Neck.height_reduce=fold"])
    with pytest.raises(ppresnet45.ConfigError, match="Architecture.Neck.feature_height"):
        ppresnet45.build_model(cfg)


def test_summary_cli_prints_params_shape_and_mult_adds(capsys):
    from ppresnet45.cli import main

    assert main(["summary", "-c", str(REC_DIR / "rec_resnet45_ctc.yml")]) == 0
    out = capsys.readouterr().out
    assert "12,994,784" in out and "[512, 8, 32]" in out and "3.4848 G" in out


def test_visionlan_config_has_the_same_feature_map_at_64x256():
    cfg = ppresnet45.load_config(REC_DIR / "rec_resnet45_visionlan_ctc.yml")
    model = ppresnet45.build_model(cfg)
    assert image_shape_of(cfg) == [3, 64, 256]
    assert count_macs(model.backbone, (3, 64, 256))["output_shape"] == [1, 512, 8, 32]
