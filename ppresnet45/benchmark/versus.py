"""Whole-process speed and text agreement: ``ppresnet45 infer`` vs PaddleOCR's recognizer.

What a user feels is the whole command, start-up included, so each side is timed as one process,
start to exit, on the same export, lines, threads and batch size: ours is ``ppresnet45 infer``
(extra flags such as ``--backend`` passed through); PaddleOCR's is ``paddleocr.TextRecognition(
model_name="PP-OCRv5_server_rec", model_dir=...)`` in its own venv (PaddleX refuses another name
for a recognizer). Each side runs once untimed (byte code, PaddleX's cache, ``--backend auto``'s
probe, cached inside the output dir so that runs do not depend on the user's cache), then
``rounds`` times interleaved, ours first; ratio = PaddleOCR's median seconds / ours. Each side
also reports its recognition loop alone (ours: ``infer``'s summary line; PaddleOCR:
``predict()`` timed in the client), so start-up shows separately. ``isa`` sets
``ONEDNN_MAX_CPU_ISA`` for both: oneDNN-based runtimes (Paddle Inference, OpenVINO) then run as
on a smaller CPU; ONNX Runtime's kernels ignore it. docs/speed_vs_paddleocr.md has the figures.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from typing import Any, cast

from tqdm import tqdm

from ..errors import ConfigError, DataError, PPResNetError
from ..inference.auto import CACHE_FILE
from ..inference.model_dir import check_model_dir
from ..inference.recognizer import DEFAULT_BATCH_SIZE
from ..inference.scoring import score_against_labels
from ..inference.sources import list_image_sources
from ..inference.spec import InferenceSpec
from ..utils.cpu import ISA_CAP_ENV, ISA_CAP_IGNORED_BY, ISA_CAPS, cpu_description, cpu_record
from ..utils.io import atomic_write_text
from .versus_report import format_markdown

PADDLEOCR_PYTHON_ENV = "PPRESNET45_PADDLEOCR_PYTHON"
PADDLEOCR_MODEL_NAME = "PP-OCRv5_server_rec"
RESULT_FILE, REPORT_FILE = "versus.json", "versus.md"
RESERVED_INFER_FLAGS = ("--model_dir", "--image_dir", "--output", "--cpu_threads", "--batch_size", "--resume")
OUR_DISTS = ("ppresnet45", "paddlepaddle", "onnxruntime", "openvino")  # versions in the report
_MARK = "@@versus "
_INFER_SUMMARY = re.compile(r"^infer: \d+ images, \d+ failed, ([\d.]+) s, .*\((\S+)/(\S+), batch")
SIDES = {"ppresnet45": "ppresnet45 infer", "paddleocr": "the PaddleOCR client"}
# Run by PaddleOCR's Python: argv = model dir, paths (JSON file), rows out, threads, batch size, model name.
_CLIENT = f"""
import importlib.metadata as md, json, sys, time
t0 = time.perf_counter()
import paddleocr
model_dir, paths_file, rows_file, threads, batch, name = sys.argv[1:7]
model = paddleocr.TextRecognition(model_name=name, model_dir=model_dir, device="cpu",
                                  cpu_threads=int(threads), enable_mkldnn=True)
