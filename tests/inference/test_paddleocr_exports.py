"""PaddleOCR's own exports: read their inference.yml, and read lines exactly as PaddleOCR does.

The PP-OCRv5 export in /work/shared/third_party (real PaddleOCR 3 output, random weights) is
run by ``ppresnet45 infer`` and, independently, by a plain Paddle Inference predictor fed
and decoded the way PaddleOCR's ``predict_rec`` + ``CTCLabelDecode`` do it (written out
below): the texts must be identical on every line. Its weights are random, so the texts are
garbage, which makes the check strict: any difference in batching, padding, resizing,
normalisation, the decoded steps or the dictionary (the implied space) changes them.
"""

import json
import math
import os
import pathlib
import shutil

import cv2
import numpy as np
import paddle.inference as paddle_infer
import pytest

from ppresnet45.cli import main
from ppresnet45.inference import InferenceSpec, TextRecognizer
from ppresnet45.inference.spec import PADDLEOCR_MAX_WIDTH

pytestmark = pytest.mark.slow  # training, exports or third-party clients: over ~10 s on 2 cores

EXPORTS = pathlib.Path("/work/shared/third_party/paddleocr/exports")
PPOCRV5 = EXPORTS / "PP-OCRv5_mobile_rec"
R34 = EXPORTS / "rec_r34_vd_none_none_ctc"
needs_ppocrv5 = pytest.mark.skipif(
    not (PPOCRV5 / "inference.pdiparams").is_file(), reason=f"PaddleOCR's PP-OCRv5 export not found at {PPOCRV5}"
)
WORDS = ["PaddleOCR", "ResNet45", "text", "line", "Zebra 42", "x", "recognition", "CTC", "v5", "mobile"]


