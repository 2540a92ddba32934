"""Per-sample transforms: decode, label encoding, resize, KeepKeys, builder."""

import cv2
import numpy as np
import pytest

import ppresnet45  # noqa: F401  (registers the data transforms)
from ppresnet45.data.transforms import (
    SKIP_REASONS,
    CTCLabelEncode,
    DecodeImage,
    KeepKeys,
    RecResizeImg,
    SkipSample,
    apply_transforms,
    build_transforms,
)
from ppresnet45.errors import ConfigError, RegistryError


def line_image(text="hello", width=100, height=32, channels=3):
    img = np.full((height, width, 3), 255, np.uint8)
    cv2.putText(img, text, (2, height - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (0, 0, 0), 2)
    return img if channels == 3 else cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)


def png_bytes(img):
    ok, buf = cv2.imencode(".png", img)
    assert ok
    return buf.tobytes()


def test_decode_image_modes_and_channel_first():
    img = line_image()
    img[0, 0] = (10, 20, 30)
    raw = png_bytes(img)
    bgr = DecodeImage()({"image": raw})["image"]
    assert bgr.shape == (32, 100, 3) and bgr.dtype == np.uint8 and tuple(bgr[0, 0]) == (10, 20, 30)
    rgb = DecodeImage(img_mode="RGB")({"image": raw})["image"]
    assert tuple(rgb[0, 0]) == (30, 20, 10)
    gray = DecodeImage(img_mode="GRAY")({"image": raw})["image"]
    assert gray.shape == (32, 100)
    chw = DecodeImage(channel_first=True)({"image": raw})["image"]
    assert chw.shape == (3, 32, 100)
    assert DecodeImage(img_mode="GRAY", channel_first=True)({"image": raw})["image"].shape == (1, 32, 100)


def test_decode_image_corrupt_bytes_raise_skip_sample():
    for raw in (b"not an image at all", b""):
        with pytest.raises(SkipSample) as info:
            DecodeImage()({"image": raw, "img_path": "x.png"})
        assert info.value.reason == "undecodable_image"


def test_decode_image_rejects_bad_mode():
    with pytest.raises(ConfigError, match="img_mode.*'CMYK'"):
        DecodeImage(img_mode="CMYK")


def test_ctc_label_encode_pads_with_blank_and_reports_length():
    op = CTCLabelEncode(max_text_length=6, character_dict_path=None)  # default 0-9a-z
    out = op({"label": "ab1"})
    assert out["label"].dtype == np.int64 and out["label"].shape == (6,)
    # blank is 0; '0'..'9' are 1..10 and 'a' is 11
    assert out["label"].tolist() == [11, 12, 2, 0, 0, 0]
    assert out["length"].dtype == np.int64 and int(out["length"]) == 3


def test_ctc_label_encode_reads_global_config(tmp_path):
    dict_file = tmp_path / "dict.txt"
    dict_file.write_text("x\ny\n", encoding="utf-8")
    glob = {"character_dict_path": str(dict_file), "use_space_char": True, "max_text_length": 4}
    op = build_transforms([{"CTCLabelEncode": None}], glob)[0]
    assert op.max_text_length == 4
    out = op({"label": "y x"})
    assert out["label"].tolist() == [2, 3, 1, 0]  # space appended as index 3


def test_ctc_label_encode_skip_reasons():
    op = CTCLabelEncode(max_text_length=4)
    cases = {"": "empty_label", "abcde": "label_too_long", "ab#": "unknown_char"}
    for text, reason in cases.items():
        assert op.check_label(text) == reason
        with pytest.raises(SkipSample) as info:
            op({"label": text})
        assert info.value.reason == reason
    assert op.check_label("AB") is None  # no dictionary file: lower-cased like PaddleOCR


def test_ctc_label_encode_drop_unknown_chars():
    op = CTCLabelEncode(max_text_length=4, global_config={"drop_unknown_chars": True})
    out = op({"label": "a#b!"})
    assert out["text"] == "ab" and int(out["length"]) == 2
    assert op.check_label("#!") == "unknown_char"  # nothing left after dropping
    assert op.check_label("a#bcde") == "label_too_long"  # measured after dropping


@pytest.mark.parametrize("width,expect_ratio", [(40, 40 / 128), (300, 1.0)])
def test_rec_resize_img_narrow_and_wide(width, expect_ratio):
    img = line_image(width=width, height=32)
    out = RecResizeImg(image_shape=[3, 32, 128])({"image": img})
    assert out["image"].shape == (3, 32, 128) and out["image"].dtype == np.float32
    assert out["image"].min() >= -1.0 and out["image"].max() <= 1.0
    assert out["valid_ratio"] == pytest.approx(expect_ratio, abs=1 / 128)
    if width == 40:
        assert np.all(out["image"][:, :, 41:] == 0)  # right padding


def test_rec_resize_img_fixed_size_and_global_shape():
    img = line_image(width=40, height=20)
    out = RecResizeImg(image_shape=[3, 32, 100], padding=False)({"image": img})
    assert out["image"].shape == (3, 32, 100) and float(out["valid_ratio"]) == 1.0
    op = build_transforms([{"RecResizeImg": None}], {"image_shape": [1, 48, 160]})[0]
    assert op({"image": img})["image"].shape == (1, 48, 160)
    with pytest.raises(ConfigError, match="image_shape"):
        RecResizeImg(image_shape=[3, 32])


def test_keep_keys_orders_and_names_missing_key():
    data = {"image": 1, "label": 2, "length": 3}
    assert KeepKeys(keep_keys=["length", "image"])(dict(data)) == [3, 1]
    with pytest.raises(ConfigError, match="'lable'"):
        KeepKeys(keep_keys=["image", "lable"])(dict(data))


def test_build_transforms_full_pipeline():
    ops = build_transforms(
        [
            {"DecodeImage": {"img_mode": "BGR", "channel_first": False}},
            {"RecAug": None},
            {"CTCLabelEncode": None},
            {"RecResizeImg": {"image_shape": [3, 32, 128]}},
            {"KeepKeys": {"keep_keys": ["image", "label", "length", "valid_ratio"]}},
        ],
        {"max_text_length": 25},
    )
    image, label, length, ratio = apply_transforms(
        {"image": png_bytes(line_image("ab12")), "label": "ab12", "rng": np.random.default_rng(1)}, ops
    )
    assert image.shape == (3, 32, 128) and label.shape == (25,) and int(length) == 4 and 0 < ratio <= 1


def test_build_transforms_errors_name_the_item():
    with pytest.raises(RegistryError, match="RecAugment.*did you mean 'RecAug'"):
        build_transforms([{"RecAugment": None}])
    with pytest.raises(ConfigError, match=r"transforms\[1\]"):
        build_transforms([{"DecodeImage": None}, {"RecAug": None, "KeepKeys": None}])
    with pytest.raises(RegistryError, match="blur_probability"):
        build_transforms([{"RecAug": {"blur_probability": 0.5}}])


def test_skip_reasons_are_known():
    assert set(SKIP_REASONS) >= {"missing_image", "undecodable_image", "empty_label", "label_too_long", "unknown_char"}
    with pytest.raises(ValueError):
        SkipSample("bad_reason")
