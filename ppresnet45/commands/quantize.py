"""``ppresnet45 quantize`` / ``tools/quantize.py``: post-training int8 quantization of an export.

Writes ``model_int8.onnx`` beside the FP32 model (run it with ``infer`` / ``benchmark
--precision int8`` on ``onnxruntime`` or ``openvino``) and records what was done in
``inference.yml``; refuses, writing nothing, when word accuracy drops by more than
``--max_drop`` points. Exit status: 0, 1 when refused, 2 for bad input.
"""

from ..quantization import CALIBRATION_METHODS, QuantizationRefused, quantize_export
from ._args import non_negative_float, positive_int


def add_arguments(parser):
    """Arguments of ``ppresnet45 quantize`` / ``tools/quantize.py``."""
    parser.add_argument("--model_dir", required=True,
                        help="export folder (inference.json/.pdiparams/.yml; model.onnx is made when missing)")
    parser.add_argument("--calib_data", default=None,
                        help="calibration lines: a folder, an image or a label file (default: --calib_num lines "
                             "from the built-in renderer)")
    parser.add_argument("--eval_data", default=None,
                        help="held-out 'path<TAB>text' label file for the accuracy check (default: --eval_num "
                             "rendered lines with strings not in the calibration set)")
    parser.add_argument("--calib_num", type=positive_int, default=128, help="calibration lines used (default 128)")
    parser.add_argument("--eval_num", type=positive_int, default=300, help="held-out lines used (default 300)")
    parser.add_argument("--max_drop", type=non_negative_float, default=0.5,
                        help="refuse when int8 word accuracy is more than this many points below FP32 on any "
                             "int8 runtime (default 0.5)")
    parser.add_argument("--method", choices=CALIBRATION_METHODS, default="minmax",
                        help="how activation ranges are calibrated (default minmax)")
    parser.add_argument("--per_tensor", action="store_true",
                        help="one weight scale per tensor instead of per output channel")
    parser.add_argument("--cpu_threads", type=positive_int, default=None, help="runtime threads (default: all cores)")
    parser.add_argument("--batch_size", type=positive_int, default=8, help="lines per model call (default 8)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the rendered lines (default 0)")


def run(args):
    """Quantize; prints the accuracy of each int8 runtime and where the model went."""
    try:
        report = quantize_export(args.model_dir, calib_data=args.calib_data, eval_data=args.eval_data,
                                 calib_num=args.calib_num, eval_num=args.eval_num, max_drop=args.max_drop,
                                 per_channel=not args.per_tensor, method=args.method, cpu_threads=args.cpu_threads,
                                 batch_size=args.batch_size, seed=args.seed)
    except QuantizationRefused as exc:
        if args.debug:
            raise
        print(f"refused: {exc}")
        return 1
    drops = ", ".join(f"{b} {r['word_accuracy']:.4f} ({r['same_text_as_fp32']}/{r['lines']} same text)"
                      for b, r in report["int8"].items())
    print(f"wrote {args.model_dir}/{report['file']} in {report['seconds']:.0f} s: word accuracy fp32 "
          f"{report['fp32_word_accuracy']:.4f}, int8 {drops}; run it with --precision int8")
    return 0
