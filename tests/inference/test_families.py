"""ABINet and VisionLAN exports in the recognizer: the training transforms' pre-processing in
the file's channel order, the decoder PostProcess names, every backend, and inference.yml
files in PaddleOCR's vocabulary."""

import cv2
import numpy as np
import pytest

from ppresnet45.data.abinet_transforms import ABINetRecResizeImg
from ppresnet45.data.transforms import DecodeImage
from ppresnet45.data.visionlan_transforms import VLRecResizeImg
from ppresnet45.errors import ModelDirError
from ppresnet45.inference import InferenceSpec, TextRecognizer, available_backends, create_runtime
from ppresnet45.inference.preprocess import model_input
from ppresnet45.utils.cpu import cpu_has_bf16

CHARS = list("0123456789abcdefghijklmnopqrstuvwxyz")
RESIZE = {
    "abinet": ("ABINetRecResizeImg", [3, 32, 128], ABINetRecResizeImg, "ABINetLabelDecode"),
    "visionlan": ("VLRecResizeImg", [3, 64, 256], VLRecResizeImg, "VLLabelDecode"),
}


def paddleocr_yml(family):
    """An inference.yml as PaddleOCR's export writes it for ``family`` (no Global section)."""
    op, shape, _, post = RESIZE[family]
    return {
        "PreProcess": {
            "transform_ops": [
                {"DecodeImage": {"img_mode": "RGB", "channel_first": False}},
                {op: {"image_shape": shape}},
                {"KeepKeys": {"keep_keys": ["image"]}},
            ]
        },
        "PostProcess": {"name": post, "character_dict": CHARS},
    }


class Recording:
    """A stand-in runtime: keeps its inputs, answers with ``output(n)``."""

    def __init__(self, output):
        self.output, self.inputs = output, []

    def __call__(self, x):
        self.inputs.append(x.copy())
        return self.output(x.shape[0])


def _uniform(family):
    if family == "abinet":
        return lambda n: np.full((n, 26, 37), 1 / 37, np.float32)
    return lambda n: np.zeros((26, n, 37), np.float32)  # VisionLAN: time-major logits


def _red_left_blue_right(path):
    img = np.zeros((40, 120, 3), np.uint8)
    img[:, :60, 2] = 230  # red (BGR in the file as OpenCV writes it)
    img[:, 60:, 0] = 200  # blue
    img[10:30, :, 1] = np.arange(120, dtype=np.uint8)  # some green texture
    cv2.imwrite(str(path), img)
    return path


@pytest.mark.parametrize("family", ["abinet", "visionlan"])
def test_recognizer_input_equals_the_training_transform_on_the_same_file(family, tmp_path):
    """Regression: PaddleOCR's predict_rec feeds ABINet BGR; the file says RGB, and so do we."""
    path = _red_left_blue_right(tmp_path / "rb.png")
    _, shape, transform, _ = RESIZE[family]
    runtime = Recording(_uniform(family))
    rec = TextRecognizer(runtime=runtime, inference_config=paddleocr_yml(family))
    assert rec.spec.img_mode == "RGB" and not rec.spec.dynamic_width
    rec([str(path)])
    data = DecodeImage(img_mode="RGB")({"image": path.read_bytes()})
    trained_on = transform(image_shape=shape)(data)["image"]
    np.testing.assert_array_equal(runtime.inputs[0][0], trained_on)
    # the image tells the orders apart: the same pipeline in BGR gives another tensor
    cfg = paddleocr_yml(family)
    cfg["PreProcess"]["transform_ops"][0]["DecodeImage"]["img_mode"] = "BGR"
    as_bgr = model_input(cv2.imread(str(path)), InferenceSpec.from_config(cfg))[0]
    assert np.abs(as_bgr - trained_on).max() > 0.5


def test_decoders_come_from_postprocess_name_with_their_output_layouts():
    # ABINet: probabilities [N, 26, 37], class 0 = </s>; "abc" then the end
    def abinet(x):
        probs = np.full((len(x), 26, 37), 0.01, np.float32)
        for t, cls in enumerate([11, 12, 13] + [0] * 23):
            probs[:, t, cls] = 0.9
        return probs

    rec = TextRecognizer(runtime=abinet, inference_config=paddleocr_yml("abinet"), batch_size=2)
    out = rec([np.full((32, 100), 255, np.uint8)] * 3)
    assert [r["text"] for r in out] == ["abc"] * 3 and out[0]["score"] == pytest.approx(0.9)
    assert type(rec.decoder).__name__ == "ABINetLabelDecode"

    # VisionLAN: time-major logits [26, N, 37]; line k reads "h", "i" (+ k) then the end class 0
    def visionlan(x):
        logits = np.zeros((26, len(x), 37), np.float32)
        for b in range(len(x)):
            for t, cls in enumerate([18, 19 + b, 0]):
                logits[t, b, cls] = 10.0
        return logits

    rec = TextRecognizer(runtime=visionlan, inference_config=paddleocr_yml("visionlan"), batch_size=3)
    out = rec([np.full((64, 100), 255, np.uint8)] * 3)
    assert [r["text"] for r in out] == ["hi", "hj", "hk"] and 0.99 < out[0]["score"] <= 1
    assert type(rec.decoder).__name__ == "VLLabelDecode"


