"""``ppresnet45 demo`` (what ``make demo`` runs): the main job end to end on built-in defaults.

1. renders a few hundred synthetic text lines (digits + lowercase letters) with a label file;
2. builds ResNet45 + CTC from the default config and prints its summary;
3. exports it (``inference.json`` + ``.pdiparams`` + ``inference.yml``, parity-checked);
4. recognizes the rendered lines with Paddle Inference (JSON lines, accuracy vs the labels);
5. runs a short benchmark (Paddle Inference FP32 and BF16) and prints its table.

When the demo training run (``python tools/train_demo.py``) has left a checkpoint in
``output/demo/model/best_accuracy.pdparams``, the demo exports that trained model with the
demo config instead, renders its lines in the style that model was trained on (plain
black-on-white unless the run's ``demo_result.json`` says it used synth's styled lines) and
the recognized text should match the labels; otherwise it says plainly that the weights are
untrained and prints the one command that trains them (training does not fit in a few
minutes on 2 cores, so the demo does not train by itself).
"""

import json
import os
import sys

from .config import PACKAGE_CONFIG_DIR, image_shape_of, load_config
from .modeling import build_model, format_summary, model_summary


DEFAULT_CONFIG = os.path.join(PACKAGE_CONFIG_DIR, "rec", "rec_resnet45_ctc.yml")
DEMO_CONFIG = os.path.join(PACKAGE_CONFIG_DIR, "rec", "rec_resnet45_ctc_demo.yml")
TRAINED_CHECKPOINT = os.path.join("output", "demo", "model", "best_accuracy.pdparams")
DEMO_CHARSET = "0123456789abcdefghijklmnopqrstuvwxyz"


def _trained_style(checkpoint):
    """Whether the demo training run behind ``checkpoint`` used styled (augmented) lines.

    ``tools/train_demo.py`` writes ``demo_result.json`` (with its ``--augment`` mode) two
    folders above ``best_accuracy.pdparams``; without it the recipe's default (plain) is assumed.
    """
    result = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(checkpoint))), "demo_result.json")
    try:
        with open(result, encoding="utf-8") as f:
            return json.load(f).get("augment", "none") != "none"
    except (OSError, ValueError, AttributeError):
        return False


def _step(n, text):
    print(f"\n[{n}/5] {text}", flush=True)


def run(args):
    from .data.synth import render_dataset
    from .benchmark.core import format_markdown, run_benchmark
    from .export.exporter import export_inference_model
    from .inference.recognizer import TextRecognizer, score_against_labels
    from .inference.images import list_image_sources
    from .utils.io import atomic_write_text

    out = os.path.abspath(args.output_dir)
    trained = args.config is None and os.path.isfile(args.checkpoint)
    config_path = args.config or (DEMO_CONFIG if trained else DEFAULT_CONFIG)
    config = load_config(config_path, args.opt)
    c, h, w = image_shape_of(config)
    styled = _trained_style(args.checkpoint) if trained else True

    _step(1, f"rendering {args.num_lines} synthetic text lines (seed {args.seed}, "
             f"{'styled and distorted' if styled else 'plain, as the demo model was trained on'})")
    lines_dir = os.path.join(out, "lines")
    label_file = render_dataset(lines_dir, args.num_lines, seed=args.seed, charset=DEMO_CHARSET, min_len=1,
                                max_len=10, height=h, augment=styled, show_progress=True)

    _step(2, f"building the model from {config_path}")
    model = build_model(config)
    model.eval()
    print(format_summary(model_summary(model.backbone, (c, h, w)),
                         f"backbone {config['Architecture']['Backbone']['name']}"))
    print(format_summary(model_summary(model, (c, h, w)), "full model"))
    del model

    _step(3, "exporting the inference model (with a parity check against the eager model)")
    model_dir = os.path.join(out, "inference")
    pretrained = args.checkpoint if trained else None
    report = export_inference_model(config, model_dir, pretrained=pretrained, config_path=config_path)
    worst = max((row.get("max_abs", 0.0) for row in report.get("parity", [])), default=None)
    print(f"exported to {model_dir} (parity max |diff| {worst:.2e})" if worst is not None else
          f"exported to {model_dir}")

    _step(4, "recognizing the rendered lines with Paddle Inference")
    sources = list_image_sources(label_file)
    rec = TextRecognizer(model_dir, backend="paddle", precision="fp32", cpu_threads=2, batch_size=8)
    results = rec(sources.paths, progress=True)
    for r, label in zip(results, sources.labels):
        r["label"] = label
    pred_file = os.path.join(out, "predictions.jsonl")
    atomic_write_text(pred_file, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in results))
    acc = score_against_labels(results, sources.labels)
    for r in results[:5]:
        print(f"  {os.path.relpath(r['path'], out)}: label {r['label']!r} -> {r['text']!r} ({r['score']:.3f})")
    st = rec.last_stats
    print(f"  {st['images']} lines, {st['images_per_s']:.1f} lines/s, accuracy {acc['accuracy']:.4f} "
          f"({acc['correct']}/{acc['total']})")
    if not trained:
        print("  NOTE: the weights are UNTRAINED (random), so the text above is noise. Train the demo model "
              "with:  .venv/bin/python tools/train_demo.py   (15-30 min on 2 cores), then run make demo again.")

    _step(5, "benchmarking (Paddle Inference oneDNN, FP32 and BF16, 2 threads)")
    bench_dir = os.path.join(out, "benchmark")
    bench = run_benchmark(model_dir, batch_sizes=(1, 8), backends=["paddle"], precisions=("fp32", "bf16"),
                          warmup=2, iters=args.bench_iters, output_dir=bench_dir, image_dir=label_file,
                          cpu_threads=2, num_images=64)
    sys.stdout.write(format_markdown(bench))

    print("\noutputs:")
    print(f"  rendered lines + labels : {label_file}")
    print(f"  inference model         : {model_dir} (inference.json, inference.pdiparams, inference.yml)")
    print(f"  predictions             : {pred_file}")
    for name, path in (bench.get("outputs") or {}).items():
        print(f"  benchmark {name:<14}: {path}")
    print("weights: " + (f"trained ({args.checkpoint})" if trained else "UNTRAINED (see the note in step 4)"))
    return 0
