"""Training speed on CPU: images/s of ResNet45 + CTC training steps in each execution mode.

``ppresnet45 benchmark-train [-c CONFIG] [--batch_size 16] [--steps 20] [--threads 1,2,auto]``

Runs the real trainer on rendered text lines for ``--warmup`` + ``--steps`` steps, once per
mode and thread count, each in its own process(es), one after the other
(:func:`ppresnet45.training.speed.time_mode`; the modes and what each does are listed there).
``to_static`` with oneDNN is not run: Paddle 3.3.1's CPU training fails in ``run_program``, so
the trainer refuses that combination.

Images/s is measured over the last ``--steps`` steps only. ``auto`` in ``--threads`` is
``Global.cpu_threads: null``: the trainer times its first steps at each thread count and keeps
the fastest (those probe steps are added to the untimed ones); the row shows what it chose.
Each row carries the 1-minute load average before and after it (the CPU may be shared); the
table gives each row's ratio to ``eager`` at the same thread setting in the same run. Prints a
markdown table with the CPU's model and flags; ``--output FILE.json`` also writes the rows.
"""

import argparse
import json
import os
import tempfile

from ..config import PACKAGE_CONFIG_DIR
from ..training.speed import DEFAULT_MODES, MODES, TimingJob, time_mode, train_steps

DEFAULT_CONFIG = os.path.join(PACKAGE_CONFIG_DIR, "rec", "rec_resnet45_ctc_demo.yml")


def _parse(args):
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    try:
        threads = [t.strip() if t.strip() == "auto" else int(t) for t in args.threads.split(",") if t.strip()]
    except ValueError:
        raise SystemExit(
            f"error: --threads: expected comma-separated positive integers or auto, got {args.threads!r}"
        ) from None
    bad = [m for m in modes if m not in MODES]
    if bad or not modes:
        raise SystemExit(f"error: --modes: {', '.join(bad) or 'none given'}; expected a subset of {', '.join(MODES)}")
    if not threads or min([t for t in threads if t != "auto"] or [1]) < 1:
        raise SystemExit(f"error: --threads: expected positive integers or auto, got {args.threads!r}")
    if min(args.batch_size, args.steps) < 1 or args.warmup < 0:
        raise SystemExit("error: --batch_size and --steps must be positive, --warmup non-negative")
    if not os.path.isfile(args.config):
        raise SystemExit(f"error: config '{args.config}' not found")
    return modes, threads


def _print_table(args, rows):
    import paddle

    from ..utils.cpu import cpu_description

    print(
        f"\nResNet45 training speed, {os.path.basename(args.config)}, batch {args.batch_size}, "
        f"{args.steps} timed steps after {args.warmup}, Paddle {paddle.__version__}, CPU {cpu_description()}\n"
    )
    print("| mode | threads | images/s | vs eager | load before/after | note |\n|---|---:|---:|---:|---|---|")
    base = {r["threads"]: r["images_per_s"] for r in rows if r["mode"] == "eager" and "images_per_s" in r}
    for r in rows:
        ips = r.get("images_per_s")
        ratio = f"{ips / base[r['threads']]:.2f}x" if ips and base.get(r["threads"]) else "-"
        note = r.get("error") or r.get("refused") or ""
        shown = r["threads"]
        if r["threads"] == "auto" and ips and "chosen_threads" in r:
            shown = f"auto -> {r['chosen_threads']}"
        if r["mode"].endswith("dp2") and ips:
            note = note or f"2 processes x {r.get('threads_per_process')} thread(s), batch {args.batch_size // 2} each"
        if not note and r["mode"] == "eager+onednn":
            note = "eager kernels do not call oneDNN in Paddle 3.3 (expect the same as eager)"
        print(
            f"| {r['mode']} | {shown} | {f'{ips:.2f}' if ips else '-'} | {ratio} | "
            f"{r.get('load_before')} / {r.get('load_after', '-')} | {note} |"
        )


def add_arguments(parser):
    parser.add_argument(
        "-c",
        "--config",
        default=DEFAULT_CONFIG,
        help="training config (default: rec_resnet45_ctc_demo.yml, the demo recipe's)",
    )
    parser.add_argument("--batch_size", type=int, default=16, help="images per step, all processes (default 16)")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per run (default 20)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps first (default 5)")
    parser.add_argument(
        "--threads",
        default="2",
        help="comma-separated CPU thread counts per run (dp2: split over its 2 processes), and auto "
        "(Global.cpu_threads: null); default 2",
    )
    parser.add_argument(
        "--modes", default=DEFAULT_MODES, help=f"comma-separated subset of {','.join(MODES)} (default {DEFAULT_MODES})"
    )
    parser.add_argument("--output", help="also write the rows to this JSON file")
    parser.add_argument("--child", help=argparse.SUPPRESS)


def run(args):
    if args.child:
        train_steps(json.loads(args.child))
        return 0
    modes, threads = _parse(args)

    from ppresnet45.data.synth import render_dataset
    from ppresnet45.utils.io import atomic_write_text

    rows = []
    with tempfile.TemporaryDirectory(prefix="ppresnet45-train-speed-") as tmp:
        data = os.path.join(tmp, "data")
        need = args.batch_size * (args.steps + args.warmup)
        render_dataset(
            data,
            min(need, 2000),
            seed=0,
            charset="0123456789abcdefghijklmnopqrstuvwxyz",
            min_len=1,
            max_len=10,
            show_progress=False,
        )
        job = TimingJob(
            args.config, data, (os.path.join(data, "labels.txt"),), args.batch_size, args.steps, args.warmup
        )
        for t in threads:
            for mode in modes:
                row = time_mode(mode, t, job, os.path.join(tmp, f"{mode}-{t}"))
                if mode.endswith("dp2") and "threads" in row and "processes" in row:
                    row["threads_per_process"] = row.pop("threads")
                    row["threads"] = t
                elif t == "auto" and "images_per_s" in row:
                    row["chosen_threads"], row["threads"] = row["threads"], "auto"
                rows.append(row)
    _print_table(args, rows)
    if args.output:
        atomic_write_text(args.output, json.dumps(rows, indent=2) + "\n")
    return 1 if any("error" in r for r in rows) else 0
