"""Runtimes: every backend on changing shapes, clear errors, and the RUNTIMES registry."""

import shutil

import numpy as np
import paddle
import pytest

from ppresnet45.errors import ModelDirError, RegistryError
from ppresnet45.export.parity import DEFAULT_TOLERANCE
from ppresnet45.inference import (
    BACKENDS,
    BackendError,
    Runtime,
    TextRecognizer,
    available_backends,
    backend_names,
    create_runtime,
)
from ppresnet45.registry import RUNTIMES
from ppresnet45.utils.cpu import cpu_description, cpu_has_bf16

BUILT_IN = ("paddle", "paddle-nomkl", "onnxruntime", "openvino", "eager")


def _batch(n, w, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (n, 3, 32, w)).astype(np.float32)


def _copy_without(src, tmp_path, *names):
    dst = tmp_path / f"without_{'_'.join(names)}"
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns(*names))
    return dst


def _shapes_round_trip(runtime, eager):
    """Changing batch and width between calls; the first shape again gives the same answer."""
    outs = []
    for n, w in [(2, 128), (1, 64), (3, 200), (2, 128)]:
        x = _batch(n, w, seed=w)
        y = runtime(x)
        assert y.shape == (n, w // 4, 96) and y.dtype == np.float32
        np.testing.assert_allclose(y, eager(x), atol=DEFAULT_TOLERANCE)
        outs.append(y)
    np.testing.assert_array_equal(outs[0], outs[-1])


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["paddle", "paddle-nomkl", "onnxruntime"])
def test_backends_accept_changing_shapes_and_match_eager(onnx_model_dir, backend):
    eager = create_runtime(onnx_model_dir, "eager")
    runtime = create_runtime(onnx_model_dir, backend, cpu_threads=1)
    assert runtime.backend == backend and runtime.precision == "fp32" and runtime.input_name == "x"
    _shapes_round_trip(runtime, eager)


def test_openvino_backend_output_close_to_paddle(onnx_model_dir):
    pytest.importorskip("openvino")
    runtime = create_runtime(onnx_model_dir, "openvino", cpu_threads=1)
    assert runtime.info()["effective_precision"] == "f32"  # asked for explicitly, not a silent bf16
    paddle_rt = create_runtime(onnx_model_dir, "paddle", cpu_threads=1)
    _shapes_round_trip(runtime, paddle_rt)


@pytest.mark.parametrize("backend", ["paddle", "openvino"])
def test_bf16_runs_where_the_cpu_has_it_and_is_refused_in_one_line_elsewhere(model_dir, onnx_model_dir, backend):
    """Both branches run in CI: natively, and under ONEDNN_MAX_CPU_ISA=AVX2 (no bf16 there)."""
    if backend == "openvino":
        pytest.importorskip("openvino")
        model_dir = onnx_model_dir
    if not cpu_has_bf16():
        with pytest.raises(BackendError) as err:
            create_runtime(model_dir, backend, precision="bf16")
        msg = str(err.value)
        assert "\n" not in msg and "AVX512-BF16 or AMX" in msg and cpu_description() in msg, msg
        return
    if backend == "openvino":
        runtime = create_runtime(model_dir, backend, precision="bf16", cpu_threads=1)
        assert runtime.info()["effective_precision"] == "bf16"
        return
    runtime = create_runtime(model_dir, "paddle", precision="bf16", cpu_threads=1)
    y = runtime(_batch(2, 128))
    assert runtime.precision == "bf16" and y.shape == (2, 32, 96) and np.isfinite(y).all()
    np.testing.assert_allclose(y.sum(-1), 1.0, atol=2e-2)  # still probabilities


def test_unsupported_precisions_are_clear_errors(onnx_model_dir):
    out = onnx_model_dir
    with pytest.raises(BackendError, match="onnxruntime.*bf16"):
        create_runtime(out, "onnxruntime", precision="bf16")
    with pytest.raises(BackendError, match="paddle-nomkl.*oneDNN"):
        create_runtime(out, "paddle-nomkl", precision="bf16")
    with pytest.raises(BackendError, match="precision: expected one of fp32, bf16"):
        create_runtime(out, "paddle", precision="fp16")
    if not paddle.is_compiled_with_cuda():
        with pytest.raises(BackendError, match="CUDA"):
            create_runtime(out, "paddle", use_gpu=True)


