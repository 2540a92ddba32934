"""The demo training run (``ppresnet45 train-demo``): render data, train ResNet45 + CTC (or ABINet, VisionLAN), evaluate on
unseen strings and on fonts never seen in training, plot.

``ppresnet45 train-demo [--algorithm ctc|abinet|visionlan]`` (see the README for measured
times and accuracies):

1. renders, with ``ppresnet45.data.synth``, a held-out set of 500 unique strings (digits +
   lowercase, 1-10 characters), a second held-out set of 500 unseen strings drawn ONLY in
   the held-out font families (``--fonts_holdout``; each family in its own folder, so the
   evaluation reports accuracy per font), and training lines that never contain either
   set's strings. ``--augment diverse`` (default): the first held-out set uses every font
   the installed packages carry except the held-out families, and the training lines are
   one curriculum file (``train_curriculum.txt``, :class:`~ppresnet45.data.synth.StyleRamp`):
   plain lines in Pillow's built-in font first, then a linear ramp (``--ramp START END``,
   fractions of the file) to the diverse distribution (the training fonts,
   ``--clean_fraction`` of those lines plain, the rest with synth's full ``StyleRanges``).
   The earlier recipes stay available: ``none`` (plain lines in Pillow's built-in font),
   ``mixed`` and ``full`` (styled, built-in font). Files go to ``OUTPUT/data``
   (``--data_dir``) and are reused when already rendered with the same settings;
2. trains: ctc in ONE run with one continuous schedule (warm-up, cosine), reading the
   curriculum in file order (``configs/rec/rec_resnet45_ctc_demo.yml`` has
   ``Train.loader.shuffle: false``), so the style strength rises without a restart of the
   learning rate or the optimizer; abinet trains the vision model alone, then the full model
   (``rec_resnet45_abinet_demo.yml``); visionlan LF_1, LF_2, LA (``rec_resnet45_visionlan_demo.yml``),
   each stage from the previous stage's ``best_accuracy`` (``--stage_steps`` steps each; their
   configs shuffle, so they see the curriculum file as a mixture). The last stage trains
   into ``OUTPUT/model``, the others into ``OUTPUT/model_<stage>`` (``--eval_only`` skips training);
3. evaluates ``best_accuracy`` on both held-out sets (``OUTPUT/model/eval_heldout/``,
   ``OUTPUT/model/eval_heldout_fonts/``), draws ``OUTPUT/curves.png`` over every stage and
   writes ``OUTPUT/demo_result.json`` (with the accuracy per held-out font).

``make demo`` exports ``OUTPUT/model/best_accuracy`` of a ctc run when it exists (default
``OUTPUT``). Before training, ``--mode auto`` (the default) times one eager process, two
data-parallel eager processes and two with ``paddle.jit.to_static``, and trains in the fastest
(:mod:`ppresnet45.training.demo_mode`); ``--nproc N`` trains with N data-parallel processes
(``paddle.distributed.launch``, gloo on CPU); the global batch stays the config's. With its
demo config, ctc evaluates about :data:`EVALS_PER_RUN` times a run unless
``-o Global.eval_batch_step`` says otherwise.
The last line says whether each target (``--target`` on the held-out strings, ``--target_fonts``
on the held-out fonts) was met. Exit status: 0, or 1 with ``--check`` when either was missed.
"""

import json
import math
import os
import subprocess
import sys
import time

from ..charset import load_character_list
from ..config import PACKAGE_CONFIG_DIR, load_config, merge_overrides
from ..data.synth.curriculum import default_ramp
from ..data.synth.demo_data import render_all
from ..errors import ConfigError
from ..utils.io import atomic_write_text
from ..utils.subproc import LAUNCH_SCRIPT
from .demo_mode import CHOICES, decide, probe_modes
from .evaluator import evaluate_checkpoint, format_metrics
from .plot import plot_training_log
from .trainer import train


def _visionlan_stage(step):
    return [f"Architecture.Head.training_step={step}", f"Loss.mode={step}", f"Optimizer.training_step={step}"]


