"""The training command: logs, evaluation schedule, checkpoints, NaN stop, skipped samples."""

import dataclasses
import json
import os
from pathlib import Path

import paddle
import pytest

from ppresnet45.cli import main
from ppresnet45.config import PACKAGE_CONFIG_DIR, load_config, save_config
from ppresnet45.errors import ConfigError
from ppresnet45.modeling.losses.ctc import CTCLoss
from ppresnet45.training import components
from ppresnet45.training.trainer import (
    Trainer,
    parse_eval_interval,
    should_evaluate,
    train,
)

pytestmark = pytest.mark.slow  # training, exports or third-party clients: over ~10 s on 2 cores

DEMO = os.path.join(PACKAGE_CONFIG_DIR, "rec", "rec_resnet45_ctc_demo.yml")
SHAPE = [3, 32, 64]


def _tiny_config_file(tmp_path, extra_lines=(), **over):
    """Write the demo recipe on 8 rendered lines at 32x64, batch 4 (2 steps per epoch)."""
    from ppresnet45.data.synth import render_dataset

    data = tmp_path / "data"
    if not (data / "labels.txt").exists():
        render_dataset(str(data), 8, seed=9, min_len=1, max_len=4, augment=False, show_progress=False)
        if extra_lines:
            with open(data / "labels.txt", "a", encoding="utf-8") as f:
                f.writelines(extra_lines)
    ops = [
        {"DecodeImage": {"img_mode": "BGR", "channel_first": False}},
        {"CTCLabelEncode": None},
        {"RecResizeImg": {"image_shape": SHAPE}},
        {"KeepKeys": {"keep_keys": ["image", "label", "length"]}},
    ]
    opts = {
        "Global.image_shape": SHAPE,
        "Global.save_model_dir": str(tmp_path / "out"),
        "Global.epoch_num": 2,
        "Global.print_batch_step": 1,
        "Global.eval_batch_step": [0, 2],
        "Global.cpu_threads": 1,
        "Train.dataset.data_dir": str(data),
        "Train.dataset.label_file_list": [str(data / "labels.txt")],
        "Train.dataset.transforms": ops,
        "Train.loader.batch_size_per_card": 4,
        "Eval.dataset.data_dir": str(data),
        "Eval.dataset.label_file_list": [str(data / "labels.txt")],
        "Eval.dataset.transforms": ops,
        "Eval.loader.batch_size_per_card": 8,
    }
    opts.update(over)
    path = tmp_path / "cfg.yml"
    save_config(load_config(DEMO, opts), path)
    return str(path)


