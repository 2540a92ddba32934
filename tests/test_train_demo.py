"""ppresnet45 train-demo (tools/train_demo.py): ctc trains once over the curriculum file; the staged recipes chain their
stages; both report on both held-out sets.

Tiny runs (a few lines, 2-3 steps per stage): what is checked is the plumbing — the curriculum
is read in order by one run, each later stage starts from the previous stage's best checkpoint,
the stages' own settings reach the trainer, one curve spans all stages, and demo_result.json
says what ran.
"""

import json
import types

import pytest

from ppresnet45.cli import main


@pytest.fixture(scope="module")
def train_demo():
    """``ppresnet45 train-demo`` (what ``python tools/train_demo.py`` runs)."""
    return types.SimpleNamespace(main=lambda argv: main(argv, command="train-demo"))


def _run(train_demo, tmp_path, *argv):
    out = tmp_path / "demo"
    rc = train_demo.main(
        [
            "--output_dir",
            str(out),
            "--num_train",
            "16",
            "--num_heldout",
            "6",
            "--no_progress",
            "-o",
            "Global.cpu_threads=1",
            "Global.eval_batch_step=[0,1000]",
            *argv,
        ]
    )
    return rc, out


def _loaded_from(model_dir):
    """The weights the stage started from (its saved config's Global.pretrained_model)."""
    import yaml

    return [str(yaml.safe_load((model_dir / "config.yml").read_text())["Global"].get("pretrained_model"))]


@pytest.mark.slow
def test_ctc_diverse_recipe_trains_once_over_the_curriculum_in_order(train_demo, tmp_path):
    rc, out = _run(train_demo, tmp_path, "--num_train", "48", "--stage_steps", "3")
    assert rc == 0
    result = json.loads((out / "demo_result.json").read_text())
    assert result["stages"] == ["train"] and result["algorithm"] == "ctc" and result["ramp"] == [0.3, 0.7]
    assert not (out / "model_plain").exists()  # one run: no second stage restarting the schedule
    import yaml

    config = yaml.safe_load((out / "model" / "config.yml").read_text())
    assert config["Train"]["loader"]["shuffle"] is False  # the ramp is the file order
    assert [p.rsplit("/", 1)[-1] for p in config["Train"]["dataset"]["label_file_list"]] == ["train_curriculum.txt"]
    rows = [json.loads(line) for line in (out / "data" / "train_curriculum.jsonl").read_text().splitlines()]
    # plain built-in-font lines first; from the ramp's end on, the many training fonts
    assert {r["font"] for r in rows[:12]} == {"builtin"} and len({r["font"] for r in rows[34:]}) > 5
    assert len(result["heldout_fonts_by_font"]) >= 2  # accuracy per held-out font
    assert (out / "curves.png").is_file()
    assert config["Global"]["eval_batch_step"] == [0, 1000]  # the user's -o wins over the recipe's spacing
    # 3 steps: far too short for the speed probe to pay; one eager process, and the record says why
    mode = result["mode"]
    assert mode["probe"] is None and (mode["chosen"], mode["nproc"], result["nproc"]) == ("eager", 1, 1)
    assert mode["why"].startswith("train-demo: no speed probe (3 training steps: ")


def test_ctc_evaluates_about_8_times_a_run_at_multiples_of_100_steps():
    from ppresnet45.training.demo_recipe import DEFAULT_NUM_TRAIN, _eval_every

    assert _eval_every(DEFAULT_NUM_TRAIN // 16) == 500  # 3750 steps: 7 evaluations and the final one
    assert _eval_every(750) == 100 and _eval_every(3) == 100 and _eval_every(8001) == 1100


def test_visionlan_recipe_runs_lf1_lf2_la(train_demo, tmp_path):
    rc, out = _run(
        train_demo,
        tmp_path,
        "--algorithm",
        "visionlan",
        "--augment",
        "none",
        "--stage_steps",
        "2",
        "2",
        "2",
        "-o",
        "Train.loader.batch_size_per_card=8",
    )
    assert rc == 0
    for stage, prev in (("LF_2", "LF_1"), ("LA", "LF_2")):
        folder = out / ("model" if stage == "LA" else f"model_{stage}")
        config = (folder / "config.yml").read_text()
        assert f"training_step: {stage}" in config and f"mode: {stage}" in config
        assert any(str(out / f"model_{prev}" / "best_accuracy") in line for line in _loaded_from(folder))
    result = json.loads((out / "demo_result.json").read_text())
    assert result["stages"] == ["LF_1", "LF_2", "LA"] and result["stage_steps"] == [2, 2, 2]
    assert result["mode"]["probe"] is None and "--algorithm visionlan" in result["mode"]["why"]


def test_stage_steps_must_match_the_stages(train_demo, tmp_path, capsys):
    rc, _ = _run(train_demo, tmp_path, "--algorithm", "abinet", "--stage_steps", "5")
    assert rc == 2
    err = capsys.readouterr().err
    assert "--stage_steps" in err and "vision, full" in err


def test_bad_ramp_is_a_one_line_error_before_rendering(train_demo, tmp_path, capsys):
    rc, out = _run(train_demo, tmp_path, "--ramp", "0.7", "0.2")
    assert rc == 2
    assert "--ramp: expected 0 <= START <= END <= 1" in capsys.readouterr().err
    assert not (out / "data").exists()