# algorithm: (demo config, [(stage name, config overrides)], default steps per stage (None: the config's epochs)).
# Each stage starts from the previous stage's best_accuracy, as PaddleOCR's recipes do: ABINet pre-trains the
# vision model alone (use_lang false), VisionLAN goes LF_1 -> LF_2 -> LA. The step counts fit about 30 min on one
# core of a 2-vCPU AMD EPYC (VisionLAN ~65 images/s, ABINet ~18 images/s at batch 32).
ALGORITHMS = {
    # one run over the curriculum file (see ppresnet45.data.synth.curriculum for why not two stages)
    "ctc": ("rec_resnet45_ctc_demo.yml", [("train", [])], [None]),
    "abinet": (
        "rec_resnet45_abinet_demo.yml",
        [("vision", ["Architecture.Head.use_lang=false"]), ("full", [])],
        [600, 400],
    ),
    "visionlan": (
        "rec_resnet45_visionlan_demo.yml",
        [(step, _visionlan_stage(step)) for step in ("LF_1", "LF_2", "LA")],
        [1500, 500, 1000],
    ),
}
DEFAULT_CONFIG = os.path.join(PACKAGE_CONFIG_DIR, "rec", ALGORITHMS["ctc"][0])


def _train_distributed(config, nproc, output_dir, no_progress):
    from ..config import save_config

    cfg_path = os.path.join(output_dir, "train_config.yml")
    save_config(config, cfg_path)
    env = dict(os.environ)
    import paddle

    if not paddle.is_compiled_with_cuda() or not config["Global"].get("use_gpu"):
        env["PADDLE_DISTRI_BACKEND"] = "gloo"
    cmd = [
        sys.executable,
        "-m",
        "paddle.distributed.launch",
        "--nproc_per_node",
        str(nproc),
        "--log_dir",
        os.path.join(output_dir, "launch_log"),
        LAUNCH_SCRIPT,
        "train",
        "-c",
        cfg_path,
    ] + (["--no_progress"] if no_progress else [])
    print("running:", " ".join(cmd))
    rc = subprocess.call(cmd, env=env)
    if rc != 0:
        print(
            f"error: distributed training failed (exit {rc}); see {output_dir}/launch_log/workerlog.*", file=sys.stderr
        )
    return rc


DEFAULT_NUM_TRAIN = 60000
EVALS_PER_RUN = 8  # ctc with its demo config: evaluations spread over the run, at least 100 steps apart


def _stages(args):
    """The training stages: ``(name, overrides)``."""
    return ALGORITHMS[args.algorithm][1]


def _evaluate(config, model_dir, label_file, name, progress):
    """Evaluate ``best_accuracy`` on one label file; the report goes to ``model_dir/eval_<name>/``."""
    cfg = merge_overrides(config, [f"Eval.dataset.label_file_list=[{label_file}]"])
    return evaluate_checkpoint(
        cfg,
        checkpoint=os.path.join(model_dir, "best_accuracy"),
        output_dir=os.path.join(model_dir, f"eval_{name}"),
        show_progress=progress,
    )


