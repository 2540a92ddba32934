"""Export (dygraph → inference.json/.pdiparams/.yml, ONNX) and the inference runtimes."""

import json
import os
import pathlib
import shutil

import numpy as np
import paddle
import pytest
import yaml

from ppresnet45 import HEADS, ConfigError, DataError, ModelDirError, load_config
from ppresnet45.charset import load_character_list
from ppresnet45.cli import main
from ppresnet45.export.exporter import (
    DEFAULT_LOGIT_RTOL,
    DEFAULT_TOLERANCE,
    batch_tolerance,
    export_inference_model,
    load_pretrained_weights,
    parity_batches,
)
from ppresnet45.inference import BackendError, available_backends, create_runtime, load_inference_config
from ppresnet45.modeling.heads.ctc import CTCHead
from ppresnet45.modeling.model import build_model

REPO = pathlib.Path(__file__).resolve().parents[2]
CONFIG = REPO / "configs" / "rec" / "rec_resnet45_ctc.yml"
SMALL = ["Architecture.Backbone.layers=[1,1,1,1,1]"]  # same structure as ResNet45, ~5x faster


def small_config(*extra):
    return load_config(CONFIG, SMALL + list(extra))


@pytest.fixture(scope="module")
def small_export(tmp_path_factory):
    """A small-backbone export with ONNX, shared by the read-only tests below."""
    out = tmp_path_factory.mktemp("export") / "small_infer"
    paddle.seed(0)
    report = export_inference_model(small_config(), out, onnx=True, config_path=CONFIG)
    return out, report


def _batch(n, w, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (n, 3, 32, w)).astype(np.float32)


# ------------------------------------------------------------------ export + parity
def test_resnet45_export_round_trip_matches_eager_at_two_widths(tmp_path):
    out = tmp_path / "r45"
    report = export_inference_model(CONFIG, out)
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
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".tmp-") or p.startswith(".old-")]


def test_inference_yml_holds_what_a_predictor_needs(small_export):
    out, report = small_export
    cfg = load_inference_config(out)
    with open(out / "inference.yml", encoding="utf-8") as f:
        assert yaml.safe_load(f) == cfg
    g = cfg["Global"]
    assert g["model_name"] == "rec_resnet45_ctc"
    assert (g["model_type"], g["algorithm"], g["backbone"]) == ("rec", "CTC", "ResNet45")
    assert g["input_shape"] == [3, 32, -1] and g["dynamic_width"] is True
    assert g["image_shape"] == [3, 32, 128] and g["max_width"] == 25 * 32
    assert g["untrained"] is True and g["macs_per_image"] == report["macs_per_image"] > 0
    assert isinstance(g["ppresnet45_version"], str)
    ops = [next(iter(op)) for op in cfg["PreProcess"]["transform_ops"]]
    assert ops == ["DecodeImage", "RecResizeImg", "NormalizeImage"]
    norm = cfg["PreProcess"]["transform_ops"][2]["NormalizeImage"]
    assert norm["scale"] == pytest.approx(1 / 255) and norm["mean"] == [0.5] * 3 and norm["std"] == [0.5] * 3
    chars = load_character_list(REPO / "configs" / "dicts" / "en_dict.txt", use_space_char=True)
    assert cfg["PostProcess"] == {"name": "CTCLabelDecode", "character_dict": chars}
    arch = cfg["Architecture"]
    assert arch["Backbone"]["layers"] == [1, 1, 1, 1, 1]
    assert arch["Head"] == {"name": "CTCHead", "out_channels": len(chars) + 1}


def test_export_report_json_records_parity_numbers(small_export):
    out, report = small_export
    with open(out / "export_report.json", encoding="utf-8") as f:
        saved = json.load(f)
    assert saved["ok"] is True and saved["checked"] is True
    assert saved["input_shape"] == [None, 3, 32, -1]
    assert saved["tolerance"]["max_abs"] == DEFAULT_TOLERANCE
    # the small model has trained-like logits (~10-20): the absolute tolerance decides
    assert all(r["tolerance"] == DEFAULT_TOLERANCE and 1 < r["logit_absmax"] < 100 for r in saved["parity"])
    rows = {(r["backend"], r["input_shape"][3]) for r in saved["parity"]}
    assert rows == {("paddle", 128), ("paddle", 256), ("onnxruntime", 128), ("onnxruntime", 256)}
    for row in saved["parity"]:
        assert 0 <= row["max_abs"] <= DEFAULT_TOLERANCE and row["max_rel"] >= 0 and row["argmax_agreement"] == 1.0
    assert saved["onnx"]["input"]["shape"] == [-1, 3, 32, -1]
    assert saved["config"] == str(CONFIG)


