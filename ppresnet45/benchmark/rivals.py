"""Whole-process speed and text agreement on a user's PP-OCR model: ``ppresnet45 infer`` vs
PaddleOCR 2.x's ``predict_rec`` vs RapidOCR (``ppresnet45 versus-ppocr``).

The same model in its two usual forms: a PaddleOCR 2.x inference folder (``predict_rec``'s
input) and its ONNX file (RapidOCR's). Each side is one process, start to exit, on the same
lines, threads and batch size, in its own venv:

* ``ppresnet45``: ``ppresnet45 infer --model_dir MODEL`` (the ONNX file by default; any model
  ``infer`` opens, e.g. the folder ``ppresnet45 quantize`` wrote; more flags after ``--``);
* ``predict_rec``: PaddleOCR 2.x's ``tools/infer/predict_rec.py`` (shipped inside the
  ``paddleocr`` 2.x package) on the 2.x folder, with its own argument parser: the dictionary,
  ``rec_image_shape``, ``rec_batch_num`` = batch, ``cpu_threads`` and oneDNN on (its default
  leaves oneDNN off and then sets no thread count), images read with ``cv2.imread`` as it does;
* ``rapidocr``: ``rapidocr_onnxruntime``'s recognizer on the ONNX file (``RapidOCR(...).text_rec``
  on the list of lines, as its pipeline calls it on a page's crops), ``intra_op_num_threads`` =
  threads, images loaded by its ``LoadImage``.

Each side runs once untimed, then ``rounds`` times interleaved; ratios are a side's median
seconds over ours. Agreement is counted on identical texts, pairwise.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

from tqdm import tqdm

from ..errors import ConfigError
from ..inference.formats import open_model
from ..inference.sources import list_image_sources
from ..utils.io import atomic_write_text
from .versus import _MARK, OUR_DISTS, VersusError, _cpu, _installed, _side, _timed, infer_argv
from .versus_report import command_line

PREDICT_REC_PYTHON_ENV, RAPIDOCR_PYTHON_ENV = "PPRESNET45_PREDICT_REC_PYTHON", "PPRESNET45_RAPIDOCR_PYTHON"
VENVS = {"predict_rec": (".venv-ppocr2", PREDICT_REC_PYTHON_ENV), "rapidocr": (".venv-rapidocr", RAPIDOCR_PYTHON_ENV)}
RESULT_FILE, REPORT_FILE = "versus_ppocr.json", "versus_ppocr.md"
SIDES = ("ppresnet45", "predict_rec", "rapidocr")
_VERSIONS = """
versions = {{(d.metadata["Name"] or "").lower().replace("_", "-"): d.version for d in md.distributions()}}
versions = {{k: versions[k] for k in {names!r} if k in versions}}
print({mark!r} + json.dumps({{"start_s": t1 - t0, "loop_s": t2 - t1, "versions": versions}}))
"""
_ROWS = """
with open(rows_file, "w", encoding="utf-8") as f:
    for p, (text, score) in zip(paths, results):
        f.write(json.dumps({"path": p, "text": text, "score": float(score)}, ensure_ascii=False) + "\\n")
"""
# argv: 2.x folder, dictionary, paths (JSON file), rows out, threads, batch, image shape
PREDICT_REC_CLIENT = (
    """
import importlib.metadata as md, json, sys, time
t0 = time.perf_counter()
model_dir, dict_path, paths_file, rows_file, threads, batch, shape = sys.argv[1:8]
sys.argv = [sys.argv[0], "--rec_model_dir", model_dir, "--rec_char_dict_path", dict_path, "--rec_batch_num", batch,
            "--cpu_threads", threads, "--enable_mkldnn", "true", "--rec_image_shape", shape, "--use_gpu", "false",
            "--show_log", "false"]
import cv2
from paddleocr.tools.infer import utility
from paddleocr.tools.infer.predict_rec import TextRecognizer
recognizer = TextRecognizer(utility.parse_args())
paths = json.load(open(paths_file, encoding="utf-8"))
t1 = time.perf_counter()
results, _ = recognizer([cv2.imread(p) for p in paths])
t2 = time.perf_counter()
"""
    + _ROWS
    + _VERSIONS.format(names=("paddleocr", "paddlepaddle"), mark=_MARK)
)
# argv: ONNX file, paths (JSON file), rows out, threads, batch
RAPIDOCR_CLIENT = (
    """
