"""ABINet export: PaddleOCR's config unchanged -> a fixed-size Paddle 3 model that runs on
oneDNN, ONNX parity, and an inference.yml in PaddleOCR's vocabulary."""

import json

import cv2
import numpy as np
import onnx
import pytest
import yaml
from family_configs import CHARS, SHARED_MISSING, config_file, family_config

from ppresnet45.cli import main
from ppresnet45.data.abinet_transforms import IMAGENET_MEAN, IMAGENET_STD
from ppresnet45.data.synth import render_line
from ppresnet45.export.exporter import export_inference_model
from ppresnet45.export.parity import parity_batches
from ppresnet45.inference import InferenceSpec, create_runtime

pytestmark = pytest.mark.slow  # training, exports or third-party clients: over ~10 s on 2 cores


def _yml(folder):
    with open(folder / "inference.yml", encoding="utf-8") as f:
        return yaml.safe_load(f)


def test_paddleocr_config_exports_unchanged_and_infers_with_onednn(tmp_path, capsys):
    if config_file("abinet") is None:
        pytest.skip(SHARED_MISSING)
    out = tmp_path / "abinet"
    # Untrained weights at full size: near-tied attention may be decided differently by FP32
    # rounding (see ppresnet45.export.parity), so the tolerance is wider than for trained weights.
    rc = main(
        [
            "export",
            "-c",
            str(config_file("abinet")),
            "-o",
            "Global.pretrained_model=",
            f"Global.save_inference_dir={out}",
            "--tolerance",
            "1e-2",
        ]
    )
    assert rc == 0 and "fixed width 128" in capsys.readouterr().out
    report = json.loads((out / "export_report.json").read_text())
    assert report["input_shape"] == [None, 3, 32, 128] and report["ok"] and report["untrained"]
    assert "model_name" not in yaml.safe_load((out / "inference.yml").read_text())["Global"]
    assert [r["input_shape"] for r in report["parity"]] == [[3, 3, 32, 128], [1, 3, 32, 128]]  # two batch sizes
    # the default backend is Paddle Inference with oneDNN: the full model (3 language rounds) runs on it
    cv2.imwrite(str(tmp_path / "line.png"), render_line("ResNet45", np.random.default_rng(0), height=32))
    rc = main(
        [
            "infer",
            "--model_dir",
            str(out),
            "--image_dir",
            str(tmp_path / "line.png"),
            "--no_progress",
            "--cpu_threads",
            "1",
        ]
    )
    captured = capsys.readouterr()
    row = json.loads(captured.out.splitlines()[0])
    assert rc == 0 and isinstance(row["text"], str) and 0 <= row["score"] <= 1
    assert "paddle/fp32" in captured.err


def test_small_export_is_fixed_size_with_onnx_parity_at_two_batch_sizes(family_exports):
    _out, report = family_exports["abinet"]
    assert report["ok"] and not report["dynamic_width"] and report["input_shape"] == [None, 3, 32, 128]
    rows = [(r["backend"], r["input_shape"]) for r in report["parity"]]
    assert rows == [(b, s) for b in ("paddle", "onnxruntime") for s in ([3, 3, 32, 128], [1, 3, 32, 128])]
    assert all(r["ok"] and r["max_abs"] <= r["tolerance"] for r in report["parity"])
    assert report["onnx"]["input"] == {"name": "x", "shape": [-1, 3, 32, 128]}  # the batch stays dynamic
    assert report["macs_per_image"] > 0


def test_inference_yml_speaks_paddleocr_and_keeps_our_keys_in_global(family_exports):
    out, report = family_exports["abinet"]
    cfg = _yml(out)
    ops = cfg["PreProcess"]["transform_ops"]
    assert [next(iter(op)) for op in ops] == ["DecodeImage", "ABINetRecResizeImg", "KeepKeys"]
    assert ops[0]["DecodeImage"]["img_mode"] == "RGB" and ops[1]["ABINetRecResizeImg"] == {"image_shape": [3, 32, 128]}
    assert cfg["PostProcess"] == {"name": "ABINetLabelDecode", "character_dict": CHARS}  # no </s>
    g = cfg["Global"]
    assert "model_name" not in g  # PaddleOCR's predict_rec rejects names outside its own list
    assert g["input_shape"] == [3, 32, 128] and g["dynamic_width"] is False and g["max_width"] == 128
    assert g["channel_order"] == "RGB" and g["algorithm"] == "ABINet"
    assert g["normalize"]["mean"] == pytest.approx(list(IMAGENET_MEAN))
    assert g["normalize"]["std"] == pytest.approx(list(IMAGENET_STD))
    assert g["macs_per_image"] == report["macs_per_image"]
    assert cfg["Architecture"]["Head"]["name"] == "ABINetHead"
    spec = InferenceSpec.from_yaml(out)
    assert (spec.resize_op, spec.img_mode, spec.padding, spec.chunking) == ("ABINetRecResizeImg", "RGB", False, False)


def test_global_model_name_is_written_when_the_config_sets_it(tmp_path):
    config = family_config("abinet")
    config["Global"]["model_name"] = "my_abinet"  # as a config file may set it
    export_inference_model(config, tmp_path / "named", check=False)
    assert _yml(tmp_path / "named")["Global"]["model_name"] == "my_abinet"


def test_onednn_runs_the_export_and_the_program_has_no_nearest_interp(family_exports):
    """Regression: nn.Upsample's nearest_interp carries a float64 scale list that Paddle
    Inference's oneDNN executor cannot convert (ConvertPirAttribute2RuntimeAttribute)."""
    out, _ = family_exports["abinet"]
    assert "nearest_interp" not in (out / "inference.json").read_text(encoding="utf-8")
    x = parity_batches([3, 32, 128], False, InferenceSpec.from_yaml(out))[0]
    onednn = create_runtime(out, "paddle", cpu_threads=1)
    assert onednn.use_onednn
    np.testing.assert_allclose(onednn(x), create_runtime(out, "eager")(x), atol=1e-5)


def test_onnx_graph_input_is_fixed_but_for_the_batch(family_exports):
    out, _ = family_exports["abinet"]
    graph = onnx.load(str(out / "model.onnx"), load_external_data=False).graph
    batch, *rest = graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in rest] == [3, 32, 128] and batch.dim_value <= 0  # a named (dynamic) batch
    assert len(graph.output) == 1
