"""VisionLAN trains and evaluates: PaddleOCR's rec_r45_visionlan.yml unchanged (``-o`` data paths
and a small run), our shipped configs, each training step, the targets rule, the length rule, and
a reduced-width VisionLAN overfitting 16 rendered lines."""

import math
import os
import time

import numpy as np
import paddle
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
from ppresnet45.cli import main
from ppresnet45.config import PACKAGE_CONFIG_DIR, load_config
from ppresnet45.errors import ConfigError
from ppresnet45.training import steps
from ppresnet45.training.trainer import Trainer

pytestmark = pytest.mark.slow  # training, exports or third-party clients: over ~10 s on 2 cores

REC = os.path.join(PACKAGE_CONFIG_DIR, "rec")
DEMO = os.path.join(REC, "rec_resnet45_visionlan_demo.yml")
KEEP = ["image", "label", "label_res", "label_sub", "label_id", "length"]


def _check_run(train, result, save_dir):
    assert [r["step"] for r in train] == [1, 2]
    for r in train:
        assert math.isfinite(r["loss"]) and r["loss"] > 0
        assert r["loss_parts"] == {}  # VLLoss returns {"loss"} alone
        assert r["acc"] is not None
    evals = jsonl_records(save_dir, "eval")
    assert evals and evals[-1]["step"] == 2 and evals[-1]["num_samples"] == 4
    assert result["metrics"]["num_samples"] == 4


def test_paddleocr_visionlan_config_trains_and_evaluates_unchanged(synth_lines, tmp_path):
    """Training step LA (MLM masks occlude half the batch: the head needs label_id), group_lr set."""
    config = paddleocr_config("visionlan")
    save = str(tmp_path / "out")
    train, result = train_and_evaluate(config, [*lmdb_options(synth_lines), *small_run_options(save)], save)
    _check_run(train, result, save)


def test_shipped_visionlan_config_trains_and_evaluates(synth_lines, tmp_path):
    save = str(tmp_path / "out")
    train, result = train_and_evaluate(
        os.path.join(REC, "rec_resnet45_visionlan.yml"),
        [*label_file_options(synth_lines), *small_run_options(save)],
        save,
    )
    _check_run(train, result, save)


@pytest.mark.parametrize("step", ["LF_1", "LF_2", "LA"])
def test_every_training_step_trains_the_demo(synth_lines, tmp_path, step):
    save = tmp_path / "out"
    opts = [
        *label_file_options(synth_lines),
        *small_run_options(save),
        f"Architecture.Head.training_step={step}",
        f"Loss.mode={step}",
        f"Optimizer.training_step={step}",
        "Global.eval_batch_step=0",
    ]
    config = load_config(DEMO, opts)
    trainer = Trainer(config, show_progress=False)
    groups = trainer.optimizer._param_groups  # dicts with groups, else the parameters themselves
    rates = [g.get("learning_rate", 1.0) for g in groups] if isinstance(groups[0], dict) else [1.0]
    assert rates == ([1.0, 0.1] if step == "LF_2" else [1.0])
    mlm = [p.numpy().copy() for p in trainer.model.head.mlm_parameters()]
    summary = trainer.fit()
    assert summary["global_step"] == 2 and math.isfinite(summary["last_loss"])
    changed = [not np.array_equal(a, p.numpy()) for a, p in zip(mlm, trainer.model.head.mlm_parameters())]
    assert any(changed) == (step != "LF_1")  # LF_1 does not run the MLM


