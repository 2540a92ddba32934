"""train-demo's --mode: time eager, dp2 and to_static+dp2 when it pays, train in the fastest, let
the user's --nproc / -o Global.to_static win, and say in one line what happened."""

import os

import pytest

from ppresnet45.training.demo_mode import decide, faster, min_run_steps, probe_cost_steps, probe_modes
from ppresnet45.training.demo_recipe import DEFAULT_NUM_TRAIN

LONG = 3750  # the default run's steps (60000 lines of 16)


def _rows(eager, static_dp2, load=0.9, dp2=1.0):
    return [
        {"mode": "eager", "images_per_s": eager, "load_before": load, "load_after": load},
        {"mode": "dp2", "images_per_s": dp2, "load_before": load, "load_after": load},
        {"mode": "to_static+dp2", "images_per_s": static_dp2, "load_before": load, "load_after": load},
    ]


def _decide(requested="auto", algorithm="ctc", nproc=None, to_static=None, cores=2, steps=LONG, rows=None):
    calls = []

    def probe(modes):
        calls.append(modes)
        if rows is None:
            raise AssertionError("the probe ran where it should not")
        return rows

    choice = decide(requested, algorithm, nproc, to_static, False, cores, steps, probe)
    return choice, calls


def test_auto_trains_in_to_static_dp2_when_it_measured_faster():
    choice, calls = _decide(rows=_rows(16.34, 22.56))
    assert calls == [["eager", "dp2", "to_static+dp2"]]
    assert (choice.mode, choice.nproc, choice.to_static) == ("to_static+dp2", 2, True)
    assert choice.line == (
        "train-demo: to_static+dp2 22.6 images/s vs eager 16.3 (1.38x), dp2 1.0 (22.56x), load 0.9: "
        "training in 2 processes with Global.to_static=true"
    )
    record = choice.record("auto")
    assert record["probe"] == _rows(16.34, 22.56) and record["chosen"] == "to_static+dp2"


def test_auto_trains_eager_when_eager_measured_faster():
    choice, _ = _decide(rows=_rows(14.0, 9.0, load=3.2))
    assert (choice.mode, choice.nproc, choice.to_static) == ("eager", 1, False)
    assert "eager 14.0 images/s vs dp2 1.0 (14.00x), to_static+dp2 9.0 (1.56x), load 3.2" in choice.line
    assert choice.line.endswith("training in 1 process with Global.to_static=false")


def test_auto_trains_in_two_eager_processes_when_dp2_measured_fastest():
    choice, _ = _decide(rows=_rows(20.0, 22.3, dp2=23.2))
    assert (choice.mode, choice.nproc, choice.to_static) == ("dp2", 2, False)
    assert choice.line.endswith("training in 2 processes with Global.to_static=false")


def test_a_mode_that_failed_in_the_probe_is_not_chosen():
    rows = _rows(16.0, None, dp2=None)
    rows[1]["error"] = rows[2]["error"] = "exit 1: gloo timeout"
    assert faster(rows)[0] == "eager"
    choice, _ = _decide(rows=rows)
    assert choice.nproc == 1 and "to_static+dp2 failed (exit 1: gloo timeout" in choice.line
    both = _rows(None, None, dp2=None)
    assert faster(both)[0] == "eager"
    assert "the speed probe failed" in _decide(rows=both)[0].line


@pytest.mark.parametrize(
    "nproc, to_static, expect",
    [(2, None, (2, None, "--nproc given")), (None, False, (1, None, "-o Global.to_static given"))],
)
def test_an_explicit_nproc_or_to_static_wins_and_nothing_is_timed(nproc, to_static, expect):
    choice, calls = _decide(nproc=nproc, to_static=to_static)
    assert not calls
    assert (choice.nproc, choice.to_static) == expect[:2] and expect[2] in choice.line
    assert choice.mode == "as given" and choice.line.startswith("train-demo: no speed probe (")


def test_a_fixed_mode_is_not_timed_and_explicit_values_still_win():
    choice, calls = _decide(requested="to_static+dp2")
    assert not calls and (choice.mode, choice.nproc, choice.to_static) == ("to_static+dp2", 2, True)
    choice, _ = _decide(requested="to_static+dp2", nproc=3)
    assert (choice.mode, choice.nproc, choice.to_static) == ("as given", 3, True)
    choice, _ = _decide(requested="eager", steps=10)
    assert (choice.mode, choice.nproc, choice.to_static) == ("eager", 1, False) and "--mode eager" in choice.line


def test_no_probe_on_one_core_for_short_runs_or_for_the_staged_algorithms():
    assert "1 CPU core" in _decide(cores=1)[0].line
    need = min_run_steps(2)
    assert need * 0.05 >= probe_cost_steps(2)
    short, calls = _decide(steps=need - 1)
    assert not calls and f"{need - 1} training steps" in short.line and short.nproc == 1
    assert _decide(steps=need, rows=_rows(1.0, 2.0))[1]  # long enough: timed
    staged, calls = _decide(algorithm="visionlan")
    assert not calls and "visionlan" in staged.line
    assert (staged.mode, staged.nproc, staged.to_static) == ("eager", 1, None)  # the config's to_static stays


def test_the_default_run_is_long_enough_to_be_timed():
    assert min_run_steps(os.cpu_count() or 2) <= DEFAULT_NUM_TRAIN // 16


@pytest.mark.slow
def test_probe_times_eager_and_to_static_dp2_on_tiny_data(tmp_path):
    from ppresnet45.config import PACKAGE_CONFIG_DIR, load_config
    from ppresnet45.data.synth import render_dataset

    data = tmp_path / "data"
    render_dataset(str(data), 16, seed=0, min_len=1, max_len=4, augment=False, show_progress=False)
    config = load_config(
        os.path.join(PACKAGE_CONFIG_DIR, "rec", "rec_resnet45_ctc_demo.yml"),
        [
            "Architecture.Backbone.layers=[1,1,1,1,1]",
            "Global.cpu_threads=1",
            "Train.loader.batch_size_per_card=4",
            f"Train.dataset.data_dir={data}",
            f"Train.dataset.label_file_list=[{data / 'labels.txt'}]",
        ],
    )
    rows = probe_modes(config, ["eager", "to_static+dp2"], str(tmp_path), show_progress=False, warmup=2, steps=2)
    assert [r["mode"] for r in rows] == ["eager", "to_static+dp2"]
    for row in rows:
        assert "error" not in row, row
        assert row["images_per_s"] > 0 and row["threads"] == 1 and row["steps"] == 2
    assert (rows[0]["processes"], rows[0]["to_static"]) == (1, False)
    assert (rows[1]["processes"], rows[1]["to_static"]) == (2, True)
    assert [p.name for p in tmp_path.iterdir()] == ["data"]  # the probe's folder is gone