def test_failed_parity_leaves_previous_export_untouched(tmp_path, capsys):
    target = tmp_path / "infer"
    target.mkdir()
    (target / "inference.yml").write_text("previous export\n")
    argv = ["export", "-c", str(CONFIG), "-o", *SMALL, f"Global.save_inference_dir={target}", "--tolerance", "1e-300",
            "--logit_rtol", "0"]
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc != 0
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "parity check failed" in errors[0] and "tolerance" in errors[0]
    assert os.listdir(target) == ["inference.yml"]
    assert (target / "inference.yml").read_text() == "previous export\n"
    assert os.listdir(tmp_path) == ["infer"]  # the temporary folder is gone


def test_cli_export_replaces_previous_export(tmp_path, capsys):
    target = tmp_path / "infer"
    target.mkdir()
    (target / "stale.txt").write_text("old")
    rc = main(["export", "-c", str(CONFIG), "-o", *SMALL, f"Global.save_inference_dir={target}"])
    out = capsys.readouterr().out
    assert rc == 0 and "dynamic width" in out and "parity vs eager (paddle)" in out
    assert "stale.txt" not in os.listdir(target) and (target / "inference.json").is_file()
    assert os.listdir(tmp_path) == ["infer"]


def test_bad_tolerance_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="--tolerance"):
        export_inference_model(small_config(), tmp_path / "x", tolerance=-1, check=True)


# ------------------------------------------------------------------ pretrained weights
def test_pretrained_paddleocr_checkpoint_loads_and_reports_mismatches(tmp_path, caplog):
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


def test_backbone_only_state_dict_gets_the_prefix(tmp_path):
    donor = build_model(small_config())
    paddle.save(donor.backbone.state_dict(), str(tmp_path / "bb.pdparams"))
    model = build_model(small_config())
    report = load_pretrained_weights(model, str(tmp_path / "bb.pdparams"))
    assert report["key_prefix_added"] == "backbone." and report["unexpected"] == []
    assert report["missing"] == []  # a bare backbone says nothing about the head
    assert report["loaded"] == len(donor.backbone.state_dict())
    np.testing.assert_array_equal(model.backbone.conv1.weight.numpy(), donor.backbone.conv1.weight.numpy())


def test_pretrained_without_matching_keys_fails_clearly(tmp_path):
    paddle.save({"foo.weight": np.zeros((2, 2), np.float32)}, str(tmp_path / "other.pdparams"))
    model = build_model(small_config())
    with pytest.raises(DataError, match=r"Global.pretrained_model: no weight of .*other.pdparams.* matches"):
        load_pretrained_weights(model, str(tmp_path / "other"))
    with pytest.raises(ConfigError, match=r"Global.pretrained_model: '.*nothere.pdparams' not found"):
        load_pretrained_weights(model, str(tmp_path / "nothere"))


# ------------------------------------------------------------------ fixed-width heads
class FixedWidthCTCHeadForTests(CTCHead):
    """A CTC head that claims to need the trained width (stands in for attention heads)."""

    requires_fixed_width = True


if "FixedWidthCTCHeadForTests" not in HEADS.names():
    HEADS.register(obj=FixedWidthCTCHeadForTests)


def test_head_requiring_fixed_width_exports_a_fixed_width_model(tmp_path):
    out = tmp_path / "fixed"
    report = export_inference_model(small_config("Architecture.Head.name=FixedWidthCTCHeadForTests"), out)
    g = load_inference_config(out)["Global"]
    assert g["dynamic_width"] is False and g["input_shape"] == [3, 32, 128] and g["max_width"] == 128
    assert [r["input_shape"] for r in report["parity"]] == [[3, 3, 32, 128], [1, 3, 32, 128]]
    runtime = create_runtime(out, "paddle", cpu_threads=1)
    assert runtime(_batch(2, 128)).shape == (2, 32, 96)
    with pytest.raises(ValueError, match=r"expected input \[N, 3, 32, 128\], got \[1, 3, 32, 256\]"):
        runtime(_batch(1, 256))


