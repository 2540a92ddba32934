"""One tiny isolated benchmark run, shared by the tests of every benchmark module.

A run starts a worker subprocess and probes the CPU's peak twice, so it is made once per
test session; each test module checks the part of its report that its module produces.
"""

import types

import pytest

from ppresnet45.benchmark import run_benchmark


@pytest.fixture(scope="session")
def tiny_run(tiny_model_dir, tmp_path_factory):
    """``.report`` of a 2-batch-size paddle run (onnxruntime requested but skipped: no
    model.onnx) with one thread, 4 images, outputs in ``.out``."""
    out = tmp_path_factory.mktemp("bench") / "bench"
    report = run_benchmark(tiny_model_dir, batch_sizes=(1, 2), backends=["paddle", "onnxruntime"], warmup=1, iters=2,
                           output_dir=str(out), cpu_threads=1, num_images=4, progress=False)
    return types.SimpleNamespace(report=report, out=out, model_dir=tiny_model_dir)