def test_disagreeing_training_steps_stop_the_run_with_one_line(synth_lines, tmp_path, capsys):
    opts = [*label_file_options(synth_lines), *small_run_options(tmp_path / "out"), "Loss.mode=LA"]
    assert main(["train", "-c", DEMO, "-o", *opts, "--no_progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == (
        "error: Loss.mode 'LA' disagrees with Architecture.Head.training_step 'LF_1': VisionLAN's training "
        "step must be one value (LF_1, LF_2 or LA) in all three places"
    )


@pytest.mark.parametrize("name", ["rec_resnet45_visionlan.yml", "rec_resnet45_visionlan_demo.yml"])
def test_shipped_visionlan_configs_load_and_build(name):
    config = load_config(os.path.join(REC, name))
    model = ppresnet45.build_model(config)
    assert model.head.out_channels == 36  # 0-9a-z; the head adds its end class
    assert model.head.max_text_length == config["Global"]["max_text_length"]
    assert model.needs_targets


def test_head_max_text_length_and_global_max_text_length_cannot_disagree():
    with pytest.raises(ConfigError) as err:
        ppresnet45.build_model(
            load_config(os.path.join(REC, "rec_resnet45_visionlan.yml"), ["Global.max_text_length=20"])
        )
    assert len(str(err.value).splitlines()) == 1
    assert str(err.value).startswith("Architecture.Head.max_text_length 25 disagrees with Global.max_text_length 20")
    demo = ppresnet45.build_model(load_config(DEMO, ["Global.max_text_length=8"]))
    assert demo.head.max_text_length == 8  # filled in: the demo leaves it out


class _Recorder(paddle.nn.Layer):
    """A head stand-in that records how it was called."""

    def __init__(self, needs_targets):
        super().__init__()
        self.needs_targets = needs_targets
        self.calls = []

    def forward(self, x, *args):
        self.calls.append(args)
        return x


@pytest.mark.parametrize("needs", [True, False])
def test_targets_reach_only_heads_that_need_them_and_only_in_train_mode(needs):
    model = ppresnet45.build_model(load_config(DEMO))
    model.head = _Recorder(needs)
    assert model.needs_targets is needs
    x, targets = paddle.randn([1, 3, 32, 128]), ["label", "label_id", "length"]
    model.train()
    model(x, targets)
    model.eval()
    model(x, targets)
    assert model.head.calls == ([(targets,), ()] if needs else [(), ()])


def test_the_trainer_gives_the_batch_without_its_image():
    calls = []

    def model(image, targets=None):
        calls.append((image, targets))

    batch = ["img", "label", "label_res", "label_sub", "label_id", "length"]
    positions = {k: i for i, k in enumerate(KEEP)}
    steps.forward(model, batch, positions, needs_targets=True)
    steps.forward(model, batch, positions, needs_targets=False)
    assert calls == [("img", batch[1:]), ("img", None)]
    assert calls[0][1][-2] == "label_id"  # where VLHead reads it, as in PaddleOCR
    moved = ["label", "img", "length"]
    assert steps.targets_of(moved, {"label": 0, "image": 1, "length": 2}) == ["label", "length"]


def test_to_static_keeps_a_model_that_reads_targets_eager():
    from ppresnet45.training.devices import compile_static

    config = load_config(DEMO)
    model = ppresnet45.build_model(config)
    assert compile_static(model, config) == (model, False)


def test_loss_dicts_split_into_the_loss_and_its_logged_parts():
    loss, parts = steps.split_losses(
        {
            "loss": paddle.to_tensor(3.0),
            "align_loss": paddle.to_tensor(1.0),
            "lang_loss": paddle.to_tensor(2.0),
            "note": "not a number",
        }
    )
    assert float(loss) == 3.0 and {k: float(v) for k, v in parts.items()} == {"align_loss": 1.0, "lang_loss": 2.0}
    bare = paddle.to_tensor(1.5)
    assert steps.split_losses(bare) == (bare, {})


def test_training_metrics_decode_with_the_labels_lengths():
    """VisionLAN's train outputs have no end step: VLLabelDecode reads ``length`` steps."""
    post = ppresnet45.POSTPROCESS.build({"name": "VLLabelDecode"})
    logits = np.full((1, 5, 37), -10.0, dtype="float32")
    for t, cls in enumerate([2, 3, 4, 0, 5]):  # "123", end, then a stray "4"
        logits[0, t, cls] = 10.0
    batch = [None, np.array([[2, 3, 4, 0, 0]]), None, None, None, np.array([3])]
    positions = {k: i for i, k in enumerate(KEEP)}
    preds = tuple(paddle.to_tensor(logits) for _ in range(4))
    assert steps.decode_train(post, preds, batch, positions)[0][0] == "123"
    assert steps.takes_length(post)
    assert not steps.takes_length(ppresnet45.POSTPROCESS.build({"name": "ABINetLabelDecode"}))


OVERFIT_STEPS = 250


def test_reduced_visionlan_overfits_16_lines(tmp_path):
    """The demo VisionLAN (widths 16..64, n_dim 64, 1 VRM layer, 32x128, training step LF_1) learns
    16 plain lines of 1-4 characters: 100 % in eval mode, read with the end rule (no lengths given),
    after 250 steps of batch 16 (cosine from 2e-3)."""
    data = tmp_path / "data"
    labels = render_lines(data, 16, seed=1, max_len=4)
    ops = [
        {"DecodeImage": {"img_mode": "RGB", "channel_first": False}},
        {"VLLabelEncode": None},
        {"VLRecResizeImg": {"image_shape": [3, 32, 128]}},
        {"KeepKeys": {"keep_keys": KEEP}},
    ]
    opts = {
        "Global.save_model_dir": str(tmp_path / "out"),
        "Global.epoch_num": OVERFIT_STEPS,
        "Global.max_steps": OVERFIT_STEPS,
        "Global.print_batch_step": 10,
        "Global.eval_batch_step": [0, OVERFIT_STEPS // 2],
        "Global.cpu_threads": 1,
        "Global.max_text_length": 8,
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
    config = load_config(DEMO, opts)
    start = time.perf_counter()
    summary = Trainer(config, show_progress=False).fit()
    print(f"VisionLAN overfit: {summary['global_step']} steps in {time.perf_counter() - start:.1f} s")
    evals = jsonl_records(tmp_path / "out", "eval")
    assert summary["global_step"] == OVERFIT_STEPS
    assert evals[-1]["step"] == OVERFIT_STEPS and evals[-1]["acc"] == 1.0, evals
