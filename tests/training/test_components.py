"""Pipeline parts built from a config: the same builders for train, eval and export."""

import os

import numpy as np
import paddle
import pytest

from ppresnet45.config import PACKAGE_CONFIG_DIR, load_config, save_config
from ppresnet45.errors import ConfigError, RegistryError
from ppresnet45.modeling.decoders.ctc import CTCLabelDecode
from ppresnet45.modeling.losses.ctc import CTCLoss
from ppresnet45.modeling.metrics import RecMetric
from ppresnet45.training import components
from ppresnet45.training.optim import StepLRSchedule

DEMO = os.path.join(PACKAGE_CONFIG_DIR, "rec", "rec_resnet45_ctc_demo.yml")
SHAPE = [3, 32, 64]


def _config(tmp_path, **over):
    """The demo recipe on 6 rendered lines at 32x64, Train batch 4, Eval batch 4."""
    from ppresnet45.data.synth import render_dataset

    data = tmp_path / "data"
    if not (data / "labels.txt").exists():
        render_dataset(str(data), 6, seed=2, min_len=1, max_len=4, augment=False, show_progress=False)
    ops = [
        {"DecodeImage": {"img_mode": "BGR", "channel_first": False}},
        {"CTCLabelEncode": None},
        {"RecResizeImg": {"image_shape": SHAPE}},
        {"KeepKeys": {"keep_keys": ["image", "label", "length"]}},
    ]
    opts = {"Global.image_shape": SHAPE, "Global.epoch_num": 2, "Global.save_model_dir": str(tmp_path / "out")}
    for mode in ("Train", "Eval"):
        opts.update(
            {
                f"{mode}.dataset.data_dir": str(data),
                f"{mode}.dataset.label_file_list": [str(data / "labels.txt")],
                f"{mode}.dataset.transforms": ops,
                f"{mode}.loader.batch_size_per_card": 4,
            }
        )
    opts.update(over)
    return load_config(DEMO, opts)


def test_single_builders_use_the_config_sections_and_defaults(tmp_path):
    config = _config(tmp_path)
    assert isinstance(components.build_loss(config), CTCLoss)
    assert isinstance(components.build_postprocess(config), CTCLabelDecode)
    metric = components.build_metric(config)
    assert isinstance(metric, RecMetric) and components.main_indicator(metric, config) == "acc"
    chars = components.dictionary_characters(config)
    assert chars[:3] == ["0", "1", "2"] and len(chars) == 36
    model = components.build_model(config)
    assert model(paddle.randn([1] + SHAPE)).shape[-1] == len(chars) + 1  # + CTC blank
    bare = {k: v for k, v in config.items() if k not in ("Loss", "PostProcess", "Metric")}
    assert isinstance(components.build_loss(bare), CTCLoss)
    assert isinstance(components.build_metric(bare), RecMetric)


def test_unknown_metric_keyword_in_a_config_file_is_a_one_line_error(tmp_path):
    config = _config(tmp_path)
    config["Metric"]["ignore_spaces"] = False
    save_config(config, tmp_path / "typo.yml")
    with pytest.raises(ConfigError) as err:  # the config schema stops it when the file loads
        load_config(str(tmp_path / "typo.yml"))
    msg = str(err.value)
    assert len(msg.splitlines()) == 1
    assert msg == (
        f"{tmp_path / 'typo.yml'}: unknown key 'Metric.ignore_spaces' (closest known key: 'Metric.ignore_space')"
    )
    with pytest.raises(RegistryError) as err:  # a config built in code meets the same rule when the metric is built
        components.build_metric(config)
    msg = str(err.value)
    assert len(msg.splitlines()) == 1
    assert msg.startswith("Metric 'RecMetric' got unexpected argument(s) 'ignore_spaces'")
    assert "did you mean 'ignore_space'" in msg


def test_build_optimizer_counts_global_epochs_of_the_given_steps(tmp_path):
    config = _config(tmp_path, **{"Optimizer.lr": {"name": "Cosine", "learning_rate": 0.1}})
    model = components.build_model(config)
    opt, sched = components.build_optimizer(config, model, steps_per_epoch=5)
    assert isinstance(opt, paddle.optimizer.Adam) and isinstance(sched, StepLRSchedule)
    assert sched.lr_at(0) == pytest.approx(0.1) and sched.lr_at(10) == pytest.approx(0.0, abs=1e-12)
    assert sched.lr_at(5) == pytest.approx(0.05)  # halfway through 2 epochs of 5 steps
    resumed = components.build_optimizer(config, model, steps_per_epoch=5, last_step=4)[1]
    assert resumed.last_epoch == 5
    with pytest.raises(ConfigError, match="Global.epoch_num"):
        components.build_optimizer(_config(tmp_path, **{"Global.epoch_num": 0}), model, 5)


def test_eval_loader_batches_carry_texts_and_image_paths(tmp_path):
    config = _config(tmp_path)
    loader, positions = components.build_eval_loader(config)
    assert positions == {"image": 0, "label": 1, "length": 2, "text": 3, "img_path": 4}
    batches = list(loader)
    assert sum(len(b[positions["text"]]) for b in batches) == 6
    assert all(os.path.isfile(str(p)) for b in batches for p in b[positions["img_path"]])
    assert config["Eval"]["dataset"]["transforms"][-1]["KeepKeys"]["keep_keys"] == ["image", "label", "length"]


def test_training_parts_are_built_for_one_rank_at_an_epoch(tmp_path):
    config = _config(tmp_path, **{"Train.loader.batch_size_per_card": 2})
    parts = components.build_training_parts(config, seed=1, rank=1, world_size=2, epoch=1, last_step=2)
    assert len(parts.train_loader) == 1  # 6 lines / 2 ranks = 3, batch 2, drop_last
    assert parts.train_loader.epoch == 1
    assert parts.train_positions == {"image": 0, "label": 1, "length": 2}
    assert parts.eval_loader is not None and parts.eval_positions["text"] == 3
    assert parts.schedule.last_epoch == 3
    trainable = [p for p in parts.model.parameters() if not p.stop_gradient]
    assert len(parts.optimizer._parameter_list) == len(trainable)
    without_eval = components.build_training_parts(config, with_eval=False)
    assert without_eval.eval_loader is None and without_eval.eval_positions is None


def test_training_parts_need_image_label_and_length_in_train_batches(tmp_path):
    config = _config(tmp_path)
    config["Train"]["dataset"]["transforms"][-1] = {"KeepKeys": {"keep_keys": ["image", "label"]}}
    with pytest.raises(ConfigError, match="Train.dataset.transforms: KeepKeys must keep 'length'"):
        components.build_training_parts(config)


def test_load_weights_reports_in_the_exporter_format(tmp_path):
    config = _config(tmp_path)
    paddle.seed(7)
    source = components.build_model(config)
    paddle.save(source.backbone.state_dict(), str(tmp_path / "bb.pdparams"))
    target = components.build_model(config)
    report = components.load_weights(target, str(tmp_path / "bb"))
    assert report["path"] == str(tmp_path / "bb.pdparams") and report["key_prefix_added"] == "backbone."
    assert report["loaded"] == len(source.backbone.state_dict()) and report["total"] == len(target.state_dict())
    assert report["missing"] == [] and report["unexpected"] == [] and report["mismatched"] == []
    np.testing.assert_array_equal(target.backbone.conv1.weight.numpy(), source.backbone.conv1.weight.numpy())
