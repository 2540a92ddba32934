"""``ppresnet45 versus`` / ``tools/benchmark_vs_paddleocr.py``: ours vs PaddleOCR's recognizer, whole processes.

See :mod:`ppresnet45.benchmark.versus` for the method; this module parses flags and prints.
"""

import argparse
import shlex
import sys

from ..benchmark.versus import PADDLEOCR_PYTHON_ENV, default_paddleocr_python, run_versus
from ..utils.cpu import ISA_CAP_ENV
from ._args import passthrough, positive_int

_DEFAULTS = {"num_lines": 2000, "cpu_threads": 2, "batch_size": 8, "rounds": 3, "output_dir": "output/versus"}


def add_arguments(parser):
    """Arguments of ``ppresnet45 versus`` / ``tools/benchmark_vs_paddleocr.py``."""
    parser.add_argument(
        "--model_dir", required=True, help="the export both sides read (ours; PaddleOCR runs it as PP-OCRv5_server_rec)"
    )
    parser.add_argument(
        "--image_dir",
        default=None,
        help="an image, a folder or a 'path<TAB>text' label file (then accuracy is reported); "
        "default: --num_lines lines rendered with the model's dictionary",
    )
    parser.add_argument(
        "--num_lines",
        type=positive_int,
        default=_DEFAULTS["num_lines"],
        help="lines to render without --image_dir (default 2000)",
    )
    parser.add_argument(
        "--cpu_threads", type=positive_int, default=_DEFAULTS["cpu_threads"], help="threads of each side (default 2)"
    )
    parser.add_argument(
        "--batch_size",
        type=positive_int,
        default=_DEFAULTS["batch_size"],
        help="lines per model call on each side (default 8)",
    )
    parser.add_argument(
        "--rounds",
        type=positive_int,
        default=_DEFAULTS["rounds"],
        help="timed runs of each side, interleaved, after one untimed warm-up each (default 3)",
    )
    parser.add_argument(
        "--paddleocr_python",
        default=None,
        help=f"Python of the PaddleOCR venv (default ${PADDLEOCR_PYTHON_ENV}, else {default_paddleocr_python()})",
    )
    parser.add_argument(
        "--isa",
        default=None,
        metavar="CAP",
        help=f"set {ISA_CAP_ENV} (e.g. AVX2) for both processes: oneDNN-based runtimes then run "
        "as on that CPU (ONNX Runtime's kernels ignore it); default: inherit the environment",
    )
    parser.add_argument(
        "--output_dir",
        default=_DEFAULTS["output_dir"],
        help="lines, caches, rows, versus.json and versus.md (default output/versus)",
    )
    parser.add_argument("--no_progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "infer_args",
        nargs=argparse.REMAINDER,
        metavar="-- INFER_ARGS",
        help="more flags of `ppresnet45 infer` after --, e.g. -- --backend auto --precision bf16",
    )


def _command_line(args, infer_args):
    """The command as a user would type it (non-default flags only), for the report."""
    argv = ["ppresnet45", "versus", "--model_dir", args.model_dir]
    if args.image_dir:
        argv += ["--image_dir", args.image_dir]
    for name, default in _DEFAULTS.items():
        value = getattr(args, name)
        if value != default and not (name == "num_lines" and args.image_dir):
            argv += [f"--{name}", str(value)]
    for name in ("paddleocr_python", "isa"):
        if getattr(args, name):
            argv += [f"--{name}", getattr(args, name)]
    return shlex.join(argv + (["--", *infer_args] if infer_args else []))


def run(args):
    """Run ``versus``: print a short summary; 0 when both sides ran."""
    infer_args = passthrough(args.infer_args)
    report = run_versus(
        args.model_dir,
        image_dir=args.image_dir,
        num_lines=args.num_lines,
        cpu_threads=args.cpu_threads,
        batch_size=args.batch_size,
        rounds=args.rounds,
        paddleocr_python=args.paddleocr_python,
        isa=args.isa,
        output_dir=args.output_dir,
        infer_args=infer_args,
        progress=not args.no_progress,
        command=_command_line(args, infer_args),
    )
    s, cpu, ag = report["settings"], report["cpu"], report["agreement"]
    ours, theirs = report["ppresnet45"], report["paddleocr"]
    runtime = ours["runtime"]
    print(
        f"CPU: {cpu['description']}; kind {cpu['kind']}"
        + (f" under {ISA_CAP_ENV}={s['isa_cap']} (ONNX Runtime ignores it)" if s["isa_cap"] else "")
    )
    print(
        f"lines: {s['lines']} ({'rendered' if s['rendered'] else s['lines_source']}), threads {s['cpu_threads']}, "
        f"batch {s['batch_size']}, {s['rounds']} round(s) after a warm-up"
    )
    for name, side in (("ppresnet45", ours), ("PaddleOCR", theirs)):
        acc = f", accuracy {side['accuracy']:.4f}" if "accuracy" in side else ""
        print(
            f"{name:>10}: median {side['median_s']:.2f} s (min {side['min_s']:.2f}; loop {side['loop_median_s']:.2f}"
            f" + start-up {side['startup_median_s']:.2f}), {side['lines_per_s']:.1f} lines/s{acc}"
        )
    print(
        f"ppresnet45 is {report['ratio']:.2f}x PaddleOCR (PaddleOCR median s / ours); same text on "
        f"{ag['same']}/{ag['lines']} lines ({ag['share']:.1%})"
    )
    print(
        f"our runtime: {runtime['backend']}/{runtime['precision']}"
        + (f" (auto: {runtime['reason']})" if runtime.get("reason") else "")
    )
    if runtime["ignores_isa_cap"]:
        print(
            f"note: {runtime['backend']}'s kernels ignore {ISA_CAP_ENV}: its figure is not one of a "
            f"{s['isa_cap']}-only CPU (give -- --backend paddle or openvino for that)"
        )
    print(f"reports: {report['outputs']['json']}, {report['outputs']['markdown']}", file=sys.stderr)
    return 0
