"""Batch field positions (KeepKeys) and label texts."""

import numpy as np
import pytest

from ppresnet45.errors import ConfigError
from ppresnet45.training.batches import (
    batch_positions,
    decode_label_batch,
    label_texts,
    train_batch_positions,
    with_eval_fields,
)


def _config(keys):
    return {
        "Eval": {"dataset": {"transforms": [{"DecodeImage": None}, {"KeepKeys": {"keep_keys": keys}}]}},
        "Train": {"dataset": {"transforms": [{"KeepKeys": {"keep_keys": keys}}]}},
    }


def test_positions_follow_keep_keys_and_eval_fields_are_appended_to_a_copy():
    config = _config(["label", "image", "length"])
    assert batch_positions(config, "Train") == {"label": 0, "image": 1, "length": 2}
    assert batch_positions({}, "Eval") == {"image": 0, "label": 1, "length": 2}
    copy, positions = with_eval_fields(config, "Eval")
    assert positions == {"label": 0, "image": 1, "length": 2, "text": 3, "img_path": 4}
    assert copy["Eval"]["dataset"]["transforms"][1]["KeepKeys"]["keep_keys"][-2:] == ["text", "img_path"]
    assert config["Eval"]["dataset"]["transforms"][1]["KeepKeys"]["keep_keys"] == ["label", "image", "length"]
    with pytest.raises(ConfigError, match="KeepKeys must keep 'length'"):
        train_batch_positions(_config(["image", "label"]))


def test_labels_decode_to_texts_or_come_from_the_text_field():
    chars = ["a", "b", "c"]
    labels = np.array([[1, 2, 3, 0], [3, 3, 0, 0], [9, 1, 0, 0]])
    lengths = np.array([3, 1, 2])
    assert decode_label_batch(labels, lengths, chars) == ["abc", "c", "a"]  # 9 is outside the dictionary
    batch = [None, labels, lengths, np.array(["x", "y", "z"])]
    assert label_texts(batch, {"image": 0, "label": 1, "length": 2, "text": 3}) == ["x", "y", "z"]
    assert label_texts(batch, {"image": 0, "label": 1, "length": 2}, chars) == ["abc", "c", "a"]
    with pytest.raises(ConfigError, match="characters"):
        label_texts(batch, {"image": 0, "label": 1, "length": 2})


@pytest.mark.parametrize(
    "config, words",
    [
        ({"Train": {"dataset": 2.5}}, ["Train.dataset: expected a mapping", "2.5"]),
        ({"Train": {"dataset": {"transforms": True}}}, ["Train.dataset.transforms: expected a list", "True"]),
        (
            {"Train": {"dataset": {"transforms": [{"KeepKeys": {"keep_keys": [[1, "a"], "label"]}}]}}},
            ["Train.dataset.transforms.0.KeepKeys.keep_keys", "list of field names", "[[1, 'a'], 'label']"],
        ),
        (
            {"Train": {"dataset": {"transforms": [{"KeepKeys": {"keep_keys": "image"}}]}}},
            ["Train.dataset.transforms.0.KeepKeys.keep_keys", "'image'"],
        ),
    ],
)
def test_malformed_dataset_transforms_or_keep_keys_are_one_line_errors(config, words):
    # Regression (fuzz): Train.dataset=2.5 / transforms=True raised AttributeError / TypeError in
    # _keep_keys_op; keep_keys.0=[1, 'a'] "unhashable type" in the positions dict.
    for call in (batch_positions, with_eval_fields):
        with pytest.raises(ConfigError) as err:
            call(config, "Train")
        msg = str(err.value)
        assert "\n" not in msg and all(w in msg for w in words), msg
