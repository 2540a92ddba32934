"""``ppresnet45.benchmark.runner``: the whole run, the worker protocol, rounds and defaults."""

import inspect
import os

import pytest

from ppresnet45.benchmark import runner
from ppresnet45.benchmark.measure import BenchmarkJob
from ppresnet45.benchmark.runner import (
    best_rounds,
    run_benchmark,
    run_isolated,
    unique_rows,
)
from ppresnet45.errors import DataError
from ppresnet45.utils.cpu import available_cores


def _job(model_dir, **kw):
    fields = dict(
        model_dir=model_dir,
        backend="onnxruntime",
        precision="fp32",
        batch_sizes=[1, 2],
        warmup=0,
        iters=1,
        cpu_threads=1,
        paths=[],
        nominal_paths=[],
        macs_per_image=None,
    )
    fields.update(kw)
    return BenchmarkJob(**fields)


def test_tiny_benchmark_report_has_every_field_and_sane_values(tiny_run):
    report = tiny_run.report
    assert set(report) >= {"machine", "peak", "settings", "records", "skipped", "notes", "outputs"}
    assert report["settings"]["macs_per_image"] > 0 and report["settings"]["num_images"] == 4
    assert report["settings"]["model_dir"] == os.path.abspath(tiny_run.model_dir)
    assert report["settings"]["cpu_threads"] == 1 and report["settings"]["isolate"] is True

    records = report["records"]
    assert [(r["backend"], r["precision"], r["batch_size"]) for r in records] == [
        ("paddle", "fp32", 1),
        ("paddle", "fp32", 2),
    ]
    for r in records:
        # paddle/fp32 is its own reference for decoded-text agreement; raw texts are not kept
        assert r["text_agreement"]["reference"] == "paddle/fp32"
        assert r["text_agreement"]["fraction"] == 1.0 and r["text_agreement"]["images"] == 4
        assert "texts" not in r["full_path"]
        assert r["throughput_rounds"] == [r["throughput_ips"]]
    # onnxruntime is installed but this export has no model.onnx: skipped with the reason
    assert {(s["backend"], s["batch_size"]) for s in report["skipped"]} == {("onnxruntime", 1), ("onnxruntime", 2)}
    assert all("model.onnx" in s["reason"] for s in report["skipped"])


def test_a_job_round_trips_through_the_worker_protocol(tiny_model_dir, tmp_path):
    # The worker reads the job from its file and measures it: an export without model.onnx
    # makes it report a skip per batch size, so what comes back shows what it read.
    job = _job(tiny_model_dir, batch_sizes=[3, 1])
    events = []
    run_isolated(job, events.append, str(tmp_path))
    assert BenchmarkJob.load(str(tmp_path / "job-onnxruntime-fp32.json")) == job
    assert [(e["type"], e["backend"], e["precision"], e["batch_size"]) for e in events] == [
        ("skip", "onnxruntime", "fp32", 3),
        ("skip", "onnxruntime", "fp32", 1),
    ]
    assert all("model.onnx" in e["reason"] for e in events)


def test_a_crashing_worker_loses_only_its_own_rows(tiny_model_dir, tmp_path):
    # eager loads, then no image is readable: the worker dies with a DataError
    job = _job(tiny_model_dir, backend="eager", paths=[str(tmp_path / "missing.png")])
    events = []
    run_isolated(job, events.append, str(tmp_path))
    assert [e["batch_size"] for e in events] == [1, 2]
    assert all(e["type"] == "skip" and e["reason"].startswith("worker exited with code 1: ") for e in events)
    assert "no readable benchmark image" in events[0]["reason"]


def test_best_rounds_keeps_the_fastest_round_of_each_row():
    rows = [
        {"backend": "a", "precision": "fp32", "batch_size": 1, "throughput_ips": 10.0, "round": 0},
        {"backend": "b", "precision": "fp32", "batch_size": 1, "throughput_ips": 5.0, "round": 0},
        {"backend": "a", "precision": "fp32", "batch_size": 1, "throughput_ips": 12.0, "round": 1},
        {"backend": "b", "precision": "fp32", "batch_size": 1, "throughput_ips": 4.0, "round": 1},
    ]
    best = best_rounds(rows)
    assert [(r["backend"], r["round"], r["throughput_rounds"]) for r in best] == [
        ("a", 1, [10.0, 12.0]),
        ("b", 0, [5.0, 4.0]),
    ]
    assert "throughput_rounds" not in rows[0]


def test_unique_rows_keeps_the_first_of_each_row():
    rows = [
        {"backend": "a", "precision": "fp32", "batch_size": 1, "reason": "first"},
        {"backend": "a", "precision": "fp32", "batch_size": 1, "reason": "second"},
        {"backend": "a", "precision": "bf16", "batch_size": 1, "reason": "other"},
    ]
    assert [r["reason"] for r in unique_rows(rows)] == ["first", "other"]


def test_cpu_threads_defaults_to_the_usable_cores(tiny_model_dir, monkeypatch):
    assert inspect.signature(run_benchmark).parameters["cpu_threads"].default is None
    probes = []
    monkeypatch.setattr(
        runner, "measure_peak", lambda threads, isolate: probes.append(threads) or {"gflops": 1e6, "method": "fake"}
    )
    report = run_benchmark(
        tiny_model_dir,
        batch_sizes=(1,),
        backends=["eager"],
        warmup=0,
        iters=1,
        num_images=2,
        isolate=False,
        progress=False,
    )
    assert report["settings"]["cpu_threads"] == available_cores()
    assert probes == [available_cores()] * 2
    (record,) = report["records"]
    assert record["cpu_threads"] == available_cores()
    assert report["settings"]["images"].startswith("2 generated text lines")
    assert report["outputs"] == {} and "isolate=False" in " ".join(report["notes"])


def test_bad_arguments_are_rejected_before_any_work(tiny_model_dir):
    # each check itself: test_plan.py; here that run_benchmark makes them before it starts
    with pytest.raises(DataError, match="batch_sizes"):
        run_benchmark(tiny_model_dir, progress=False, batch_sizes=[0])
    with pytest.raises(DataError, match="model_dir: expected one or more"):
        run_benchmark([], progress=False)