def run_demo_recipe(args):
    if args.num_train < 1 or args.num_heldout < 1 or (args.nproc is not None and args.nproc < 1):
        raise ConfigError("--num_train, --num_heldout and --nproc must be positive")
    if args.mode not in CHOICES:
        raise ConfigError(f"--mode: expected one of {', '.join(CHOICES)}, got {args.mode!r}")
    if args.clean_fraction is None:
        args.clean_fraction = 0.25 if args.augment == "diverse" else 0.33
    if not 0.0 <= args.clean_fraction <= 1.0:
        raise ConfigError(f"--clean_fraction: expected a number in [0, 1], got {args.clean_fraction}")
    if args.ramp is None:
        args.ramp = list(default_ramp(args.num_train))
    if not 0.0 <= args.ramp[0] <= args.ramp[1] <= 1.0 or (args.short_len is not None and args.short_len < 1):
        raise ConfigError(
            f"--ramp: expected 0 <= START <= END <= 1 (got {args.ramp[0]} {args.ramp[1]}) and "
            f"--short_len positive (got {args.short_len})"
        )
    stages = _stages(args)
    if args.stage_steps is None:
        args.stage_steps = ALGORITHMS[args.algorithm][2][: len(stages)]
    if len(args.stage_steps) != len(stages) or any(n is not None and n < 1 for n in args.stage_steps):
        raise ConfigError(
            f"--stage_steps: expected {len(stages)} positive step count(s) for --algorithm "
            f"{args.algorithm} (stages {', '.join(name for name, _ in stages)}), got {args.stage_steps}"
        )
    demo_config = args.config is None
    if demo_config:
        args.config = os.path.join(PACKAGE_CONFIG_DIR, "rec", ALGORITHMS[args.algorithm][0])
    out = os.path.abspath(args.output_dir)
    data_dir = os.path.abspath(args.data_dir) if args.data_dir else os.path.join(out, "data")
    model_dir = os.path.join(out, "model")
    timings = {}
    t0 = time.time()
    base = load_config(args.config)
    charset = "".join(load_character_list(base["Global"].get("character_dict_path")))
    heldout_file, fonts_file, train_files = render_all(args, data_dir, charset)
    timings["render_s"] = time.time() - t0

    overrides = [
        f"Global.save_model_dir={model_dir}",
        f"Train.dataset.data_dir={data_dir}",
        f"Train.dataset.label_file_list=[{', '.join(train_files)}]",
        f"Eval.dataset.data_dir={data_dir}",
        f"Eval.dataset.label_file_list=[{heldout_file}]",
    ]
    if demo_config and args.algorithm == "ctc" and "Global.eval_batch_step" not in _given_keys(args.opt):
        steps = _run_steps(load_config(args.config, overrides + list(args.opt)), args)
        overrides.append(f"Global.eval_batch_step=[0,{_eval_every(steps)}]")
    # the config as the last stage trains it (VisionLAN: LA) is the one that evaluates
    config = load_config(args.config, overrides + list(args.opt) + stages[-1][1])
    mode, timings["train_s"] = None, 0.0
    if not args.eval_only:
        t_mode = time.time()
        config, mode = _choose_mode(config, args, out)  # the speed probe, when it runs
        t1 = time.time()
        timings["mode_s"] = t1 - t_mode
        rc = _train(config, args, out, train_files)
        if rc:
            return rc
        timings["train_s"] = time.time() - t1

    t2 = time.time()
    progress = not args.no_progress
    metrics = _evaluate(config, model_dir, heldout_file, "heldout", progress)
    font_metrics = _evaluate(config, model_dir, fonts_file, "heldout_fonts", progress)
    timings["eval_s"] = time.time() - t2
    png = None
    stages = _stages(args)
    if all(os.path.isfile(os.path.join(_stage_dir(out, stages, i), "train_log.jsonl")) for i in range(len(stages))):
        png = plot_training_log(
            _joined_log(out, stages),
            os.path.join(out, "curves.png"),
            title=f"ResNet45 + {args.algorithm} demo (digits + lowercase, unseen strings)",
        )
    timings["total_s"] = time.time() - t0
    acc = metrics["acc"]
    result = {
        "heldout_acc": acc,
        "heldout_norm_edit_dis": metrics["norm_edit_dis"],
        "heldout_fonts_acc": font_metrics["acc"],
        "heldout_fonts_norm_edit_dis": font_metrics["norm_edit_dis"],
        "heldout_fonts_by_font": font_metrics.get("acc_by_group"),
        "fonts_holdout": args.fonts_holdout,
        "target": args.target,
        "target_met": acc >= args.target,
        "target_fonts": args.target_fonts,
        "target_fonts_met": font_metrics["acc"] >= args.target_fonts,
        "num_train": args.num_train,
        "num_heldout": args.num_heldout,
        "nproc": args.nproc,
        "mode": mode,
        "augment": args.augment,
        "algorithm": args.algorithm,
        "stages": [name for name, _ in _stages(args)],
        "stage_steps": args.stage_steps,
        "clean_fraction": args.clean_fraction if args.augment in ("mixed", "diverse") else None,
        "ramp": args.ramp if args.augment == "diverse" else None,
        "seed": config["Global"].get("seed"),
        "timings": timings,
        "eval_result": metrics["result_file"],
        "eval_result_heldout_fonts": font_metrics["result_file"],
        "curves": png,
    }
    atomic_write_text(os.path.join(out, "demo_result.json"), json.dumps(result, indent=2) + "\n")
    print("held-out strings, training fonts:\n" + format_metrics(metrics))
    print("held-out fonts (never seen in training):\n" + format_metrics(font_metrics))
    fonts_acc = font_metrics["acc"]
    print(f"curves: {png}\nresult: {os.path.join(out, 'demo_result.json')}")
    print(
        f"held-out word accuracy {acc:.4f} (target {args.target:.2f}: {'met' if acc >= args.target else 'NOT met'}); "
        f"held-out fonts {fonts_acc:.4f} (target {args.target_fonts:.2f}: "
        f"{'met' if fonts_acc >= args.target_fonts else 'NOT met'}); total {timings['total_s'] / 60:.1f} min "
        f"(training {timings['train_s'] / 60:.1f} min)"
    )
    return 1 if args.check and (acc < args.target or fonts_acc < args.target_fonts) else 0


