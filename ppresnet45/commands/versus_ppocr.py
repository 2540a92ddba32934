"""``ppresnet45 versus-ppocr``: ours vs PaddleOCR 2.x's predict_rec vs RapidOCR on one PP-OCR model.

See :mod:`ppresnet45.benchmark.rivals` for the method; this module parses flags and prints.
"""

import argparse
import shlex
import sys

from ..benchmark.rivals import run_versus_ppocr
from ._args import passthrough, positive_int


def add_arguments(parser):
    """Arguments of ``ppresnet45 versus-ppocr``."""
    parser.add_argument("--paddle_dir", required=True, help="the PaddleOCR 2.x inference folder (predict_rec runs it)")
    parser.add_argument("--onnx", required=True, help="the same model as an ONNX file (RapidOCR runs it)")
    parser.add_argument("--image_dir", required=True, help="an image, a folder or a 'path<TAB>text' label file")
    parser.add_argument(
        "--dict", dest="dict_path", default=None, help="the dictionary (default: the ONNX metadata 'character')"
    )
    parser.add_argument(
        "--ours",
        default=None,
        help="the model ppresnet45 infer runs (default --onnx; e.g. the folder `ppresnet45 quantize` wrote)",
    )
    parser.add_argument("--image_shape", default="3,48,320", help="C,H,W (default 3,48,320)")
    parser.add_argument("--cpu_threads", type=positive_int, default=2, help="threads of each side (default 2)")
    parser.add_argument(
        "--batch_size",
        type=positive_int,
        default=6,
        help="lines per model call on each side (default 6, predict_rec's and RapidOCR's)",
    )
    parser.add_argument("--rounds", type=positive_int, default=3, help="timed runs of each side (default 3)")
    parser.add_argument("--predict_rec_python", default=None, help="Python of the PaddleOCR 2.x venv (.venv-ppocr2)")
    parser.add_argument("--rapidocr_python", default=None, help="Python of the RapidOCR venv (.venv-rapidocr)")
    parser.add_argument("--output_dir", default="output/versus_ppocr", help="rows and reports")
    parser.add_argument("--no_progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "infer_args",
        nargs=argparse.REMAINDER,
        metavar="-- INFER_ARGS",
        help="more flags of `ppresnet45 infer` after --, e.g. -- --backend openvino --precision fp32",
    )


def run(args):
    """Run the three sides; print seconds, lines/s, ratios and agreement."""
    infer_args = passthrough(args.infer_args)
    report = run_versus_ppocr(
        args.paddle_dir,
        args.onnx,
        args.image_dir,
        dict_path=args.dict_path,
        ours=args.ours,
        cpu_threads=args.cpu_threads,
        batch_size=args.batch_size,
        rounds=args.rounds,
        image_shape=args.image_shape,
        output_dir=args.output_dir,
        infer_args=infer_args,
        pythons={"predict_rec": args.predict_rec_python, "rapidocr": args.rapidocr_python},
        progress=not args.no_progress,
        command=shlex.join(["ppresnet45", "versus-ppocr"] + sys.argv[2:]),
    )
    s, cpu = report["settings"], report["cpu"]
    print(f"CPU: {cpu['description']}; load average {' '.join(f'{v:.2f}' for v in report['load_average'])}")
    print(
        f"lines: {s['lines']}, threads {s['cpu_threads']}, batch {s['batch_size']}, {s['rounds']} round(s) after a "
        "warm-up"
    )
    for side in ("ppresnet45", "predict_rec", "rapidocr"):
        r = report[side]
        acc = f", accuracy {r['accuracy']:.4f}" if "accuracy" in r else ""
        ratio = "" if side == "ppresnet45" else f", ours is {report['ratios'][side]:.2f}x faster"
        print(
            f"{side:>11}: median {r['median_s']:.2f} s (loop {r['loop_median_s']:.2f} + start-up "
            f"{r['startup_median_s']:.2f}), {r['lines_per_s']:.1f} lines/s{acc}{ratio}"
        )
    print(
        "same text: "
        + ", ".join(f"{k} {v['same']}/{s['lines']} ({v['share']:.1%})" for k, v in report["agreement"].items())
    )
    print(f"reports: {report['outputs']['json']}, {report['outputs']['markdown']}", file=sys.stderr)
    return 0
