"""Checkpoints: atomic save, the run state and exact resume (the weights' side: test_weights.py)."""

import json
import os
from pathlib import Path

import numpy as np
import paddle
import pytest

from ppresnet45.config import PACKAGE_CONFIG_DIR, load_config
from ppresnet45.errors import ConfigError
from ppresnet45.modeling import build_model
from ppresnet45.training.checkpoint import (
    ResumePoint,
    data_position,
    read_states,
    run_state,
    save_checkpoint,
    saved_step,
    update_best,
)
from ppresnet45.training.trainer import Trainer
from ppresnet45.training.weights import load_checkpoint

DEMO = os.path.join(PACKAGE_CONFIG_DIR, "rec", "rec_resnet45_ctc_demo.yml")
SHAPE = [3, 32, 64]


def _tiny_config(tmp_path, num=16, augment_op=True, **over):
    """The demo recipe on ``num`` rendered lines at 32x64 (16 CTC steps), batch 4."""
    from ppresnet45.data.synth import render_dataset

    data = tmp_path / "data"
    if not (data / "labels.txt").exists():
        render_dataset(str(data), num, seed=5, min_len=1, max_len=4, show_progress=False)
    ops = [{"DecodeImage": {"img_mode": "BGR", "channel_first": False}}]
    if augment_op:
        ops.append({"RecAug": None})
    ops += [
        {"CTCLabelEncode": None},
        {"RecResizeImg": {"image_shape": SHAPE}},
        {"KeepKeys": {"keep_keys": ["image", "label", "length"]}},
    ]
    opts = {
        "Global.image_shape": SHAPE,
        "Global.save_model_dir": str(tmp_path / "out"),
        "Global.epoch_num": 3,
        "Global.print_batch_step": 1,
        "Global.eval_batch_step": 0,
        "Global.cpu_threads": 1,
        "Optimizer.lr.warmup_epoch": 1,
        "Train.dataset.data_dir": str(data),
        "Train.dataset.label_file_list": [str(data / "labels.txt")],
        "Train.dataset.transforms": ops,
        "Train.loader.batch_size_per_card": 4,
        # the model input is the transforms' shape: Eval's too (no evaluation runs)
        "Eval.dataset.transforms": [op for op in ops if "RecAug" not in op],
    }
    opts.update(over)
    return load_config(DEMO, opts)


def _losses(out_dir):
    recs = [json.loads(line) for line in Path(out_dir, "train_log.jsonl").read_text(encoding="utf-8").splitlines()]
    return {r["step"]: r for r in recs if r["type"] == "train"}


@pytest.mark.slow
def test_resume_after_stop_gives_the_same_next_step_as_an_uninterrupted_run(tmp_path):
    n = 6  # 4 steps per epoch: the stop falls mid-epoch (epoch 1, batch 2)
    full_dir, part_dir = tmp_path / "full", tmp_path / "part"
    Trainer(
        _tiny_config(tmp_path, **{"Global.max_steps": n + 1, "Global.save_model_dir": str(full_dir)}),
        show_progress=False,
    ).fit()
    Trainer(
        _tiny_config(tmp_path, **{"Global.max_steps": n, "Global.save_model_dir": str(part_dir)}), show_progress=False
    ).fit()
    state = json.loads((part_dir / "latest.json").read_text())
    assert (state["global_step"], state["data_epoch"], state["batch_in_epoch"]) == (n, 1, 2)
    assert state["config"]["Global"]["max_steps"] == n
    # "kill" here: a new process state, then resume from latest
    paddle.seed(123)
    np.random.seed(123)
    resumed = Trainer(
        _tiny_config(
            tmp_path,
            **{
                "Global.max_steps": n + 1,
                "Global.save_model_dir": str(part_dir),
                "Global.checkpoints": str(part_dir / "latest"),
            },
        ),
        show_progress=False,
    )
    assert resumed.global_step == n
    summary = resumed.fit()
    assert summary["global_step"] == n + 1
    full, part = _losses(full_dir), _losses(part_dir)
    assert sorted(part) == list(range(1, n + 2))  # the log continues where the checkpoint was taken
    assert part[n + 1]["lr"] == pytest.approx(full[n + 1]["lr"], rel=1e-12)
    assert part[n + 1]["loss"] == pytest.approx(full[n + 1]["loss"], abs=1e-5)
    assert part[n]["loss"] == pytest.approx(full[n]["loss"], abs=1e-5)
    a = paddle.load(str(full_dir / "latest.pdparams"))
    b = paddle.load(str(part_dir / "latest.pdparams"))
    for k in a:
        np.testing.assert_allclose(a[k].numpy(), b[k].numpy(), rtol=1e-5, atol=1e-6, err_msg=k)


