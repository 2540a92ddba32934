"""One tiny isolated benchmark run, shared by the tests of every benchmark module.

A run starts a worker subprocess and probes the CPU's peak twice, so it is made once per
test session; each test module checks the part of its report that its module produces.
"""

import importlib.util
import pathlib
import types

import pytest

from ppresnet45.benchmark import run_benchmark


@pytest.fixture(scope="session")
def tiny_run(tiny_model_dir, tmp_path_factory):
    """``.report`` of a 2-batch-size paddle run (onnxruntime requested but skipped: no
    model.onnx) with one thread, 4 images, outputs in ``.out``."""
    out = tmp_path_factory.mktemp("bench") / "bench"
    report = run_benchmark(
        tiny_model_dir,
        batch_sizes=(1, 2),
        backends=["paddle", "onnxruntime"],
        warmup=1,
        iters=2,
        output_dir=str(out),
        cpu_threads=1,
        num_images=4,
        progress=False,
    )
    return types.SimpleNamespace(report=report, out=out, model_dir=tiny_model_dir)


@pytest.fixture(scope="session")
def family_dirs(tmp_path_factory):
    """``{"abinet" | "visionlan": folder}``: small models exported with ONNX
    (tests/export/family_configs.py, loaded by path: the test folders are not packages)."""
    path = pathlib.Path(__file__).resolve().parents[1] / "export" / "family_configs.py"
    spec = importlib.util.spec_from_file_location("family_configs_for_benchmark", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = {}
    for name in module.FAMILIES:
        out[name] = tmp_path_factory.mktemp(name) / "infer"
        module.export_small(name, out[name])
    return out
