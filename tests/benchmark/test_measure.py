"""``ppresnet45.benchmark.measure``: the job, the statistics and one backend's records."""

import json

import numpy as np
import pytest

from ppresnet45.benchmark.measure import (
    BenchmarkJob,
    full_path_summary,
    latency_stats,
    measure_backend,
    time_model,
)
from ppresnet45.errors import DataError


def _check_full_path(fp, images):
    assert fp["images"] == images and fp["failed"] == 0 and fp["batches"] >= 1
    assert fp["images_per_s"] > 0 and fp["wall_s"] > 0
    assert set(fp["ms_per_image"]) == {"preprocess", "model", "postprocess", "wall"}
    assert all(v >= 0 for v in fp["ms_per_image"].values()) and fp["ms_per_image"]["model"] > 0
    assert abs(sum(fp["split_pct"].values()) - 100.0) < 1e-6
    assert 0 < fp["path_efficiency"] <= 1.0 + 1e-9
    assert fp["vs_model_only"] > 0 and fp["model_only_same_batches_ips"] > 0
    assert fp["mean_padded_width"] >= fp["mean_content_width"] > 0


def _job(**kw):
    fields = dict(
        model_dir="/models/m",
        backend="paddle",
        precision="fp32",
        batch_sizes=[1, 8],
        warmup=1,
        iters=2,
        cpu_threads=2,
        paths=["/img/a.png", "/img/b.png"],
        nominal_paths=["/n/a.png"],
        macs_per_image=123,
    )
    fields.update(kw)
    return BenchmarkJob(**fields)


def test_records_have_sane_latency_throughput_memory_and_full_path(tiny_run):
    for r in tiny_run.report["records"]:
        lat = r["latency_ms"]
        assert 0 < lat["min"] <= lat["p50"] <= lat["p90"] <= lat["p99"]
        assert r["throughput_ips"] > 0 and r["gflops"] > 0 and r["pct_of_peak"] > 0
        assert r["input_shape"] == [r["batch_size"], 3, 32, 128]
        assert r["peak_rss_mb"] > 0 and r["rss_before_load_mb"] > 0 and r["load_s"] > 0
        assert r["cpu_threads"] == 1
        _check_full_path(r["full_path"], 4)
        _check_full_path(r["full_path_nominal"], 4)
        assert r["full_path_nominal"]["mean_content_width"] == 128.0
        assert r["full_path"]["empty_texts"] >= 0
        # GFLOP/s is 2 x multiply-adds x images/s
        macs = tiny_run.report["settings"]["macs_per_image"]
        assert r["gflops"] == pytest.approx(2.0 * macs * r["throughput_ips"] / 1e9)


def test_job_round_trips_through_json(tmp_path):
    job = _job()
    assert BenchmarkJob.from_dict(json.loads(json.dumps(job.to_dict()))) == job
    path = tmp_path / "job.json"
    job.save(str(path))
    assert BenchmarkJob.load(str(path)) == job
    assert json.loads(path.read_text(encoding="utf-8"))["batch_sizes"] == [1, 8]
    # optional fields have defaults
    assert (
        BenchmarkJob.from_dict(
            {k: v for k, v in job.to_dict().items() if k not in ("nominal_paths", "macs_per_image")}
        ).macs_per_image
        is None
    )


def test_job_from_dict_rejects_unknown_and_missing_keys():
    with pytest.raises(DataError, match="unknown keys.*'speed'"):
        BenchmarkJob.from_dict(dict(_job().to_dict(), speed=1))
    data = _job().to_dict()
    del data["backend"]
    with pytest.raises(DataError, match="backend"):
        BenchmarkJob.from_dict(data)


def test_latency_stats_are_milliseconds_in_order():
    st = latency_stats([0.004, 0.001, 0.002, 0.003])
    assert st["min"] == pytest.approx(1.0) and st["mean"] == pytest.approx(2.5)
    assert st["min"] <= st["p50"] <= st["p90"] <= st["p99"] <= 4.0


def test_time_model_calls_warmup_plus_iters_times():
    calls = []
    stats, ips = time_model(lambda x: calls.append(len(x)), np.zeros((4, 3, 8, 8), np.float32), warmup=2, iters=3)
    assert calls == [4] * 5
    assert ips == pytest.approx(4 / (stats["mean"] / 1000.0))


def test_full_path_summary_splits_time_and_compares_with_the_model():
    st = {
        "images": 10,
        "failed": 2,
        "batches": 3,
        "wall_s": 0.5,
        "images_per_s": 20.0,
        "preprocess_s": 0.1,
        "model_s": 0.2,
        "postprocess_s": 0.1,
        "content_pixels": 900,
        "padded_pixels": 1200,
        "pieces": 10,
    }
    s = full_path_summary(st, model_only_ips=50.0)
    assert s["ms_per_image"] == pytest.approx({"preprocess": 12.5, "model": 25.0, "postprocess": 12.5, "wall": 62.5})
    assert s["split_pct"] == pytest.approx({"preprocess": 25.0, "model": 50.0, "postprocess": 25.0})
    assert s["model_only_same_batches_ips"] == pytest.approx(40.0)
    assert s["path_efficiency"] == pytest.approx(0.5) and s["vs_model_only"] == pytest.approx(0.4)
    assert s["mean_content_width"] == 90.0 and s["mean_padded_width"] == 120.0
    assert full_path_summary(dict(st, model_s=0.0), 0)["path_efficiency"] is None


def test_an_unavailable_backend_is_skipped_for_every_batch_size(tiny_model_dir):
    events = []
    measure_backend(_job(model_dir=tiny_model_dir, backend="onnxruntime", batch_sizes=[1, 2]), events.append)
    assert [(e["type"], e["backend"], e["batch_size"]) for e in events] == [
        ("skip", "onnxruntime", 1),
        ("skip", "onnxruntime", 2),
    ]
    assert all("model.onnx" in e["reason"] and "\n" not in e["reason"] for e in events)