def test_unknown_backend_is_the_registrys_one_line_error(model_dir):
    with pytest.raises(BackendError, match=r"unknown runtime 'tensorrt' — registered: .*onnxruntime.*paddle") as info:
        create_runtime(model_dir, "tensorrt")
    assert isinstance(info.value, RegistryError) and "\n" not in str(info.value)
    with pytest.raises(BackendError, match=r"did you mean 'paddle'\?"):
        create_runtime(model_dir, "padle")


def test_available_backends(onnx_model_dir, tmp_path):
    assert BACKENDS == backend_names() == BUILT_IN  # built-ins: deployment backends first, eager last
    here = available_backends()
    assert {"paddle", "paddle-nomkl", "eager", "onnxruntime"} <= set(here)
    assert set(here) <= set(BUILT_IN)
    assert "onnxruntime" in available_backends(onnx_model_dir)
    no_onnx = _copy_without(onnx_model_dir, tmp_path, "model.onnx")
    assert "onnxruntime" not in available_backends(no_onnx) and "openvino" not in available_backends(no_onnx)
    no_state = _copy_without(onnx_model_dir, tmp_path, "model.pdparams")
    assert "eager" not in available_backends(no_state) and "paddle" in available_backends(no_state)


class _UniformRuntime(Runtime):
    """A third-party backend: uniform probabilities at a 4-px stride."""

    backend = "test-uniform"

    def __init__(self, model_dir, precision="fp32", cpu_threads=None, use_gpu=False, **_):
        super().__init__(model_dir, precision, cpu_threads, use_gpu)
        self.classes = len(self.spec.character_list) + 1

    def _run(self, images):
        n, _, _, w = images.shape
        return np.full((n, -(-w // 4), self.classes), 1.0 / self.classes, np.float32)


def test_a_registered_runtime_is_a_backend_everywhere(model_dir, monkeypatch):
    monkeypatch.setitem(RUNTIMES._items, "test-uniform", _UniformRuntime)  # removed again after the test
    assert backend_names()[-1] == "test-uniform" and "test-uniform" in available_backends(model_dir)
    runtime = create_runtime(model_dir, "test-uniform")
    assert runtime(_batch(2, 64)).shape == (2, 16, 96)
    rec = TextRecognizer(model_dir, backend="test-uniform", batch_size=2)
    assert rec.prefetch == 2  # its run() is not declared to hold the GIL
    assert [r["text"] for r in rec([np.full((32, 64), 255, np.uint8)] * 3)] == ["", "", ""]


def test_missing_or_incomplete_model_dir_names_the_missing_file(onnx_model_dir, tmp_path):
    with pytest.raises(ModelDirError, match=r"model dir '.*nowhere' not found"):
        create_runtime(tmp_path / "nowhere", "paddle")
    for name in ("inference.yml", "inference.json", "inference.pdiparams"):
        broken = _copy_without(onnx_model_dir, tmp_path, name, "model.onnx")
        with pytest.raises(ModelDirError, match=rf"{name} missing"):
            create_runtime(broken, "paddle")
    with pytest.raises(ModelDirError, match=r"model.onnx missing .*run export with --onnx"):
        create_runtime(_copy_without(onnx_model_dir, tmp_path, "model.onnx"), "onnxruntime")
    with pytest.raises(ModelDirError, match="model.pdparams missing"):
        create_runtime(_copy_without(onnx_model_dir, tmp_path, "model.pdparams"), "eager")


def test_runtime_reads_its_spec_once(model_dir):
    runtime = create_runtime(model_dir, "paddle", cpu_threads=1)
    assert runtime.spec.input_shape == runtime.input_shape == [3, 32, -1] and runtime.dynamic_width
    assert runtime.config is runtime.spec.raw and runtime.holds_gil
    with pytest.raises(ValueError, match=r"expected input \[N, 3, 32, W\], got \[1, 1, 32, 64\]"):
        runtime(np.zeros((1, 1, 32, 64), np.float32))
