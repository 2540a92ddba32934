"""Exports shared by the inference tests: the tiny untrained model (tests/conftest.py), and a
copy of it with ``model.onnx`` for the ONNX Runtime / OpenVINO backends."""

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
