"""Export: dygraph → inference.json/.pdiparams/.yml + model.pdparams, atomically, with weights."""

import os

import numpy as np
import paddle
import pytest
import yaml

from ppresnet45 import HEADS, ConfigError, DataError
from ppresnet45.charset import load_character_list
from ppresnet45.cli import main
from ppresnet45.data.imgproc import MEAN, SCALE, STD
from ppresnet45.export.exporter import export_inference_model
from ppresnet45.export.parity import DEFAULT_LOGIT_RTOL, DEFAULT_TOLERANCE, batch_tolerance, parity_batches
from ppresnet45.inference import InferenceSpec, create_runtime, load_inference_config
from ppresnet45.modeling.heads.ctc import CTCHead
from ppresnet45.training.components import build_model, load_weights

pytestmark = pytest.mark.slow  # training, exports or third-party clients: over ~10 s on 2 cores


def _batch(n, w, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (n, 3, 32, w)).astype(np.float32)


# ------------------------------------------------------------------ export + parity
def test_resnet45_export_round_trip_matches_eager_at_two_widths(config_path, tmp_path):
    out = tmp_path / "r45"
    report = export_inference_model(config_path, out)
    assert report["ok"] and report["dynamic_width"]
    widths = [row["input_shape"][3] for row in report["parity"]]
    assert widths == [128, 256]
    for row in report["parity"]:
        # untrained ResNet45: logits ~1e4, so the tolerance widens with them (see export.py)
        assert row["backend"] == "paddle" and row["max_abs"] <= row["tolerance"]
        assert row["tolerance"] == batch_tolerance(DEFAULT_TOLERANCE, DEFAULT_LOGIT_RTOL, row["logit_absmax"])
    assert sorted(os.listdir(out)) == sorted(
        ["inference.json", "inference.pdiparams", "inference.yml", "model.pdparams", "export_report.json"]
    )
    # the saved model reproduces the eager model rebuilt from the export
    eager = create_runtime(out, "eager")
    x = parity_batches([3, 32, 128], True)[1]
    probs = create_runtime(out, "paddle", cpu_threads=1)(x)
    assert probs.shape == (2, 64, 96)
    np.testing.assert_allclose(probs, eager(x), atol=report["parity"][1]["tolerance"])
    assert not [p for p in os.listdir(tmp_path) if p.startswith((".tmp-", ".old-"))]


def test_inference_yml_holds_what_a_predictor_needs(small_export, config_path):
    out, report = small_export
    cfg = load_inference_config(out)
    with open(out / "inference.yml", encoding="utf-8") as f:
        assert yaml.safe_load(f) == cfg
    g = cfg["Global"]
    assert "model_name" not in g  # only when the config sets one: PaddleOCR/PaddleX check it
    assert (g["model_type"], g["algorithm"], g["backbone"]) == ("rec", "CTC", "ResNet45")
    assert g["input_shape"] == [3, 32, -1] and g["dynamic_width"] is True
    assert g["image_shape"] == [3, 32, 128] and g["max_width"] == 25 * 32
    assert g["untrained"] is True and g["macs_per_image"] == report["macs_per_image"] > 0
    assert isinstance(g["ppresnet45_version"], str)
    # exactly the ops PaddleX's text recognizer accepts (its RecResizeImg implies the normalisation)
    assert cfg["PreProcess"]["transform_ops"] == [
        {"DecodeImage": {"channel_first": False, "img_mode": "BGR"}},
        {"RecResizeImg": {"image_shape": [3, 32, 128]}},
        {"KeepKeys": {"keep_keys": ["image"]}},
    ]
    norm = g["normalize"]
    assert norm["scale"] == pytest.approx(1 / 255) and norm["mean"] == [0.5] * 3 and norm["std"] == [0.5] * 3
    assert (norm["scale"], norm["mean"], norm["std"]) == (SCALE, list(MEAN), list(STD))  # the shared constants
    chars = load_character_list(config_path.parents[1] / "dicts" / "en_dict.txt", use_space_char=True)
    assert cfg["PostProcess"] == {"name": "CTCLabelDecode", "character_dict": chars}
    arch = cfg["Architecture"]
    assert arch["Backbone"]["layers"] == [1, 1, 1, 1, 1]
    assert arch["Head"] == {"name": "CTCHead", "out_channels": len(chars) + 1}
    spec = InferenceSpec.from_yaml(out)  # what every runtime reads back
    assert spec.input_shape == [3, 32, -1] and spec.max_width == report["max_width"] == 800
    assert spec.character_list == chars and spec.macs_per_image == report["macs_per_image"]


def test_failed_parity_leaves_previous_export_untouched(config_path, small_overrides, tmp_path, capsys):
    target = tmp_path / "infer"
    target.mkdir()
    (target / "inference.yml").write_text("previous export\n")
    argv = [
        "export",
        "-c",
        str(config_path),
        "-o",
        *small_overrides,
        f"Global.save_inference_dir={target}",
        "--tolerance",
        "1e-300",
        "--logit_rtol",
        "0",
    ]
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc != 0
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "parity check failed" in errors[0] and "tolerance" in errors[0]
    assert os.listdir(target) == ["inference.yml"]
    assert (target / "inference.yml").read_text() == "previous export\n"
    assert os.listdir(tmp_path) == ["infer"]  # the temporary folder is gone


