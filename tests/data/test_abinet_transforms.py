"""ABINet's data transforms: label encoding with </s>, the ImageNet resize, per-sample augmentation."""

import pathlib

import cv2
import numpy as np
import pytest

import ppresnet45  # registers the data transforms
from ppresnet45.data import SimpleDataSet
from ppresnet45.data.abinet_transforms import (
    DETERIORATIONS,
    GEOMETRY_KINDS,
    ABINetLabelEncode,
    ABINetRecAug,
    ABINetRecResizeImg,
)
from ppresnet45.data.transforms import SkipSample, apply_transforms, build_transforms
from ppresnet45.errors import ConfigError

REPO = pathlib.Path(__file__).resolve().parents[2]
_SHARED = [p for p in (REPO.parent / "shared", pathlib.Path("/work/shared")) if p.is_dir()]
CONFIG = _SHARED[0] / "third_party/paddleocr/configs/rec/rec_r45_abinet.yml" if _SHARED else None


def line_image(text="abinet", width=100, height=32):
    img = np.full((height, width, 3), 230, np.uint8)
    img[:, :, 0] = 200  # a tint, so colour ops have something to change
    cv2.putText(img, text, (2, height - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (20, 40, 60), 2)
    return img


# ----------------------------------------------------------------------------- labels
def test_label_is_indices_then_stop_token_then_ignore_index():
    enc = ABINetLabelEncode(global_config={"max_text_length": 25})
    out = enc({"label": "Ab1"})  # no dictionary: lower-cased 0-9a-z, character i -> i + 1
    assert out["label"].dtype == np.int64 and out["label"].shape == (26,)
    assert out["label"][:4].tolist() == [11, 12, 2, 0] and (out["label"][4:] == 100).all()
    assert int(out["length"]) == 3 and out["text"] == "ab1"
    short = ABINetLabelEncode(max_text_length=4, ignore_index=-1)({"label": "z"})
    assert short["label"].tolist() == [36, 0, -1, -1, -1]


def test_too_long_labels_are_skipped_with_a_reason_not_dropped():
    enc = ABINetLabelEncode(max_text_length=5)
    assert int(enc({"label": "abcd"})["length"]) == 4  # max_text_length - 1 fits (+ </s>)
    for text in ("abcde", "abcdefgh"):
        with pytest.raises(SkipSample) as info:
            enc({"label": text})
        assert info.value.reason == "label_too_long" and "at most max_text_length - 1 = 4" in info.value.detail
        assert enc.check_label(text) == "label_too_long"  # what the dataset's pre-scan counts
    assert enc.check_label("") == "empty_label" and enc.check_label("a\u00e9") == "unknown_char"


def test_dataset_counts_too_long_abinet_labels(tmp_path):
    (tmp_path / "img").mkdir()
    lines = []
    for i, text in enumerate(["abcd", "abcde", "abcdefg", "ab"]):
        cv2.imwrite(str(tmp_path / "img" / f"{i}.png"), line_image(text))
        lines.append(f"img/{i}.png\t{text}")
    (tmp_path / "train.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    transforms = [
        {"DecodeImage": {"img_mode": "RGB"}},
        {"ABINetLabelEncode": {"ignore_index": 100}},
        {"ABINetRecResizeImg": {"image_shape": [3, 32, 128]}},
        {"KeepKeys": {"keep_keys": ["label"]}},
    ]
    ds = SimpleDataSet(
        str(tmp_path), [str(tmp_path / "train.txt")], transforms=transforms, global_config={"max_text_length": 5}
    )
    assert ds.prescan_counts == {"label_too_long": 2}
    assert len(ds) == 2


def test_ignore_index_must_not_be_a_class():
    with pytest.raises(ConfigError, match="ABINetLabelEncode.ignore_index") as info:
        ABINetLabelEncode(ignore_index=36)  # 36 is a character class with the default dictionary
    assert "\n" not in str(info.value)
    ABINetLabelEncode(ignore_index=37)


# ----------------------------------------------------------------------------- resize
def test_resize_stretches_and_normalises_with_imagenet_stats():
    img = line_image(width=57, height=20)
    out = ABINetRecResizeImg(image_shape=[3, 32, 128])({"image": img})
    assert out["image"].shape == (3, 32, 128) and out["image"].dtype == np.float32
    assert float(out["valid_ratio"]) == 1.0
    expected = (
        cv2.resize(img, (128, 32), interpolation=cv2.INTER_LINEAR).astype(np.float32) / 255.0 - [0.485, 0.456, 0.406]
    ) / [0.229, 0.224, 0.225]
    np.testing.assert_allclose(out["image"], expected.transpose(2, 0, 1), atol=1e-6)
    gray = ABINetRecResizeImg(image_shape=[3, 32, 128])({"image": img[:, :, 0]})["image"]
    assert gray.shape == (3, 32, 128)
    with pytest.raises(ConfigError, match="ABINetRecResizeImg.image_shape"):
        ABINetRecResizeImg(image_shape=[1, 32, 128])


# ----------------------------------------------------------------------------- augmentation
def test_same_seed_same_output_independent_of_global_random_state():
    img = line_image()
    a = ABINetRecAug(geometry_p=1, deterioration_p=1, colorjitter_p=1)
    b = ABINetRecAug(geometry_p=1, deterioration_p=1, colorjitter_p=1)
    for seed in range(6):
        np.random.seed(seed)
        x = a({"image": img.copy(), "rng": np.random.default_rng([4, seed])})["image"]
        np.random.seed(seed + 100)
        y = b({"image": img.copy(), "rng": np.random.default_rng([4, seed])})["image"]
        np.testing.assert_array_equal(x, y)


def test_kind_and_order_are_drawn_per_sample():
    """Regression: PaddleOCR picks the geometry kind and the deterioration order once, in
    ``__init__``, so one run only ever sees one of them."""
    op = ABINetRecAug(geometry_p=1, deterioration_p=1, colorjitter_p=1)
    plans = [op.plan(np.random.default_rng([0, i])) for i in range(60)]
    assert {p["geometry"] for p in plans} == set(GEOMETRY_KINDS)
    assert len({tuple(p["deterioration"]) for p in plans}) >= 4
    assert all(sorted(p["deterioration"]) == sorted(DETERIORATIONS) for p in plans)
    assert len({tuple(p["jitter"]) for p in plans}) >= 6
    outs = {op({"image": line_image(), "rng": np.random.default_rng([1, i])})["image"].shape for i in range(8)}
    assert len(outs) > 1  # the geometry (and so the size) differs between samples


def test_probabilities_gate_each_group():
    op = ABINetRecAug(geometry_p=0, deterioration_p=0, colorjitter_p=0)
    img = line_image()
    np.testing.assert_array_equal(op({"image": img.copy(), "rng": np.random.default_rng(0)})["image"], img)
    plans = [
        ABINetRecAug(geometry_p=0.5, deterioration_p=0, colorjitter_p=1).plan(np.random.default_rng(i))
        for i in range(200)
    ]
    share = np.mean([p["geometry"] is not None for p in plans])
    assert 0.35 < share < 0.65
    assert all(p["deterioration"] == [] and len(p["jitter"]) == 4 for p in plans)


@pytest.mark.parametrize("kind", GEOMETRY_KINDS + DETERIORATIONS)
def test_each_effect_keeps_a_valid_uint8_image(kind):
    op = ABINetRecAug()
    for i, img in enumerate([line_image(), line_image()[:, :, 0], line_image(width=3, height=2)]):
        out = getattr(op, "_" + kind)(img, np.random.default_rng(i))
        assert out.dtype == np.uint8 and out.ndim == img.ndim and min(out.shape[:2]) >= 1


def test_every_effect_at_once_on_odd_inputs():
    op = ABINetRecAug(geometry_p=1, deterioration_p=1, colorjitter_p=1)
    for i, img in enumerate(
        [line_image(), line_image()[:, :, 0], np.zeros((1, 1, 3), np.uint8), line_image(width=400, height=16)]
    ):
        out = op({"image": img, "rng": np.random.default_rng(i)})["image"]
        assert out.dtype == np.uint8 and out.size > 0 and out.flags["C_CONTIGUOUS"]
    with pytest.raises(ConfigError, match="ABINetRecAug.geometry_p"):
        ABINetRecAug(geometry_p=2)
    with pytest.raises(ConfigError, match="ABINetRecAug.scale"):
        ABINetRecAug(scale=[2.0, 0.5])


@pytest.mark.skipif(CONFIG is None or not CONFIG.is_file(), reason="PaddleOCR's ABINet config not found (../shared)")
def test_paddleocr_train_pipeline_builds_and_runs():
    config = ppresnet45.load_config(str(CONFIG))
    ops = build_transforms(config["Train"]["dataset"]["transforms"], config["Global"])
    ok, buf = cv2.imencode(".png", line_image("hello"))
    assert ok
    sample = {"image": buf.tobytes(), "label": "Hello", "rng": np.random.default_rng(0)}
    image, label, length = apply_transforms(sample, ops)
    assert image.shape == (3, 32, 128) and image.dtype == np.float32
    assert label.shape == (26,) and int(length) == 5 and label[5] == 0 and label[6] == 100