paths = json.load(open(paths_file, encoding="utf-8"))
t1 = time.perf_counter()
results = model.predict(paths, batch_size=int(batch))
t2 = time.perf_counter()
rows = [{{"path": r["input_path"], "text": r["rec_text"], "score": float(r["rec_score"])}} for r in results]
open(rows_file, "w", encoding="utf-8").write(json.dumps(rows, ensure_ascii=False))
versions = {{(d.metadata["Name"] or "").lower(): d.version for d in md.distributions()}}
versions = {{k: versions[k] for k in ("paddlepaddle", "paddleocr", "paddlex") if k in versions}}
print({_MARK!r} + json.dumps({{"start_s": t1 - t0, "loop_s": t2 - t1, "versions": versions}}))
"""


class VersusError(PPResNetError):
    """A side could not be run or failed; the message is one line."""


def default_paddleocr_python() -> str:
    """``$PPRESNET45_PADDLEOCR_PYTHON``, else ``.venv-paddleocr/bin/python`` of the repository."""
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return os.environ.get(PADDLEOCR_PYTHON_ENV) or os.path.join(repo, ".venv-paddleocr", "bin", "python")


def side_environments(output_dir: str, isa: str | None = None) -> dict[str, dict[str, str]]:
    """``{side: variables}`` each side's process gets on top of this one's environment.

    Args:
        output_dir (str): where ``--backend auto``'s cache and PaddleX's cache live for this run.
        isa (str | None): an ``ONEDNN_MAX_CPU_ISA`` value for both sides; None inherits.
    """
    common: dict[str, str] = {ISA_CAP_ENV: isa} if isa else {}
    return {
        "ppresnet45": dict(common, PPRESNET45_CACHE_DIR=os.path.join(output_dir, "cache")),
        "paddleocr": dict(
            common,
            GLOG_minloglevel="2",
            PADDLE_PDX_DISABLE_MODEL_SOURCE_CHECK="True",
            PADDLE_PDX_CACHE_HOME=os.path.join(output_dir, "pdx"),
        ),
    }


def _lines(
    model_dir: str, image_dir: str | None, num_lines: int, output_dir: str
) -> tuple[str, list[str], list[str | None] | None]:
    """``(source for infer, absolute paths, labels or None)``: the user's lines or rendered ones."""
    if image_dir is None:
        from ..quantization.lines import render_charset, rendered_lines

        spec = InferenceSpec.from_yaml(model_dir)
        try:
            render_charset(spec)
        except DataError:
            raise DataError(
                f"the dictionary of '{model_dir}' has too few letters and digits to render lines "
                "with; give --image_dir (a folder or label file of your own text lines)"
            ) from None
        image_dir = rendered_lines(output_dir, "lines", num_lines, 0, spec)
    sources = list_image_sources(image_dir)
    if sources.errors:  # infer would report those lines as failed: keep the usable ones
        keep = [i for i in range(len(sources.paths)) if i not in sources.errors]
        texts = cast("list[str | None]", sources.labels)  # malformed lines come from a label file only
        image_dir = os.path.join(output_dir, "lines_usable.txt")
        atomic_write_text(image_dir, "".join(f"{os.path.abspath(sources.paths[i])}\t{texts[i]}\n" for i in keep))
        sources = list_image_sources(image_dir)
    return os.path.abspath(image_dir), [os.path.abspath(p) for p in sources.paths], sources.labels


def _timed(side: str, argv: list[str], env: dict[str, str], rows_file: str) -> dict[str, Any]:
    """One timed run of ``side`` (:data:`SIDES`) to its exit: wall seconds, ``loop_s``, what it reports,
    its rows; a one-line :class:`VersusError` with the end of its stderr when it fails."""
    t0 = time.perf_counter()
    proc = subprocess.run(
        argv, env=dict(os.environ, **env), capture_output=True, text=True, encoding="utf-8", errors="replace"
    )
    seconds, out, err = time.perf_counter() - t0, proc.stdout, proc.stderr
    if proc.returncode != 0:
        tail = " | ".join([line.strip().removeprefix("error: ") for line in err.splitlines() if line.strip()][-3:])
        raise VersusError(f"{SIDES.get(side, side)} exited with code {proc.returncode}: {tail[-400:] or '(no stderr)'}")
    found: list[dict[str, Any]]
    if side == "ppresnet45":  # infer's summary line: the loop's seconds and the runtime it used
        found = [
            dict(zip(("loop_s", "backend", "precision"), m.groups()))
            for m in map(_INFER_SUMMARY.match, err.splitlines())
            if m
        ]
    else:  # the client's marked line: the loop's seconds, start-up and versions
        found = [json.loads(line[len(_MARK) :]) for line in out.splitlines() if line.startswith(_MARK)]
    if not found:
        raise VersusError(f"{SIDES.get(side, side)} printed no timings: {(err or out).strip()[-300:]!r}")
    auto_lines = [line for line in err.splitlines() if line.startswith("auto: ")] if side == "ppresnet45" else []
    if auto_lines:  # --backend auto's one line: what it chose and why (probed or not)
        found[-1]["auto_line"] = auto_lines[-1]
    with open(rows_file, encoding="utf-8") as f:
        rows = json.load(f) if side == "paddleocr" else [json.loads(line) for line in f if line.strip()]
    return dict(found[-1], loop_s=float(found[-1]["loop_s"]), seconds=seconds, rows=rows)


def infer_argv(
    model_dir: str, source: str, rows_file: str, cpu_threads: int, batch_size: int, extra: Sequence[str] = ()
) -> list[str]:
    """The whole-process ``ppresnet45 infer`` command that the side-by-side benchmarks time."""
    return [
        sys.executable, "-m", "ppresnet45", "infer", "--model_dir", model_dir, "--image_dir", source,
        "--output", rows_file, "--cpu_threads", str(cpu_threads), "--batch_size", str(batch_size), "--no_progress",
        *extra,
    ]  # fmt: skip


