"""Configs: loading, -o overrides with YAML-typed values, validation messages that name the key."""

import pathlib

import pytest

import ppresnet45
from ppresnet45 import ConfigError
from ppresnet45.cli import main
from ppresnet45.config import PACKAGE_CONFIG_DIR

DEFAULT = pathlib.Path(PACKAGE_CONFIG_DIR) / "rec" / "rec_resnet45_ctc.yml"


def test_load_config_returns_plain_dict_with_paddleocr_sections():
    cfg = ppresnet45.load_config(DEFAULT)
    assert type(cfg) is dict
    for section in ("Global", "Architecture", "Loss", "Optimizer", "PostProcess", "Metric", "Train", "Eval"):
        assert section in cfg
    assert cfg["Architecture"]["Backbone"]["name"] == "ResNet45"


def test_overrides_are_yaml_typed():
    cfg = ppresnet45.load_config(
        DEFAULT,
        [
            "Global.epoch_num=7",
            "Global.use_gpu=true",
            "Architecture.Backbone.strides=[2, 2, 2, 1, 1]",
            "Optimizer.lr.learning_rate=5e-4",
            "Global.save_model_dir=./out dir",
            "Global.pretrained_model=null",
        ],
    )
    assert cfg["Global"]["epoch_num"] == 7
    assert cfg["Global"]["use_gpu"] is True
    assert cfg["Architecture"]["Backbone"]["strides"] == [2, 2, 2, 1, 1]
    assert cfg["Optimizer"]["lr"]["learning_rate"] == pytest.approx(5e-4)
    assert cfg["Global"]["save_model_dir"] == "./out dir"
    assert cfg["Global"]["pretrained_model"] is None


def test_override_as_dict_and_list_index():
    cfg = ppresnet45.load_config(DEFAULT, {"Global.epoch_num": 3, "Train.dataset.label_file_list.0": "a.txt"})
    assert cfg["Global"]["epoch_num"] == 3
    assert cfg["Train"]["dataset"]["label_file_list"] == ["a.txt"]


def test_override_may_add_a_known_key_and_component_arguments():
    cfg = ppresnet45.load_config(DEFAULT, ["Global.max_steps=10", "Architecture.Neck.hidden_size=64"])
    assert cfg["Global"]["max_steps"] == 10
    assert cfg["Architecture"]["Neck"]["hidden_size"] == 64


def test_override_for_missing_key_names_the_key():
    with pytest.raises(ConfigError) as err:
        ppresnet45.load_config(DEFAULT, ["Global.epochs_num=3"])
    assert "key 'Global.epochs_num' does not exist" in str(err.value)
    with pytest.raises(ConfigError, match="key 'Train.loader.batch_size' does not exist"):
        ppresnet45.load_config(DEFAULT, ["Train.loader.batch_size=8"])
    with pytest.raises(ConfigError, match="key 'Archtecture' does not exist"):
        ppresnet45.load_config(DEFAULT, ["Archtecture.in_channels=1"])


def test_override_without_equals_sign():
    with pytest.raises(ConfigError, match="expected Section.key=value"):
        ppresnet45.load_config(DEFAULT, ["Global.epoch_num"])


def test_wrong_type_names_key_path_and_expected_type():
    with pytest.raises(ConfigError) as err:
        ppresnet45.load_config(DEFAULT, ["Global.epoch_num=ten"])
    msg = str(err.value)
    assert "Global.epoch_num: expected int, got str 'ten'" in msg
    assert "\n" not in msg
    with pytest.raises(ConfigError, match="Global.use_space_char: expected bool"):
        ppresnet45.load_config(DEFAULT, ["Global.use_space_char=1"])
    with pytest.raises(ConfigError, match=r"Global.image_shape: expected \[C, H, W\]"):
        ppresnet45.load_config(DEFAULT, ["Global.image_shape=[3, 32]"])


