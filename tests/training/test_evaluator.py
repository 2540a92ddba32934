"""``ppresnet45 eval`` end to end on a tiny set, and :func:`evaluate_model` on its own."""

import json
import os

import paddle
import pytest

from ppresnet45.cli import main
from ppresnet45.config import PACKAGE_CONFIG_DIR, load_config, save_config
from ppresnet45.errors import ConfigError
from ppresnet45.modeling import build_model
from ppresnet45.modeling.metrics import RecMetric
from ppresnet45.training import components
from ppresnet45.training.checkpoint import save_checkpoint
from ppresnet45.training.evaluator import (
    evaluate_checkpoint,
    evaluate_model,
    format_metrics,
)

DEMO = os.path.join(PACKAGE_CONFIG_DIR, "rec", "rec_resnet45_ctc_demo.yml")


def _tiny_eval_config(tmp_path):
    from ppresnet45.data.synth import render_dataset

    data = tmp_path / "data"
    render_dataset(
        str(data), 6, seed=3, charset="0123456789abc", min_len=1, max_len=4, augment=False, show_progress=False
    )
    over = {
        "Global.image_shape": [3, 32, 64],
        "Global.save_model_dir": str(tmp_path / "model"),
        "Eval.dataset.data_dir": str(data),
        "Eval.dataset.label_file_list": [str(data / "labels.txt")],
        "Eval.dataset.transforms.2.RecResizeImg.image_shape": [3, 32, 64],
        "Eval.loader.batch_size_per_card": 4,
    }
    return load_config(DEMO, over)


def test_eval_command_writes_json_and_worst_samples(tmp_path, capsys):
    config = _tiny_eval_config(tmp_path)
    paddle.seed(0)
    model = build_model(config)
    prefix = save_checkpoint(str(tmp_path / "model" / "best_accuracy"), model, state={"global_step": 0})
    cfg_file = tmp_path / "cfg.yml"
    save_config(config, cfg_file)
    rc = main(
        ["-c", str(cfg_file), "-o", f"Global.checkpoints={prefix}", "--num_worst", "3", "--no_progress"], command="eval"
    )
    assert rc == 0
    out = capsys.readouterr().out
    assert "word accuracy" in out and "eval_result.json" in out
    result = json.loads((tmp_path / "model" / "eval_result.json").read_text())
    m = result["metrics"]
    assert m["num_samples"] == 6
    for key in ("acc", "acc_case_insensitive", "norm_edit_dis", "acc_by_length"):
        assert key in m
    assert result["checkpoint"] == prefix
    lines = (tmp_path / "model" / "eval_worst.tsv").read_text().splitlines()
    assert lines[0].split("\t") == ["image", "label", "prediction", "edit_distance", "score"]
    assert 1 <= len(lines) - 1 <= 3
    dists = [int(line.split("\t")[3]) for line in lines[1:]]
    assert dists == sorted(dists, reverse=True)
    assert os.path.isfile(lines[1].split("\t")[0])  # the image path of the sample


def test_eval_command_missing_checkpoint_is_one_line_error(tmp_path, capsys):
    rc = main(["-c", DEMO, "-o", f"Global.checkpoints={tmp_path}/nothing"], command="eval")
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("error: Global.checkpoints") and "nothing.pdparams" in err
    assert "Traceback" not in err


def test_eval_of_a_checkpoint_of_another_dictionary_is_a_one_line_config_error(tmp_path):
    config = _tiny_eval_config(tmp_path)
    other = load_config(
        DEMO,
        {
            "Global.character_dict_path": os.path.join(PACKAGE_CONFIG_DIR, "dicts", "en_dict.txt"),
            "Global.use_space_char": True,
        },
    )
    prefix = save_checkpoint(str(tmp_path / "other" / "latest"), build_model(other))
    with pytest.raises(ConfigError) as err:
        evaluate_checkpoint(config, checkpoint=prefix, show_progress=False)
    assert str(err.value).startswith("Global.checkpoints:") and "does not fit the model" in str(err.value)
    assert "2 shape mismatches" in str(err.value) and len(str(err.value).splitlines()) == 1


def test_evaluate_model_decodes_labels_without_a_text_field_and_restores_train_mode(tmp_path):
    config = _tiny_eval_config(tmp_path)
    paddle.seed(0)
    model = build_model(config)
    model.train()
    loader = components.build_eval_loader(config)[0]  # positions ignored: image, label, length = 0, 1, 2
    metric = RecMetric(keep_records=False)
    metrics, records = evaluate_model(
        model,
        loader,
        components.build_postprocess(config),
        metric,
        characters=components.dictionary_characters(config),
        show_progress=False,
        keep_records=True,
    )
    assert metrics["num_samples"] == 6 and len(records) == 6
    with open(tmp_path / "data" / "labels.txt", encoding="utf-8") as f:
        texts = [line.rstrip("\n").split("\t")[1] for line in f]
    assert sorted(r["label"] for r in records) == sorted(texts)
    assert model.training and metric.keep_records is False
    assert "word accuracy" in format_metrics(metrics)
