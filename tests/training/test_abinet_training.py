"""ABINet trains and evaluates: PaddleOCR's rec_r45_abinet.yml unchanged (``-o`` data paths and
a small run), our shipped configs, the loss parts in the logs, the length rule, and a reduced-width
ABINet overfitting 16 rendered lines."""

import math
import os
import time

import pytest
from family_runs import (
    jsonl_records,
    label_file_options,
    lmdb_options,
    paddleocr_config,
    render_lines,
    small_run_options,
    train_and_evaluate,
)

import ppresnet45
from ppresnet45.config import PACKAGE_CONFIG_DIR, load_config
from ppresnet45.errors import ConfigError
from ppresnet45.training.optim import build_optimizer
from ppresnet45.training.trainer import Trainer

pytestmark = pytest.mark.slow  # training, exports or third-party clients: over ~10 s on 2 cores

REC = os.path.join(PACKAGE_CONFIG_DIR, "rec")
PARTS = {"align_loss", "lang_loss", "vision_loss"}


def _check_run(train, result, save_dir):
    assert [r["step"] for r in train] == [1, 2]
    for r in train:
        assert set(r["loss_parts"]) == PARTS
        assert all(math.isfinite(v) and v > 0 for v in r["loss_parts"].values())
        assert r["loss"] == pytest.approx(sum(r["loss_parts"].values()), rel=1e-5)
        assert r["acc"] is not None  # training-time metrics decode the train outputs
    evals = jsonl_records(save_dir, "eval")
    assert evals and evals[-1]["step"] == 2 and evals[-1]["num_samples"] == 4
    assert result["metrics"]["num_samples"] == 4 and result["checkpoint"].endswith("latest")
    with open(os.path.join(save_dir, "train.log"), encoding="utf-8") as f:
        log = f.read()
    assert "align_loss" in log and "lang_loss" in log and "vision_loss" in log


def test_paddleocr_abinet_config_trains_and_evaluates_unchanged(synth_lines, tmp_path):
    config = paddleocr_config("abinet")
    save = str(tmp_path / "out")
    train, result = train_and_evaluate(
        config, ["Global.pretrained_model=null", *lmdb_options(synth_lines), *small_run_options(save)], save
    )
    _check_run(train, result, save)


def test_shipped_abinet_config_trains_and_evaluates(synth_lines, tmp_path):
    save = str(tmp_path / "out")
    train, result = train_and_evaluate(
        os.path.join(REC, "rec_resnet45_abinet.yml"), [*label_file_options(synth_lines), *small_run_options(save)], save
    )
    _check_run(train, result, save)


@pytest.mark.parametrize("name", ["rec_resnet45_abinet.yml", "rec_resnet45_abinet_demo.yml"])
def test_shipped_abinet_configs_load_and_build(name):
    config = load_config(os.path.join(REC, name))
    model = ppresnet45.build_model(config)
    assert model.head.out_channels == 37  # 0-9a-z + </s>
    assert model.head.max_length == config["Global"]["max_text_length"] + 1
    assert not model.needs_targets


def test_head_max_length_and_global_max_text_length_cannot_disagree():
    path = os.path.join(REC, "rec_resnet45_abinet.yml")
    with pytest.raises(ConfigError) as err:
        ppresnet45.build_model(load_config(path, ["Global.max_text_length=20"]))
    message = str(err.value)
    assert len(message.splitlines()) == 1
    assert message.startswith("Architecture.Head.max_length 25 disagrees with Global.max_text_length 20")
    # the demo leaves the head's value out: it is filled in from Global
    demo = ppresnet45.build_model(
        load_config(os.path.join(REC, "rec_resnet45_abinet_demo.yml"), ["Global.max_text_length=8"])
    )
    assert demo.head.max_length == 9
    no_global = {
        "Global": {},
        "Architecture": {"Backbone": {"name": "ResNet45"}, "Head": {"name": "ABINetHead", "max_length": 30}},
        "PostProcess": {"name": "ABINetLabelDecode"},
    }
    with pytest.raises(
        ConfigError,
        match=r"^Architecture.Head.max_length 30 disagrees with Global.max_text_length "
        r"\(unset: default 25\)",
    ):
        ppresnet45.build_model(no_global)


def test_group_lr_is_rejected_for_abinet():
    model = ppresnet45.build_model(load_config(os.path.join(REC, "rec_resnet45_abinet_demo.yml")))
    with pytest.raises(
        ConfigError,
        match=r"^Optimizer.group_lr: true needs a head with an MLM branch \(VLHead\), "
        r"got ABINetHead",
    ):
        build_optimizer({"name": "Adam", "group_lr": True}, 1, 1, model)


SHAPE = [3, 32, 64]
OVERFIT_STEPS = 160


def test_reduced_abinet_overfits_16_lines(tmp_path):
    """The demo ABINet (widths 16..64, d_model 64, 1 encoder layer, 1 fusion round, language model
    on) at 32x64 learns 16 plain lines of 1-4 characters: 100 % in eval mode (BatchNorm running
    statistics) after 160 steps of batch 16 (cosine from 2e-3)."""
    data = tmp_path / "data"
    labels = render_lines(data, 16, seed=1, max_len=4)
    ops = [
        {"DecodeImage": {"img_mode": "RGB", "channel_first": False}},
        {"ABINetLabelEncode": {"ignore_index": 100}},
        {"ABINetRecResizeImg": {"image_shape": SHAPE}},
        {"KeepKeys": {"keep_keys": ["image", "label", "length"]}},
    ]
    opts = {
        "Global.save_model_dir": str(tmp_path / "out"),
        "Global.epoch_num": OVERFIT_STEPS,
        "Global.max_steps": OVERFIT_STEPS,
        "Global.print_batch_step": 10,
        "Global.eval_batch_step": [0, OVERFIT_STEPS // 2],
        "Global.cpu_threads": 1,
        "Global.max_text_length": 8,
        "Architecture.Head.image_size": SHAPE[1:],
        "Optimizer.lr": {"name": "Cosine", "learning_rate": 0.002},
    }
    for mode in ("Train", "Eval"):
        opts.update(
            {
                f"{mode}.dataset.data_dir": str(data),
                f"{mode}.dataset.label_file_list": [labels],
                f"{mode}.dataset.transforms": ops,
                f"{mode}.loader.batch_size_per_card": 16,
            }
        )
    config = load_config(os.path.join(REC, "rec_resnet45_abinet_demo.yml"), opts)
    start = time.perf_counter()
    summary = Trainer(config, show_progress=False).fit()
    print(f"ABINet overfit: {summary['global_step']} steps in {time.perf_counter() - start:.1f} s")
    evals = jsonl_records(tmp_path / "out", "eval")
    assert summary["global_step"] == OVERFIT_STEPS
    assert evals[-1]["step"] == OVERFIT_STEPS and evals[-1]["acc"] == 1.0, evals
    # the last training batch, read in train mode (batch statistics): nearly all of it; whether the
    # last line of 16 flips there is a matter of the CPU's float arithmetic (AMX vs AVX2 differ)
    assert summary["last_train_acc"] >= 0.9