def _cpu(isa: str | None) -> dict[str, Any]:
    """The CPU as measured on: its real model and flags, and its kind under the cap in force."""
    saved = os.environ.pop(ISA_CAP_ENV, None)
    real = cpu_description()
    cap = isa or saved
    os.environ.update({ISA_CAP_ENV: cap} if cap else {})
    try:
        return dict(cpu_record(), description=real)
    finally:  # this process's environment as it was
        os.environ.pop(ISA_CAP_ENV, None)
        os.environ.update({ISA_CAP_ENV: saved} if saved is not None else {})


def _installed(names: Iterable[str]) -> dict[str, str]:
    """``{name: version}`` of the distributions among ``names`` installed in this venv."""
    found = {(d.metadata["Name"] or "").lower(): d.version for d in importlib.metadata.distributions()}
    return {name: found[name] for name in names if name in found}


def _runtime_choice(cache_dir: str, run: dict[str, Any]) -> dict[str, Any]:
    """The runtime ``infer`` used, with ``--backend auto``'s reason from its cache when it chose."""
    choice: dict[str, Any] = {"backend": run["backend"], "precision": run["precision"]}
    try:  # this run's cache holds only the choice of its warm-up run
        with open(os.path.join(cache_dir, CACHE_FILE), encoding="utf-8") as f:
            picked = [
                c
                for c in json.load(f).values()
                if isinstance(c, dict) and c.get("backend") == run["backend"] and c.get("precision") == run["precision"]
            ]
    except (OSError, ValueError, AttributeError):  # no cache: the runtime was given, not chosen
        picked = []
    if picked:
        choice.update(auto=True, reason=picked[-1].get("reason"), candidates=picked[-1].get("candidates"))
    elif run.get("auto_line"):  # auto chose without probing (a small job): its line says why
        choice.update(auto=True, reason=run["auto_line"].removeprefix("auto: "))
    return choice


def _side(
    runs: list[dict[str, Any]], labels: list[str | None] | None, paths: Sequence[str]
) -> tuple[dict[str, Any], dict[str, str | None]]:
    """A side's rounds as medians and minimums, and its texts by path (from its last round)."""
    times, loops = [r["seconds"] for r in runs], [r["loop_s"] for r in runs]
    texts = {os.path.abspath(r["path"]): r.get("text") for r in runs[-1]["rows"] if r.get("path")}
    median = statistics.median(times)
    out: dict[str, Any] = {
        "rounds_s": times,
        "median_s": median,
        "min_s": min(times),
        "lines_per_s": len(paths) / median,
        "loop_rounds_s": loops,
        "loop_median_s": statistics.median(loops),
        "startup_median_s": statistics.median(t - lp for t, lp in zip(times, loops)),
    }
    if labels is not None:
        out["accuracy"] = score_against_labels([{"text": texts.get(p), "path": p} for p in paths], labels)["accuracy"]
    return out, texts


