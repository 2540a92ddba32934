"""Recognition metrics on known predictions, and ``ppresnet45 eval`` end to end on a tiny set."""

import json
import os

import paddle
import pytest

from ppresnet45.cli import main
from ppresnet45.config import load_config
from ppresnet45.training.checkpoint import save_checkpoint
from ppresnet45.modeling.metrics import RecMetric, edit_distance, normalized_edit_distance, worst_samples
from ppresnet45.modeling import build_model
from ppresnet45.registry import METRICS

DEMO = "configs/rec/rec_resnet45_ctc_demo.yml"


@pytest.mark.parametrize("a, b, d", [("", "", 0), ("abc", "", 3), ("kitten", "sitting", 3), ("abc", "abc", 0),
                                     ("ab", "ba", 2), ("flaw", "lawn", 2)])
def test_edit_distance_known_values(a, b, d):
    assert edit_distance(a, b) == d == edit_distance(b, a)


def test_rec_metric_on_known_predictions():
    metric = METRICS.build({"name": "RecMetric", "main_indicator": "acc"})
    assert isinstance(metric, RecMetric)
    preds = [("abc", 0.9), ("ABD", 0.8), ("hello", 0.7), ("", 0.0)]
    labels = [("abc", 1.0), ("abd", 1.0), ("help", 1.0), ("xy", 1.0)]
    batch = metric((preds, labels))
    assert batch["acc"] == pytest.approx(0.25)
    metric.update([("Q1", 1.0)], ["q1"])
    out = metric.get_metric()
    assert out["num_samples"] == 5
    assert out["acc"] == pytest.approx(1 / 5)
    assert out["acc_case_insensitive"] == pytest.approx(3 / 5)  # ABD/abd and Q1/q1 match ignoring case
    neds = [0, 1.0, 2 / 5, 1.0, 1 / 2]  # case counts: "ABD" vs "abd" is 3 of 3; "hello" vs "help": 2 of 5
    assert out["mean_norm_edit_distance"] == pytest.approx(sum(neds) / 5)
    assert out["norm_edit_dis"] == pytest.approx(1 - sum(neds) / 5)
    assert out["acc_by_length"] == {2: {"acc": 0.0, "count": 2}, 3: {"acc": 0.5, "count": 2},
                                    4: {"acc": 0.0, "count": 1}}
    assert metric.get_metric()["num_samples"] == 0  # get_metric resets


def test_rec_metric_ignores_spaces_by_default_and_filter_mode():
    m = RecMetric()
    m.update(["a b"], ["ab"])
    assert m.get_metric()["acc"] == 1.0
    m = RecMetric(is_filter=True)
    m.update(["A-b!"], ["ab"])
    assert m.get_metric()["acc"] == 1.0
    assert normalized_edit_distance("", "") == 0.0


def test_worst_samples_sorted_by_edit_distance():
    m = RecMetric(keep_records=True)
    m.update([("abc", 0.9), ("x", 0.2), ("abcd", 0.5), ("q", 0.1)], ["abc", "xyz", "abxy", "p"],
             extras=[{"img_path": f"{i}.png"} for i in range(4)])
    worst = worst_samples(m.records(), 2)
    assert [w["img_path"] for w in worst] == ["1.png", "2.png"]  # distances 2 (ned 2/3) and 2 (ned 2/4)
    assert all(not w["correct"] for w in worst_samples(m.records(), 10))


def _tiny_eval_config(tmp_path):
    from ppresnet45.data.synth import render_dataset

    data = tmp_path / "data"
    render_dataset(str(data), 6, seed=3, charset="0123456789abc", min_len=1, max_len=4, augment=False,
                   show_progress=False)
    over = {
        "Global.image_shape": [3, 32, 64],
        "Global.save_model_dir": str(tmp_path / "model"),
        "Eval.dataset.data_dir": str(data),
        "Eval.dataset.label_file_list": [str(data / "labels.txt")],
        "Eval.dataset.transforms.2.RecResizeImg.image_shape": [3, 32, 64],
        "Eval.loader.batch_size_per_card": 4,
    }
    return load_config(DEMO, over)


def test_eval_command_writes_json_and_worst_samples(tmp_path, repo_root, monkeypatch, capsys):
    monkeypatch.chdir(repo_root)
    config = _tiny_eval_config(tmp_path)
    paddle.seed(0)
    model = build_model(config)
    prefix = save_checkpoint(str(tmp_path / "model" / "best_accuracy"), model, state={"global_step": 0})
    cfg_file = tmp_path / "cfg.yml"
    from ppresnet45.config import save_config

    save_config(config, cfg_file)
    rc = main(["-c", str(cfg_file), "-o", f"Global.checkpoints={prefix}", "--num_worst", "3", "--no_progress"],
              command="eval")
    assert rc == 0
    out = capsys.readouterr().out
    assert "word accuracy" in out and "eval_result.json" in out
    result = json.loads((tmp_path / "model" / "eval_result.json").read_text())
    m = result["metrics"]
    assert m["num_samples"] == 6
    for key in ("acc", "acc_case_insensitive", "norm_edit_dis", "mean_norm_edit_distance", "acc_by_length"):
        assert key in m
    assert result["checkpoint"] == prefix
    lines = (tmp_path / "model" / "eval_worst.tsv").read_text().splitlines()
    assert lines[0].split("\t") == ["image", "label", "prediction", "edit_distance", "score"]
    assert 1 <= len(lines) - 1 <= 3
    dists = [int(line.split("\t")[3]) for line in lines[1:]]
    assert dists == sorted(dists, reverse=True)
    assert os.path.isfile(lines[1].split("\t")[0])  # the image path of the sample


def test_eval_command_missing_checkpoint_is_one_line_error(tmp_path, repo_root, monkeypatch, capsys):
    monkeypatch.chdir(repo_root)
    rc = main(["-c", DEMO, "-o", f"Global.checkpoints={tmp_path}/nothing"], command="eval")
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("error: Global.checkpoints") and "nothing.pdparams" in err
    assert "Traceback" not in err
