"""The Global keys of a training run: defaults and one-line errors naming the key."""

import pytest

from ppresnet45.errors import ConfigError
from ppresnet45.training.settings import TrainSettings


def test_defaults_and_paddleocr_key_names():
    s = TrainSettings.from_config(
        {
            "Global": {
                "save_model_dir": "out",
                "eval_batch_step": [10, 5],
                "log_smooth_window": 3,
                "max_steps": None,
                "cal_metric_during_train": False,
                "checkpoints": "",
            }
        }
    )
    assert (s.save_dir, s.eval_start, s.eval_every, s.smooth_window) == ("out", 10, 5, 3)
    assert s.max_steps == 0 and s.cal_metric is False and s.checkpoints is None
    d = TrainSettings.from_config({})
    assert (d.epoch_num, d.print_batch_step, d.eval_every, d.seed, d.use_gpu) == (1, 10, 500, 0, False)


@pytest.mark.parametrize(
    "key, value, expected",
    [
        ("epoch_num", 0, "an int >= 1"),
        ("max_steps", -1, "an int >= 0 or null"),
        ("print_batch_step", True, "an int >= 1"),
        ("log_smooth_window", 1.5, "an int >= 1"),
        ("save_epoch_step", "2", "an int >= 0"),
        ("save_model_dir", 3, "str"),
        ("seed", False, "an int in [0, 2**32)"),
        ("seed", 2**32, "an int in [0, 2**32)"),
    ],
)
def test_bad_value_names_the_key(key, value, expected):
    with pytest.raises(ConfigError) as err:
        TrainSettings.from_config({"Global": {key: value}})
    assert str(err.value) == f"Global.{key}: expected {expected}, got {value!r}"
