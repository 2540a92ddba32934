"""The export tests' configs and one small-backbone export with ONNX, shared by the read-only tests."""

import pathlib

import paddle
import pytest

from ppresnet45 import load_config
from ppresnet45.export.exporter import export_inference_model

CONFIG = pathlib.Path(__file__).resolve().parents[2] / "configs" / "rec" / "rec_resnet45_ctc.yml"
SMALL = ["Architecture.Backbone.layers=[1,1,1,1,1]"]  # same structure as ResNet45, ~5x faster


@pytest.fixture(scope="session")
def config_path():
    """The full ResNet45 + CTC config."""
    return CONFIG


@pytest.fixture(scope="session")
def small_overrides():
    """``-o`` overrides giving the small backbone."""
    return list(SMALL)


@pytest.fixture(scope="session")
def small_config():
    """``small_config(*overrides)``: the config with the small backbone (and more overrides)."""
    return lambda *extra: load_config(CONFIG, SMALL + list(extra))


@pytest.fixture(scope="session")
def small_export(small_config, tmp_path_factory):
    """``(folder, report)`` of a small-backbone export with ONNX and the parity check."""
    out = tmp_path_factory.mktemp("export") / "small_infer"
    paddle.seed(0)
    report = export_inference_model(small_config(), out, onnx=True, config_path=CONFIG)
    return out, report


@pytest.fixture(scope="session")
def family_exports(tmp_path_factory):
    """``{"abinet" | "visionlan": (folder, report)}``: the small models exported with ONNX and the
    parity check (PaddleOCR's configs, shrunk: see family_configs.py)."""
    import family_configs

    out = {}
    for name in family_configs.FAMILIES:
        folder = tmp_path_factory.mktemp(name) / "infer"
        out[name] = folder, family_configs.export_small(name, folder)
    return out