# ------------------------------------------------------------------ runtimes
def _shapes_round_trip(runtime, eager):
    """Changing batch and width between calls; the first shape again gives the same answer."""
    outs = []
    for n, w in [(2, 128), (1, 64), (3, 200), (2, 128)]:
        x = _batch(n, w, seed=w)
        y = runtime(x)
        assert y.shape == (n, w // 4, 96) and y.dtype == np.float32
        np.testing.assert_allclose(y, eager(x), atol=DEFAULT_TOLERANCE)
        outs.append(y)
    np.testing.assert_array_equal(outs[0], outs[-1])


@pytest.mark.parametrize("backend", ["paddle", "paddle-nomkl", "onnxruntime"])
def test_backends_accept_changing_shapes_and_match_eager(small_export, backend):
    out, _ = small_export
    eager = create_runtime(out, "eager")
    runtime = create_runtime(out, backend, cpu_threads=1)
    assert runtime.backend == backend and runtime.precision == "fp32" and runtime.input_name == "x"
    _shapes_round_trip(runtime, eager)


def test_openvino_backend_output_close_to_paddle(small_export):
    pytest.importorskip("openvino")
    out, _ = small_export
    runtime = create_runtime(out, "openvino", cpu_threads=1)
    assert runtime.info()["effective_precision"] == "f32"  # asked for explicitly, not a silent bf16
    paddle_rt = create_runtime(out, "paddle", cpu_threads=1)
    _shapes_round_trip(runtime, paddle_rt)


def test_paddle_bf16_runs_when_the_cpu_supports_it(small_export):
    from paddle.base import core

    out, _ = small_export
    if not core.supports_bfloat16():
        with pytest.raises(BackendError, match="bf16"):
            create_runtime(out, "paddle", precision="bf16")
        return
    runtime = create_runtime(out, "paddle", precision="bf16", cpu_threads=1)
    y = runtime(_batch(2, 128))
    assert runtime.precision == "bf16" and y.shape == (2, 32, 96) and np.isfinite(y).all()
    np.testing.assert_allclose(y.sum(-1), 1.0, atol=2e-2)  # still probabilities


def test_unsupported_precisions_are_clear_errors(small_export):
    out, _ = small_export
    with pytest.raises(BackendError, match="onnxruntime.*bf16"):
        create_runtime(out, "onnxruntime", precision="bf16")
    with pytest.raises(BackendError, match="paddle-nomkl.*oneDNN"):
        create_runtime(out, "paddle-nomkl", precision="bf16")
    with pytest.raises(BackendError, match="precision: expected one of fp32, bf16"):
        create_runtime(out, "paddle", precision="fp16")
    with pytest.raises(BackendError, match="backend: expected one of"):
        create_runtime(out, "tensorrt")
    if not paddle.is_compiled_with_cuda():
        with pytest.raises(BackendError, match="CUDA"):
            create_runtime(out, "paddle", use_gpu=True)


def test_available_backends(small_export, tmp_path):
    out, _ = small_export
    here = available_backends()
    assert {"paddle", "paddle-nomkl", "eager", "onnxruntime"} <= set(here)
    assert set(here) <= {"paddle", "paddle-nomkl", "onnxruntime", "openvino", "eager"}
    assert "onnxruntime" in available_backends(out)
    no_onnx = tmp_path / "no_onnx"
    shutil.copytree(out, no_onnx, ignore=shutil.ignore_patterns("model.onnx"))
    assert "onnxruntime" not in available_backends(no_onnx) and "openvino" not in available_backends(no_onnx)


# ------------------------------------------------------------------ bad model dirs
def test_missing_or_incomplete_model_dir_names_the_missing_file(small_export, tmp_path):
    out, _ = small_export
    with pytest.raises(ModelDirError, match=r"model dir '.*nowhere' not found"):
        load_inference_config(tmp_path / "nowhere")
    for name in ("inference.yml", "inference.json", "inference.pdiparams"):
        broken = tmp_path / f"no_{name}"
        shutil.copytree(out, broken, ignore=shutil.ignore_patterns(name, "model.onnx"))
        with pytest.raises(ModelDirError, match=rf"{name} missing"):
            create_runtime(broken, "paddle")
    with pytest.raises(ModelDirError, match=r"model.onnx missing .*run export with --onnx"):
        create_runtime(_copy_without(out, tmp_path, "model.onnx"), "onnxruntime")


def _copy_without(src, tmp_path, name):
    dst = tmp_path / f"without_{name}"
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns(name))
    return dst


def test_malformed_inference_yml_is_a_one_line_error(small_export, tmp_path):
    out, _ = small_export
    bad = _copy_without(out, tmp_path, "model.onnx")
    (bad / "inference.yml").write_text("Global: [unclosed\n")
    with pytest.raises(ModelDirError, match=r"inference.yml:\d+: YAML syntax error") as info:
        load_inference_config(bad)
    assert "\n" not in str(info.value)
    (bad / "inference.yml").write_text("Global: {image_shape: [3, 32, 128]}\n")
    with pytest.raises(ModelDirError, match=r"inference.yml: Global.input_shape: expected \[C, H, W\]"):
        load_inference_config(bad)
    eager_dir = _copy_without(out, tmp_path, "model.pdparams")
    with pytest.raises(ModelDirError, match="model.pdparams missing"):
        create_runtime(eager_dir, "eager")
