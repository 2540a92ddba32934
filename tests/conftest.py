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