def test_yaml_syntax_error_gives_file_line_and_column(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("Global:\n  epoch_num: 3\nArchitecture: [unclosed\n")
    with pytest.raises(ConfigError) as err:
        ppresnet45.load_config(bad)
    msg = str(err.value)
    assert msg.startswith(f"{bad}:") and "YAML syntax error" in msg
    assert "\n" not in msg


def test_missing_config_file_and_missing_section(tmp_path):
    with pytest.raises(ConfigError, match="config file '.*nope.yml' not found"):
        ppresnet45.load_config(tmp_path / "nope.yml")
    cfg = tmp_path / "c.yml"
    cfg.write_text("Global: {}\n")
    with pytest.raises(ConfigError, match="missing section 'Architecture'"):
        ppresnet45.load_config(cfg)


def test_missing_dictionary_file_names_key_and_path(tmp_path):
    cfg = ppresnet45.load_config(DEFAULT, [f"Global.character_dict_path={tmp_path}/none.txt"])
    with pytest.raises(ConfigError) as err:
        ppresnet45.build_model(cfg)
    assert f"Global.character_dict_path: character dictionary '{tmp_path}/none.txt' not found" in str(err.value)


def test_dictionary_path_resolves_relative_to_config_file():
    cfg = ppresnet45.load_config(DEFAULT)
    assert cfg["Global"]["character_dict_path"].endswith("configs/dicts/en_dict.txt")


def test_cli_reports_bad_input_in_one_line_and_exits_2(capsys):
    rc = main(["summary", "-c", str(DEFAULT), "-o", "Global.epoch_num=ten"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2
    assert err == [f"error: {DEFAULT}: Global.epoch_num: expected int, got str 'ten'"]
    rc = main(["summary", "-c", str(DEFAULT), "-o", "Architecture.Backbone.name=ResNet4"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "unknown Backbone 'ResNet4'" in err[0]
    rc = main(["summary", "-c", str(DEFAULT), "-o", "Architecture.Backbone.layers=[3,4,6,6]"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "one entry per stage" in err[0]


def test_cli_debug_shows_the_traceback():
    with pytest.raises(ConfigError):
        main(["summary", "-c", str(DEFAULT), "-o", "Global.epoch_num=ten", "--debug"])


def test_global_image_shape_that_disagrees_with_the_transforms_is_a_one_line_error():
    # Regression: -o Global.image_shape=[3,48,320] used to train on 32x128 (RecResizeImg's own
    # shape) and export 48x320, with no error.
    with pytest.raises(ConfigError) as err:
        ppresnet45.load_config(DEFAULT, ["Global.image_shape=[3,48,320]"])
    msg = str(err.value)
    assert "\n" not in msg
    assert "Global.image_shape [3, 48, 320]" in msg
    assert "Eval.dataset.transforms.2.RecResizeImg.image_shape [3, 32, 128]" in msg


def test_image_shape_comes_from_the_eval_resize_transform_as_in_paddleocr():
    from ppresnet45.config import image_shape_of

    cfg = ppresnet45.load_config(
        DEFAULT,
        [
            "Eval.dataset.transforms.2.RecResizeImg.image_shape=[3,48,320]",
            "Train.dataset.transforms.3.RecResizeImg.image_shape=[3,48,320]",
        ],
    )
    assert image_shape_of(cfg) == [3, 48, 320]
    # agreeing values are fine; Global.image_shape alone is the fallback
    cfg = ppresnet45.load_config(DEFAULT, ["Global.image_shape=[3,32,128]"])
    assert image_shape_of(cfg) == [3, 32, 128]
    bare = {"Global": {"image_shape": [1, 48, 200]}, "Architecture": {"in_channels": 1}}
    assert image_shape_of(bare) == [1, 48, 200]
    assert image_shape_of({"Global": {}, "Architecture": {"in_channels": 1}}) == [1, 32, 128]


@pytest.mark.parametrize(
    "mutate, words",
    [
        (lambda c: c["Eval"].__setitem__("dataset", "x"), ["Eval.dataset: expected a mapping", "'x'"]),
        (
            lambda c: c["Eval"]["dataset"].__setitem__("transforms", 3),
            ["Eval.dataset.transforms: expected a list", "3"],
        ),
        (
            lambda c: c["Eval"]["dataset"]["transforms"][2]["RecResizeImg"].__setitem__("image_shape", 10**12),
            ["Eval.dataset.transforms.2.RecResizeImg.image_shape", "1000000000000", "[C, H, W]"],
        ),
        (
            lambda c: c["Eval"]["dataset"]["transforms"][2]["RecResizeImg"].__setitem__("image_shape", [3, 32, {}]),
            ["Eval.dataset.transforms.2.RecResizeImg.image_shape", "[3, 32, {}]"],
        ),
        (
            lambda c: c["Eval"]["dataset"]["transforms"][2]["RecResizeImg"].__setitem__("image_shape", [3, 32, 10**6]),
            ["Eval.dataset.transforms.2.RecResizeImg.image_shape", "H and W <= 8192"],
        ),
        (
            lambda c: c["Eval"]["dataset"]["transforms"][2]["RecResizeImg"].__setitem__("image_shape", [100, 32, 128]),
            ["Eval.dataset.transforms.2.RecResizeImg.image_shape", "C <= 64"],
        ),
        (lambda c: c["Global"].__setitem__("image_shape", [3, 32, 10**12]), ["Global.image_shape", "[3, 32, "]),
    ],
)
def test_malformed_transform_image_shape_or_eval_dataset_is_a_one_line_error(mutate, words):
    # Regression (fuzz): Eval.dataset='x' raised AttributeError and image_shape=10**12 a TypeError in
    # config._transform_shape; image_shape [3, 32, {}] reached summary.count_macs unchecked.
    from ppresnet45.config import validate_config

    cfg = ppresnet45.load_config(DEFAULT)
    mutate(cfg)
    with pytest.raises(ConfigError) as err:
        validate_config(cfg)
    msg = str(err.value)
    assert "\n" not in msg
    for word in words:
        assert word in msg, msg


def test_image_shape_fallback_checks_architecture_in_channels():
    from ppresnet45.config import image_shape_of

    with pytest.raises(ConfigError, match=r"Architecture.in_channels: .*got 1000000000000$"):
        image_shape_of({"Global": {}, "Architecture": {"in_channels": 10**12}})
