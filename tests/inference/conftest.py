"""Exports shared by the inference tests: the tiny untrained model (tests/conftest.py), a
copy of it with ``model.onnx`` for the ONNX Runtime / OpenVINO backends, and small ABINet and
VisionLAN exports (tests/export/family_configs.py)."""

import importlib.util
import pathlib
import shutil

import pytest

from ppresnet45.export.onnx import export_onnx


@pytest.fixture
def model_dir(tiny_model_dir):
    return tiny_model_dir


@pytest.fixture(scope="session")
def onnx_model_dir(tiny_model_dir, tmp_path_factory):
    """The tiny export plus ``model.onnx`` (converted from its saved program)."""
    out = tmp_path_factory.mktemp("onnx") / "tiny_onnx"
    shutil.copytree(tiny_model_dir, out)
    export_onnx(str(out), dynamic=True)
    return out


def load_family_configs():
    """tests/export/family_configs.py, loaded by path (the test folders are not packages)."""
    path = pathlib.Path(__file__).resolve().parents[1] / "export" / "family_configs.py"
    spec = importlib.util.spec_from_file_location("family_configs_for_inference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def family_configs():
    return load_family_configs()


@pytest.fixture(scope="session")
def family_dirs(family_configs, tmp_path_factory):
    """``{"abinet" | "visionlan": folder}``: the small models exported with ONNX."""
    out = {}
    for name in family_configs.FAMILIES:
        out[name] = tmp_path_factory.mktemp(name) / "infer"
        family_configs.export_small(name, out[name])
    return out
