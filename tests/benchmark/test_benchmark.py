"""``ppresnet45 benchmark``: the report's schema on a tiny run, skipped combinations, the CLI."""

import json
import os

import pytest

from ppresnet45.cli import main
from ppresnet45.benchmark.core import run_benchmark


@pytest.fixture
def model_dir(tiny_model_dir):
    return tiny_model_dir


def _check_full_path(fp, images):
    assert fp["images"] == images and fp["failed"] == 0 and fp["batches"] >= 1
    assert fp["images_per_s"] > 0 and fp["wall_s"] > 0
    assert set(fp["ms_per_image"]) == {"preprocess", "model", "postprocess", "wall"}
    assert all(v >= 0 for v in fp["ms_per_image"].values()) and fp["ms_per_image"]["model"] > 0
    assert abs(sum(fp["split_pct"].values()) - 100.0) < 1e-6
    assert 0 < fp["path_efficiency"] <= 1.0 + 1e-9
    assert fp["vs_model_only"] > 0 and fp["model_only_same_batches_ips"] > 0
    assert fp["mean_padded_width"] >= fp["mean_content_width"] > 0


def test_tiny_benchmark_report_has_every_field_and_sane_values(model_dir, tmp_path):
    out = tmp_path / "bench"
    report = run_benchmark(model_dir, batch_sizes=(1, 2), backends=["paddle", "onnxruntime"], warmup=1, iters=2,
                           output_dir=str(out), cpu_threads=1, num_images=4, progress=False)

    assert set(report) >= {"machine", "peak", "settings", "records", "skipped", "notes", "outputs"}
    machine = report["machine"]
    for key in ("cpu_model", "cpu_flags", "logical_cpus", "usable_cpus", "python", "paddlepaddle", "numpy"):
        assert key in machine
    assert report["peak"]["gflops"] > 0 and "matmul" in report["peak"]["method"]
    assert report["settings"]["macs_per_image"] > 0 and report["settings"]["num_images"] == 4

    records = report["records"]
    assert [(r["backend"], r["precision"], r["batch_size"]) for r in records] == [("paddle", "fp32", 1),
                                                                                   ("paddle", "fp32", 2)]
    for r in records:
        lat = r["latency_ms"]
        assert 0 < lat["min"] <= lat["p50"] <= lat["p90"] <= lat["p99"]
        assert r["throughput_ips"] > 0 and r["gflops"] > 0 and r["pct_of_peak"] > 0
        assert r["input_shape"] == [r["batch_size"], 3, 32, 128]
        assert r["peak_rss_mb"] > 0 and r["rss_before_load_mb"] > 0 and r["load_s"] > 0
        assert r["cpu_threads"] == 1
        _check_full_path(r["full_path"], 4)
        _check_full_path(r["full_path_nominal"], 4)
        assert r["full_path_nominal"]["mean_content_width"] == 128.0
        # paddle/fp32 is its own reference for decoded-text agreement; raw texts are not kept
        assert r["text_agreement"]["reference"] == "paddle/fp32"
        assert r["text_agreement"]["fraction"] == 1.0 and r["text_agreement"]["images"] == 4
        assert "texts" not in r["full_path"]
    # onnxruntime is installed but this export has no model.onnx: skipped with the reason
    assert {(s["backend"], s["batch_size"]) for s in report["skipped"]} == {("onnxruntime", 1), ("onnxruntime", 2)}
    assert all("model.onnx" in s["reason"] for s in report["skipped"])

    on_disk = json.loads((out / "benchmark.json").read_text(encoding="utf-8"))
    assert on_disk["records"] == records
    md = (out / "benchmark.md").read_text(encoding="utf-8")
    assert md.count("| paddle | fp32 |") == 2 and "onnxruntime/fp32" in md
    assert (out / "benchmark.png").stat().st_size > 1000
    assert not [p for p in os.listdir(out) if p.startswith(".tmp")]


def test_benchmark_cli_prints_the_table_and_rejects_a_bad_model_dir(model_dir, tmp_path, capsys):
    images = tmp_path / "lines"
    from ppresnet45.data.synth import render_dataset

    label_file = render_dataset(str(images), 3, seed=1, show_progress=False)
    rc = main(["--model_dir", model_dir, "--image_dir", label_file, "--batch_sizes", "2", "--backends", "eager",
               "--iters", "1", "--warmup", "0", "--cpu_threads", "1", "--in_process", "--no_progress",
               "--rounds", "2", "--output_dir", str(tmp_path / "out")], command="benchmark")
    captured = capsys.readouterr()
    assert rc == 0
    assert captured.out.count("| eager | fp32 | 2 |") == 1 and "isolate=False" in captured.out
    assert "best of 2 interleaved rounds" in captured.out
    (record,) = json.loads((tmp_path / "out" / "benchmark.json").read_text(encoding="utf-8"))["records"]
    assert len(record["throughput_rounds"]) == 2 and record["throughput_ips"] == max(record["throughput_rounds"])

    rc = main(["--model_dir", str(tmp_path / "missing"), "--output_dir", str(tmp_path / "out2")], command="benchmark")
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("error: model dir")
