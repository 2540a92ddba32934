"""``benchmark --model_dir A B``: any mix of exports (ours, PaddleOCR's) side by side in one run."""

import json
import pathlib

import pytest

from ppresnet45.benchmark import runner
from ppresnet45.benchmark.report import format_markdown
from ppresnet45.cli import main

PPOCRV5 = pathlib.Path("/work/shared/third_party/paddleocr/exports/PP-OCRv5_mobile_rec")


@pytest.fixture
def no_peak_probe(monkeypatch):
    # the CPU's peak probe is tested in test_peak.py; here it would only add two 6-s probes
    monkeypatch.setattr(runner, "measure_peak", lambda threads, isolate=True: {"gflops": 100.0, "method": "stub"})


@pytest.mark.skipif(not (PPOCRV5 / "inference.pdiparams").is_file(), reason=f"no PaddleOCR export at {PPOCRV5}")
def test_resnet45_and_ppocrv5_side_by_side(tiny_model_dir, tmp_path, capsys, no_peak_probe):
    rc = main(
        [
            "--model_dir",
            tiny_model_dir,
            str(PPOCRV5),
            "--batch_sizes",
            "2",
            "--backends",
            "paddle",
            "--iters",
            "1",
            "--warmup",
            "0",
            "--num_images",
            "4",
            "--cpu_threads",
            "1",
            "--in_process",
            "--no_progress",
            "--output_dir",
            str(tmp_path / "out"),
        ],
        command="benchmark",
    )
    out = capsys.readouterr().out
    assert rc == 0
    report = json.loads((tmp_path / "out" / "benchmark.json").read_text(encoding="utf-8"))
    models = report["settings"]["models"]
    assert [m["model_name"] for m in models][1] == "PP-OCRv5_mobile_rec"
    assert [m["batching"] for m in models] == ["chunks", "paddleocr"]
    by_model = {r["model"]: r for r in report["records"]}
    assert set(by_model) == {m["label"] for m in models} and len(by_model) == 2
    v5 = by_model["PP-OCRv5_mobile_rec"]
    assert v5["input_shape"] == [2, 3, 48, 320] and v5["full_path"]["failed"] == 0 and v5["gflops"] is None
    for r in report["records"]:  # each model is its own reference: texts are compared within a model
        assert r["text_agreement"]["reference"] == "paddle/fp32" and r["text_agreement"]["fraction"] == 1.0
    assert "| model | backend |" in out and "| PP-OCRv5_mobile_rec | paddle | fp32 | 2 |" in out
    assert out.count("- model: ") == 2 and "– GMAC per image" in out


def test_rows_of_each_model_stay_apart():
    # each model's unique label: test_plan.py
    rows = [
        {"model": m, "backend": "paddle", "precision": "fp32", "batch_size": 1, "throughput_ips": 1.0}
        for m in ("x", "y")
    ]
    assert len(runner.best_rounds(rows)) == 2 and len(runner.unique_rows(rows)) == 2


def test_a_report_of_several_models_has_a_model_column_and_labelled_skips():
    settings = {
        "model_dir": "/a",
        "model_name": "a",
        "untrained": False,
        "image_shape": [3, 32, 128],
        "max_width": 800,
        "macs_per_image": None,
        "cpu_threads": 1,
        "warmup": 0,
        "iters": 1,
        "images": "x",
        "models": [
            {
                "model_dir": "/a",
                "model_name": "a",
                "label": "a",
                "untrained": False,
                "image_shape": [3, 32, 128],
                "max_width": 800,
                "macs_per_image": None,
            },
            {
                "model_dir": "/b",
                "model_name": "b",
                "label": "b",
                "untrained": True,
                "image_shape": [3, 48, 320],
                "max_width": 3200,
                "macs_per_image": 2e9,
            },
        ],
    }
    machine = {
        "cpu_model": "CPU",
        "usable_cpus": 1,
        "logical_cpus": 1,
        "cpu_flags": [],
        "load_average": [0, 0, 0],
        "python": "3",
        "paddlepaddle": "3",
        "onnxruntime": None,
        "openvino": None,
        "numpy": "2",
        "opencv": "5",
    }
    skipped = [{"model": "b", "backend": "onnxruntime", "precision": "fp32", "batch_size": 1, "reason": "no onnx"}]
    md = format_markdown(
        {
            "machine": machine,
            "peak": {"gflops": None, "error": "x"},
            "settings": settings,
            "records": [],
            "skipped": skipped,
            "notes": [],
        }
    )
    assert "- model: `/b` (b, untrained weights), input [3, 48, 320], max width 3200, 2.00 GMAC per image" in md
    assert "| model | backend |" in md and "- b: onnxruntime/fp32 (batch 1): no onnx" in md
    assert "stretched to exactly H×W" in md