import importlib.metadata as md, json, sys, time
t0 = time.perf_counter()
onnx_file, paths_file, rows_file, threads, batch = sys.argv[1:6]
from rapidocr_onnxruntime import RapidOCR
engine = RapidOCR(rec_model_path=onnx_file, intra_op_num_threads=int(threads), inter_op_num_threads=1)
engine.text_rec.rec_batch_num = int(batch)
paths = json.load(open(paths_file, encoding="utf-8"))
t1 = time.perf_counter()
results, _ = engine.text_rec([engine.load_img(p) for p in paths])
t2 = time.perf_counter()
"""
    + _ROWS
    + _VERSIONS.format(names=("rapidocr-onnxruntime", "onnxruntime"), mark=_MARK)
)


def default_python(side: str) -> str:
    """``$PPRESNET45_PREDICT_REC_PYTHON`` / ``$PPRESNET45_RAPIDOCR_PYTHON``, else the repository's
    ``.venv-ppocr2`` / ``.venv-rapidocr`` (``make .venv-ppocr2 .venv-rapidocr``)."""
    folder, env = VENVS[side]
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return os.environ.get(env) or os.path.join(repo, folder, "bin", "python")


def _check_python(side: str, python: str) -> str:
    if not os.access(python, os.X_OK):
        folder, env = VENVS[side]
        raise VersusError(f"{side} python '{python}' not found: run `make {folder}`, or set {env}")
    return python


def run_versus_ppocr(
    paddle_dir: str,
    onnx_file: str,
    image_dir: str,
    dict_path: str | None = None,
    ours: str | None = None,
    cpu_threads: int = 2,
    batch_size: int = 6,
    rounds: int = 3,
    image_shape: str = "3,48,320",
    output_dir: str = "output/versus_ppocr",
    infer_args: Sequence[str] = (),
    pythons: dict[str, str] | None = None,
    progress: bool = True,
    command: str | None = None,
) -> dict[str, Any]:
    """Time ours, ``predict_rec`` and RapidOCR as whole processes (see the module docs).

    Args:
        paddle_dir (str): the PaddleOCR 2.x folder (``predict_rec`` reads it).
        onnx_file (str): the same model as ONNX (RapidOCR reads it).
        image_dir (str): an image, folder or label file of text lines.
        dict_path (str | None): the dictionary; None: from the ONNX metadata (written to the
            output folder for ``predict_rec``).
        ours (str | None): the model ``ppresnet45 infer`` runs (default ``onnx_file``).
        cpu_threads, batch_size, rounds: the same on every side.
        image_shape (str): ``C,H,W`` for ``predict_rec`` and ours (without an inference.yml).
        output_dir (str): rows, ``versus_ppocr.json`` and ``.md``.
        infer_args (list[str]): more ``ppresnet45 infer`` flags (``--backend``, ``--precision``).
        pythons (dict | None): ``{"predict_rec": python, "rapidocr": python}`` (default :func:`default_python`).
        progress (bool): a progress bar over the rounds.
        command (str | None): the command line, for the report.

    Returns:
        dict: the report written to ``versus_ppocr.json``.
    """
    pythons = {side: _check_python(side, (pythons or {}).get(side) or default_python(side)) for side in VENVS}
    output_dir = os.path.abspath(output_dir)
    os.makedirs(output_dir, exist_ok=True)
    onnx_model = open_model(onnx_file, dict_path=dict_path)
    if dict_path is None:  # predict_rec needs a file: the ONNX metadata's characters, the space left implied
        dict_path = os.path.join(output_dir, "dict_from_onnx.txt")
        atomic_write_text(dict_path, "\n".join(onnx_model.spec.character_list[:-1]) + "\n")
    ours = os.path.abspath(ours or onnx_file)
    sources = list_image_sources(image_dir)
    keep = [i for i in range(len(sources.paths)) if i not in sources.errors]
    paths = [os.path.abspath(sources.paths[i]) for i in keep]
    labels = [sources.labels[i] for i in keep] if sources.labels is not None else None
    if not paths:
        raise ConfigError(f"--image_dir '{image_dir}': no readable line")
    paths_file = os.path.join(output_dir, "paths.json")
    atomic_write_text(paths_file, json.dumps(paths, ensure_ascii=False))
    rows = {side: os.path.join(output_dir, f"rows_{side}.jsonl") for side in SIDES}
    our_flags = (
        []
        if os.path.isfile(os.path.join(ours if os.path.isdir(ours) else "", "inference.yml"))
        else (["--dict", dict_path, "--image_shape", image_shape])
    )
    argvs = {
        "ppresnet45": infer_argv(
            ours, os.path.abspath(image_dir), rows["ppresnet45"], cpu_threads, batch_size, [*our_flags, *infer_args]
        ),
        "predict_rec": [
            pythons["predict_rec"],
            "-c",
            PREDICT_REC_CLIENT,
            os.path.abspath(paddle_dir),
            dict_path,
            paths_file,
            rows["predict_rec"],
            str(cpu_threads),
            str(batch_size),
            image_shape,
        ],
        "rapidocr": [
            pythons["rapidocr"],
            "-c",
            RAPIDOCR_CLIENT,
            os.path.abspath(onnx_file),
            paths_file,
            rows["rapidocr"],
            str(cpu_threads),
            str(batch_size),
        ],
    }
    envs = {
        "ppresnet45": {"PPRESNET45_CACHE_DIR": os.path.join(output_dir, "cache")},
        "predict_rec": {"GLOG_minloglevel": "2"},
        "rapidocr": {},
    }
    runs: dict[str, list[dict[str, Any]]] = {side: [] for side in SIDES}
    with tqdm(total=rounds, desc="versus_ppocr", unit="round", disable=not progress, file=sys.stderr) as bar:
        warm = {side: _run(side, argvs, envs, rows) for side in SIDES}
        for _ in range(rounds):
            for side in SIDES:
                runs[side].append(_run(side, argvs, envs, rows))
            bar.set_postfix_str(", ".join(f"{side} {runs[side][-1]['seconds']:.1f} s" for side in SIDES))
            bar.update()
    sides: dict[str, dict[str, Any]] = {}
    texts: dict[str, dict[str, str | None]] = {}
    for side in SIDES:
        sides[side], texts[side] = _side(runs[side], labels, paths)
    agreement: dict[str, dict[str, Any]] = {}
    for a, b in (("ppresnet45", "predict_rec"), ("ppresnet45", "rapidocr"), ("predict_rec", "rapidocr")):
        same = sum(p in texts[a] and p in texts[b] and texts[a][p] == texts[b][p] for p in paths)
        agreement[f"{a}={b}"] = {
            "same": same,
            "share": same / len(paths),
            "differ": [
                {"path": p, a: texts[a].get(p), b: texts[b].get(p)} for p in paths if texts[a].get(p) != texts[b].get(p)
            ][:10],
        }
    report: dict[str, Any] = {
        "settings": {
            "paddle_dir": os.path.abspath(paddle_dir),
            "onnx_file": os.path.abspath(onnx_file),
            "ours": ours,
            "dict": dict_path,
            "image_shape": image_shape,
            "lines_source": os.path.abspath(image_dir),
            "lines": len(paths),
            "cpu_threads": cpu_threads,
            "batch_size": batch_size,
            "rounds": rounds,
            "infer_args": list(infer_args),
            "command": command,
        },
        "cpu": _cpu(None),
        "load_average": os.getloadavg(),
        "commands": {side: {"argv": argvs[side], "env": envs[side]} for side in SIDES},
        **sides,
        "ratios": {side: sides[side]["median_s"] / sides["ppresnet45"]["median_s"] for side in SIDES[1:]},
        "agreement": agreement,
        "versions": {
            "ppresnet45_venv": _installed(OUR_DISTS),
            **{f"{side}_venv": warm[side].get("versions", {}) for side in SIDES[1:]},
        },
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "outputs": {"json": os.path.join(output_dir, RESULT_FILE), "markdown": os.path.join(output_dir, REPORT_FILE)},
    }
    atomic_write_text(report["outputs"]["json"], json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    atomic_write_text(report["outputs"]["markdown"], format_markdown(report))
    return report


def _run(
    side: str, argvs: dict[str, list[str]], envs: dict[str, dict[str, str]], rows: dict[str, str]
) -> dict[str, Any]:
    """One timed run; the clients print the marked line and write JSON lines like ``infer``."""
    return _timed(side, argvs[side], envs[side], rows[side])


def format_markdown(report: dict[str, Any]) -> str:
    """``versus_ppocr.md``: one row per side, the agreements, the CPU and the exact commands."""
    s, cpu = report["settings"], report["cpu"]
    out = [
        f"# ppresnet45 infer vs predict_rec vs RapidOCR ({report['when']})",
        "",
        f"CPU: {cpu['description']} (kind {cpu['kind']}); load average at the end "
        f"{', '.join(f'{v:.2f}' for v in report['load_average'])}; {s['lines']} lines, {s['cpu_threads']} threads, "
        f"batch {s['batch_size']}, {s['rounds']} rounds after a warm-up.",
        "",
        "| side | median s | min s | loop median s | start-up s | lines/s | x ours (time) | accuracy |",
        "|---" * 8 + "|",
    ]
    for side in SIDES:
        r = report[side]
        ratio = 1.0 if side == "ppresnet45" else report["ratios"][side]
        acc = f"{r['accuracy']:.4f}" if "accuracy" in r else "-"
        out.append(
            f"| {side} | {r['median_s']:.2f} | {r['min_s']:.2f} | {r['loop_median_s']:.2f} | "
            f"{r['startup_median_s']:.2f} | {r['lines_per_s']:.1f} | {ratio:.2f} | {acc} |"
        )
    out += [
        "",
        "Same text: "
        + ", ".join(f"{k} {v['same']}/{s['lines']} ({v['share']:.1%})" for k, v in report["agreement"].items())
        + ".",
        f"Versions: {json.dumps(report['versions'])}.",
        "",
        "Commands (client scripts in the JSON):",
        "",
    ]
    out += [f"- {side}: `{command_line(cmd)}`" for side, cmd in report["commands"].items()]
    return "\n".join(out) + "\n"
