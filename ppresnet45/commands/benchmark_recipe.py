"""Does the demo recipe learn every time? Train it over seeds x thread counts (x ISA caps) and
print each run's held-out and held-out-font accuracy and their spread.

``ppresnet45 benchmark-recipe [--seeds 42 1 2] [--threads 1 2] [--isa_caps native AVX2]
[--num_train 60000] [--mode eager] [--steps N] [--output_dir output/recipe_bench]``

Each run is ``tools/train_demo.py`` (the default ctc recipe; ``--mode eager`` unless
``--mode`` says otherwise) in its own process, one after the other (never two at once: they
would share the cores), with ``-o Global.seed=S Global.cpu_threads=T`` and, for an ISA cap, ``ONEDNN_MAX_CPU_ISA=CAP`` in its environment; all
runs share one rendered data folder, so only the seed (initial weights), the thread count and
the kernels differ. ``--num_train`` and ``--steps`` set the length (``--steps`` stops early,
on the full run's schedule: the first N steps are exactly those of the full run), so a short
version shows the first part of the curve and the full one the recipe's result.

A run "left the plateau" when its last logged training batch accuracy is at least
``--left_acc`` (default 0.2) or its best held-out accuracy is at least 5 %: on the plateau CTC
predicts blanks and both stay at 0. Prints one row per run (with the 1-minute load average at
its start and end and its minutes), then min / mean / max and the spread (max - min) of both
accuracies; writes ``OUTPUT/recipe_bench.json``. Exit 1 when a run failed or stayed on the
plateau.
"""

import json
import os
import statistics
import subprocess
import sys
import time

from ..training.demo_mode import CHOICES
from ..training.demo_recipe import DEFAULT_NUM_TRAIN
from ._args import add_override_argument


def _load():
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def _last_train_record(model_dir):
    last = None
    try:
        with open(os.path.join(model_dir, "train_log.jsonl"), encoding="utf-8") as f:
            for line in f:
                rec = json.loads(line)
                if rec.get("type") == "train":
                    last = rec
    except (OSError, ValueError):
        return None
    return last


def run_one(args, seed, threads, cap, data_dir):
    """Train and evaluate one run; returns its row."""
    name = f"seed{seed}-t{threads}-{cap.lower()}"
    out = os.path.join(args.output_dir, name)
    cmd = [
        sys.executable,
        "-m",
        "ppresnet45",
        "train-demo",
        "--output_dir",
        out,
        "--data_dir",
        data_dir,
        "--num_train",
        str(args.num_train),
        "--num_heldout",
        str(args.num_heldout),
        "--no_progress",
        "--mode",
        args.mode,
    ]
    if args.steps:
        cmd += ["--stage_steps", str(args.steps)]
    cmd += ["-o", f"Global.seed={seed}", f"Global.cpu_threads={threads}", *args.opt]
    env = dict(os.environ)
    env.pop("ONEDNN_MAX_CPU_ISA", None)
    if cap != "native":
        env["ONEDNN_MAX_CPU_ISA"] = cap
    row = {"run": name, "seed": seed, "threads": threads, "isa_cap": cap, "load_start": _load()}
    print(f"[{name}] {' '.join(cmd)}", file=sys.stderr, flush=True)
    t0 = time.time()
    with open(os.path.join(args.output_dir, name + ".log"), "w", encoding="utf-8") as log:
        rc = subprocess.call(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    row.update({"minutes": (time.time() - t0) / 60, "load_end": _load(), "exit": rc})
    try:
        with open(os.path.join(out, "demo_result.json"), encoding="utf-8") as f:
            result = json.load(f)
    except (OSError, ValueError):
        row["error"] = f"exit {rc}, no demo_result.json (see {out}.log)"
        return row
    last = _last_train_record(os.path.join(out, "model")) or {}
    row.update(
        {
            "heldout_acc": result["heldout_acc"],
            "heldout_fonts_acc": result["heldout_fonts_acc"],
            "train_minutes": result["timings"]["train_s"] / 60,
            "last_step": last.get("step"),
            "last_loss_avg": last.get("loss_avg"),
            "last_train_acc": last.get("acc"),
        }
    )
    row["left_plateau"] = bool((row["last_train_acc"] or 0) >= args.left_acc or row["heldout_acc"] >= 0.05)
    return row


def _spread(rows, key):
    values = [r[key] for r in rows if r.get(key) is not None]
    if not values:
        return "-"
    return (
        f"min {min(values):.1%}, mean {statistics.mean(values):.1%}, max {max(values):.1%}, "
        f"spread {max(values) - min(values):.1%}"
    )


def add_arguments(parser):
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 1, 2], help="Global.seed values (default 42 1 2)")
    parser.add_argument(
        "--threads", type=int, nargs="+", default=[1, 2], help="Global.cpu_threads values (default 1 2)"
    )
    parser.add_argument(
        "--isa_caps",
        nargs="+",
        default=["native", "AVX2"],
        help="native and/or ONEDNN_MAX_CPU_ISA values (default native AVX2)",
    )
    parser.add_argument(
        "--num_train",
        type=int,
        default=DEFAULT_NUM_TRAIN,
        help=f"training lines (default {DEFAULT_NUM_TRAIN}, the recipe's)",
    )
    parser.add_argument(
        "--mode",
        choices=CHOICES,
        default="eager",
        help="train-demo's --mode for every run (default eager: one process at each --threads count; "
        "auto may time and train in 2 processes of that many threads each)",
    )
    parser.add_argument("--num_heldout", type=int, default=500, help="lines per held-out set (default 500)")
    parser.add_argument(
        "--steps",
        type=int,
        default=None,
        help="stop each run after N steps (default: the whole epoch); the schedule stays the full run's",
    )
    parser.add_argument(
        "--left_acc",
        type=float,
        default=0.2,
        help="last training batch accuracy that counts as off the plateau (default 0.2)",
    )
    parser.add_argument("--output_dir", default="output/recipe_bench", help="runs, logs and the JSON go here")
    add_override_argument(parser, "more config overrides for every run")


