"""``ppresnet45 demo`` (what ``make demo`` runs): the main job end to end on built-in defaults.

1. renders a few hundred synthetic text lines (digits + lowercase letters) with a label file,
   in the style the demo model was trained on, and a third as many in font families that
   were kept out of its training (``DEFAULT_FONTS_HOLDOUT``), one folder per font;
2. builds ResNet45 + CTC from the default config and prints its summary;
3. exports it (``inference.json`` + ``.pdiparams`` + ``inference.yml``, parity-checked);
4. recognizes both sets with Paddle Inference (JSON lines, accuracy vs the labels, and per
   held-out font);
5. runs a short benchmark (Paddle Inference FP32, and BF16 where the CPU has it; all usable cores) and prints its table.

When the demo training run (``python tools/train_demo.py``) has left a checkpoint in
``output/demo/model/best_accuracy.pdparams``, the demo exports that trained model with the
demo config instead and renders its lines in the style that model was trained on (the run's
``demo_result.json`` says which: the installed fonts minus the held-out families with synth's
styles, or plain black-on-white lines in the built-in font for ``--augment none``); otherwise it says plainly that the weights are
untrained and prints the one command that trains them (training does not fit in a few
minutes on 2 cores, so the demo does not train by itself).
"""

import json
import os
import sys

from .benchmark import format_markdown, run_benchmark
from .config import PACKAGE_CONFIG_DIR, image_shape_of, load_config
from .data.synth import DEFAULT_FONTS_HOLDOUT, find_fonts, render_dataset, split_fonts
from .errors import ConfigError
from .export.exporter import export_inference_model
from .inference.images import list_image_sources
from .inference.recognizer import TextRecognizer, score_against_labels
from .modeling import build_model, format_summary, model_summary
from .utils.cpu import available_cores, cpu_has_bf16
from .utils.io import atomic_write_text

DEFAULT_CONFIG = os.path.join(PACKAGE_CONFIG_DIR, "rec", "rec_resnet45_ctc.yml")
DEMO_CONFIG = os.path.join(PACKAGE_CONFIG_DIR, "rec", "rec_resnet45_ctc_demo.yml")
TRAINED_CHECKPOINT = os.path.join("output", "demo", "model", "best_accuracy.pdparams")
DEMO_CHARSET = "0123456789abcdefghijklmnopqrstuvwxyz"


def _training_run(checkpoint):
    """``(augment mode, held-out font families)`` of the demo training run behind ``checkpoint``.

    ``tools/train_demo.py`` writes ``demo_result.json`` two folders above
    ``best_accuracy.pdparams``; without it a plain-line run with the default hold-out is assumed.
    """
    result = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(checkpoint))), "demo_result.json")
    try:
        with open(result, encoding="utf-8") as f:
            info = json.load(f)
        return info.get("augment", "none"), list(info.get("fonts_holdout") or DEFAULT_FONTS_HOLDOUT)
    except (OSError, ValueError, AttributeError):
        return "none", list(DEFAULT_FONTS_HOLDOUT)


def _step(n, text):
    print(f"\n[{n}/5] {text}", flush=True)


