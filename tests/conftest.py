"""Shared test set-up: quiet Paddle logs, fixed seeds, the repo's config folder."""

import os
import pathlib

os.environ.setdefault("GLOG_minloglevel", "2")

import numpy as np  # noqa: E402
import paddle  # noqa: E402
import pytest  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[1]
CONFIG_DIR = REPO / "configs" / "rec"


@pytest.fixture(autouse=True)
def _fixed_seed():
    paddle.seed(0)
    np.random.seed(0)
    yield


@pytest.fixture
def repo_root():
    return REPO


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A tiny (1 block per stage) untrained ResNet45 + CTC export, made once per test run."""
    from ppresnet45.config import load_config
    from ppresnet45.export.exporter import export_inference_model

    out = tmp_path_factory.mktemp("model") / "tiny"
    config = load_config(str(CONFIG_DIR / "rec_resnet45_ctc.yml"), ["Architecture.Backbone.layers=[1,1,1,1,1]"])
    export_inference_model(config, str(out), check=False)
    return str(out)