def run_versus(
    model_dir: str,
    image_dir: str | None = None,
    num_lines: int = 2000,
    cpu_threads: int = 2,
    batch_size: int = DEFAULT_BATCH_SIZE,
    rounds: int = 3,
    paddleocr_python: str | None = None,
    isa: str | None = None,
    output_dir: str = "output/versus",
    infer_args: Iterable[str] = (),
    progress: bool = True,
    command: str | None = None,
) -> dict[str, Any]:
    """Time ``ppresnet45 infer`` and PaddleOCR's recognizer as whole processes (see the module docs).

    Args:
        model_dir (str): the export both sides read.
        image_dir (str | None): an image, folder or label file; None renders ``num_lines`` lines.
        num_lines (int): lines to render when ``image_dir`` is None.
        cpu_threads (int): threads of each side.
        batch_size (int): lines per model call on each side.
        rounds (int): timed runs of each side, interleaved.
        paddleocr_python (str | None): PaddleOCR's Python (default :func:`default_paddleocr_python`).
        isa (str | None): ``ONEDNN_MAX_CPU_ISA`` for both processes; None inherits the environment.
        output_dir (str): where the lines, caches, rows and ``versus.json`` / ``versus.md`` go.
        infer_args (list[str]): more flags of ``ppresnet45 infer`` (``--backend``, ``--precision``).
        progress (bool): a tqdm bar over the rounds on stderr.
        command (str | None): the command line, recorded in the report.

    Returns:
        dict: the report written to ``versus.json`` (``ModelDirError``, ``DataError``,
        ``ConfigError`` or :class:`VersusError` with a one-line message when it cannot be made).
    """
    check_model_dir(model_dir)
    isa = isa and isa.upper()
    if isa and isa not in ISA_CAPS:
        raise ConfigError(f"--isa: unknown {ISA_CAP_ENV} value '{isa}' (choose from {', '.join(ISA_CAPS)})")
    cpu = _cpu(isa)
    infer_args = list(infer_args)
    reserved = [a for a in infer_args if a.split("=")[0] in RESERVED_INFER_FLAGS]
    if reserved:
        raise ConfigError(f"versus sets {', '.join(reserved)} of ppresnet45 infer itself; give other flags after --")
    python = paddleocr_python or default_paddleocr_python()
    if not os.access(python, os.X_OK):
        raise VersusError(
            f"PaddleOCR client python '{python}' not found: run `make .venv-paddleocr`, or give "
            f"--paddleocr_python / set {PADDLEOCR_PYTHON_ENV}"
        )
    model_dir, output_dir = os.path.abspath(model_dir), os.path.abspath(output_dir)
    os.makedirs(output_dir, exist_ok=True)
    source, paths, labels = _lines(model_dir, image_dir, num_lines, output_dir)
    envs = side_environments(output_dir, isa)
    cache_dir = envs["ppresnet45"]["PPRESNET45_CACHE_DIR"]
    with contextlib.suppress(FileNotFoundError):
        os.remove(os.path.join(cache_dir, CACHE_FILE))  # this run's own probe, not a stale choice
    paths_file = os.path.join(output_dir, "paths.json")
    rows = {
        "ppresnet45": os.path.join(output_dir, "rows_ppresnet45.jsonl"),
        "paddleocr": os.path.join(output_dir, "rows_paddleocr.json"),
    }
    atomic_write_text(paths_file, json.dumps(paths, ensure_ascii=False))
    argvs = {
        "ppresnet45": infer_argv(model_dir, source, rows["ppresnet45"], cpu_threads, batch_size, infer_args),
        "paddleocr": [
            python,
            "-c",
            _CLIENT,
            model_dir,
            paths_file,
            rows["paddleocr"],
            str(cpu_threads),
            str(batch_size),
            PADDLEOCR_MODEL_NAME,
        ],
    }
    runs: dict[str, list[dict[str, Any]]] = {side: [] for side in SIDES}
    with tqdm(
        total=rounds, desc="versus", unit="round", disable=not progress, file=sys.stderr, postfix="warm-up"
    ) as bar:
        warm = {side: _timed(side, argvs[side], envs[side], rows[side]) for side in SIDES}  # untimed
        for _ in range(rounds):
            for side in SIDES:  # interleaved, ours first: a slow spell of the machine hits both
                runs[side].append(_timed(side, argvs[side], envs[side], rows[side]))
            bar.set_postfix_str(", ".join(f"{side} {runs[side][-1]['seconds']:.1f} s" for side in SIDES))
            bar.update()
    (ours, our_texts), (theirs, their_texts) = (_side(runs[side], labels, paths) for side in SIDES)
    ours["runtime"] = _runtime_choice(cache_dir, warm["ppresnet45"])
    ours["runtime"]["ignores_isa_cap"] = bool(cpu["isa_cap"]) and ours["runtime"]["backend"] in ISA_CAP_IGNORED_BY
    same = sum(p in our_texts and p in their_texts and our_texts[p] == their_texts[p] for p in paths)
    differ = [
        {"path": p, "ppresnet45": our_texts.get(p), "paddleocr": their_texts.get(p)}
        for p in paths
        if our_texts.get(p) != their_texts.get(p)
    ][:10]
    report = {
        "settings": {
            "model_dir": model_dir,
            "lines_source": source,
            "rendered": image_dir is None,
            "lines": len(paths),
            "labelled": labels is not None,
            "cpu_threads": cpu_threads,
            "batch_size": batch_size,
            "rounds": rounds,
            "isa_cap": cpu["isa_cap"],
            "infer_args": infer_args,
            "paddleocr_python": python,
            "paddleocr_model_name": PADDLEOCR_MODEL_NAME,
            "isa_cap_ignored_by": list(ISA_CAP_IGNORED_BY),
            "command": command,
        },
        "cpu": cpu,
        "commands": {side: {"argv": argvs[side], "env": envs[side]} for side in SIDES},
        "ppresnet45": ours,
        "paddleocr": theirs,
        "ratio": theirs["median_s"] / ours["median_s"],
        "agreement": {"same": same, "lines": len(paths), "share": same / max(len(paths), 1), "differ": differ},
        "versions": {"ppresnet45_venv": _installed(OUR_DISTS), "paddleocr_venv": warm["paddleocr"].get("versions", {})},
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "outputs": {"json": os.path.join(output_dir, RESULT_FILE), "markdown": os.path.join(output_dir, REPORT_FILE)},
    }
    atomic_write_text(report["outputs"]["json"], json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    atomic_write_text(report["outputs"]["markdown"], format_markdown(report))
    return report