def run(args):
    if min(args.threads) < 1 or args.num_train < 1 or (args.steps is not None and args.steps < 1):
        print("error: --threads, --num_train and --steps must be positive", file=sys.stderr)
        return 2
    os.makedirs(args.output_dir, exist_ok=True)
    data_dir = os.path.join(os.path.abspath(args.output_dir), "data")
    rows = []
    for cap in args.isa_caps:
        for threads in args.threads:
            for seed in args.seeds:
                rows.append(run_one(args, seed, threads, cap, data_dir))
                r = rows[-1]
                print(
                    f"[{r['run']}] "
                    + (
                        r.get("error")
                        or f"held-out {r['heldout_acc']:.1%}, held-out fonts "
                        f"{r['heldout_fonts_acc']:.1%}, left the plateau: {r['left_plateau']}"
                    ),
                    file=sys.stderr,
                )

    from ppresnet45.utils.cpu import cpu_description
    from ppresnet45.utils.io import atomic_write_text

    print(
        f"\nDemo recipe over seeds x threads x ISA caps: {args.num_train} training lines"
        f"{f', first {args.steps} steps' if args.steps else ''}; CPU {cpu_description()}\n"
    )
    print(
        "| run | steps | train min | last loss (avg) | last train acc | held-out | held-out fonts | left plateau "
        "| load start/end |\n|---|---:|---:|---:|---:|---:|---:|---|---|"
    )
    for r in rows:
        if "error" in r:
            print(f"| {r['run']} | - | - | - | - | - | - | {r['error']} | {r['load_start']} / {r['load_end']} |")
            continue
        print(
            f"| {r['run']} | {r['last_step']} | {r['train_minutes']:.1f} | {r['last_loss_avg']:.2f} | "
            f"{r['last_train_acc'] if r['last_train_acc'] is not None else float('nan'):.3f} | "
            f"{r['heldout_acc']:.1%} | {r['heldout_fonts_acc']:.1%} | {'yes' if r['left_plateau'] else 'NO'} | "
            f"{r['load_start']} / {r['load_end']} |"
        )
    print(f"\nheld-out strings: {_spread(rows, 'heldout_acc')}\nheld-out fonts:   {_spread(rows, 'heldout_fonts_acc')}")
    stuck = [r["run"] for r in rows if not r.get("left_plateau")]
    print("every run left the plateau" if not stuck else f"NOT every run left the plateau: {', '.join(stuck)}")
    atomic_write_text(os.path.join(args.output_dir, "recipe_bench.json"), json.dumps(rows, indent=2) + "\n")
    return 1 if stuck else 0
