"""Run records: the JSONL log (fresh, resumed), the run's files, the smoothed step statistics."""

import json
import logging
import types

import pytest

from ppresnet45.training.run_log import JsonlLog, RunLog, StepMeter


def _read(path):
    return [json.loads(line) for line in open(path, encoding="utf-8")]


def test_jsonl_log_starts_fresh_or_continues_up_to_the_resume_step(tmp_path):
    path = str(tmp_path / "log.jsonl")
    log = JsonlLog(path)
    for step in (1, 2, 3):
        log.write({"type": "train", "step": step})
    log.close()
    with open(path, "a", encoding="utf-8") as f:
        f.write("{broken")  # a line cut by a crash
    log = JsonlLog(path, truncate_after_step=2)
    log.write({"type": "train", "step": 3, "resumed": True})
    log.close()
    assert _read(path) == [
        {"type": "train", "step": 1},
        {"type": "train", "step": 2},
        {"type": "train", "step": 3, "resumed": True},
    ]
    JsonlLog(path).close()
    assert _read(path) == []


def test_run_log_writes_the_run_files_and_detaches_on_close(tmp_path):
    out = tmp_path / "run"
    with RunLog(str(out), {"Global": {"seed": 1}}) as log:
        log.record({"type": "eval", "step": 4, "acc": 0.5}, {"eval/acc": 0.5, "eval/none": None})
        log.step_line("step %d", 4)
        logging.getLogger("ppresnet45.train").info("hello from the trainer")
    assert _read(out / "train_log.jsonl") == [{"type": "eval", "step": 4, "acc": 0.5}]
    text = (out / "train.log").read_text()
    assert "step 4" in text and "hello from the trainer" in text
    assert "seed: 1" in (out / "config.yml").read_text()
    logging.getLogger("ppresnet45.train").info("after close")
    assert "after close" not in (out / "train.log").read_text()


def test_disabled_run_log_writes_nothing(tmp_path):
    log = RunLog(str(tmp_path / "none"), {}, use_visualdl=True, enabled=False)
    log.record({"type": "train", "step": 1})
    log.step_line("x")
    log.close()
    assert not (tmp_path / "none").exists()


def test_step_meter_smooths_over_its_window_and_totals_the_run():
    meter = StepMeter(window=2)
    assert meter.images_per_second() is None
    meter.add(4.0, images=8, batch_cost=2.0, reader_cost=0.5)
    meter.add(2.0, images=8, batch_cost=1.0, reader_cost=0.1)
    meter.add(1.0, images=8, batch_cost=1.0, reader_cost=0.3)
    loss, ips, reader = meter.smoothed()
    assert loss == pytest.approx(1.5) and ips == pytest.approx(8.0) and reader == pytest.approx(0.2)
    assert meter.images_per_second() == pytest.approx(24 / 4) and meter.last_loss == 1.0


def test_the_trainers_values_become_the_runs_lines_and_records(tmp_path):
    out = tmp_path / "run"
    settings = types.SimpleNamespace(epoch_num=3, max_steps=None, save_dir=str(out))
    meter = StepMeter(window=2)
    meter.add(2.0, images=8, batch_cost=1.0, reader_cost=0.25)
    with RunLog(str(out), {}) as log:
        log.started(settings, 5, 1, 8, "2", False, True)
        bar = log.progress(total=15, done=0, show=False)
        log.train_step(4, 0, 4, 0.01, meter, {"ctc": 1.5}, acc=0.5, ned=0.75)
        assert bar.postfix == "loss=2.0000, lr=1.00e-02, img/s=8.0, acc=0.500"
        log.evaluation(5, 1, {"acc": 0.5, "norm_edit_dis": 0.75}, "acc", {"acc": 0.5, "best_step": 5}, improved=True)
        log.epoch_end(5, 1, complete=True, skipped={"unreadable": 2})
        message = log.diverged(6, 1, 1, float("nan"), "no checkpoint had been saved yet")
        summary = {"global_step": 5, "best": {"acc": 0.5}, "final_eval": {"acc": 0.5}, "images_per_second": 8.0}
        log.done(summary, "acc")
    records = _read(out / "train_log.jsonl")
    assert [r["type"] for r in records] == ["train", "eval", "epoch", "error", "done"]
    train, evaluation, epoch, error, done = records
    assert (train["step"], train["batch"], train["loss_avg"], train["loss_parts"]) == (4, 4, 2.0, {"ctc": 1.5})
    assert train["acc"] == 0.5 and train["images_per_second"] == 8.0 and train["reader_cost"] == 0.25
    assert evaluation["best_acc"] == 0.5 and evaluation["norm_edit_dis"] == 0.75
    assert epoch["skipped"] == {"unreadable": 2} and epoch["skipped_total"] == 2 and epoch["complete"]
    assert error["message"] == message and error["loss"] == "nan" and "at step 6 (epoch 1, batch 1)" in message
    assert "final_eval" not in done and done["best"] == {"acc": 0.5}
    text = (out / "train.log").read_text()
    assert "training: 3 epoch(s) x 5 step(s), 1 process(es), batch 8 per card, max_steps -" in text
    assert "epoch [1/3] step 4 (batch 4/5) lr 0.01 loss 2.00000 (avg 2.00000), ctc 1.50000, acc 0.5000" in text
    assert "eval step 5: acc 0.5000, norm_edit_dis 0.7500 (best acc 0.5000 at step 5) — saved best_accuracy" in text
    assert "epoch 2: skipped 2 bad sample(s): unreadable 2" in text and "done: 5 steps, best acc 0.5" in text


def test_a_disabled_run_log_still_words_the_divergence_but_writes_nothing(tmp_path):
    log = RunLog(str(tmp_path / "none"), {}, enabled=False)
    assert "loss is inf at step 3" in log.diverged(3, 0, 2, float("inf"), "kept")
    log.close()
    assert not (tmp_path / "none").exists()
