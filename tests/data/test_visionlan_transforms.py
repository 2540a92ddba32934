"""VisionLAN's data transforms: VLLabelEncode (MLM targets, label-length rule) and VLRecResizeImg."""

import pathlib

import cv2
import numpy as np
import paddle
import pytest

import ppresnet45  # noqa: F401  (registers the data transforms)
from ppresnet45.config import load_config
from ppresnet45.data.transforms import SkipSample, apply_transforms, build_transforms
from ppresnet45.data.visionlan_transforms import VLLabelEncode, VLRecResizeImg
from ppresnet45.errors import ConfigError
from ppresnet45.modeling.losses.visionlan import VLLoss

CONFIG = pathlib.Path("/work/shared/third_party/paddleocr/configs/rec/rec_r45_visionlan.yml")
GLOBAL = {"max_text_length": 25, "character_dict_path": None, "use_space_char": False}


def _encode(text, seed=0, **kwargs):
    op = VLLabelEncode(global_config=GLOBAL, **kwargs)
    return op({"label": text, "rng": np.random.default_rng(seed)})


def _text(row):
    chars = "0123456789abcdefghijklmnopqrstuvwxyz"
    return "".join(chars[i - 1] for i in row if i)


def test_label_res_sub_and_id_describe_one_removed_character():
    seen = set()
    for seed in range(40):
        out = _encode("Hello", seed)
        pos = int(out["label_id"])
        seen.add(pos)
        assert out["text"] == "hello" and _text(out["label"]) == "hello" and int(out["length"]) == 5
        assert _text(out["label_sub"]) == "hello"[pos] and int(out["length_sub"]) == 1
        assert _text(out["label_res"]) == "hello"[:pos] + "hello"[pos + 1 :] and int(out["length_res"]) == 4
        for key in ("label", "label_res", "label_sub"):
            assert out[key].shape == (25,) and out[key].dtype == np.int64
        assert out["label_id"].dtype == np.int64 and out["label_id"].shape == ()
    assert seen == set(range(5))  # every position can be drawn


def test_the_draw_follows_the_per_sample_rng():
    assert [int(_encode("abcdefgh", s)["label_id"]) for s in range(8)] == [
        int(_encode("abcdefgh", s)["label_id"]) for s in range(8)
    ]
    out = VLLabelEncode(global_config=GLOBAL)({"label": "ab"})  # no rng: still encodes
    assert int(out["label_id"]) in (0, 1)


def test_one_character_label_leaves_label_res_empty():
    out = _encode("7")
    assert int(out["label_id"]) == 0 and int(out["length_res"]) == 0 and not out["label_res"].any()
    assert list(out["label_sub"][:2]) == [8, 0]


def test_label_id_indexes_the_encoded_label_when_unknown_characters_are_dropped():
    for seed in range(10):
        out = _encode("a-b!c", seed, drop_unknown_chars=True)
        assert out["text"] == "abc"
        assert out["label"][int(out["label_id"])] == out["label_sub"][0]


def test_length_rule_keeps_max_text_length_characters_and_skips_longer():
    """A 25-character label (= max_text_length) crashes PaddleOCR's VLLoss (no end class in
    its row); here it is kept and the loss trains its end at the head's last step (25)."""
    full = "abcdefghijklmnopqrstuvwxy"
    out = _encode(full)
    assert int(out["length"]) == 25 and out["label"].all()
    batch = [None] + [paddle.to_tensor(out[k][None]) for k in ("label", "label_res", "label_sub")]
    logits = paddle.to_tensor(np.random.default_rng(0).standard_normal([1, 26, 37]).astype(np.float32))
    loss = VLLoss("LA")([logits] * 4, batch)["loss"]
    assert np.isfinite(float(loss))
    with pytest.raises(SkipSample) as err:
        _encode(full + "z")
    assert err.value.reason == "label_too_long"
    with pytest.raises(SkipSample) as err:
        _encode("")
    assert err.value.reason == "empty_label"
    with pytest.raises(SkipSample) as err:
        _encode("a-b")
    assert err.value.reason == "unknown_char"
    assert VLLabelEncode(global_config=GLOBAL).check_label(full + "z") == "label_too_long"


def test_vl_resize_stretches_and_scales_to_unit_range():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, size=(40, 300, 3), dtype=np.uint8)
    out = VLRecResizeImg(image_shape=[3, 64, 256])({"image": img})
    want = cv2.resize(img, (256, 64), interpolation=cv2.INTER_LINEAR).astype(np.float32).transpose(2, 0, 1) / 255
    assert out["image"].shape == (3, 64, 256) and out["image"].dtype == np.float32
    np.testing.assert_array_equal(out["image"], want)
    assert float(out["valid_ratio"]) == 1.0
    gray = VLRecResizeImg(image_shape=[1, 64, 256])({"image": img[:, :, 0]})["image"]
    assert gray.shape == (1, 64, 256) and gray.min() >= 0.0 and gray.max() <= 1.0


def test_vl_resize_arguments_and_channel_mismatch():
    assert VLRecResizeImg(global_config={"image_shape": [3, 64, 256]}).image_shape == [3, 64, 256]
    with pytest.raises(ConfigError, match="VLRecResizeImg.image_shape"):
        VLRecResizeImg(image_shape=[2, 64, 256])
    with pytest.raises(ConfigError, match="VLRecResizeImg.image_shape"):
        VLRecResizeImg(image_shape=[1, 64, 256])({"image": np.zeros((8, 8, 3), np.uint8)})


@pytest.mark.skipif(not CONFIG.is_file(), reason=f"PaddleOCR config not found: {CONFIG}")
def test_paddleocr_eval_transforms_build_and_give_the_keep_keys():
    config = load_config(str(CONFIG))
    ops = build_transforms(config["Eval"]["dataset"]["transforms"], config["Global"], "Eval.dataset.transforms")
    _, buf = cv2.imencode(".png", np.full((32, 100, 3), 200, np.uint8))
    image, label, res, sub, label_id, length = apply_transforms(
        {"image": buf.tobytes(), "label": "Shop", "rng": np.random.default_rng(3)}, ops
    )
    assert image.shape == (3, 64, 256) and image.dtype == np.float32
    assert image.max() == pytest.approx(200 / 255)
    assert _text(label) == "shop" and int(length) == 4
    assert _text(sub) == "shop"[int(label_id)] and len(_text(res)) == 3
