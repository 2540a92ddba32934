"""``ppresnet45 export`` / ``tools/export_model.py``: export an inference model with a parity check."""

import paddle

from ..config import load_config
from ..export.exporter import export_inference_model
from ..export.parity import DEFAULT_LOGIT_RTOL, DEFAULT_TOLERANCE
from ._args import add_config_arguments, positive_float


def add_arguments(parser):
    """Arguments of ``ppresnet45 export`` / ``tools/export_model.py``."""
    add_config_arguments(parser)
    parser.add_argument("--pretrained", default=None, help="weights to export (default: Global.pretrained_model)")
    parser.add_argument("--save_dir", default=None, help="export directory (default: Global.save_inference_dir)")
    parser.add_argument("--onnx", action="store_true", help="also write model.onnx and check it with ONNX Runtime")
    parser.add_argument("--no_check", action="store_true", help="skip the parity check against the eager model")
    parser.add_argument(
        "--tolerance",
        type=positive_float,
        default=None,
        help=f"max absolute difference of output probabilities in the parity check (default {DEFAULT_TOLERANCE:g})",
    )
    parser.add_argument(
        "--logit_rtol",
        type=float,
        default=None,
        help=f"extra tolerance for large logits (untrained models): max(tolerance, logit_rtol*max|logit|/2) "
        f"(default {DEFAULT_LOGIT_RTOL:g}; 0 disables)",
    )


def run(args):
    """Run the export; prints where the model went and the parity summary."""
    config = load_config(args.config, args.opt)
    seed = (config.get("Global") or {}).get("seed")
    if seed is not None:  # an untrained export is then reproducible
        paddle.seed(int(seed))
    report = export_inference_model(
        config,
        save_dir=args.save_dir,
        pretrained=args.pretrained,
        onnx=args.onnx,
        check=not args.no_check,
        tolerance=args.tolerance,
        logit_rtol=args.logit_rtol,
        config_path=args.config,
    )
    width = "dynamic width" if report["dynamic_width"] else f"fixed width {report['image_shape'][2]}"
    print(
        f"exported {report['model_name']} to {report['save_dir']} (input {report['input_shape']}, {width}"
        f"{', untrained weights' if report['untrained'] else ''})"
    )
    if report["parity"]:
        worst = max(report["parity"], key=lambda r: r["max_abs"] / r["tolerance"])
        backends = ", ".join(dict.fromkeys(r["backend"] for r in report["parity"]))
        print(f"parity vs eager ({backends}): max abs {worst['max_abs']:.2e} <= tolerance {worst['tolerance']:.1e}")
    else:
        print("parity check skipped (--no_check)")
    return 0
