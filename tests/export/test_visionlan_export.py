"""VisionLAN export: PaddleOCR's config unchanged -> a fixed-size model with both outputs
(text logits, features), parity on the softmax of the logits, ONNX with both outputs."""

import json

import cv2
import numpy as np
import onnx
import pytest
import yaml
from family_configs import CHARS, SHARED_MISSING, config_file

from ppresnet45.cli import main
from ppresnet45.data.synth import render_line
from ppresnet45.export.parity import parity_batches
from ppresnet45.inference import InferenceSpec, create_runtime
from ppresnet45.modeling.decoders.base import softmax

pytestmark = pytest.mark.slow  # training, exports or third-party clients: over ~10 s on 2 cores


def test_paddleocr_config_exports_unchanged_and_infers(tmp_path, capsys):
    if config_file("visionlan") is None:
        pytest.skip(SHARED_MISSING)
    out = tmp_path / "visionlan"
    # untrained weights at full size: see test_abinet_export.py for the wider tolerance
    rc = main(
        ["export", "-c", str(config_file("visionlan")), "-o", f"Global.save_inference_dir={out}", "--tolerance", "1e-2"]
    )
    assert rc == 0 and "fixed width 256" in capsys.readouterr().out
    report = json.loads((out / "export_report.json").read_text())
    assert report["ok"] and report["input_shape"] == [None, 3, 64, 256]
    assert [r["input_shape"] for r in report["parity"]] == [[3, 3, 64, 256], [1, 3, 64, 256]]
    cv2.imwrite(str(tmp_path / "line.png"), render_line("VisionLAN", np.random.default_rng(1), height=64))
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
    row = json.loads(capsys.readouterr().out.splitlines()[0])
    assert rc == 0 and isinstance(row["text"], str) and 0 < row["score"] <= 1


def test_export_keeps_both_outputs_and_the_batch_dynamic(family_exports):
    out, report = family_exports["visionlan"]
    assert report["ok"] and report["input_shape"] == [None, 3, 64, 256]
    x = parity_batches([3, 64, 256], False, InferenceSpec.from_yaml(out))[0]  # 3 lines
    for backend in ("paddle", "onnxruntime", "eager"):
        runtime = create_runtime(out, backend, cpu_threads=1)
        logits, features = runtime.run_all(x)
        assert logits.shape == (26, 3, 37) and features.shape == (3, 256, 32), backend  # time-major logits
        np.testing.assert_array_equal(runtime(x), logits)  # the text output is the first one
    graph = onnx.load(str(out / "model.onnx"), load_external_data=False).graph
    assert len(graph.output) == 2
    assert report["onnx"]["input"]["shape"] == [-1, 3, 64, 256]
    assert report["onnx"]["outputs"] == [o.name for o in graph.output]


def test_parity_compares_the_softmax_of_the_logits_at_two_batch_sizes(family_exports):
    out, report = family_exports["visionlan"]
    rows = [(r["backend"], r["input_shape"][0]) for r in report["parity"]]
    assert rows == [("paddle", 3), ("paddle", 1), ("onnxruntime", 3), ("onnxruntime", 1)]
    assert all(r["ok"] for r in report["parity"])
    x = parity_batches([3, 64, 256], False, InferenceSpec.from_yaml(out))[1]
    probs = softmax(create_runtime(out, "paddle", cpu_threads=1)(x), axis=-1).transpose(1, 0, 2)
    assert probs.shape == (1, 26, 37)
    np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-5)


def test_inference_yml_speaks_paddleocr(family_exports):
    out, _ = family_exports["visionlan"]
    with open(out / "inference.yml", encoding="utf-8") as f:
        cfg = yaml.safe_load(f)
    ops = cfg["PreProcess"]["transform_ops"]
    assert [next(iter(op)) for op in ops] == ["DecodeImage", "VLRecResizeImg", "KeepKeys"]
    assert ops[0]["DecodeImage"]["img_mode"] == "RGB" and ops[1]["VLRecResizeImg"] == {"image_shape": [3, 64, 256]}
    assert cfg["PostProcess"] == {"name": "VLLabelDecode", "character_dict": CHARS}
    g = cfg["Global"]
    assert "model_name" not in g and g["input_shape"] == [3, 64, 256] and g["dynamic_width"] is False
    assert g["normalize"] == {"scale": pytest.approx(1 / 255), "mean": [0.0] * 3, "std": [1.0] * 3}
    assert g["channel_order"] == "RGB" and g["algorithm"] == "VisionLAN"