def _records(tmp_path, kind=None):
    recs = [
        json.loads(line) for line in Path(tmp_path / "out" / "train_log.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    return [r for r in recs if kind is None or r["type"] == kind]


def test_eval_interval_parsing_matches_paddleocr():
    assert parse_eval_interval([100, 50]) == (100, 50)
    assert parse_eval_interval(25) == (0, 25)
    assert [s for s in range(1, 260) if should_evaluate(s, 100, 50)] == [150, 200, 250]
    assert not any(should_evaluate(s, 0, 0) for s in range(1, 10))
    with pytest.raises(ConfigError, match="Global.eval_batch_step"):
        parse_eval_interval([1, 2, 3])


def test_train_command_writes_logs_checkpoints_and_evaluations(tmp_path, capsys):
    cfg = _tiny_config_file(tmp_path)
    rc = main(["-c", cfg, "-o", "Global.max_steps=3", "Global.use_visualdl=true", "--no_progress"], command="train")
    assert rc == 0
    out = tmp_path / "out"
    for prefix in ("latest", "best_accuracy"):
        for suffix in (".pdparams", ".pdopt", ".states", ".json"):
            assert (out / (prefix + suffix)).is_file()
    assert not [n for n in os.listdir(out) if n.startswith(".tmp")]
    assert (out / "config.yml").is_file()
    log = (out / "train.log").read_text()
    assert "step 3" in log and "images/s" in log
    train = _records(tmp_path, "train")
    assert [r["step"] for r in train] == [1, 2, 3]
    for r in train:
        assert r["images_per_second"] > 0 and r["lr"] > 0 and r["loss"] > 0 and 0 <= r["acc"] <= 1
    evals = _records(tmp_path, "eval")
    assert [r["step"] for r in evals] == [2, 3]  # every 2 steps, plus a final evaluation at the stop
    assert {"acc", "norm_edit_dis", "acc_by_length", "best_acc"} <= set(evals[0])
    latest = json.loads((out / "latest.json").read_text())
    assert latest["global_step"] == 3 and latest["data_epoch"] == 1 and latest["batch_in_epoch"] == 1
    assert latest["config"]["Global"]["max_steps"] == 3
    assert _records(tmp_path, "done")[0]["global_step"] == 3
    assert "best acc" in capsys.readouterr().out


def test_nan_loss_stops_with_the_step_and_keeps_the_last_checkpoint(tmp_path, monkeypatch, capsys):
    cfg = _tiny_config_file(tmp_path, **{"Global.eval_batch_step": 0})
    calls = {"n": 0}
    original = CTCLoss.forward

    def poisoned(self, predicts, batch):
        calls["n"] += 1
        out = original(self, predicts, batch)
        if calls["n"] == 3:
            out["loss"] = out["loss"] * float("nan")
        return out

    monkeypatch.setattr(CTCLoss, "forward", poisoned)
    rc = main(["-c", cfg, "--no_progress"], command="train")
    err = capsys.readouterr().err
    assert rc != 0
    line = next(x for x in err.splitlines() if x.startswith("error:"))
    assert "loss is nan at step 3" in line and "latest" in line and "(step 2)" in line
    assert "Traceback" not in err
    out = tmp_path / "out"
    assert json.loads((out / "latest.json").read_text())["global_step"] == 2
    assert _records(tmp_path, "error")[0]["step"] == 3
    assert max(r["step"] for r in _records(tmp_path, "train")) == 2


def test_skipped_bad_samples_are_logged_per_epoch(tmp_path):
    cfg = _tiny_config_file(
        tmp_path,
        extra_lines=["images/missing.png\tabc\n"],
        **{"Global.eval_batch_step": 0, "Global.epoch_num": 1, "Train.loader.batch_size_per_card": 3},
    )
    assert main(["-c", cfg, "--no_progress"], command="train") == 0
    epochs = _records(tmp_path, "epoch")
    assert len(epochs) == 1 and epochs[0]["complete"]
    assert epochs[0]["skipped"] == {"missing_image": 1} and epochs[0]["skipped_total"] == 1
    assert "skipped 1 bad sample" in (tmp_path / "out" / "train.log").read_text()


def test_bad_global_value_is_a_one_line_error(tmp_path, capsys):
    cfg = _tiny_config_file(tmp_path)
    assert main(["-c", cfg, "-o", "Global.eval_batch_step=[1, 2, 3]"], command="train") == 2
    err = capsys.readouterr().err
    assert err.startswith("error: Global.eval_batch_step") and len(err.strip().splitlines()) == 1


def test_to_static_training_runs_and_matches_eager_first_loss(tmp_path):
    cfg = load_config(_tiny_config_file(tmp_path, **{"Global.eval_batch_step": 0}))
    eager = Trainer(
        load_config(_tiny_config_file(tmp_path, **{"Global.eval_batch_step": 0, "Global.max_steps": 1})),
        show_progress=False,
    )
    eager.fit()
    first = _records(tmp_path, "train")[0]["loss"]
    cfg["Global"].update(max_steps=1, to_static=True, use_onednn=True)  # oneDNN falls back off with to_static
    trainer = Trainer(cfg, show_progress=False)
    assert trainer.to_static and not trainer.use_onednn
    trainer.fit()
    assert _records(tmp_path, "train")[0]["loss"] == pytest.approx(first, rel=1e-4)
    paddle.set_flags({"FLAGS_use_onednn": False})
    assert trainer.forward_model is not None and trainer.parallel_model is trainer.forward_model


def test_unknown_metric_keyword_is_a_one_line_train_error(tmp_path, capsys):
    config = load_config(_tiny_config_file(tmp_path))
    config["Metric"]["main_indicater"] = "acc"  # the typo sits in the file: -o would refuse a new key
    save_config(config, tmp_path / "typo.yml")
    assert main(["-c", str(tmp_path / "typo.yml"), "--no_progress"], command="train") == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert err.startswith(f"error: {tmp_path / 'typo.yml'}: unknown key 'Metric.main_indicater'")
    assert "closest known key: 'Metric.main_indicator'" in err
    assert not (tmp_path / "out").exists()  # reported before anything is written


def test_trainer_runs_injected_parts(tmp_path):
    config = load_config(_tiny_config_file(tmp_path, **{"Global.eval_batch_step": 0, "Global.max_steps": 2}))
    paddle.seed(config["Global"]["seed"])
    parts = components.build_training_parts(config, seed=config["Global"]["seed"], with_eval=False)
    calls = []

    def counting_loss(preds, batch):
        calls.append(int(preds.shape[0]))
        return parts.loss(preds, batch)

    injected = dataclasses.replace(parts, loss=counting_loss)
    trainer = Trainer(config, show_progress=False, parts=injected)
    assert trainer.model is parts.model and trainer.optimizer is parts.optimizer and trainer.eval_loader is None
    before = parts.model.head.fc.weight.numpy().copy()
    summary = trainer.fit()
    assert summary["global_step"] == 2 and calls == [4, 4]
    assert not (parts.model.head.fc.weight.numpy() == before).all()
    assert paddle.load(str(tmp_path / "out" / "latest.pdparams"))["head.fc.weight"].shape == list(before.shape)


def test_train_function_takes_a_config_file(tmp_path):
    cfg = _tiny_config_file(tmp_path, **{"Global.eval_batch_step": 0, "Global.max_steps": 1})
    summary = train(cfg, show_progress=False)
    assert summary["global_step"] == 1 and summary["last_loss"] > 0 and summary["images_per_second"] > 0
    assert summary["save_model_dir"] == str(tmp_path / "out")
    assert [r["type"] for r in _records(tmp_path)][-1] == "done"


def test_interrupt_saves_latest_at_the_last_finished_step(tmp_path, monkeypatch):
    config = load_config(_tiny_config_file(tmp_path, **{"Global.eval_batch_step": 0}))
    calls = {"n": 0}
    original = CTCLoss.forward

    def interrupted(self, predicts, batch):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return original(self, predicts, batch)

    monkeypatch.setattr(CTCLoss, "forward", interrupted)
    with pytest.raises(KeyboardInterrupt):
        Trainer(config, show_progress=False).fit()
    latest = json.loads((tmp_path / "out" / "latest.json").read_text())
    assert (latest["global_step"], latest["data_epoch"], latest["batch_in_epoch"]) == (1, 0, 1)
    assert "interrupted at step 1: saving latest" in (tmp_path / "out" / "train.log").read_text()
