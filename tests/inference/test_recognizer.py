"""``ppresnet45 infer`` / TextRecognizer: robust loading, ordering, batching, long lines, errors."""

import json
import os
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from ppresnet45.cli import main
from ppresnet45.errors import DataError, ModelDirError
from ppresnet45.inference import InferenceSpec, TextRecognizer, recognize, score_against_labels
from ppresnet45.modeling.metrics import RecMetric

WORDS = ["hello", "world", "paddle", "resnet", "text", "line", "ocr", "abc123", "Zebra"]


def text_line(text, height=32):
    """Dark text on white, ~12 px per character, BGR uint8."""
    img = np.full((height, 12 * len(text) + 8, 3), 255, np.uint8)
    cv2.putText(img, text, (4, height - 9), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 1)
    return img


def write(path, img):
    ok, buf = cv2.imencode(os.path.splitext(str(path))[1], img)
    assert ok
    buf.tofile(str(path))
    return str(path)


def run_infer(argv):
    return main(argv, command="infer")


@pytest.mark.slow
def test_folder_with_bad_and_odd_images_reports_all_in_order_and_exits_1(model_dir, tmp_path, capsys):
    folder = tmp_path / "imgs"
    (folder / "sub").mkdir(parents=True)
    line = text_line("hello world")
    write(folder / "a_good.png", line)
    good = (folder / "a_good.png").read_bytes()
    (folder / "b_truncated.png").write_bytes(good[: len(good) // 2])
    (folder / "c_empty.png").write_bytes(b"")
    (folder / "d_not_an_image.jpg").write_bytes(b"just some text, not a JPEG")
    write(folder / "e_gray.png", cv2.cvtColor(line, cv2.COLOR_BGR2GRAY))
    write(folder / "f_16bit.png", cv2.cvtColor(line, cv2.COLOR_BGR2GRAY).astype(np.uint16) * 257)
    write(folder / "g_rgba.png", np.dstack([line, np.full(line.shape[:2], 255, np.uint8)]))
    write(folder / "h_1px_wide.png", np.full((32, 1, 3), 128, np.uint8))
    write(folder / "h_1x1.png", np.full((1, 1), 0, np.uint8))
    write(folder / "sub" / "i_very_wide.png", text_line(" ".join(WORDS * 12)))  # ~7000 px > max_width 800
    write(folder / "sub" / "j_ünïcode_名前.png", line)
    (folder / "notes.txt").write_text("not an image extension: ignored")
    out = tmp_path / "res.jsonl"

    rc = run_infer(
        [
            "--model_dir",
            model_dir,
            "--image_dir",
            str(folder),
            "--output",
            str(out),
            "--batch_size",
            "3",
            "--cpu_threads",
            "1",
            "--no_progress",
        ]
    )

    assert rc == 1
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    names = [os.path.basename(r["path"]) for r in rows]
    assert names == [
        "a_good.png",
        "b_truncated.png",
        "c_empty.png",
        "d_not_an_image.jpg",
        "e_gray.png",
        "f_16bit.png",
        "g_rgba.png",
        "h_1px_wide.png",
        "h_1x1.png",
        "i_very_wide.png",
        "j_ünïcode_名前.png",
    ]
    by = dict(zip(names, rows))
    assert "truncated" in by["b_truncated.png"]["error"]
    assert "empty" in by["c_empty.png"]["error"]
    assert "decode" in by["d_not_an_image.jpg"]["error"]
    for bad in ("b_truncated.png", "c_empty.png", "d_not_an_image.jpg"):
        assert by[bad]["text"] is None and by[bad]["score"] is None
    for ok in (
        "a_good.png",
        "e_gray.png",
        "f_16bit.png",
        "g_rgba.png",
        "h_1px_wide.png",
        "h_1x1.png",
        "i_very_wide.png",
        "j_ünïcode_名前.png",
    ):
        assert "error" not in by[ok] and isinstance(by[ok]["text"], str) and 0.0 <= by[ok]["score"] <= 1.0
    # same pixels, same text: a BGR line, its unicode-named copy, and the opaque RGBA copy
    assert by["a_good.png"]["text"] == by["j_ünïcode_名前.png"]["text"] == by["g_rgba.png"]["text"]
    assert by["i_very_wide.png"]["chunks"] >= 8
    err = capsys.readouterr().err
    assert "11 images, 3 failed" in err and "Traceback" not in err


def test_label_file_input_reports_accuracy_and_labels(model_dir, tmp_path, capsys):
    (tmp_path / "data" / "imgs").mkdir(parents=True)
    lines = []
    for i, word in enumerate(WORDS[:4]):
        write(tmp_path / "data" / "imgs" / f"{i}.png", text_line(word))
        lines.append(f"imgs/{i}.png\t{word}")
    lines.append("imgs/missing.png\tghost")
    label_file = tmp_path / "data" / "labels.txt"
    label_file.write_text("\n".join(lines) + "\n", encoding="utf-8")

    rc = run_infer(["--model_dir", model_dir, "--image_dir", str(label_file), "--cpu_threads", "1", "--no_progress"])

    captured = capsys.readouterr()
    rows = [json.loads(line) for line in captured.out.splitlines()]
    assert rc == 1  # the missing file
    assert [r["label"] for r in rows] == WORDS[:4] + ["ghost"]
    assert rows[-1]["error"] == "file not found"
    assert "accuracy" in captured.err and "/5)" in captured.err


def test_batched_results_equal_batch_size_one_for_same_width_lines(model_dir, tmp_path):
    # Same width after resizing (mixed heights, shuffled): batching, sorting and restoring the
    # order must give exactly the batch-size-1 results.
    paths = []
    for i, word in enumerate(["hello", "world", "resnet", "zebra1", "paddle", "abc123", "texts", "lines!"]):
        img = cv2.resize(text_line(word), (80, 32))
        height = (24, 32, 48)[i % 3]
        paths.append(write(tmp_path / f"{i}.png", cv2.resize(img, (80 * height // 32, height))))
    one = recognize(model_dir, paths, backend="paddle", precision="fp32", batch_size=1, cpu_threads=1)
    many = recognize(model_dir, paths, backend="paddle", precision="fp32", batch_size=3, cpu_threads=1)
    assert [r["path"] for r in many] == paths
    assert [r["text"] for r in one] == [r["text"] for r in many]
    np.testing.assert_allclose([r["score"] for r in one], [r["score"] for r in many], atol=1e-4)


def test_padding_to_the_batch_width_does_not_change_text():
    # Mixed widths batched together are right-padded; the steps over the padding are dropped.
    # With a model whose steps see only their own pixels the texts must match exactly (a real
    # network's last few steps also see the padding through their receptive field: a trained
    # model reads blank there, an untrained one may flip its last character).
    rng = np.random.default_rng(1)
    images = []
    for width in rng.integers(3, 700, size=12):
        stripes = rng.integers(0, 256, size=(1, width // 8 + 1)).astype(np.uint8)
        images.append(np.repeat(np.repeat(stripes, 8, axis=1)[:, :width], 32, axis=0))
    rec = TextRecognizer(runtime=_local_model, inference_config=_local_inference_config(800))
    one = rec(images, batch_size=1)
    many = rec(images, batch_size=5)
    assert rec.last_stats["padded_pixels"] > rec.last_stats["content_pixels"]  # padding happened
    assert [r["text"] for r in one] == [r["text"] for r in many]
    assert all(r["text"] for r in one)


def _common_prefix(a, b):
    """The characters two texts share from their start."""
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


def test_batched_results_match_batch_size_one_on_mixed_widths(model_dir, tmp_path):
    # The real (untrained) network on mixed widths: the same lines in the same order, and the
    # texts agree except possibly at their right end (see the test above).
    rng = np.random.default_rng(0)
    paths = []
    for i in range(10):
        words = " ".join(rng.choice(WORDS, size=int(rng.integers(1, 4))))
        paths.append(write(tmp_path / f"{i}.png", text_line(words, height=int(rng.choice([24, 32, 48])))))
    one = recognize(model_dir, paths, backend="paddle", precision="fp32", batch_size=1, cpu_threads=1)
    many = recognize(model_dir, paths, backend="paddle", precision="fp32", batch_size=4, cpu_threads=1)
    assert [r["path"] for r in many] == paths
    for a, b in zip(one, many):
        common = _common_prefix(a["text"], b["text"])
        assert len(common) >= max(len(a["text"]), len(b["text"])) - 2, (a, b)


def test_recognizer_accepts_arrays_of_any_depth_and_channels(model_dir):
    line = text_line("paddle ocr")
    gray = cv2.cvtColor(line, cv2.COLOR_BGR2GRAY)
    rec = TextRecognizer(model_dir, cpu_threads=1, batch_size=2)
    out = rec(
        [
            line,
            gray,
            gray.astype(np.uint16) * 257,
            np.dstack([line, np.full(gray.shape, 255, np.uint8)]),
            np.zeros((0, 4), np.uint8),
        ]
    )
    assert out[0]["path"] is None
    assert out[0]["text"] == out[1]["text"] == out[2]["text"] == out[3]["text"]
    assert "non-empty" in out[4]["error"]
    assert rec.last_stats["images"] == 5 and rec.last_stats["failed"] == 1


def test_missing_model_dir_is_one_line_and_exit_2(tmp_path, capsys):
    img = write(tmp_path / "a.png", text_line("abc"))
    rc = run_infer(["--model_dir", str(tmp_path / "no_such_model"), "--image_dir", img])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2
    assert len(err) == 1 and err[0].startswith("error: model dir") and "no_such_model" in err[0]


def test_incomplete_model_dir_is_one_line_and_exit_2(model_dir, tmp_path, capsys):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "inference.yml").write_text(Path(model_dir, "inference.yml").read_text(encoding="utf-8"))
    rc = run_infer(["--model_dir", str(broken), "--image_dir", write(tmp_path / "a.png", text_line("abc"))])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "inference" in err[0]


def test_missing_image_path_is_one_line_and_exit_2(model_dir, tmp_path, capsys):
    rc = run_infer(["--model_dir", model_dir, "--image_dir", str(tmp_path / "nothing_here")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "nothing_here" in err[0]


# ---- long lines: chunking is exact for a model whose steps only see their own pixels -------
CHARS = list("0123456789abcdefghijklmnopqrstuvwxyz")


def _local_inference_config(max_width):
    return {
        "Global": {
            "input_shape": [3, 32, -1],
            "image_shape": [3, 32, 128],
            "dynamic_width": True,
            "max_width": max_width,
        },
        "PreProcess": {
            "transform_ops": [
                {"DecodeImage": {"img_mode": "BGR"}},
                {"RecResizeImg": {"image_shape": [3, 32, 128], "padding": True}},
            ]
        },
        "PostProcess": {"name": "CTCLabelDecode", "character_dict": CHARS},
    }


def _local_model(x):
    """A stand-in model with a 4-px stride whose every step depends only on its 4 columns."""
    n, c, h, w = x.shape
    steps = -(-w // 4)
    padded = np.zeros((n, c, h, steps * 4), np.float32)
    padded[..., :w] = x
    level = padded.reshape(n, c, h, steps, 4).mean(axis=(1, 2, 4))
    cls = np.clip(np.round((level + 1) / 2 * len(CHARS)), 0, len(CHARS)).astype(int)
    probs = np.full((n, steps, len(CHARS) + 1), 0.1 / len(CHARS), np.float32)
    np.put_along_axis(probs, cls[..., None], 0.9, axis=2)
    return probs


def test_long_lines_are_chunked_and_joined_like_one_pass():
    rng = np.random.default_rng(0)
    images = []
    for width in (40, 700, 801, 2500, 9000):
        stripes = rng.integers(0, 256, size=(1, width // 16 + 1)).astype(np.uint8)
        images.append(np.repeat(np.repeat(stripes, 16, axis=1)[:, :width], 32, axis=0))
    chunked = TextRecognizer(runtime=_local_model, inference_config=_local_inference_config(800), batch_size=3)
    one_pass = TextRecognizer(runtime=_local_model, inference_config=_local_inference_config(10**6), batch_size=3)

    a, b = chunked(images), one_pass(images)

    assert [r.get("chunks") for r in a] == [None, None, 2, 4, 14]
    assert [r["text"] for r in a] == [r["text"] for r in b]
    assert len(a[-1]["text"]) > 500


def test_lines_beyond_max_chunks_are_squeezed_to_fit():
    img = np.tile(np.array([[0, 255]], np.uint8), (32, 20000))  # 40000 px
    rec = TextRecognizer(runtime=_local_model, inference_config=_local_inference_config(800), max_chunks=3)
    out = rec([img])
    assert out[0]["chunks"] == 3
    assert rec.last_stats["padded_pixels"] == 3 * 800


def test_background_and_inline_preprocessing_give_the_same_results():
    rng = np.random.default_rng(2)
    images = [
        rng.integers(0, 256, size=(int(rng.integers(8, 64)), int(rng.integers(1, 1500)))).astype(np.uint8)
        for _ in range(9)
    ] + [np.zeros((0, 3), np.uint8)]
    config = _local_inference_config(800)
    threaded = TextRecognizer(runtime=_local_model, inference_config=config, batch_size=4, prefetch=2)
    inline = TextRecognizer(runtime=_local_model, inference_config=config, batch_size=4, prefetch=0)
    assert threaded(images) == inline(images)


def test_a_failing_runtime_stops_the_background_worker_and_raises():
    calls = []

    def flaky(x):
        calls.append(x.shape)
        if len(calls) == 2:
            raise RuntimeError("device lost")
        return _local_model(x)

    images = [np.full((32, 64), 200, np.uint8)] * 20
    rec = TextRecognizer(runtime=flaky, inference_config=_local_inference_config(800), batch_size=2, prefetch=2)
    with pytest.raises(RuntimeError, match="device lost"):
        rec(images)
    assert len(calls) == 2
    assert not any(t.name == "ppresnet45-preprocess" for t in threading.enumerate())


# ---- accuracy against a label file: the rule of `ppresnet45 eval` ------------------------
def test_infer_accuracy_follows_eval_rec_metric_with_spaces(model_dir, tmp_path, capsys):
    (tmp_path / "imgs").mkdir()
    paths = [write(tmp_path / "imgs" / f"{i}.png", text_line(word)) for i, word in enumerate(WORDS[:4])]
    predicted = [r["text"] for r in recognize(model_dir, paths, cpu_threads=1)]
    # labels that differ from the predictions only by spaces, and one that is wrong
    labels = [" " + " ".join(predicted[0]), predicted[1] + " ", " " + predicted[2], predicted[3] + "#"]
    label_file = tmp_path / "labels.txt"
    label_file.write_text("".join(f"imgs/{i}.png\t{label}\n" for i, label in enumerate(labels)), encoding="utf-8")

    rc = run_infer(["--model_dir", model_dir, "--image_dir", str(label_file), "--cpu_threads", "1", "--no_progress"])

    captured = capsys.readouterr()
    rows = [json.loads(line) for line in captured.out.splitlines()]
    assert rc == 0 and [r["label"] for r in rows] == labels
    metric = RecMetric()
    metric.update([r["text"] for r in rows], [r["label"] for r in rows])
    expected = metric.get_metric()
    assert expected["acc"] == 0.75  # spaces are ignored, as `ppresnet45 eval` does
    assert f"accuracy {expected['acc']:.4f} (3/4), norm_edit_dis {expected['norm_edit_dis']:.4f}" in captured.err


def test_score_against_labels_counts_failed_images_as_wrong():
    results = [{"text": "ab c"}, {"text": None, "error": "empty file"}, {"text": "x"}]
    score = score_against_labels(results, ["abc", "", "y"])
    assert (score["correct"], score["total"], score["accuracy"]) == (1, 3, pytest.approx(1 / 3))
    assert score["norm_edit_dis"] == pytest.approx(1 / 3)  # 1, 0 (failed), 0 (one substitution)
    assert "by_group" not in score  # no paths, no folders to compare


def test_score_against_labels_reports_accuracy_per_folder_like_eval():
    results = [
        {"path": "/d/holdout/lato/0.png", "text": "ab"},
        {"path": "/d/holdout/lato/1.png", "text": "zz"},
        {"path": "/d/holdout/dejavu_serif/2.png", "text": None, "error": "truncated"},
    ]
    score = score_against_labels(results, ["ab", "cd", "ef"])
    assert score["by_group"] == {
        "dejavu_serif": {"acc": 0.0, "norm_edit_dis": 0.0, "count": 1},
        "lato": {"acc": 0.5, "norm_edit_dis": 0.5, "count": 2},
    }


# ---- the spec and the runtime's output are checked --------------------------------------
def test_recognizer_takes_an_inference_spec_and_checks_what_it_can_run():
    spec = InferenceSpec.from_config(_local_inference_config(800), "/m/inference.yml")
    rec = TextRecognizer(runtime=_local_model, inference_config=spec)
    assert rec.spec is spec and rec([np.full((32, 40), 255, np.uint8)])[0]["text"] is not None
    other = InferenceSpec.from_config(
        dict(_local_inference_config(800), PostProcess={"name": "AttnLabelDecode", "character_dict": CHARS}),
        "/m/inference.yml",
    )
    with pytest.raises(
        ModelDirError,
        match=r"^/m/inference.yml: PostProcess.name: unknown PostProcess "
        r"'AttnLabelDecode' .*registered: .*CTCLabelDecode",
    ):
        TextRecognizer(runtime=_local_model, inference_config=other)
    cfg = _local_inference_config(800)
    cfg["PreProcess"]["transform_ops"].append({"NormalizeImage": {"scale": 1.0, "mean": [0, 0, 0], "std": [1, 1, 1]}})
    with pytest.raises(ModelDirError, match=r"NormalizeImage scale=1 .* differs from the recognizer's pre-processing"):
        TextRecognizer(runtime=_local_model, inference_config=cfg)


def test_a_runtime_with_the_wrong_output_is_a_clear_error():
    images = [np.full((32, 64), 200, np.uint8)] * 2
    config = _local_inference_config(800)
    dropped = TextRecognizer(runtime=lambda x: _local_model(x)[:1], inference_config=config, batch_size=2)
    with pytest.raises(ModelDirError, match=r"probabilities \[N, T, K\] for 2 images, got shape \[1, 32, 37\]"):
        dropped(images)
    classes = TextRecognizer(runtime=lambda x: _local_model(x)[..., :5], inference_config=config)
    with pytest.raises(ModelDirError, match="outputs 5 classes but inference.yml's character_dict has 36 characters"):
        classes(images)
    with pytest.raises(DataError, match="batch_size: expected a positive int"):
        classes(images, batch_size=0)