def _given_keys(opts):
    """The keys a list of ``KEY=VALUE`` overrides sets."""
    return {opt.split("=", 1)[0].strip() for opt in opts}


def _run_steps(config, args):
    """The ctc run's training steps: ``--stage_steps``, else one epoch of the training lines
    (the config's epochs, at most ``Global.max_steps``)."""
    if args.stage_steps[0] is not None:
        return args.stage_steps[0]
    batch = max(1, int(config["Train"]["loader"]["batch_size_per_card"]))
    steps = int(config["Global"].get("epoch_num") or 1) * (args.num_train // batch)
    max_steps = config["Global"].get("max_steps")
    return min(steps, int(max_steps)) if max_steps else steps


def _eval_every(steps):
    """Steps between evaluations: about :data:`EVALS_PER_RUN` per run, a multiple of 100."""
    return max(100, math.ceil(steps / EVALS_PER_RUN / 100) * 100)


def _choose_mode(config, args, out):
    """``--mode``: one process, or two (eager or to_static; timed first with ``auto``); sets
    ``args.nproc``; returns the config to train and the choice's record."""
    from ..utils.cpu import available_cores

    given = _given_keys(args.opt)
    to_static = config["Global"].get("to_static") if "Global.to_static" in given else None
    choice = decide(
        args.mode,
        args.algorithm,
        args.nproc,
        None if to_static is None else bool(to_static),
        bool(config["Global"].get("to_static")),
        available_cores(),
        _run_steps(config, args) if args.algorithm == "ctc" else 0,
        lambda modes: probe_modes(config, modes, out, not args.no_progress),
    )
    print(choice.line, flush=True)
    args.nproc = choice.nproc
    if choice.to_static is not None:
        config = merge_overrides(config, [f"Global.to_static={str(choice.to_static).lower()}"])
    return config, choice.record(args.mode)


def _stage_dir(out, stages, i):
    """The last stage trains into OUTPUT/model (what make demo exports); earlier ones into OUTPUT/model_<stage>."""
    return os.path.join(out, "model" if i == len(stages) - 1 else f"model_{stages[i][0]}")


def _joined_log(out, stages):
    """One train_log.jsonl over all stages (steps continue across stages); returns its path."""
    if len(stages) == 1:
        return os.path.join(_stage_dir(out, stages, 0), "train_log.jsonl")
    lines, offset = [], 0
    for i, (name, _) in enumerate(stages):
        folder = _stage_dir(out, stages, i)
        last = 0
        with open(os.path.join(folder, "train_log.jsonl"), encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    rec = json.loads(line)
                    if "step" in rec:
                        last = max(last, rec["step"])
                        rec["step"] += offset
                    rec["stage"] = name
                    lines.append(json.dumps(rec))
        try:  # the stage's last step (the log has every print_batch_step-th step only)
            with open(os.path.join(folder, "latest.json"), encoding="utf-8") as f:
                last = max(last, int(json.load(f)["global_step"]))
        except (OSError, ValueError, KeyError, TypeError):
            pass
        offset += last
    path = os.path.join(out, "train_log_all_stages.jsonl")
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path


def _train(config, args, out, train_files):
    """Train every stage of ``--algorithm``; each later stage starts from the previous stage's best_accuracy."""
    stages = _stages(args)
    for i, ((name, stage_opts), steps) in enumerate(zip(stages, args.stage_steps)):
        opts = list(stage_opts) + [
            f"Global.save_model_dir={_stage_dir(out, stages, i)}",
            f"Train.dataset.label_file_list=[{', '.join(train_files)}]",
        ]
        if steps is not None:
            opts.append(f"Global.max_steps={steps}")
        if i:
            opts.append(f"Global.pretrained_model={os.path.join(_stage_dir(out, stages, i - 1), 'best_accuracy')}")
        if len(stages) > 1:
            print(f"stage {i + 1}/{len(stages)}: {name} ({steps} steps) -> {_stage_dir(out, stages, i)}")
        rc = _train_stage(merge_overrides(config, opts), args, out)
        if rc:
            return rc
    return 0


def _train_stage(config, args, out):
    if args.nproc > 1:
        loader = config["Train"]["loader"]
        loader["batch_size_per_card"] = max(1, loader["batch_size_per_card"] // args.nproc)  # same global batch
        return _train_distributed(config, args.nproc, out, args.no_progress)
    train(config, show_progress=not args.no_progress)
    return 0
