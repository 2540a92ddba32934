"""``export --onnx``: model.onnx with a dynamic batch and width, and its checks."""

import sys

import onnx
import pytest
from onnx import TensorProto, helper

from ppresnet45.errors import PPResNetError
from ppresnet45.export.onnx import ONNX_OPSET, check_onnx_input, export_onnx
from ppresnet45.inference import BackendError, create_runtime
from ppresnet45.inference.runtime import OnnxRuntime


def test_onnx_export_keeps_batch_and_width_dynamic(small_export):
    out, report = small_export
    assert report["onnx"]["file"] == "model.onnx" and report["onnx"]["opset"] == ONNX_OPSET
    assert report["onnx"]["input"] == {"name": "x", "shape": [-1, 3, 32, -1]}
    assert (out / "model.onnx").is_file() and report["files"]["model.onnx"] > 0
    runtime = create_runtime(out, "onnxruntime", cpu_threads=1)
    assert isinstance(runtime, OnnxRuntime) and runtime.input_name == "x"


def _fixed_graph(path, shape):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)
    model = helper.make_model(helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g", [x], [y]))
    onnx.save(model, str(path))
    return str(path)


def test_check_onnx_input_rejects_lost_dynamic_dimensions(tmp_path):
    path = _fixed_graph(tmp_path / "fixed.onnx", [1, 3, 32, 128])
    assert check_onnx_input(path, dynamic=False) == {"name": "x", "shape": [1, 3, 32, 128]}
    with pytest.raises(PPResNetError, match=r"fixed.onnx: expected dynamic batch and width, got input shape"):
        check_onnx_input(path, dynamic=True)
    dynamic = _fixed_graph(tmp_path / "dynamic.onnx", ["N", 3, 32, "W"])
    assert check_onnx_input(dynamic, dynamic=True)["shape"] == [-1, 3, 32, -1]


def test_onnx_export_without_paddle2onnx_says_what_to_install(tiny_model_dir, monkeypatch):
    monkeypatch.setitem(sys.modules, "paddle2onnx", None)  # makes `import paddle2onnx` fail
    with pytest.raises(BackendError, match=r"--onnx needs paddle2onnx .*pip install 'ppresnet45\[onnx\]'"):
        export_onnx(tiny_model_dir, dynamic=True)
