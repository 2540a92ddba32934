"""``ppresnet45.benchmark.plan``: argument checks, each model's settings and label, the jobs and skips."""

import os

import pytest

from ppresnet45.benchmark.inputs import benchmark_images
from ppresnet45.benchmark.plan import (
    check_arguments,
    label_models,
    model_settings,
    plan_all,
    plan_jobs,
    skip_reason,
)
from ppresnet45.errors import DataError
from ppresnet45.inference.runtime_base import BF16_NEEDS
from ppresnet45.inference.spec import InferenceSpec
from ppresnet45.utils.cpu import cpu_description, cpu_has_bf16

COUNTS = ("num_images", "cpu_threads", "iters", "rounds")


def _check(**kwargs):
    """:func:`check_arguments` with ``run_benchmark``'s defaults for what ``kwargs`` leaves out."""
    counts = {"num_images": 64, "cpu_threads": 2, "iters": 10, "rounds": 1}
    counts.update({k: kwargs.pop(k) for k in COUNTS if k in kwargs})
    args = {"batch_sizes": (1, 8, 32), "backends": (), "precisions": ("fp32",), "warmup": 3}
    return check_arguments(counts=counts, **{**args, **kwargs})


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"batch_sizes": [0]}, "batch_sizes"),
        ({"batch_sizes": []}, "batch_sizes"),
        ({"iters": 0}, "num_images/cpu_threads/iters/rounds"),
        ({"cpu_threads": True}, "num_images/cpu_threads/iters/rounds"),
        ({"warmup": -1}, "warmup"),
        ({"precisions": ["fp16"]}, "precision"),
        ({"backends": ["tensorrt"]}, "unknown backend 'tensorrt'"),
    ],
)
def test_bad_arguments_are_one_line_errors_naming_the_argument(kwargs, message):
    with pytest.raises(DataError, match=message) as err:
        _check(**kwargs)
    assert "\n" not in str(err.value)


def test_good_arguments_come_back_as_lists():
    sizes, backends, precisions = _check(batch_sizes=(4, 1), backends=iter(["paddle"]), warmup=0)
    assert (sizes, backends, precisions) == ([4, 1], ["paddle"], ["fp32"])


def test_labels_are_unique():
    models = [
        {"model_name": "CTC", "model_dir": "/a/infer"},
        {"model_name": "CTC", "model_dir": "/b/infer"},
        {"model_name": "PP-OCRv5_mobile_rec", "model_dir": "/c"},
        {"model_name": "CTC", "model_dir": "/d/other/"},
    ]
    label_models(models)
    assert [m["label"] for m in models] == ["infer#1", "infer#2", "PP-OCRv5_mobile_rec", "other"]


@pytest.fixture
def tiny_entry(tiny_model_dir):
    entry, spec, _ = model_settings(tiny_model_dir, ["paddle", "onnxruntime"], {})
    label_models([entry])
    return entry, spec


def test_a_model_entry_says_what_the_report_needs(tiny_model_dir, tiny_entry):
    entry, spec = tiny_entry
    assert entry["model_dir"] == os.path.abspath(tiny_model_dir) and entry["label"] == entry["model_name"]
    assert entry["backends"] == ["paddle", "onnxruntime"] and "paddle" in entry["usable"]
    assert "onnxruntime" not in entry["usable"]  # the tiny export has no model.onnx
    assert entry["image_shape"] == spec.image_shape and entry["macs_per_image"] > 0
    assert isinstance(spec, InferenceSpec)


def test_runnable_combinations_become_jobs_and_the_others_skip_rows_with_the_reason(tiny_entry):
    pytest.importorskip("onnxruntime", reason="the onnx extra (installed by make test)")
    entry, _ = tiny_entry
    settings = {"precisions": ["fp32"], "batch_sizes": [1, 2], "warmup": 0, "iters": 1, "cpu_threads": 1}
    jobs, skipped = plan_jobs(settings, entry, ["a.png"], ["a_nominal.png"])
    assert [(j.backend, j.precision, j.batch_sizes, j.label) for j in jobs] == [
        ("paddle", "fp32", [1, 2], entry["label"])
    ]
    assert jobs[0].paths == ["a.png"] and jobs[0].nominal_paths == ["a_nominal.png"]
    assert [(r["backend"], r["batch_size"]) for r in skipped] == [("onnxruntime", 1), ("onnxruntime", 2)]
    assert all("model.onnx" in r["reason"] for r in skipped)
    assert skip_reason("tensorrt", "fp32", ["paddle"], entry) == "backend 'tensorrt' is not installed here"
    assert skip_reason("paddle", "fp32", ["paddle"], entry) is None
    # bf16 needs the CPU's bf16 (make test runs this file again as on an AVX2-only CPU)
    assert skip_reason("paddle", "bf16", ["paddle"], entry) == (
        None if cpu_has_bf16() else BF16_NEEDS + cpu_description()
    )


def test_every_model_gets_its_nominal_copies_and_unreadable_images_stop_the_plan(tiny_entry, tmp_path):
    entry, spec = tiny_entry
    settings = {"precisions": ["fp32"], "batch_sizes": [1], "warmup": 0, "iters": 1, "cpu_threads": 1}
    settings.update(models=[dict(entry, backends=["paddle"])], images="2 lines")
    paths, _ = benchmark_images(None, 2, spec.height, str(tmp_path))
    jobs, skipped = plan_all(settings, [spec], paths, str(tmp_path))
    assert len(jobs) == 1 and not skipped and len(jobs[0].nominal_paths) == 2
    assert all(p.startswith(str(tmp_path / "nominal-0")) for p in jobs[0].nominal_paths)
    with pytest.raises(DataError, match=r"no readable image among the 1 benchmark images \(2 lines\)"):
        plan_all(settings, [spec], [str(tmp_path / "missing.png")], str(tmp_path))
