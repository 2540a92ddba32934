"""Shared test set-up: quiet Paddle logs, fixed seeds, the repo's config folder."""

import os
import pathlib
import signal

os.environ.setdefault("GLOG_minloglevel", "2")

import numpy as np
import paddle
import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
CONFIG_DIR = REPO / "configs" / "rec"


@pytest.fixture(autouse=True, scope="session")
def _own_cache_dir(tmp_path_factory):
    """`--backend auto` caches its choices; the suite keeps them out of the user's ~/.cache."""
    os.environ["PPRESNET45_CACHE_DIR"] = str(tmp_path_factory.mktemp("ppresnet45_cache"))
    yield


@pytest.fixture(autouse=True)
def _sigchld_as_it_was():
    """A test whose data loader used worker processes leaves Paddle's process-wide SIGCHLD handler
    installed (paddle.io never removes it); every later child process exiting would then call into
    Paddle's stale worker bookkeeping. Each test gets the disposition the session started with."""
    before = signal.getsignal(signal.SIGCHLD)
    yield
    if signal.getsignal(signal.SIGCHLD) is not before:
        signal.signal(signal.SIGCHLD, before if before is not None else signal.SIG_DFL)


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


@pytest.fixture(scope="session")
def overfit_ctc(tmp_path_factory):
    """The full ResNet45 + CTC trained on 16 rendered lines until it reads them (50 steps at
    32x64, one thread), once per test run: ``{"summary", "out", "data", "labels", "config"}``."""
    from ppresnet45.config import PACKAGE_CONFIG_DIR, load_config
    from ppresnet45.data.synth import render_dataset
    from ppresnet45.training.trainer import Trainer

    root = tmp_path_factory.mktemp("overfit")
    data = root / "data"
    render_dataset(str(data), 16, seed=1, min_len=1, max_len=4, augment=False, show_progress=False)
    shape = [3, 32, 64]
    ops = [
        {"DecodeImage": {"img_mode": "BGR", "channel_first": False}},
        {"CTCLabelEncode": None},
        {"RecResizeImg": {"image_shape": shape}},
        {"KeepKeys": {"keep_keys": ["image", "label", "length"]}},
    ]
    steps = 50
    config = load_config(
        os.path.join(PACKAGE_CONFIG_DIR, "rec", "rec_resnet45_ctc_demo.yml"),
        {
            "Global.save_model_dir": str(root / "out"),
            "Global.epoch_num": steps,
            "Global.max_steps": steps,
            "Global.print_batch_step": 10,
            "Global.eval_batch_step": [0, 25],
            # one thread: on a busy 2-core machine two OpenMP threads per process run 2-5x slower
            "Global.cpu_threads": 1,
            "Optimizer.lr": {"name": "Const", "learning_rate": 0.001},
            "Train.dataset.data_dir": str(data),
            "Train.dataset.label_file_list": [str(data / "labels.txt")],
            "Train.dataset.transforms": ops,
            "Train.loader.batch_size_per_card": 16,
            "Eval.dataset.data_dir": str(data),
            "Eval.dataset.label_file_list": [str(data / "labels.txt")],
            "Eval.dataset.transforms": ops,
            "Eval.loader.batch_size_per_card": 16,
        },
    )
    summary = Trainer(config, show_progress=False).fit()
    return {
        "summary": summary,
        "out": root / "out",
        "data": data,
        "labels": str(data / "labels.txt"),
        "config": config,
        "steps": steps,
    }
