"""Run records: the JSONL log (fresh, resumed), the run's files, the smoothed step statistics."""

import json
import logging

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