def test_cli_export_replaces_previous_export(config_path, small_overrides, tmp_path, capsys):
    target = tmp_path / "infer"
    target.mkdir()
    (target / "stale.txt").write_text("old")
    rc = main(["export", "-c", str(config_path), "-o", *small_overrides, f"Global.save_inference_dir={target}"])
    out = capsys.readouterr().out
    assert rc == 0 and "dynamic width" in out and "parity vs eager (paddle)" in out
    assert "stale.txt" not in os.listdir(target) and (target / "inference.json").is_file()
    assert os.listdir(tmp_path) == ["infer"]


def test_bad_tolerance_is_a_config_error(small_config, tmp_path):
    with pytest.raises(ConfigError, match="--tolerance"):
        export_inference_model(small_config(), tmp_path / "x", tolerance=-1, check=True)


# ------------------------------------------------------------------ pretrained weights
def test_pretrained_paddleocr_checkpoint_loads_and_reports_mismatches(small_config, tmp_path, caplog):
    # A "PaddleOCR" checkpoint: backbone.* keys, a head trained with another dictionary
    # (shape mismatch), one tensor missing and one extra key.
    donor = build_model(small_config())
    state = {k: v.numpy() for k, v in donor.state_dict().items()}
    state["head.fc.weight"] = np.zeros((512, 6625), np.float32)
    state["head.fc.bias"] = np.zeros((6625,), np.float32)
    dropped = "backbone.layer5.0.bn2._variance"
    del state[dropped]
    state["neck.encoder.fc.weight"] = np.zeros((4, 4), np.float32)
    paddle.save(state, str(tmp_path / "best_accuracy.pdparams"))

    caplog.set_level("INFO")
    out = tmp_path / "infer"
    report = export_inference_model(small_config(), out, pretrained=str(tmp_path / "best_accuracy"))
    loaded = report["pretrained"]
    assert loaded["missing"] == [dropped]
    assert loaded["unexpected"] == ["neck.encoder.fc.weight"]
    assert [m[0] for m in loaded["mismatched"]] == ["head.fc.weight", "head.fc.bias"]
    assert loaded["mismatched"][0][1:] == [[512, 6625], [512, 96]]
    assert loaded["loaded"] == loaded["total"] - 3
    messages = [r.getMessage() for r in caplog.records]
    assert any("not in" in m and dropped in m for m in messages)
    assert any("not used by the model" in m and "neck.encoder.fc.weight" in m for m in messages)
    assert any("skipped head.fc.weight: shape [512, 6625]" in m for m in messages)
    assert load_inference_config(out)["Global"]["untrained"] is False
    exported = paddle.load(str(out / "model.pdparams"))
    np.testing.assert_array_equal(np.asarray(exported["backbone.conv1.weight"]), state["backbone.conv1.weight"])


def test_backbone_only_state_dict_gets_the_prefix(small_config, tmp_path):
    donor = build_model(small_config())
    paddle.save(donor.backbone.state_dict(), str(tmp_path / "bb.pdparams"))
    model = build_model(small_config())
    report = load_weights(model, str(tmp_path / "bb.pdparams"))
    assert report["key_prefix_added"] == "backbone." and report["unexpected"] == []
    assert report["missing"] == []  # a bare backbone says nothing about the head
    assert report["loaded"] == len(donor.backbone.state_dict())
    np.testing.assert_array_equal(model.backbone.conv1.weight.numpy(), donor.backbone.conv1.weight.numpy())


def test_pretrained_without_matching_keys_fails_clearly(small_config, tmp_path):
    paddle.save({"foo.weight": np.zeros((2, 2), np.float32)}, str(tmp_path / "other.pdparams"))
    model = build_model(small_config())
    with pytest.raises(DataError, match=r"Global.pretrained_model: no weight of .*other.pdparams.* matches"):
        load_weights(model, str(tmp_path / "other"))
    with pytest.raises(ConfigError, match=r"Global.pretrained_model: '.*nothere.pdparams' not found"):
        load_weights(model, str(tmp_path / "nothere"))


# ------------------------------------------------------------------ fixed-width heads
class FixedWidthCTCHeadForTests(CTCHead):
    """A CTC head that claims to need the trained width (stands in for attention heads)."""

    requires_fixed_width = True


if "FixedWidthCTCHeadForTests" not in HEADS.names():
    HEADS.register(obj=FixedWidthCTCHeadForTests)


def test_head_requiring_fixed_width_exports_a_fixed_width_model(small_config, tmp_path):
    out = tmp_path / "fixed"
    report = export_inference_model(small_config("Architecture.Head.name=FixedWidthCTCHeadForTests"), out)
    g = load_inference_config(out)["Global"]
    assert g["dynamic_width"] is False and g["input_shape"] == [3, 32, 128] and g["max_width"] == 128
    assert [r["input_shape"] for r in report["parity"]] == [[3, 3, 32, 128], [1, 3, 32, 128]]
    runtime = create_runtime(out, "paddle", cpu_threads=1)
    assert runtime(_batch(2, 128)).shape == (2, 32, 96)
    with pytest.raises(ValueError, match=r"expected input \[N, 3, 32, 128\], got \[1, 3, 32, 256\]"):
        runtime(_batch(1, 256))
