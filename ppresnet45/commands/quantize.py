"""``ppresnet45 quantize`` / ``tools/quantize.py``: post-training int8 quantization of an export.

Quantizes with each runtime's own quantizer (OpenVINO: NNCF; ONNX Runtime: static QDQ),
measures every int8 model against FP32 on the same runtime on this CPU, keeps the fastest
that loses at most ``--max_drop`` points of word accuracy and is faster than FP32, and
records what was measured (with the CPU) in ``inference.yml``. Refuses, writing nothing,
when none holds. Exit status: 0, 1 when refused, 2 for bad input.
"""

import shlex

from ..quantization import CALIBRATION_METHODS, QUANTIZERS, QuantizationRefused, quantize_export
from ._args import add_model_arguments, model_options, name_list, non_negative_float, positive_int


def add_arguments(parser):
    """Arguments of ``ppresnet45 quantize`` / ``tools/quantize.py``."""
    add_model_arguments(
        parser,
        what="export folder (inference.json/.pdiparams/.yml; model.onnx is made when missing; quantized in place)",
    )
    parser.add_argument(
        "--output",
        default=None,
        help="for a PaddleOCR 2.x folder or an ONNX model (left as they are): the new model folder "
        "(inference.yml + model.onnx + the int8 model; default <model>_int8 beside it)",
    )
    parser.add_argument(
        "--calib_data",
        default=None,
        help="calibration lines: a folder, an image or a label file (default: --calib_num lines "
        "from the built-in renderer)",
    )
    parser.add_argument(
        "--eval_data",
        default=None,
        help="held-out 'path<TAB>text' label file for the accuracy check (default: --eval_num "
        "rendered lines with strings not in the calibration set)",
    )
    parser.add_argument("--calib_num", type=positive_int, default=128, help="calibration lines used (default 128)")
    parser.add_argument("--eval_num", type=positive_int, default=300, help="held-out lines used (default 300)")
    parser.add_argument(
        "--max_drop",
        type=non_negative_float,
        default=0.5,
        help="an int8 model holds when its word accuracy is at most this many points below "
        "FP32 on the same runtime (default 0.5)",
    )
    parser.add_argument(
        "--min_speedup",
        type=non_negative_float,
        default=1.0,
        help="... and it is more than this many times as fast as FP32 on the same runtime, "
        "measured here (default 1.0: faster)",
    )
    parser.add_argument(
        "--runtimes",
        type=name_list(tuple(QUANTIZERS)),
        default=list(QUANTIZERS),
        help=f"comma-separated runtimes to quantize for and measure (default {','.join(QUANTIZERS)}; "
        "the fastest that holds is kept)",
    )
    parser.add_argument(
        "--method",
        choices=CALIBRATION_METHODS,
        default="minmax",
        help="ONNX Runtime: how activation ranges are calibrated (default minmax; NNCF sets its own)",
    )
    parser.add_argument(
        "--per_tensor",
        action="store_true",
        help="ONNX Runtime: one weight scale per tensor instead of per output channel",
    )
    parser.add_argument("--cpu_threads", type=positive_int, default=None, help="runtime threads (default: all cores)")
    parser.add_argument(
        "--batch_size",
        type=positive_int,
        default=None,
        help="lines per model call (default 8; 6 for models run with PaddleOCR's batching)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the rendered lines (default 0)")


def run(args):
    """Quantize; prints each runtime's verdict, what was kept and how to run it."""
    try:
        report = quantize_export(
            args.model_dir,
            calib_data=args.calib_data,
            eval_data=args.eval_data,
            calib_num=args.calib_num,
            eval_num=args.eval_num,
            max_drop=args.max_drop,
            min_speedup=args.min_speedup,
            runtimes=args.runtimes,
            per_channel=not args.per_tensor,
            method=args.method,
            cpu_threads=args.cpu_threads,
            batch_size=args.batch_size,
            seed=args.seed,
            output=args.output,
            **model_options(args),
        )
    except QuantizationRefused as exc:
        if args.debug:
            raise
        print(f"refused: {exc}")
        return 1
    folder = report.get("output") or args.model_dir
    print(
        f"kept {report['runtime']} int8 ({folder}/{report['file']}, {report['seconds']:.0f} s): word "
        f"accuracy {report['word_accuracy']:.4f} vs fp32 {report['fp32_word_accuracy']:.4f}, "
        f"{report['speedup_vs_fp32']:.2f}x fp32 on {report['runtime']}, {report['cpu']['model']} "
        f"({report['cpu']['kind']})"
    )
    print(f"run it: {run_hint(folder, report['runtime'], args.eval_data or args.calib_data)}")
    return 0


def run_hint(model_dir, runtime, lines=None):
    """The command that runs the kept int8 model, ready to copy: ``infer`` on the lines the
    check used when they are files, else ``benchmark`` (which needs none)."""
    if lines:
        return (
            f"ppresnet45 infer --model_dir {shlex.quote(str(model_dir))} --image_dir {shlex.quote(str(lines))} "
            f"--backend {runtime} --precision int8"
        )
    return f"ppresnet45 benchmark --model_dir {shlex.quote(str(model_dir))} --backends {runtime} --precision int8"
