"""The demo recipe's mechanism — one curriculum file read in order (plain built-in-font lines,
then a ramp to styled lines in many fonts) under one warm-up + cosine schedule — takes a small
ResNet45 + CTC off the blank plateau on two seeds.

On the plateau CTC predicts blank at every step: training batch accuracy 0 and a loss stuck
at the blank level. The small recipe: 1-4 character strings of digits and letters, 32x64
lines, one block per stage at widths 16-64, 100 steps of 16, one thread. This small a model
reads some lines during the plain half and little once the styles come in (too small for
them); the full-size recipe's figures are in docs/training.md.
"""

import json
import os

import pytest

from ppresnet45.config import PACKAGE_CONFIG_DIR, load_config
from ppresnet45.data.synth import StyleRamp, find_fonts, render_dataset, split_fonts

STEPS, BATCH = 100, 16


@pytest.fixture(scope="module")
def curriculum(tmp_path_factory):
    root = tmp_path_factory.mktemp("curriculum")
    train_fonts, _ = split_fonts(find_fonts(include_packages=True), ["DejaVu Sans", "DejaVu Serif"])
    num = STEPS * BATCH
    ramp = StyleRamp(num, tuple(train_fonts), start=0.5, end=1.0, short_len=1)
    render_dataset(
        str(root),
        num,
        seed=5,
        charset="0123456789abcdefghijklmnopqrstuvwxyz",
        min_len=1,
        max_len=4,
        fonts=train_fonts,
        line_recipe=ramp,
        show_progress=False,
    )
    return root


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_small_recipe_leaves_the_blank_plateau(curriculum, tmp_path, seed):
    from ppresnet45.training.trainer import Trainer

    shape = [3, 32, 64]
    ops = [
        {"DecodeImage": {"img_mode": "BGR", "channel_first": False}},
        {"CTCLabelEncode": None},
        {"RecResizeImg": {"image_shape": shape}},
        {"KeepKeys": {"keep_keys": ["image", "label", "length"]}},
    ]
    config = load_config(
        os.path.join(PACKAGE_CONFIG_DIR, "rec", "rec_resnet45_ctc_demo.yml"),
        {
            "Global.save_model_dir": str(tmp_path / "out"),
            "Global.seed": seed,
            "Global.cpu_threads": 1,
            "Global.print_batch_step": 5,
            "Global.eval_batch_step": [0, 0],
            "Global.max_text_length": 4,
            "Architecture.Backbone.layers": [1, 1, 1, 1, 1],
            "Architecture.Backbone.channels": [16, 32, 48, 64, 64],
            "Architecture.Backbone.stem_channels": 16,
            "Optimizer.lr.warmup_epoch": 0.1,
            "Train.dataset.data_dir": str(curriculum),
            "Train.dataset.label_file_list": [str(curriculum / "labels.txt")],
            "Train.dataset.transforms": ops,
            "Train.loader.batch_size_per_card": BATCH,
            "Eval": None,
        },
    )
    Trainer(config, show_progress=False).fit()
    rows = [json.loads(line) for line in (tmp_path / "out" / "train_log.jsonl").read_text().splitlines()]
    train = [r for r in rows if r.get("type") == "train"]
    assert train[-1]["step"] == STEPS
    first_loss = train[0]["loss"]
    curve = [(r["step"], round(r["loss_avg"], 2), r["acc"]) for r in train]
    # off the plateau: the smoothed loss far below its start and lines read in many logged
    # batches (on the plateau every prediction is empty: accuracy 0 throughout)
    assert min(r["loss_avg"] for r in train) < 0.25 * first_loss, curve
    assert sum(r["acc"] > 0 for r in train) >= 5, curve
