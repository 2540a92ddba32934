"""``ppresnet45 benchmark`` / ``tools/benchmark.py``: latency, throughput, memory and GFLOP/s per model and backend."""

import sys

from ..benchmark import format_markdown, run_benchmark
from ..inference import BACKENDS, PRECISIONS
from ..utils.cpu import available_cores
from ._args import add_model_options, model_options, name_list, non_negative_int, positive_int, positive_int_list


def add_arguments(parser):
    """Arguments of ``ppresnet45 benchmark`` / ``tools/benchmark.py``."""
    cores = available_cores()
    parser.add_argument(
        "--model_dir",
        required=True,
        nargs="+",
        help="exported model folder(s): several are compared in one run on the same images "
        "(ours and PaddleOCR's exports alike; PaddleOCR 2.x folders and PP-OCR ONNX files too)",
    )
    add_model_options(parser)
    parser.add_argument(
        "--image_dir", default=None, help="images to use (image, folder or label file); default: generated text lines"
    )
    parser.add_argument(
        "--batch_sizes", type=positive_int_list, default=[1, 8, 32], help="comma-separated (default 1,8,32)"
    )
    parser.add_argument(
        "--backends",
        type=name_list(BACKENDS),
        default=None,
        help=f"comma-separated subset of {','.join(BACKENDS)} (default: all available)",
    )
    parser.add_argument(
        "--precision",
        type=name_list(PRECISIONS),
        default=["fp32"],
        help="comma-separated: fp32, bf16, int8 (int8: model_int8.onnx from `ppresnet45 quantize`, "
        "on onnxruntime and openvino; default fp32)",
    )
    parser.add_argument(
        "--cpu_threads",
        type=positive_int,
        default=cores,
        help=f"threads per backend and for the peak probe (default: the cores this process may use, {cores} here)",
    )
    parser.add_argument("--warmup", type=non_negative_int, default=3, help="untimed calls per batch size (default 3)")
    parser.add_argument("--iters", type=positive_int, default=10, help="timed calls per batch size (default 10)")
    parser.add_argument(
        "--rounds",
        type=positive_int,
        default=1,
        help="run the backends this many times, interleaved, and keep each row's fastest round "
        "(default 1; use 3 on a shared or noisy machine)",
    )
    parser.add_argument("--num_images", type=positive_int, default=64, help="images for the full path (default 64)")
    parser.add_argument(
        "--output_dir", default="output/benchmark", help="where the reports go (default output/benchmark)"
    )
    parser.add_argument(
        "--in_process",
        action="store_true",
        help="run every backend in this process (faster; memory numbers then accumulate)",
    )
    parser.add_argument("--no_progress", action="store_true", help="no progress bar")


def run(args):
    """Run ``benchmark``: print the Markdown table; 0 if anything was measured, else 1."""
    report = run_benchmark(
        args.model_dir,
        batch_sizes=args.batch_sizes,
        backends=args.backends,
        precisions=args.precision,
        warmup=args.warmup,
        iters=args.iters,
        output_dir=args.output_dir,
        image_dir=args.image_dir,
        cpu_threads=args.cpu_threads,
        num_images=args.num_images,
        isolate=not args.in_process,
        progress=not args.no_progress,
        rounds=args.rounds,
        model_options=model_options(args),
    )
    sys.stdout.write(format_markdown(report))
    if report["outputs"]:
        print(f"reports: {', '.join(report['outputs'].values())}", file=sys.stderr)
    return 0 if report["records"] else 1
