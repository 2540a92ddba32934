"""Unknown config keys stop with one line naming the file, the key path and the closest known
key; PaddleOCR's own configs load unchanged, their unused keys listed once (the user's side:
the command's exit code and what it prints)."""

import logging
import pathlib

import pytest
import yaml

from ppresnet45 import ConfigError, load_config
from ppresnet45.cli import main
from ppresnet45.config import PACKAGE_CONFIG_DIR
from ppresnet45.config_schema import PADDLEOCR_UNUSED

HERE = pathlib.Path(__file__).parent
CTC = pathlib.Path(PACKAGE_CONFIG_DIR) / "rec" / "rec_resnet45_ctc.yml"
PADDLEOCR_CONFIGS = HERE.parent.parent / "shared" / "third_party" / "paddleocr" / "configs" / "rec"


def _with(tmp_path, edit, name="typo.yml"):
    cfg = yaml.safe_load(CTC.read_text(encoding="utf-8"))
    edit(cfg)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    return path


def _one_error_line(capsys, argv):
    code = main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    return code, err


@pytest.mark.parametrize(
    ("edit", "path", "closest"),
    [
        (
            lambda c: c["Global"].__setitem__("pretrained_modle", "x"),
            "Global.pretrained_modle",
            "Global.pretrained_model",
        ),
        (lambda c: c.__setitem__("Optimzer", c.pop("Optimizer")), "Optimzer", "Optimizer"),
        (
            lambda c: c["Architecture"]["Backbone"].__setitem__("stride", [2, 1, 2, 1, 1]),
            "Architecture.Backbone.stride",
            "Architecture.Backbone.strides",
        ),
        (
            lambda c: c["Train"]["loader"].__setitem__("batch_size", 8),
            "Train.loader.batch_size",
            "Train.loader.batch_size_per_card",
        ),
        (
            lambda c: c["Optimizer"]["lr"].__setitem__("learning_rat", 1e-3),
            "Optimizer.lr.learning_rat",
            "Optimizer.lr.learning_rate",
        ),
        (
            lambda c: c["Eval"]["dataset"]["transforms"][-1]["KeepKeys"].__setitem__("keep_key", ["image"]),
            "Eval.dataset.transforms.",
            ".KeepKeys.keep_keys",
        ),
    ],
)
def test_a_typo_in_the_file_stops_export_with_one_line(tmp_path, capsys, edit, path, closest):
    config = _with(tmp_path, edit)
    code, err = _one_error_line(capsys, ["export", "-c", str(config), "-o", f"Global.save_inference_dir={tmp_path}/x"])
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith(f"error: {config}: unknown key '{path}") and closest in err[0]
    assert not (tmp_path / "x").exists()  # nothing exported


def test_a_typo_in_an_override_is_caught_the_same_way(capsys):
    code, err = _one_error_line(capsys, ["summary", "-c", str(CTC), "-o", "Global.pretrained_modle=x"])
    assert code == 2 and len(err) == 1
    assert "Global.pretrained_modle" in err[0] and "closest known key: 'Global.pretrained_model'" in err[0]
    with pytest.raises(ConfigError, match=r"Architecture\.Backbone\.stridez.*'Architecture\.Backbone\.strides'"):
        load_config(CTC, ["Architecture.Backbone.stridez=[2, 2, 2, 1, 1]"])
    # a known key the file does not set may still be added
    assert load_config(CTC, ["Global.cpu_threads=1"])["Global"]["cpu_threads"] == 1


def test_every_shipped_config_has_only_known_keys():
    names = sorted(p.name for p in (pathlib.Path(PACKAGE_CONFIG_DIR) / "rec").glob("*.yml"))
    assert len(names) >= 8
    for name in names:
        load_config(pathlib.Path(PACKAGE_CONFIG_DIR) / "rec" / name)


def test_a_paddleocr_v5_style_config_loads_and_lists_its_unused_keys_once(caplog):
    with caplog.at_level(logging.INFO, logger="ppresnet45.config"):
        cfg = load_config(HERE / "paddleocr_v5_style_rec.yml")
    assert cfg["Architecture"]["Backbone"]["name"] == "PPHGNetV2_B4"  # not ours: building it will say so
    lines = [r.getMessage() for r in caplog.records if "accepted and not used" in r.getMessage()]
    assert len(lines) == 1
    for key in (
        "Global.debug",
        "Global.infer_mode",
        "Global.calc_epoch_interval",
        "Global.d2s_train_image_shape",
        "Train.sampler",
    ):
        assert key in lines[0]
    assert "debug" in PADDLEOCR_UNUSED["Global"]


@pytest.mark.skipif(not PADDLEOCR_CONFIGS.is_dir(), reason=f"PaddleOCR's configs not found at {PADDLEOCR_CONFIGS}")
@pytest.mark.parametrize("name", ["rec_r45_abinet.yml", "rec_r45_visionlan.yml"])
def test_paddleocrs_resnet45_configs_load_unchanged(name, caplog):
    with caplog.at_level(logging.INFO, logger="ppresnet45.config"):
        cfg = load_config(PADDLEOCR_CONFIGS / name)
    assert cfg["Architecture"]["Backbone"]["name"] == "ResNet45"
    assert "Global.infer_mode" in caplog.text


def test_configs_lists_each_packaged_config_on_one_line(capsys):
    assert main(["configs"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    names = sorted(p.stem for p in (pathlib.Path(PACKAGE_CONFIG_DIR) / "rec").glob("*.yml"))
    assert [line.split()[0] for line in lines] == names
    assert all(len(line.split(None, 1)) == 2 for line in lines)  # each has its summary


def test_dash_c_takes_a_packaged_name_from_anywhere(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # no configs/ folder here
    for name in ("rec_resnet45_ctc", "rec_resnet45_ctc.yml", "configs/rec/rec_resnet45_ctc.yml"):
        assert load_config(name)["Architecture"]["Backbone"]["name"] == "ResNet45"
    assert main(["configs", "rec_resnet45_ctc"]) == 0
    (tmp_path / "mine.yml").write_text(capsys.readouterr().out, encoding="utf-8")  # the printed file is a config
    assert load_config("mine.yml")["Architecture"] == load_config("rec_resnet45_ctc")["Architecture"]
    code, err = _one_error_line(capsys, ["summary", "-c", "rec_resnet45_ctcc"])
    assert code == 2 and len(err) == 1 and "closest: 'rec_resnet45_ctc'" in err[0]
    code, err = _one_error_line(capsys, ["summary", "-c", "elsewhere/rec_resnet45_ctc.yml"])  # a path stays a path
    assert code == 2 and err == ["error: config file 'elsewhere/rec_resnet45_ctc.yml' not found"]