def run_demo(
    output_dir="demo_output",
    config_path=None,
    overrides=None,
    num_lines=300,
    seed=7,
    checkpoint=TRAINED_CHECKPOINT,
    bench_iters=10,
    cpu_threads=None,
):
    """Run the five demo steps; returns 0.

    Args:
        output_dir (str): where everything is written.
        config_path (str | None): config to export; default: the demo config with trained
            weights when ``checkpoint`` exists, else the built-in ResNet45 + CTC config.
        overrides (list[str] | None): ``Section.key=value`` config overrides.
        num_lines (int): text lines to render and recognize.
        seed (int): seed of the rendered lines.
        checkpoint (str): trained weights used when present (and no ``config_path``).
        bench_iters (int): timed iterations per benchmark row.
        cpu_threads (int | None): threads for recognition and the benchmark (default: the
            cores this process may use).
    """
    out = os.path.abspath(output_dir)
    threads = cpu_threads or available_cores()
    if not os.path.isfile(checkpoint) and os.path.isfile(checkpoint + ".pdparams"):
        checkpoint += ".pdparams"  # PaddleOCR's habit: the checkpoint named without its extension
    if checkpoint != TRAINED_CHECKPOINT and not os.path.isfile(checkpoint):
        raise ConfigError(
            f"--checkpoint '{checkpoint}' not found (expected a .pdparams file or its prefix, e.g. "
            "output/demo/model/best_accuracy)"
        )
    trained = config_path is None and os.path.isfile(checkpoint)
    config_path = config_path or (DEMO_CONFIG if trained else DEFAULT_CONFIG)
    config = load_config(config_path, overrides)
    mode, holdout = _training_run(checkpoint) if trained else ("diverse", list(DEFAULT_FONTS_HOLDOUT))
    train_fonts, held_fonts = split_fonts(find_fonts(include_packages=True), holdout)
    height = image_shape_of(config)[1]

    _step(
        1,
        f"rendering {num_lines} synthetic text lines (seed {seed}) in the style the model was trained on "
        f"({'plain, built-in font' if mode == 'none' else 'styled'}), and {num_lines // 3} in fonts it never "
        f"saw ({', '.join(holdout)})",
    )
    label_file = render_dataset(
        os.path.join(out, "lines"),
        num_lines,
        seed=seed,
        charset=DEMO_CHARSET,
        min_len=1,
        max_len=10,
        height=height,
        augment=mode != "none",
        fonts=train_fonts if mode == "diverse" else None,
        show_progress=True,
    )
    held_file = render_dataset(
        os.path.join(out, "lines_heldout_fonts"),
        max(1, num_lines // 3),
        seed=seed + 1,
        charset=DEMO_CHARSET,
        min_len=1,
        max_len=10,
        height=height,
        augment=True,
        fonts=held_fonts,
        folder_per_family=True,
        show_progress=True,
    )
    _step(2, f"building the model from {config_path}")
    _print_summary(config)
    _step(3, "exporting the inference model (with a parity check against the eager model)")
    model_dir = _export(config, config_path, os.path.join(out, "inference"), checkpoint if trained else None)
    _step(4, "recognizing the rendered lines with Paddle Inference")
    pred_file = _recognize(model_dir, label_file, out, threads, trained)
    print(f"  lines in fonts never seen in training ({held_file}):")
    _recognize(model_dir, held_file, out, threads, trained, by_font=True)
    precisions = ("fp32", "bf16") if cpu_has_bf16() else ("fp32",)
    _step(
        5,
        f"benchmarking (Paddle Inference oneDNN, {' and '.join(p.upper() for p in precisions)}, {threads} "
        f"threads{'' if cpu_has_bf16() else '; no BF16: this CPU has neither AVX512-BF16 nor AMX'})",
    )
    bench = run_benchmark(
        model_dir,
        batch_sizes=(1, 8),
        backends=["paddle"],
        precisions=precisions,
        warmup=2,
        iters=bench_iters,
        output_dir=os.path.join(out, "benchmark"),
        image_dir=label_file,
        cpu_threads=threads,
        num_images=64,
    )
    sys.stdout.write(format_markdown(bench))

    print("\noutputs:")
    print(f"  rendered lines + labels : {label_file}")
    print(f"  inference model         : {model_dir} (inference.json, inference.pdiparams, inference.yml)")
    print(f"  predictions             : {pred_file}")
    for name, path in (bench.get("outputs") or {}).items():
        print(f"  benchmark {name:<14}: {path}")
    print("weights: " + (f"trained ({checkpoint})" if trained else "UNTRAINED (see the note in step 4)"))
    return 0


def _print_summary(config):
    c, h, w = image_shape_of(config)
    model = build_model(config)
    model.eval()
    print(
        format_summary(
            model_summary(model.backbone, (c, h, w)), f"backbone {config['Architecture']['Backbone']['name']}"
        )
    )
    print(format_summary(model_summary(model, (c, h, w)), "full model"))


def _export(config, config_path, model_dir, pretrained):
    report = export_inference_model(config, model_dir, pretrained=pretrained, config_path=config_path)
    worst = max((row.get("max_abs", 0.0) for row in report.get("parity", [])), default=None)
    print(
        f"exported to {model_dir} (parity max |diff| {worst:.2e})" if worst is not None else f"exported to {model_dir}"
    )
    return model_dir


def _recognize(model_dir, label_file, out, threads, trained, by_font=False):
    sources = list_image_sources(label_file)
    rec = TextRecognizer(model_dir, backend="paddle", precision="fp32", cpu_threads=threads, batch_size=8)
    results = rec(sources.paths, progress=True)
    for r, label in zip(results, sources.labels):
        r["label"] = label
    pred_file = os.path.join(out, "predictions_heldout_fonts.jsonl" if by_font else "predictions.jsonl")
    atomic_write_text(pred_file, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in results))
    acc = score_against_labels(results, sources.labels)
    for r in results[:5]:
        print(f"  {os.path.relpath(r['path'], out)}: label {r['label']!r} -> {r['text']!r} ({r['score']:.3f})")
    st = rec.last_stats
    print(
        f"  {st['images']} lines, {st['images_per_s']:.1f} lines/s, accuracy {acc['accuracy']:.4f} "
        f"({acc['correct']}/{acc['total']})"
    )
    for font, row in (acc.get("by_group") or {}).items():
        print(f"    {font}: accuracy {row['acc']:.4f} (n={row['count']}), norm_edit_dis {row['norm_edit_dis']:.4f}")
    if not trained and not by_font:
        print(
            "  NOTE: the weights are UNTRAINED (random), so the text above is noise. Train the demo model "
            "with:  .venv/bin/python tools/train_demo.py, then run make demo again."
        )
    return pred_file
