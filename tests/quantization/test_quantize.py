"""``ppresnet45 quantize``: int8 from a trained model, run by ``infer``, and the refusal.

The trained model is the session's overfit ResNet45 + CTC (tests/conftest.py ``overfit_ctc``),
exported with ONNX; calibration and the accuracy check use its 16 rendered lines.
"""

import json
import os
import shutil

import cv2
import numpy as np
import pytest

from ppresnet45.cli import main
from ppresnet45.export.exporter import export_inference_model
from ppresnet45.inference import BackendError, create_runtime
from ppresnet45.inference.spec import CONFIG_FILE, INT8_ONNX_FILE, InferenceSpec
from ppresnet45.quantization import QuantizationRefused, quantize_export

pytest.importorskip("onnxruntime", reason="quantize needs the onnx extra (installed by make test)")


@pytest.fixture(scope="module")
def trained_export(overfit_ctc, tmp_path_factory):
    out = tmp_path_factory.mktemp("q") / "export"
    export_inference_model(overfit_ctc["config"], str(out), pretrained=str(overfit_ctc["out"] / "best_accuracy"),
                           onnx=True, check=False)
    return out


@pytest.fixture(scope="module")
def quantized(trained_export, overfit_ctc, tmp_path_factory):
    out = tmp_path_factory.mktemp("q8") / "export"
    shutil.copytree(trained_export, out)
    report = quantize_export(str(out), calib_data=overfit_ctc["labels"], eval_data=overfit_ctc["labels"],
                             calib_num=16, eval_num=16, cpu_threads=1, log=lambda line: None)
    return out, report


def _read_rows(path):
    return [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]


def test_quantize_writes_an_int8_model_that_reads_like_fp32(quantized):
    out, report = quantized
    assert (out / INT8_ONNX_FILE).is_file()
    assert report["fp32_word_accuracy"] == 1.0  # the overfit model reads its 16 lines
    assert "onnxruntime" in report["int8"]
    for backend, r in report["int8"].items():
        assert r["drop_points"] <= 0.5, (backend, r)
        assert r["same_text_as_fp32"] >= 15, (backend, r)
    # what was done is recorded in inference.yml, which still reads as a spec
    spec = InferenceSpec.from_yaml(str(out))
    record = spec.raw["Global"]["quantization"]["int8"]
    assert record["file"] == INT8_ONNX_FILE and record["method"]["format"] == "QDQ"
    assert json.load(open(out / "quantize_report.json"))["int8"] == report["int8"]
    assert not [p for p in os.listdir(out) if p.startswith(".quantize")]  # its work folder is gone


@pytest.mark.parametrize("backend", ["onnxruntime", "openvino"])
def test_infer_runs_the_int8_model(quantized, overfit_ctc, tmp_path, backend):
    pytest.importorskip(backend if backend == "onnxruntime" else "openvino")
    out, _ = quantized
    rows_file = tmp_path / "rows.jsonl"
    rc = main(["infer", "--model_dir", str(out), "--image_dir", overfit_ctc["labels"], "--backend", backend,
               "--precision", "int8", "--cpu_threads", "1", "--no_progress", "--output", str(rows_file)])
    assert rc == 0
    rows = _read_rows(rows_file)
    assert len(rows) == 16
    assert sum(r["text"] == r["label"] for r in rows) >= 15, rows
    rt = create_runtime(str(out), backend=backend, precision="int8", cpu_threads=1)
    assert rt.info()["model_file"] == INT8_ONNX_FILE


def test_quantize_refuses_when_accuracy_drops_and_writes_nothing(trained_export, overfit_ctc, tmp_path, capsys):
    out = tmp_path / "export"
    shutil.copytree(trained_export, out)
    yml_before = (out / CONFIG_FILE).read_text()
    black = tmp_path / "black"  # calibrating on blank lines gives activation ranges that clip every line
    black.mkdir()
    for i in range(8):
        cv2.imwrite(str(black / f"{i}.png"), np.zeros((32, 64, 3), np.uint8))
    with pytest.raises(QuantizationRefused, match="no model written"):
        quantize_export(str(out), calib_data=str(black), eval_data=overfit_ctc["labels"], eval_num=16,
                        max_drop=0.5, cpu_threads=1, log=lambda line: None)
    assert not (out / INT8_ONNX_FILE).exists()
    assert (out / CONFIG_FILE).read_text() == yml_before
    assert not [p for p in os.listdir(out) if p.startswith(".quantize")]
    rc = main(["quantize", "--model_dir", str(out), "--calib_data", str(black), "--eval_data", overfit_ctc["labels"],
               "--cpu_threads", "1"])
    assert rc == 1
    assert "refused: int8 word accuracy dropped" in capsys.readouterr().out
    assert not (out / INT8_ONNX_FILE).exists()


def test_int8_needs_quantize_first_and_an_onnx_backend(trained_export):
    with pytest.raises(BackendError, match="ppresnet45 quantize"):
        create_runtime(str(trained_export), backend="onnxruntime", precision="int8")
    with pytest.raises(BackendError, match="use backend 'onnxruntime' or 'openvino'"):
        create_runtime(str(trained_export), backend="paddle", precision="int8")


def test_quantize_bad_input_is_one_line(trained_export, overfit_ctc, tmp_path, capsys):
    rc = main(["quantize", "--model_dir", str(trained_export), "--calib_data", str(tmp_path / "nope")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "nope" in err[0] and "not found" in err[0], err
    rc = main(["quantize", "--model_dir", str(trained_export), "--calib_data", overfit_ctc["labels"],
               "--eval_data", str(tmp_path)])  # a folder: no labels to score against
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "--eval_data" in err[0], err
    assert not (trained_export / INT8_ONNX_FILE).exists()


def test_quantize_converts_an_export_without_onnx_first(tiny_model_dir, tmp_path):
    """An export written without --onnx gets model.onnx (paddle2onnx) and then model_int8.onnx;
    the default calibration and held-out lines come from the renderer."""
    out = tmp_path / "export"
    shutil.copytree(tiny_model_dir, out)
    assert not (out / "model.onnx").exists()
    lines = []
    report = quantize_export(str(out), calib_num=8, eval_num=8, cpu_threads=1, log=lines.append)
    assert (out / "model.onnx").is_file() and (out / INT8_ONNX_FILE).is_file()
    assert any("paddle2onnx" in line for line in lines)
    assert report["calibration"].startswith("8 rendered lines") and report["evaluation"].startswith("8 rendered")