def _lines(folder, n=30, seed=0):
    """Dark text lines on light backgrounds of mixed heights and lengths (cv2.putText), plus a
    1-px-wide sliver, a tall narrow image and a line wider than PaddleX's widest batch."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        text = " ".join(rng.choice(WORDS, size=int(rng.integers(1, 6))))
        h = int(rng.choice([20, 32, 48, 64]))
        img = np.full((h, int(h * 0.45 * len(text)) + 10, 3), int(rng.integers(200, 256)), np.uint8)
        cv2.putText(img, text, (4, h - h // 4), cv2.FONT_HERSHEY_SIMPLEX, h / 48, (0, 0, 0), max(1, h // 24))
        paths.append(str(folder / f"{i:03d}.png"))
        cv2.imwrite(paths[-1], img)
    stripes = np.tile(np.array([[[0, 0, 0], [255, 255, 255]]], np.uint8), (20, 900, 1))  # 20 x 1800: 4320 px at H=48
    for name, img in {
        "sliver.png": np.full((48, 1, 3), 90, np.uint8),
        "tall.png": np.full((300, 20, 3), 160, np.uint8),
        "very_wide.png": stripes,
    }.items():
        paths.append(str(folder / name))
        cv2.imwrite(paths[-1], img)
    return paths


def _paddleocr_reference(model_dir, paths, batch_size):
    """Text per path the way PaddleOCR runs its export: images read as BGR, sorted by aspect
    ratio, batches ``int(H * max(W / H, widest ratio))`` wide (PaddleX caps them at 3200 px),
    ``min(ceil(H * ratio), batch width)``-wide resize, ``/ 255 - 0.5) / 0.5``, zero padding;
    CTC decoding over every time step with blank + character_dict + the implied space."""
    with open(os.path.join(model_dir, "inference.yml"), encoding="utf-8") as f:
        import yaml

        cfg = yaml.safe_load(f)
    shape = next(op["RecResizeImg"]["image_shape"] for op in cfg["PreProcess"]["transform_ops"] if "RecResizeImg" in op)
    _, img_h, img_w = shape
    labels = ["blank"] + list(cfg["PostProcess"]["character_dict"]) + [" "]
    config = paddle_infer.Config(
        os.path.join(model_dir, "inference.json"), os.path.join(model_dir, "inference.pdiparams")
    )
    config.switch_ir_optim(True)
    config.enable_onednn()
    config.set_cpu_math_library_num_threads(1)
    config.disable_glog_info()
    predictor = paddle_infer.create_predictor(config)
    imgs = [cv2.imread(p, cv2.IMREAD_COLOR) for p in paths]
    ratios = [im.shape[1] / float(im.shape[0]) for im in imgs]
    order = np.argsort(np.array(ratios), kind="stable")
    texts = [None] * len(paths)
    for beg in range(0, len(paths), batch_size):
        idx = order[beg : beg + batch_size]
        width = min(int(img_h * max([img_w / img_h] + [ratios[i] for i in idx])), 3200)
        batch = []
        for i in idx:
            rw = min(int(math.ceil(img_h * ratios[i])), width)
            x = cv2.resize(imgs[i], (rw, img_h)).astype("float32").transpose((2, 0, 1)) / 255
            x -= 0.5
            x /= 0.5
            row = np.zeros((3, img_h, width), np.float32)
            row[:, :, :rw] = x
            batch.append(row)
        handle = predictor.get_input_handle(predictor.get_input_names()[0])
        handle.copy_from_cpu(np.stack(batch))
        predictor.run()
        probs = predictor.get_output_handle(predictor.get_output_names()[-1]).copy_to_cpu()
        for k, i in enumerate(idx):
            best = probs[k].argmax(axis=-1)
            keep = np.ones(len(best), bool)
            keep[1:] = best[1:] != best[:-1]
            keep &= best != 0
            texts[i] = "".join(labels[j] for j in best[keep])
    return texts


@needs_ppocrv5
def test_the_ppocrv5_export_reads_as_paddleocr_reads_it(tmp_path, capsys):
    paths = _lines(tmp_path / "lines")
    expected = _paddleocr_reference(str(PPOCRV5), paths, batch_size=6)

    out = tmp_path / "rows.jsonl"
    rc = main(
        [
            "infer",
            "--model_dir",
            str(PPOCRV5),
            "--image_dir",
            str(tmp_path / "lines"),
            "--batch_size",
            "6",
            "--cpu_threads",
            "1",
            "--no_progress",
            "--output",
            str(out),
        ]
    )
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]

    assert rc == 0 and "0 failed" in capsys.readouterr().err
    ours = {r["path"]: r["text"] for r in rows}
    same = sum(ours[p] == t for p, t in zip(paths, expected))
    assert same == len(paths) == 33, [
        (os.path.basename(p), ours[p], t) for p, t in zip(paths, expected) if ours[p] != t
    ]
    assert len(set(expected)) > 20  # random weights: garbage, but different garbage per line


@needs_ppocrv5
def test_the_ppocrv5_export_has_the_space_paddleocr_implies():
    spec = InferenceSpec.from_yaml(PPOCRV5)
    assert spec.model_name == "PP-OCRv5_mobile_rec" and spec.image_shape == [3, 48, 320]
    assert spec.input_shape == [3, 48, -1] and spec.batching == "paddleocr" and spec.max_width == PADDLEOCR_MAX_WIDTH
    assert len(spec.character_list) == 18383 and " " not in spec.character_list[-3:]
    rec = TextRecognizer(str(PPOCRV5), cpu_threads=1)
    rec([np.full((48, 200, 3), 255, np.uint8)])
    # the model has 18385 classes: blank + 18383 characters + the space PaddleOCR appends
    assert rec.output.implied_space and rec.decoder.character[-1] == " " and len(rec.decoder.character) == 18385


def test_the_r34_ctc_export_without_global_or_dictionary_reads(tmp_path):
    # PaddleOCR's export of configs/rec/rec_r34_vd_none_none_ctc.yml: no Global section, no
    # character_dict (PaddleOCR then uses 0-9a-z), CTCLabelEncode in PreProcess.
    shutil.copy(R34 / "inference.yml", tmp_path / "inference.yml")
    spec = InferenceSpec.from_yaml(tmp_path)
    assert spec.character_list == list("0123456789abcdefghijklmnopqrstuvwxyz") and spec.model_name == ""
    assert spec.image_shape == [3, 32, 100] and spec.input_shape == [3, 32, -1] and spec.padding
    assert spec.paddleocr_batching and spec.img_mode == "BGR" and spec.postprocess == "CTCLabelDecode"
    assert (spec.scale, spec.mean, spec.std) == (1 / 255, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5))


def _paddleocr_file(resize, shape, **resize_args):
    """An inference.yml as PaddleOCR's export writes it: the config's Eval transforms verbatim."""
    return {
        "PreProcess": {
            "transform_ops": [
                {"DecodeImage": {"channel_first": False, "img_mode": "BGR"}},
                (
                    {"MultiLabelEncode": {"gtc_encode": "NRTRLabelEncode"}}
                    if resize == "RecResizeImg"
                    else {"CTCLabelEncode": None}
                ),
                {resize: dict(image_shape=shape, **resize_args)},
                {"KeepKeys": {"keep_keys": ["image", "label_ctc", "label_gtc", "length", "valid_ratio"]}},
            ]
        },
        "PostProcess": {"name": "CTCLabelDecode", "character_dict": list("abc")},
    }


@pytest.mark.parametrize(
    "name, resize, shape, args, expect",
    [
        # PP-OCRv3/v4/v5/v6 (SVTR_LCNet / SVTR_HGNet / PPLCNetV4 + MultiHead) and SVTRv2: [3, 48, 320], any width
        ("PP-OCRv3_mobile_rec", "RecResizeImg", [3, 48, 320], {}, ([3, 48, -1], True, "paddleocr")),
        ("PP-OCRv4_server_rec", "RecResizeImg", [3, 48, 320], {}, ([3, 48, -1], True, "paddleocr")),
        ("PP-OCRv6_small_rec", "RecResizeImg", [3, 48, 320], {}, ([3, 48, -1], True, "paddleocr")),
        # CRNN-style ResNet34 / MobileNetV3 + BiLSTM + CTC: [3, 32, 100], any width
        ("rec_mv3_none_bilstm_ctc", "RecResizeImg", [3, 32, 100], {}, ([3, 32, -1], True, "paddleocr")),
        # SVTR + CTC: a fixed-size model, stretched (padding: false in its Eval transforms)
        ("rec_svtrnet", "SVTRRecResizeImg", [3, 64, 256], {"padding": False}, ([3, 64, 256], False, "paddleocr")),
    ],
)
def test_every_kind_of_paddleocr_ctc_export_reads(name, resize, shape, args, expect):
    cfg = _paddleocr_file(resize, shape, **args)
    cfg["Global"] = {"model_name": name}
    spec = InferenceSpec.from_config(cfg, f"/{name}/inference.yml")
    input_shape, padding, batching = expect
    assert (spec.input_shape, spec.padding, spec.batching) == (input_shape, padding, batching)
    assert spec.resize_op == resize and spec.character_list == ["a", "b", "c"]


def test_a_fixed_size_svtr_export_is_stretched_to_its_input():
    spec = InferenceSpec.from_config(_paddleocr_file("SVTRRecResizeImg", [3, 64, 256], padding=False))
    seen = []

    def model(x):
        seen.append(x.shape)
        return np.full((x.shape[0], 64, 5), 0.2, np.float32)  # blank + abc + implied space

    rec = TextRecognizer(runtime=model, inference_config=spec, batch_size=4)
    out = rec([np.full((30, 900, 3), 255, np.uint8), np.full((50, 10), 0, np.uint8)])
    assert seen == [(2, 3, 64, 256)] and all(r["text"] == "" for r in out)
