"""``ppresnet45.benchmark.report``: text agreement, Markdown, JSON and the plot."""

import json
import os
import sys

from ppresnet45.benchmark.report import (
    TABLE_COLUMNS,
    add_text_agreement,
    format_markdown,
    write_reports,
)


def _record(backend, precision, bs, texts):
    return {"backend": backend, "precision": precision, "batch_size": bs, "full_path": {"texts": texts}}


def _report(records=(), skipped=(), notes=()):
    machine = {
        "cpu_model": "CPU X",
        "usable_cpus": 2,
        "logical_cpus": 4,
        "cpu_flags": ["avx2"],
        "load_average": [0.5, 0.4, 0.3],
        "python": "3.11",
        "paddlepaddle": "3.3.1",
        "onnxruntime": None,
        "openvino": None,
        "numpy": "2.0",
        "opencv": "4.10",
    }
    settings = {
        "model_dir": "/m",
        "model_name": "tiny",
        "untrained": True,
        "image_shape": [3, 32, 128],
        "max_width": 800,
        "macs_per_image": 2.5e8,
        "cpu_threads": 2,
        "warmup": 1,
        "iters": 2,
        "rounds": 3,
        "images": "4 images",
    }
    return {
        "machine": machine,
        "peak": {"gflops": None, "error": "peak probe failed: x"},
        "settings": settings,
        "records": list(records),
        "skipped": list(skipped),
        "notes": list(notes),
        "outputs": {},
    }


def test_tiny_run_writes_json_markdown_and_png_atomically(tiny_run):
    report, out = tiny_run.report, tiny_run.out
    on_disk = json.loads((out / "benchmark.json").read_text(encoding="utf-8"))
    assert on_disk["records"] == report["records"]
    md = (out / "benchmark.md").read_text(encoding="utf-8")
    assert md.count("| paddle | fp32 |") == 2 and "onnxruntime/fp32" in md
    assert (out / "benchmark.png").stat().st_size > 1000
    assert not [p for p in os.listdir(out) if p.startswith(".tmp")]
    assert report["outputs"] == {
        "png": str(out / "benchmark.png"),
        "json": str(out / "benchmark.json"),
        "markdown": str(out / "benchmark.md"),
    }
    assert on_disk["outputs"] == report["outputs"]


def test_text_agreement_compares_with_paddle_fp32_at_the_same_batch_size():
    ref = _record("paddle", "fp32", 8, ["a", "b", "c", "d"])
    ort = _record("onnxruntime", "fp32", 8, ["a", "b", "x", None])
    bf16 = _record("paddle", "bf16", 8, ["a", "y", "c", "d"])
    short = _record("openvino", "fp32", 8, ["a"])
    alone = _record("openvino", "bf16", 1, ["a"])  # no fp32 row at batch 1
    add_text_agreement([ort, ref, bf16, short, alone])
    assert ref["text_agreement"] == {"reference": "paddle/fp32", "images": 4, "same_text": 4, "fraction": 1.0}
    assert ort["text_agreement"] == {"reference": "paddle/fp32", "images": 3, "same_text": 2, "fraction": 2 / 3}
    assert bf16["text_agreement"]["fraction"] == 0.75
    assert short["text_agreement"] is None and alone["text_agreement"] is None
    assert all("texts" not in r["full_path"] for r in (ref, ort, bf16, short, alone))


def test_text_agreement_falls_back_to_the_first_fp32_row():
    ort = _record("onnxruntime", "fp32", 2, ["a", "b"])
    ov = _record("openvino", "bf16", 2, ["a", "c"])
    add_text_agreement([ort, ov])
    assert ov["text_agreement"]["reference"] == "onnxruntime/fp32" and ov["text_agreement"]["fraction"] == 0.5


def test_markdown_without_records_lists_skips_and_notes():
    skipped = [
        {"backend": "onnxruntime", "precision": "fp32", "batch_size": bs, "reason": "no model.onnx"} for bs in (1, 8)
    ] + [{"backend": "paddle", "precision": "bf16", "batch_size": 1, "reason": "no bf16"}]
    md = format_markdown(_report(skipped=skipped, notes=["a note"]))
    assert md.startswith("# ppresnet45 benchmark\n")
    assert "tiny, untrained weights" in md and "0.25 GMAC per image" in md
    assert "CPU X (2 usable of 4 logical; avx2)" in md and "best of 3 interleaved rounds" in md
    assert "FP32 peak: – GFLOP/s by peak probe failed: x" in md
    assert "stretched to exactly 32×128" in md and "full img/s @128" in md
    (empty,) = [ln for ln in md.splitlines() if "(no measurements)" in ln]
    header = next(ln for ln in md.splitlines() if ln.startswith("| backend |"))
    assert empty.count("|") == header.count("|") == TABLE_COLUMNS + 1
    assert "- onnxruntime/fp32 (batch 1, 8): no model.onnx" in md and "- paddle/bf16 (batch 1): no bf16" in md
    assert md.endswith("Notes:\n\n- a note\n")


def test_without_matplotlib_the_plot_is_skipped_with_a_note(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` raise ImportError
    report = _report()
    write_reports(report, str(tmp_path / "out"))
    assert set(report["outputs"]) == {"json", "markdown"} and not (tmp_path / "out" / "benchmark.png").exists()
    assert report["notes"] == ["matplotlib is not installed: benchmark.png skipped"]
    assert "benchmark.png skipped" in (tmp_path / "out" / "benchmark.md").read_text(encoding="utf-8")
    assert json.loads((tmp_path / "out" / "benchmark.json").read_text(encoding="utf-8"))["notes"] == report["notes"]
