"""ppresnet45.training.speed: one mode timed in fresh process(es) gives one row (the measuring
run itself is in test_demo_mode.py's slow probe test)."""

from ppresnet45.training.speed import MODES, TimingJob, bf16_refusal, processes, time_mode


def test_a_child_that_fails_gives_a_row_with_its_one_line_error(tmp_path):
    missing = tmp_path / "no_such_config.yml"
    job = TimingJob(str(missing), str(tmp_path), (str(tmp_path / "labels.txt"),), batch_size=4, steps=1, warmup=0)
    row = time_mode("eager", 2, job, str(tmp_path / "run"), quiet=True)
    assert row["mode"] == "eager" and row["threads"] == 2 and row["batch_size"] == 4
    assert "images_per_s" not in row
    assert row["error"].startswith("exit ") and "no_such_config.yml" in row["error"]
    assert "load_before" in row and "load_after" in row


def test_dp_modes_run_two_processes_and_bf16_is_refused_or_runnable():
    assert {m: processes(m) for m in MODES} == {
        "eager": 1,
        "eager+onednn": 1,
        "to_static": 1,
        "dp2": 2,
        "to_static+dp2": 2,
        "bf16": 1,
    }
    refusal = bf16_refusal()
    assert refusal is None or (refusal.startswith("refused: ") and "\n" not in refusal)
