"""``ppresnet45.quantization.lines``: the calibration and held-out lines, and reading them."""

import os

import numpy as np
import pytest
from PIL import Image

from ppresnet45.errors import DataError
from ppresnet45.inference import InferenceSpec, create_runtime
from ppresnet45.quantization.lines import (
    RENDER_CHARS,
    calibration_batches,
    measure,
    quantize_lines,
    render_charset,
    rendered_lines,
    usable_sources,
)

DIGITS = list("0123456789")


def _spec(chars, height=32):
    return InferenceSpec.for_model([3, height, 128], chars)


def _labels(label_file):
    with open(label_file, encoding="utf-8") as f:
        return [line.rstrip("\n").split("\t") for line in f if line.strip()]


def test_the_render_charset_is_the_dictionarys_letters_and_digits():
    assert render_charset(_spec(list("zyx") + DIGITS + ["中", " "])) == "0123456789xyz"
    assert set(render_charset(_spec(list(RENDER_CHARS)))) == set(RENDER_CHARS)
    with pytest.raises(DataError, match="dictionary has 3 of the renderer's letters and digits; give --calib_data"):
        render_charset(_spec(list("abc中文字")))


def test_rendered_lines_use_the_dictionary_the_height_and_leave_out_excluded_strings(tmp_path):
    first = rendered_lines(str(tmp_path), "a", 6, 1, _spec(DIGITS, height=24))
    texts = [text for _, text in _labels(first)]
    assert len(texts) == 6 == len(set(texts)) and all(set(t) <= set(DIGITS) for t in texts)
    second = rendered_lines(str(tmp_path), "b", 6, 1, _spec(DIGITS, height=24), exclude=texts)
    assert not {text for _, text in _labels(second)} & set(texts)
    image = os.path.join(os.path.dirname(first), _labels(first)[0][0])
    assert Image.open(image).height == 24


def test_usable_sources_skip_malformed_lines_and_name_the_option(tmp_path):
    labels = tmp_path / "labels.txt"
    labels.write_text("a.png\tab\nno tab here\nb.png\tcd\nc.png\tef\n", encoding="utf-8")
    paths, texts = usable_sources(str(labels), 2, "--calib_data")
    assert paths == [str(tmp_path / "a.png"), str(tmp_path / "b.png")] and texts == ["ab", "cd"]
    with pytest.raises(DataError, match="^--eval_data: image path '.*nope' not found"):
        usable_sources(str(tmp_path / "nope"), 2, "--eval_data")
    labels.write_text("only malformed\n", encoding="utf-8")
    with pytest.raises(DataError, match="^--calib_data '.*labels.txt': no usable image"):
        usable_sources(str(labels), 2, "--calib_data")


def test_default_lines_are_rendered_and_held_out_lines_need_labels(tmp_path):
    spec = _spec(DIGITS)
    calib, calib_desc, held_out, labels, eval_desc = quantize_lines(str(tmp_path), spec, None, None, 4, 3, seed=0)
    assert len(calib) == 4 and calib_desc == "4 rendered lines (seed 11)"
    assert len(held_out) == len(labels) == 3 and eval_desc.startswith("3 rendered lines (seed 12, strings not in")
    folder = os.path.dirname(calib[0])
    with pytest.raises(DataError, match=r"^--eval_data '.*': expected a 'path<TAB>text' label file"):
        quantize_lines(str(tmp_path / "w"), spec, folder, folder, 4, 3, seed=0)
    _, calib_desc, _, _, eval_desc = quantize_lines(str(tmp_path / "w"), spec, folder, None, 2, 2, seed=0)
    assert calib_desc == f"2 lines from {folder}" and eval_desc.startswith("2 rendered lines")


def test_calibration_records_the_recognizers_batches_and_measure_reads_every_line(tiny_model_dir, tmp_path):
    spec = InferenceSpec.from_yaml(tiny_model_dir)
    label_file = rendered_lines(str(tmp_path), "lines", 5, 3, spec)
    paths = [os.path.join(os.path.dirname(label_file), p) for p, _ in _labels(label_file)]
    labels = [t for _, t in _labels(label_file)]
    runtime = create_runtime(tiny_model_dir, "paddle", "fp32", cpu_threads=1)
    batches = calibration_batches(runtime, spec, paths, batch_size=2)
    assert [b.shape[0] for b in batches] == [2, 2, 1]  # what the model was fed, batch by batch
    assert all(b.dtype == np.float32 and b.shape[1:3] == (3, spec.height) for b in batches)
    m = measure("paddle/fp32", runtime, spec, paths, labels, batch_size=2)
    assert m.name == "paddle/fp32" and len(m.texts) == 5 and m.images_per_s > 0 and 0.0 <= m.accuracy <= 1.0
    assert measure("paddle/fp32", runtime, spec, paths, None, batch_size=2).accuracy is None