def test_paddleocr_style_files_are_read_as_fixed_size_with_their_normalisation():
    abinet = InferenceSpec.from_config(paddleocr_yml("abinet"))
    assert abinet.input_shape == [3, 32, 128] and abinet.max_width == 128 and not abinet.chunking
    assert abinet.mean == pytest.approx((0.485, 0.456, 0.406)) and abinet.std == pytest.approx((0.229, 0.224, 0.225))
    vl = InferenceSpec.from_config(paddleocr_yml("visionlan"))
    assert vl.input_shape == [3, 64, 256] and (vl.mean, vl.std) == ((0.0,) * 3, (1.0,) * 3)
    assert vl.output_layout.time_major and vl.output_layout.text_output == 0
    back = InferenceSpec.from_config(vl.to_config())
    assert back == vl and "model_name" not in vl.to_config()["Global"]


def test_a_wide_line_is_stretched_in_one_piece_for_a_fixed_size_model():
    runtime = Recording(_uniform("abinet"))
    rec = TextRecognizer(runtime=runtime, inference_config=paddleocr_yml("abinet"))
    out = rec([np.full((32, 3000), 128, np.uint8)])
    assert "chunks" not in out[0] and [x.shape for x in runtime.inputs] == [(1, 3, 32, 128)]


@pytest.mark.parametrize(
    "edit, message",
    [
        (
            lambda c: (
                c.update(Global={"normalize": {"scale": 1.0}})
                or c["PreProcess"]["transform_ops"].append({"NormalizeImage": {"scale": 0.5}})
            ),
            r"Global.normalize \(scale=1, .*disagrees with PreProcess NormalizeImage",
        ),
        (lambda c: c.update(Global={"normalize": [1]}), r"Global.normalize: expected a mapping"),
        (lambda c: c.update(Global={"channel_order": "CMYK"}), r"Global.channel_order: expected BGR, RGB or GRAY"),
        (
            lambda c: c.update(Global={"channel_order": "BGR"}),
            r"Global.channel_order BGR disagrees with PreProcess DecodeImage.img_mode RGB",
        ),
        (
            lambda c: c["PreProcess"]["transform_ops"].append({"RecResizeImg": {"image_shape": [3, 32, 100]}}),
            r"PreProcess: expected one resize op, got ABINetRecResizeImg, RecResizeImg",
        ),
        (lambda c: c.update(Global=[1]), r"Global: expected a mapping"),
    ],
)
def test_bad_family_keys_are_one_line_errors(edit, message):
    cfg = paddleocr_yml("abinet")
    edit(cfg)
    with pytest.raises(ModelDirError, match=r"^/m/inference.yml: " + message):
        InferenceSpec.from_config(cfg, "/m/inference.yml")


@pytest.mark.slow
@pytest.mark.parametrize("family", ["abinet", "visionlan"])
def test_every_backend_reads_the_same_text(family, family_dirs):
    out = family_dirs[family]
    rng = np.random.default_rng(3)
    images = [
        rng.integers(0, 256, (int(rng.integers(20, 60)), int(rng.integers(40, 300)), 3), dtype=np.uint8)
        for _ in range(5)
    ]
    texts = {}
    backends = available_backends(out)
    assert {"paddle", "paddle-nomkl", "onnxruntime", "eager"} <= set(backends)
    for backend in backends:
        rec = TextRecognizer(out, backend=backend, cpu_threads=1, batch_size=2)
        texts[backend] = [r["text"] for r in rec(images)]
    assert all(t == texts["eager"] for t in texts.values()), texts


@pytest.mark.slow
@pytest.mark.parametrize("family", ["abinet", "visionlan"])
def test_bf16_runs_on_onednn(family, family_dirs):
    """Regression (VisionLAN): a Conv1D failed under oneDNN BF16 with a Paddle 3.3 fuse pass."""
    out = family_dirs[family]
    if not cpu_has_bf16():  # the refusal on such CPUs: tests/inference/test_runtime.py
        pytest.skip("this CPU has no BF16 (AVX512-BF16 or AMX)")
    spec = InferenceSpec.from_yaml(out)
    x = np.stack([model_input(np.full((32, 90, 3), v, np.uint8), spec)[0] for v in (40, 200)])
    fp32 = create_runtime(out, "paddle", cpu_threads=1)(x)
    bf16 = create_runtime(out, "paddle", precision="bf16", cpu_threads=1)(x)
    assert bf16.shape == fp32.shape and np.isfinite(bf16).all()
    np.testing.assert_allclose(bf16, fp32, atol=0.1 * np.abs(fp32).max())
