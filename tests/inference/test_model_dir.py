"""``ppresnet45.inference.model_dir``: an export directory's files, its check, the file's YAML text."""

import pathlib

import pytest
import yaml

from ppresnet45.errors import ModelDirError
from ppresnet45.inference.model_dir import (
    CONFIG_FILE,
    REQUIRED_FILES,
    check_model_dir,
    dump_inference_yml,
    read_inference_yml,
)


def test_a_complete_export_directory_passes_as_a_str(tmp_path):
    for name in REQUIRED_FILES:
        (tmp_path / name).write_text("x")
    assert check_model_dir(tmp_path) == str(tmp_path)
    assert check_model_dir(pathlib.PurePath(tmp_path), (CONFIG_FILE,)) == str(tmp_path)


def test_a_missing_folder_or_file_is_one_line_naming_it(tmp_path):
    with pytest.raises(ModelDirError, match=r"^model dir '.*nowhere' not found \(expected a folder .* inference.yml"):
        check_model_dir(tmp_path / "nowhere")
    (tmp_path / CONFIG_FILE).write_text("x")
    with pytest.raises(ModelDirError, match=r"^model dir '.*': inference.json missing \('.*inference.json' not found"):
        check_model_dir(tmp_path)
    with pytest.raises(ModelDirError, match="model.onnx missing"):
        check_model_dir(tmp_path, (CONFIG_FILE, "model.onnx"))


def test_the_yaml_text_is_written_as_paddleocr_writes_it_and_reads_back():
    record = {"file": "model_int8.xml"}
    data = {
        "Global": {"input_shape": [3, 32, -1], "normalize": {"mean": [0.5, 0.5, 0.5]}, "a": record, "b": record},
        "PostProcess": {"character_dict": ["a", " ", "中"]},
    }
    text = dump_inference_yml(data)
    assert "input_shape: [3, 32, -1]" in text and "mean: [0.5, 0.5, 0.5]" in text  # short number lists: flow
    assert "- a\n" in text and "- ' '\n" in text and "- 中\n" in text  # characters: one per line, readable
    assert "&id" not in text and "*id" not in text  # a record in two places is written twice
    assert list(yaml.safe_load(text)) == ["Global", "PostProcess"] and yaml.safe_load(text) == data


def test_reading_malformed_yaml_is_one_line_with_the_place(tmp_path):
    path = tmp_path / CONFIG_FILE
    path.write_text("Global: {a: 1}\n", encoding="utf-8")
    assert read_inference_yml(path) == {"Global": {"a": 1}}
    path.write_text("Global: [unclosed\n", encoding="utf-8")
    with pytest.raises(ModelDirError, match=r"inference.yml:\d+:\d+: YAML syntax error") as err:
        read_inference_yml(path)
    assert "\n" not in str(err.value)
