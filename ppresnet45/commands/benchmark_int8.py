"""int8 vs bf16 vs FP32 on this CPU: quantize, check accuracy, benchmark, and what ``auto`` picks.

    ppresnet45 benchmark-int8 [--checkpoint output/demo/model/best_accuracy --data output/demo/data]

For the default model (``configs/rec/rec_resnet45_ctc.yml``, untrained: text agreement only)
and, with ``--checkpoint``, the trained demo model (``rec_resnet45_ctc_demo.yml``; calibration
on ``DATA/train_clean.txt``, ``train_diverse.txt`` or ``train_curriculum.txt``, accuracy on ``DATA/heldout.txt``):

1. exports with ONNX (``OUT/<name>/``, reused when present);
2. runs ``ppresnet45 quantize`` (each runtime's quantizer; word accuracy and speed of int8 vs
   FP32 per runtime; the fastest that holds is kept, or the refusal is recorded);
3. benchmarks paddle / onnxruntime / openvino × fp32 / bf16 / int8 at batch 1 and 8, rounds
   interleaved (``ppresnet45 benchmark``; its report says what ``--backend auto`` picks);
4. prints same-run ratios (int8 / Paddle FP32, int8 / ONNX Runtime FP32, bf16 / FP32) with the
   CPU's model and flags, and writes ``OUT/int8_summary.json``.
"""

import json
import os

from ..benchmark import format_markdown, run_benchmark
from ..benchmark.report import auto_picks
from ..config import PACKAGE_CONFIG_DIR, load_config
from ..export.exporter import export_inference_model
from ..inference.model_dir import ONNX_FILE
from ..quantization import QuantizationRefused, quantize_export
from ..utils.cpu import cpu_description
from ..utils.io import atomic_write_text
from ._args import positive_int

CONFIGS = os.path.join(PACKAGE_CONFIG_DIR, "rec")


def _export(config_file, checkpoint, out):
    if not os.path.isfile(os.path.join(out, ONNX_FILE)):
        export_inference_model(load_config(config_file), out, pretrained=checkpoint, onnx=True, check=False)
    return out


def _speeds(report, batch):
    return {
        f"{r['backend']}/{r['precision']}": r["throughput_ips"]
        for r in report["records"]
        if r["batch_size"] == batch and r.get("model") == report["records"][0].get("model")
    }


def _ratios(speeds):
    out = {}
    for name, ips in speeds.items():
        backend, precision = name.split("/")
        for ref in ("paddle/fp32", f"{backend}/fp32", "onnxruntime/fp32"):
            if precision != "fp32" and ref in speeds and speeds[ref]:
                out[f"{name} / {ref}"] = round(ips / speeds[ref], 2)
    return out


def run_model(name, config_file, checkpoint, data, args):
    out = _export(config_file, checkpoint, os.path.join(args.output_dir, name))
    calib = evald = None
    if data:
        calib = next(
            (
                os.path.join(data, f)
                for f in ("train_clean.txt", "train_diverse.txt", "train_curriculum.txt")
                if os.path.isfile(os.path.join(data, f))
            ),
            None,
        )
        evald = os.path.join(data, "heldout.txt")
    try:
        q = quantize_export(out, calib_data=calib, eval_data=evald, cpu_threads=args.cpu_threads)
        quantized = {
            k: q[k]
            for k in (
                "runtime",
                "fp32_word_accuracy",
                "word_accuracy",
                "speedup_vs_fp32",
                "candidates",
                "calibration",
                "evaluation",
            )
        }
    except QuantizationRefused as exc:  # measured and refused on this CPU: benchmark the rest
        quantized = {"refused": str(exc)}
    bench = run_benchmark(
        out,
        batch_sizes=(1, 8),
        backends=["paddle", "onnxruntime", "openvino"],
        precisions=("fp32", "bf16", "int8"),
        rounds=args.rounds,
        iters=args.iters,
        image_dir=evald,
        num_images=args.num_images,
        cpu_threads=args.cpu_threads,
        output_dir=os.path.join(args.output_dir, f"bench_{name}"),
        progress=not args.no_progress,
    )
    print(format_markdown(bench))
    rows = {b: _speeds(bench, b) for b in (1, 8)}
    return {
        "model_dir": out,
        "quantize": quantized,
        "images_per_s": rows,
        "ratios": {b: _ratios(v) for b, v in rows.items()},
        "auto_picks": auto_picks(bench["records"]),
    }


def add_arguments(parser):
    parser.add_argument("--checkpoint", default=None, help="trained demo checkpoint (rec_resnet45_ctc_demo.yml)")
    parser.add_argument("--data", default=None, help="the demo's data folder (train_*.txt, heldout.txt)")
    parser.add_argument(
        "--output_dir", default="output/bench_int8", help="exports and reports (default output/bench_int8)"
    )
    parser.add_argument("--cpu_threads", type=positive_int, default=None, help="threads (default: all cores)")
    parser.add_argument("--rounds", type=positive_int, default=3, help="interleaved benchmark rounds (default 3)")
    parser.add_argument("--iters", type=positive_int, default=10, help="timed calls per batch size (default 10)")
    parser.add_argument("--num_images", type=positive_int, default=64, help="images for the full path (default 64)")
    parser.add_argument("--no_progress", action="store_true", help="no progress bars")


def run(args):
    summary = {"cpu": cpu_description(), "models": {}}
    summary["models"]["default"] = run_model("default", os.path.join(CONFIGS, "rec_resnet45_ctc.yml"), None, None, args)
    if args.checkpoint:
        summary["models"]["demo"] = run_model(
            "demo", os.path.join(CONFIGS, "rec_resnet45_ctc_demo.yml"), args.checkpoint, args.data, args
        )
    atomic_write_text(os.path.join(args.output_dir, "int8_summary.json"), json.dumps(summary, indent=2) + "\n")
    print(f"CPU: {summary['cpu']}")
    for name, m in summary["models"].items():
        q = m["quantize"]
        print(
            f"\n{name}: "
            + (
                f"int8 refused: {q['refused']}"
                if "refused" in q
                else f"kept {q['runtime']} int8: "
                + "; ".join(r.get("reason") or f"{rt}: skipped ({r['skipped']})" for rt, r in q["candidates"].items())
            )
        )
        for batch, ratios in m["ratios"].items():
            print(f"  batch {batch}: " + ", ".join(f"{k} {v}x" for k, v in ratios.items()))
        print("  auto picks: " + "; ".join(m["auto_picks"]))
    return 0
