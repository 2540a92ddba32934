"""tools/train_demo.py: the staged recipes chain their stages and report on both held-out sets.

Tiny runs (a few lines, 2 steps per stage): what is checked is the plumbing — each later stage
starts from the previous stage's best checkpoint, the stages' own settings reach the trainer,
one curve spans all stages, and demo_result.json says what ran.
"""

import importlib.util
import json
import pathlib

import pytest

TOOL = pathlib.Path(__file__).resolve().parents[1] / "tools" / "train_demo.py"


@pytest.fixture(scope="module")
def train_demo():
    spec = importlib.util.spec_from_file_location("train_demo_tool", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(train_demo, tmp_path, *argv):
    out = tmp_path / "demo"
    rc = train_demo.main(["--output_dir", str(out), "--num_train", "16", "--num_heldout", "6", "--no_progress",
                          "-o", "Global.cpu_threads=1", "Global.eval_batch_step=[0,1000]", *argv])
    return rc, out


def _loaded_from(model_dir):
    """The weights the stage started from (its saved config's Global.pretrained_model)."""
    import yaml

    return [str(yaml.safe_load((model_dir / "config.yml").read_text())["Global"].get("pretrained_model"))]


@pytest.mark.slow
def test_ctc_diverse_recipe_trains_plain_then_diverse(train_demo, tmp_path):
    rc, out = _run(train_demo, tmp_path, "--num_train", "32", "--plain_lines", "32", "--stage_steps", "2", "2")
    assert rc == 0
    result = json.loads((out / "demo_result.json").read_text())
    assert result["stages"] == ["plain", "diverse"] and result["algorithm"] == "ctc"
    # stage 1 trained on the plain built-in-font lines, stage 2 on the diverse ones, from stage 1's weights
    assert "train_clean.txt" in (out / "model_plain" / "config.yml").read_text()
    assert "train_diverse.txt" in (out / "model" / "config.yml").read_text()
    assert any(str(out / "model_plain" / "best_accuracy") in line for line in _loaded_from(out / "model"))
    steps = [json.loads(line) for line in (out / "train_log_all_stages.jsonl").read_text().splitlines()]
    first = {}
    for r in steps:
        if r.get("type") == "train":
            first.setdefault(r["stage"], r["step"])
    assert first == {"plain": 1, "diverse": 3}  # stage 2's step 1 follows stage 1's 2 steps
    assert len(result["heldout_fonts_by_font"]) >= 2  # accuracy per held-out font
    assert (out / "curves.png").is_file()


def test_visionlan_recipe_runs_lf1_lf2_la(train_demo, tmp_path):
    rc, out = _run(train_demo, tmp_path, "--algorithm", "visionlan", "--augment", "none",
                   "--stage_steps", "2", "2", "2", "-o", "Train.loader.batch_size_per_card=8")
    assert rc == 0
    for stage, prev in (("LF_2", "LF_1"), ("LA", "LF_2")):
        folder = out / ("model" if stage == "LA" else f"model_{stage}")
        config = (folder / "config.yml").read_text()
        assert f"training_step: {stage}" in config and f"mode: {stage}" in config
        assert any(str(out / f"model_{prev}" / "best_accuracy") in line for line in _loaded_from(folder))
    result = json.loads((out / "demo_result.json").read_text())
    assert result["stages"] == ["LF_1", "LF_2", "LA"] and result["stage_steps"] == [2, 2, 2]


def test_stage_steps_must_match_the_stages(train_demo, tmp_path, capsys):
    rc, _ = _run(train_demo, tmp_path, "--algorithm", "abinet", "--stage_steps", "5")
    assert rc == 2
    err = capsys.readouterr().err
    assert "--stage_steps" in err and "vision, full" in err
