"""Training speed on CPU: images/s of ResNet45 + CTC training steps in each execution mode.

``python tools/benchmark_train.py [-c CONFIG] [--batch_size 16] [--steps 20] [--threads 1,2,auto]``

Runs the real trainer (``ppresnet45.training.trainer.Trainer``: data loader, forward, CTC loss,
backward, optimizer step) on rendered text lines for ``--warmup`` + ``--steps`` steps, once
per mode and thread count, each in its own process (Paddle's flags and compiled programs are
process-wide). Modes:

* ``eager``         - dygraph, ``Global.use_onednn: false`` (the default of every config);
* ``eager+onednn``  - dygraph with ``FLAGS_use_onednn`` on;
* ``to_static``     - ``paddle.jit.to_static`` of the model (``Global.to_static: true``).

(``to_static`` with oneDNN is not run: Paddle 3.3.1's CPU training crashes with a
segmentation fault in ``run_program``, so the trainer refuses that combination.)

Images/s is measured over the last ``--steps`` steps only (the trainer's smoothing window is
set to ``--steps``). ``auto`` in ``--threads`` is ``Global.cpu_threads: null``: the trainer
times its first steps at each thread count and keeps the fastest (those probe steps are added
to the untimed ones); the row shows what it chose. Prints a markdown table with the CPU's
model and flags; ``--output FILE.json`` also writes the rows.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

from ppresnet45.config import PACKAGE_CONFIG_DIR

DEFAULT_CONFIG = os.path.join(PACKAGE_CONFIG_DIR, "rec", "rec_resnet45_ctc.yml")
MODES = {
    "eager": {"Global.use_onednn": False, "Global.to_static": False},
    "eager+onednn": {"Global.use_onednn": True, "Global.to_static": False},
    "to_static": {"Global.use_onednn": False, "Global.to_static": True},
}
MARK = "@@ppresnet45-train-speed@@"


def _child(spec):
    """Train ``spec['steps'] + spec['warmup']`` steps; print the measured row after MARK."""
    import ppresnet45  # noqa: F401 - imported for its logging setup before Paddle
    from ppresnet45.config import load_config
    from ppresnet45.training.trainer import Trainer

    auto = spec["threads"] == "auto"
    if auto:  # the thread probe's steps come on top of the untimed ones
        from ppresnet45.training.threads import PROBE_STEPS, thread_candidates
        from ppresnet45.utils.cpu import available_cores

        spec["warmup"] += len(thread_candidates(available_cores())) * (PROBE_STEPS + 1)
    total = spec["warmup"] + spec["steps"]
    opts = dict(MODES[spec["mode"]])
    opts.update({
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
    })
    config = load_config(spec["config"], [f"{k}={json.dumps(v)}" for k, v in opts.items()])
    trainer = Trainer(config, show_progress=False)
    trainer.fit()
    with open(os.path.join(spec["out"], "train_log.jsonl"), encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    last = [r for r in rows if r.get("type") == "train" and r["step"] == total][-1]
    print(MARK + json.dumps({"images_per_s": last["images_per_second"], "use_onednn": trainer.use_onednn,
                             "to_static": trainer.to_static, "threads": trainer.cpu_threads}))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-c", "--config", default=DEFAULT_CONFIG, help="training config (default: rec_resnet45_ctc.yml)")
    parser.add_argument("--batch_size", type=int, default=16, help="images per step (default 16)")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per run (default 20)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps first (default 5)")
    parser.add_argument("--threads", default="1,2,auto",
                        help="comma-separated CPU thread counts, and auto (Global.cpu_threads: null; default 1,2,auto)")
    parser.add_argument("--modes", default=",".join(MODES), help=f"comma-separated subset of {','.join(MODES)}")
    parser.add_argument("--output", help="also write the rows to this JSON file")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(json.loads(args.child))
        return 0

    from ppresnet45.data.synth import render_dataset
    from ppresnet45.utils.io import atomic_write_text

    try:
        modes = [m.strip() for m in args.modes.split(",") if m.strip()]
        threads = [t.strip() if t.strip() == "auto" else int(t) for t in args.threads.split(",") if t.strip()]
    except ValueError:
        print(f"error: --threads: expected comma-separated positive integers or auto, got {args.threads!r}",
              file=sys.stderr)
        return 2
    bad = [m for m in modes if m not in MODES]
    if bad or not modes or not threads or min([t for t in threads if t != "auto"] or [1]) < 1 or min(args.batch_size, args.steps) < 1 or args.warmup < 0:
        print(f"error: bad arguments (modes {bad or modes} must be among {', '.join(MODES)}; threads, batch size "
              "and steps must be positive)", file=sys.stderr)
        return 2
    if not os.path.isfile(args.config):
        print(f"error: config '{args.config}' not found", file=sys.stderr)
        return 2

    rows = []
    with tempfile.TemporaryDirectory(prefix="ppresnet45-train-speed-") as tmp:
        data = os.path.join(tmp, "data")
        need = args.batch_size * (args.steps + args.warmup)
        render_dataset(data, min(need, 2000), seed=0, min_len=3, max_len=12, show_progress=False)
        for t in threads:
            for mode in modes:
                spec = {"config": os.path.abspath(args.config), "mode": mode, "threads": t, "steps": args.steps,
                        "warmup": args.warmup, "batch_size": args.batch_size, "data": data,
                        "out": os.path.join(tmp, f"{mode}-{t}")}
                print(f"running {mode}, {t} thread(s) ...", file=sys.stderr, flush=True)
                proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", json.dumps(spec)],
                                      capture_output=True, text=True)
                found = [line for line in proc.stdout.splitlines() if line.startswith(MARK)]
                row = {"mode": mode, "threads": t, "batch_size": args.batch_size, "steps": args.steps}
                if t == "auto":
                    row["threads_setting"] = "auto"
                if proc.returncode == 0 and found:
                    row.update(json.loads(found[-1][len(MARK):]))
                else:
                    tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
                    row["error"] = f"exit {proc.returncode}: {tail}"
                rows.append(row)

    import paddle

    from ppresnet45.utils.cpu import cpu_description

    print(f"\nResNet45 training speed, {os.path.basename(args.config)}, batch {args.batch_size}, "
          f"{args.steps} timed steps after {args.warmup}, Paddle {paddle.__version__}, CPU {cpu_description()}\n")
    print("| mode | threads | images/s | note |\n|---|---:|---:|---|")
    for r in rows:
        ips = f"{r['images_per_s']:.2f}" if "images_per_s" in r else "-"
        note = r.get("error", "")
        if r.get("threads_setting") == "auto" and "images_per_s" in r:
            r["threads"] = f"auto -> {r.get('threads')}"
        if not note and r["mode"] == "eager+onednn":
            note = "eager kernels do not call oneDNN in Paddle 3.3 (expect the same as eager)"
        print(f"| {r['mode']} | {r['threads']} | {ips} | {note} |")
    if args.output:
        atomic_write_text(args.output, json.dumps(rows, indent=2) + "\n")
    return 1 if any("error" in r for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