def test_checkpoint_files_and_states_round_trip(tmp_path):
    config = _tiny_config(tmp_path)
    paddle.seed(1)
    model = build_model(config)
    opt = paddle.optimizer.Adam(parameters=model.parameters())
    model(paddle.randn([2] + SHAPE)).mean().backward()
    opt.step()
    prefix = save_checkpoint(
        str(tmp_path / "ck" / "latest"),
        model,
        opt,
        state={"global_step": 7, "epoch": 1, "data_epoch": 1, "batch_in_epoch": 3, "metrics": {"acc": 0.5}},
        config=config,
    )
    names = sorted(os.listdir(tmp_path / "ck"))
    assert names == ["latest.json", "latest.pdopt", "latest.pdparams", "latest.states"]  # no temporary files left
    paddle.seed(2)
    other = build_model(config)
    opt2 = paddle.optimizer.Adam(parameters=other.parameters())
    states = load_checkpoint(prefix + ".pdparams", other, opt2)
    assert states["global_step"] == 7 and states["batch_in_epoch"] == 3 and "rng" in states
    for (k, v), (_, w) in zip(model.state_dict().items(), other.state_dict().items()):
        np.testing.assert_array_equal(v.numpy(), w.numpy(), err_msg=k)
    assert json.loads((tmp_path / "ck" / "latest.json").read_text())["metrics"] == {"acc": 0.5}
    assert read_states(prefix)["epoch"] == 1
    assert saved_step(prefix) == 7 and saved_step(str(tmp_path / "none")) is None
    point = ResumePoint.read(prefix + ".json")
    assert (point.global_step, point.epoch, point.batch) == (7, 1, 3) and "rng" in point.states


def test_resume_point_of_a_paddleocr_checkpoint_starts_after_its_epochs(tmp_path):
    prefix = save_checkpoint(
        str(tmp_path / "ocr"),
        paddle.nn.Linear(2, 2),
        state={"epoch": 4, "global_step": 40, "best_model_dict": {"acc": 0.9}},
    )
    point = ResumePoint.read(prefix)
    assert (point.global_step, point.epoch, point.batch, point.best) == (40, 4, 0, {"acc": 0.9})
    with pytest.raises(ConfigError, match=r"Global.checkpoints: '.*none.pdparams' not found .*out/latest"):
        ResumePoint.read(str(tmp_path / "none"), example_dir="out")


def test_states_file_cannot_run_code(tmp_path):
    import pickle

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned > " + str(tmp_path / "pwned"),))

    (tmp_path / "x.states").write_bytes(pickle.dumps({"epoch": Evil()}))
    (tmp_path / "x.json").write_text(json.dumps({"epoch": 2}))
    assert read_states(str(tmp_path / "x")) == {"epoch": 2}
    assert not (tmp_path / "pwned").exists()


def test_trainer_loads_pretrained_model_from_config(tmp_path):
    config = _tiny_config(tmp_path)
    paddle.seed(6)
    source = build_model(config)
    paddle.save(source.backbone.state_dict(), str(tmp_path / "bb.pdparams"))
    trainer = Trainer(_tiny_config(tmp_path, **{"Global.pretrained_model": str(tmp_path / "bb")}), show_progress=False)
    assert trainer.pretrained_report["prefix_added"] == "backbone."
    np.testing.assert_array_equal(trainer.model.backbone.conv1.weight.numpy(), source.backbone.conv1.weight.numpy())


def test_the_run_state_rolls_a_finished_epoch_over_and_reads_back_as_the_resume_point(tmp_path):
    assert data_position(2, 3, steps_per_epoch=4) == (2, 3)
    assert data_position(2, 4, steps_per_epoch=4) == (3, 0)
    best = {"acc": 0.5, "best_step": 8}
    state = run_state(12, 2, 4, 4, best, {"acc": 0.25}, world_size=1, lr=0.1)
    assert (state["epoch"], state["data_epoch"], state["batch_in_epoch"]) == (3, 3, 0)
    assert state["world_size"] == 1 and state["lr"] == 0.1 and state["metrics"] == {"acc": 0.25}
    prefix = save_checkpoint(str(tmp_path / "latest"), paddle.nn.Linear(2, 2), state=run_state(5, 1, 2, 4, best))
    point = ResumePoint.read(prefix)
    assert (point.global_step, point.epoch, point.batch, point.best) == (5, 1, 2, best)


def test_the_best_changes_only_when_the_key_improves():
    best, improved = update_best({}, {"acc": 0.0, "acc_by_length": {"3": 0.0}}, "acc", step=1, epoch=0)
    assert improved and best == {"acc": 0.0, "best_step": 1, "best_epoch": 0}  # the first is the best
    same, improved = update_best(best, {"acc": 0.0, "norm_edit_dis": 0.9}, "acc", step=2, epoch=0)
    assert not improved and same is best
    better, improved = update_best(best, {"acc": 0.5, "norm_edit_dis": 0.9}, "acc", step=3, epoch=1)
    assert improved and better == {"acc": 0.5, "norm_edit_dis": 0.9, "best_step": 3, "best_epoch": 1}
