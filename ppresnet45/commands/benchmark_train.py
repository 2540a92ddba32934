"""Training speed on CPU: images/s of ResNet45 + CTC training steps in each execution mode.

``ppresnet45 benchmark-train [-c CONFIG] [--batch_size 16] [--steps 20] [--threads 1,2,auto]``

Runs the real trainer (``ppresnet45.training.trainer.Trainer``: data loader, forward, CTC loss,
backward, optimizer step) on rendered text lines for ``--warmup`` + ``--steps`` steps, once
per mode and thread count, each in its own process (Paddle's flags and compiled programs are
process-wide), one after the other. Modes:

* ``eager``         - dygraph, ``Global.use_onednn: false``: the baseline every ratio is taken to;
* ``eager+onednn``  - dygraph with ``FLAGS_use_onednn`` on (eager CPU kernels never call oneDNN);
* ``to_static``     - ``paddle.jit.to_static`` of the model (``Global.to_static: true``);
* ``dp2``           - two data-parallel processes (``paddle.distributed.launch``, gloo), each
                      with half the batch and ``threads // 2`` threads (at least 1): the same
                      global batch, hence the same steps;
* ``to_static+dp2`` - both;
* ``bf16``          - bf16 autocast: run only when the CPU has AVX512-BF16 or AMX
                      (``ppresnet45.utils.cpu.cpu_has_bf16``) AND this Paddle has a bf16 CPU
                      ``conv2d`` kernel (checked at run time); otherwise the row says which is
                      missing and nothing runs.

(``to_static`` with oneDNN is not run: Paddle 3.3.1's CPU training fails in ``run_program``, so
the trainer refuses that combination.)

Images/s is measured over the last ``--steps`` steps only (the trainer's smoothing window is
set to ``--steps``). ``auto`` in ``--threads`` is ``Global.cpu_threads: null``: the trainer
times its first steps at each thread count and keeps the fastest (those probe steps are added
to the untimed ones); the row shows what it chose. Each row carries the 1-minute load average
before and after it (the CPU may be shared); the table gives each row's ratio to ``eager`` at
the same thread setting in the same run. Prints a markdown table with the CPU's model and
flags; ``--output FILE.json`` also writes the rows.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

from ..config import PACKAGE_CONFIG_DIR
from ._args import LAUNCH_SCRIPT

DEFAULT_CONFIG = os.path.join(PACKAGE_CONFIG_DIR, "rec", "rec_resnet45_ctc_demo.yml")
MODES = {
    "eager": {"Global.use_onednn": False, "Global.to_static": False},
    "eager+onednn": {"Global.use_onednn": True, "Global.to_static": False},
    "to_static": {"Global.use_onednn": False, "Global.to_static": True},
    "dp2": {"Global.use_onednn": False, "Global.to_static": False},
    "to_static+dp2": {"Global.use_onednn": False, "Global.to_static": True},
    "bf16": {"Global.use_onednn": False, "Global.to_static": False},
}
DEFAULT_MODES = "eager,to_static,dp2,to_static+dp2,bf16"


def bf16_refusal():
    """None when bf16 training can run here, else why not (one line)."""
    from ..utils.cpu import cpu_has_bf16

    if not cpu_has_bf16():
        return "refused: this CPU has neither AVX512-BF16 nor AMX-BF16 (or ONEDNN_MAX_CPU_ISA caps them)"
    import paddle

    try:
        conv = paddle.nn.Conv2D(4, 4, 3)
        conv.to(dtype="bfloat16")
        conv(paddle.zeros([1, 4, 8, 8], dtype="bfloat16"))
    except (RuntimeError, NotImplementedError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0][:120]
        return (
            f"refused: Paddle {paddle.__version__} has no bf16 CPU conv2d kernel, autocast would keep "
            f"every convolution in fp32 ({first})"
        )
    return None


def _child(spec):
    """Train ``spec['steps'] + spec['warmup']`` steps; rank 0 writes the measured row to ``spec['row']``."""

    from ..config import load_config
    from ..training.trainer import Trainer
    from ..utils.io import atomic_write_text

    auto = spec["threads"] == "auto"
    if auto:  # the thread probe's steps come on top of the untimed ones
        from ..training.threads import PROBE_STEPS, thread_candidates
        from ..utils.cpu import available_cores

        spec["warmup"] += len(thread_candidates(available_cores())) * (PROBE_STEPS + 1)
    total = spec["warmup"] + spec["steps"]
    opts = dict(MODES[spec["mode"]])
    opts.update(
        {
            "Global.save_model_dir": spec["out"],
            "Global.max_steps": total,
            "Global.epoch_num": 1000,
            "Global.print_batch_step": 1,
            "Global.log_smooth_window": spec["steps"],
            "Global.eval_batch_step": 0,
            "Global.cal_metric_during_train": False,
            "Global.cpu_threads": None if auto else spec["threads"],
            "Train.dataset.data_dir": spec["data"],
            "Train.dataset.label_file_list": [os.path.join(spec["data"], "labels.txt")],
            "Train.loader.batch_size_per_card": spec["batch_size"],
            "Train.loader.num_workers": 0,
        }
    )
    config = load_config(spec["config"], [f"{k}={json.dumps(v)}" for k, v in opts.items()])
    trainer = Trainer(config, show_progress=False)
    if spec["mode"] == "bf16":
        import paddle

        step = trainer._train_step

        def bf16_step(batch):
            with paddle.amp.auto_cast(dtype="bfloat16", level="O1"):
                return step(batch)

        trainer._train_step = bf16_step
    trainer.fit()
    if trainer.rank != 0:
        return
    with open(os.path.join(spec["out"], "train_log.jsonl"), encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    last = [r for r in rows if r.get("type") == "train" and r["step"] == total][-1]
    atomic_write_text(
        spec["row"],
        json.dumps(
            {
                "images_per_s": last["images_per_second"],
                "use_onednn": trainer.use_onednn,
                "to_static": trainer.to_static,
                "threads": trainer.cpu_threads,
                "processes": trainer.world_size,
            }
        ),
    )


def _load():
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def _run_row(args, mode, t, data, tmp):
    """One mode at one thread setting in fresh process(es); returns the row."""
    out = os.path.join(tmp, f"{mode}-{t}")
    os.makedirs(out, exist_ok=True)
    dp = mode.endswith("dp2")
    row = {"mode": mode, "threads": t, "batch_size": args.batch_size, "steps": args.steps, "load_before": _load()}
    if mode == "bf16":
        refusal = bf16_refusal()
        if refusal:
            row["refused"] = refusal
            return row
    spec = {
        "config": os.path.abspath(args.config),
        "mode": mode,
        "threads": t,
        "steps": args.steps,
        "warmup": args.warmup,
        "batch_size": args.batch_size,
        "data": data,
        "out": out,
        "row": os.path.join(out, "row.json"),
    }
    env = dict(os.environ)
    cmd = [sys.executable, "-m", "ppresnet45", "benchmark-train", "--child"]
    if dp:
        if t != "auto":
            spec["threads"] = max(1, int(t) // 2)
        spec["batch_size"] = max(1, args.batch_size // 2)  # per process: the same global batch
        env["PADDLE_DISTRI_BACKEND"] = "gloo"
        cmd = [
            sys.executable,
            "-m",
            "paddle.distributed.launch",
            "--nproc_per_node",
            "2",
            "--log_dir",
            os.path.join(out, "launch_log"),
            LAUNCH_SCRIPT,
            "benchmark-train",
            "--child",
        ]
    print(f"running {mode}, {t} thread(s) ...", file=sys.stderr, flush=True)
    proc = subprocess.run(cmd + [json.dumps(spec)], capture_output=True, text=True, env=env)
    row["load_after"] = _load()
    if proc.returncode == 0 and os.path.isfile(spec["row"]):
        with open(spec["row"], encoding="utf-8") as f:
            row.update(json.load(f))
    else:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        row["error"] = f"exit {proc.returncode}: {tail}"
    return row


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
        if r["threads"] == "auto" and ips:
            shown = f"auto -> {r.get('chosen_threads', r.get('threads'))}"
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
        _child(json.loads(args.child))
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
        for t in threads:
            for mode in modes:
                row = _run_row(args, mode, t, data, tmp)
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
