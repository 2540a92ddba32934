"""Weights into a model: exactly to resume, as far as they match for a pretrained model."""

import os

import numpy as np
import paddle
import pytest

from ppresnet45.config import PACKAGE_CONFIG_DIR, load_config
from ppresnet45.errors import ConfigError, DataError
from ppresnet45.modeling import build_model
from ppresnet45.training.checkpoint import save_checkpoint
from ppresnet45.training.weights import (
    load_checkpoint,
    load_pretrained,
    load_state_dict_file,
    match_state_dict,
    preview,
    strip_wrappers,
)

DEMO = os.path.join(PACKAGE_CONFIG_DIR, "rec", "rec_resnet45_ctc_demo.yml")


def _arrays(**shapes):
    return {k.replace("__", "."): np.zeros(shape, np.float32) for k, shape in shapes.items()}


def test_wrappers_are_stripped_from_key_names():
    loaded = {"_layers.head.fc.weight": 1, "module.backbone.conv1.weight": 2, "neck.x": 3}
    assert strip_wrappers(loaded) == {"head.fc.weight": 1, "backbone.conv1.weight": 2, "neck.x": 3}


def test_matching_sorts_keys_into_loaded_missing_unexpected_and_wrong_shape():
    model = _arrays(backbone__conv1__weight=(4, 3), head__fc__weight=(8, 2), head__fc__bias=(2,))
    loaded = _arrays(_layers__backbone__conv1__weight=(4, 3), head__fc__weight=(8, 5), extra=(1,))
    matched, report = match_state_dict(model, loaded)
    assert list(matched) == ["backbone.conv1.weight"]
    assert report == {
        "loaded": 1,
        "missing": ["head.fc.bias"],
        "unexpected": ["extra"],
        "shape_mismatch": [["head.fc.weight", [8, 5], [8, 2]]],
        "prefix_added": "",
    }


def test_a_bare_backbone_gets_the_prefix_and_reports_only_backbone_keys_missing():
    model = _arrays(backbone__conv1__weight=(4, 3), backbone__bn__mean=(4,), head__fc__weight=(8, 2))
    matched, report = match_state_dict(model, _arrays(conv1__weight=(4, 3)))
    assert list(matched) == ["backbone.conv1.weight"] and report["prefix_added"] == "backbone."
    assert report["missing"] == ["backbone.bn.mean"]  # the head is not the backbone file's business


def test_state_dict_files_that_are_missing_or_not_paddle_are_one_line_errors(tmp_path):
    with pytest.raises(ConfigError, match=r"^Global.x: '.*nope.pdparams' not found \(expected a checkpoint prefix"):
        load_state_dict_file(str(tmp_path / "nope.pdparams"), "Global.x")
    (tmp_path / "junk.pdparams").write_bytes(b"not a pickle")
    with pytest.raises(DataError, match=r"^Global.x: '.*junk.pdparams' is not a Paddle state dict") as err:
        load_state_dict_file(str(tmp_path / "junk.pdparams"), "Global.x")
    assert "\n" not in str(err.value)


def test_preview_names_the_first_keys_and_counts_the_rest():
    assert preview(["a", "b"]) == "a, b"
    assert preview([f"k{i}" for i in range(7)], n=3) == "k0, k1, k2 … (+4)"


def test_resume_with_a_checkpoint_of_another_model_is_a_config_error(tmp_path):
    config = load_config(DEMO)
    model = build_model(config)
    small = paddle.nn.Linear(2, 2)
    prefix = save_checkpoint(str(tmp_path / "lin"), small)
    with pytest.raises(ConfigError, match="does not fit the model"):
        load_checkpoint(prefix, model)
    with pytest.raises(ConfigError, match="Global.checkpoints.*not found"):
        load_checkpoint(str(tmp_path / "none"), model)


def test_pretrained_full_model_with_other_head_reports_shape_mismatch(tmp_path):
    config = load_config(DEMO)
    paddle.seed(3)
    source = build_model(config)  # 36 characters + blank
    state = source.state_dict()
    state["head.extra.weight"] = paddle.zeros([2])
    paddle.save(state, str(tmp_path / "ocr.pdparams"))
    target_cfg = load_config(
        DEMO,
        {
            "Global.character_dict_path": os.path.join(PACKAGE_CONFIG_DIR, "dicts", "en_dict.txt"),
            "Global.use_space_char": True,
        },
    )
    target = build_model(target_cfg)
    report = load_pretrained(target, str(tmp_path / "ocr"))
    assert report["prefix_added"] == ""
    assert report["unexpected"] == ["head.extra.weight"]
    assert {m[0] for m in report["shape_mismatch"]} == {"head.fc.weight", "head.fc.bias"}
    assert report["missing"] == []
    assert report["loaded"] == len(state) - 3
    np.testing.assert_array_equal(target.backbone.conv1.weight.numpy(), source.backbone.conv1.weight.numpy())


def test_pretrained_bare_backbone_gets_the_backbone_prefix(tmp_path):
    config = load_config(DEMO)
    paddle.seed(4)
    source = build_model(config)
    paddle.save(source.backbone.state_dict(), str(tmp_path / "bb.pdparams"))
    paddle.seed(5)
    target = build_model(config)
    head_before = target.head.fc.weight.numpy().copy()
    report = load_pretrained(target, str(tmp_path / "bb.pdparams"))
    assert report["prefix_added"] == "backbone."
    assert report["missing"] == [] and report["unexpected"] == [] and report["shape_mismatch"] == []
    assert report["loaded"] == len(source.backbone.state_dict())
    np.testing.assert_array_equal(
        target.backbone.layer5[2].conv2.weight.numpy(), source.backbone.layer5[2].conv2.weight.numpy()
    )
    np.testing.assert_array_equal(target.head.fc.weight.numpy(), head_before)  # head untouched


def test_pretrained_with_nothing_matching_is_a_data_error(tmp_path):
    model = build_model(load_config(DEMO))
    paddle.save({"foo.weight": paddle.zeros([1])}, str(tmp_path / "foo.pdparams"))
    with pytest.raises(DataError, match="no weight of .*foo.pdparams.* matches"):
        load_pretrained(model, str(tmp_path / "foo"))
