"""The demo training run: render data, train ResNet45 + CTC, evaluate on unseen strings, plot.

``python tools/train_demo.py`` (about 15-30 minutes on 2 CPU cores, 5-12 training images/s):

1. renders, with ``ppresnet45.data.synth``, a held-out set of 500 unique strings (digits +
   lowercase, 1-10 characters) and 8000 training lines that never contain those strings
   (``exclude_texts``). By default (``--augment none``) all lines are plain black-on-white
   renders at a fixed text size (the strings, and so the line lengths, vary);
   ``--augment mixed`` makes the held-out set and two thirds of the training lines use
   synth's random colours, backgrounds, blur, noise, rotation and perspective, and
   ``--augment full`` all of them. The styled sets are much harder for CTC from scratch
   (measured on 2 cores: ``--augment mixed --num_train 16000 -o Global.epoch_num=2`` stays
   at 0% until step 300 and reaches 95.6% held-out accuracy after 2000 steps of 16, in 53
   minutes). Files go to ``OUTPUT/data`` and are reused when already rendered with the
   same settings;
2. trains with ``configs/rec/rec_resnet45_ctc_demo.yml`` (one epoch = 500 steps of 16 with a
   cosine schedule, evaluating on the held-out set every 100 steps) into ``OUTPUT/model``;
3. evaluates ``best_accuracy`` on the held-out set (``OUTPUT/model/eval_result.json``,
   ``eval_worst.tsv``), draws ``OUTPUT/curves.png`` and writes ``OUTPUT/demo_result.json``.

``make demo`` exports ``OUTPUT/model/best_accuracy`` when it exists (default ``OUTPUT``).
``--nproc 2`` trains with two data-parallel processes (``paddle.distributed.launch``, gloo
on CPU) instead of one process using every core; the global batch stays the config's.
Exit status: 0, or 1 with ``--check`` when the held-out accuracy is below ``--target``.
"""

import argparse
import json
import os
import subprocess
import sys
import time

os.environ.setdefault("GLOG_minloglevel", "2")

from ppresnet45.config import PACKAGE_CONFIG_DIR  # noqa: E402

DEFAULT_CONFIG = os.path.join(PACKAGE_CONFIG_DIR, "rec", "rec_resnet45_ctc_demo.yml")


def render_split(out_dir, name, num, seed, charset, augment, exclude=None, unique=False, show_progress=True):
    """Render ``num`` lines as ``out_dir/<name>/*.png`` + ``out_dir/<name>.txt`` unless they exist
    with the same settings; returns (label file, its texts)."""
    from ppresnet45.data.synth import read_label_texts, render_dataset
    from ppresnet45.utils.io import atomic_write_text

    settings = {"num": num, "seed": seed, "charset": charset, "min_len": 1, "max_len": 10, "unique": unique,
                "augment": augment, "exclude": len(exclude or ()), "height": 32}
    stamp = os.path.join(out_dir, name + ".render.json")
    label_file = os.path.join(out_dir, name + ".txt")
    if os.path.isfile(stamp) and os.path.isfile(label_file):
        with open(stamp, encoding="utf-8") as f:
            if json.load(f) == settings:
                print(f"reusing {label_file}")
                return label_file, read_label_texts(label_file)
    render_dataset(out_dir, num, seed=seed, charset=charset, min_len=1, max_len=10, height=32, augment=augment,
                   label_file=name + ".txt", image_subdir=name, exclude_texts=exclude, unique=unique,
                   show_progress=show_progress)
    atomic_write_text(stamp, json.dumps(settings) + "\n")
    return label_file, read_label_texts(label_file)


def _train_distributed(config, nproc, output_dir, no_progress):
    from ppresnet45.config import save_config

    cfg_path = os.path.join(output_dir, "train_config.yml")
    save_config(config, cfg_path)
    env = dict(os.environ)
    import paddle

    if not paddle.is_compiled_with_cuda() or not config["Global"].get("use_gpu"):
        env["PADDLE_DISTRI_BACKEND"] = "gloo"
    cmd = [sys.executable, "-m", "paddle.distributed.launch", "--nproc_per_node", str(nproc),
           "--log_dir", os.path.join(output_dir, "launch_log"), os.path.join(os.path.dirname(os.path.abspath(__file__)), "train.py"),
           "-c", cfg_path] + (["--no_progress"] if no_progress else [])
    print("running:", " ".join(cmd))
    rc = subprocess.call(cmd, env=env)
    if rc != 0:
        print(f"error: distributed training failed (exit {rc}); see {output_dir}/launch_log/workerlog.*",
              file=sys.stderr)
    return rc


def main(argv=None):
    """Run the demo; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output_dir", default="output/demo", help="where data, model and plots go")
    parser.add_argument("-c", "--config", default=DEFAULT_CONFIG, help="training config (default: the demo recipe)")
    parser.add_argument("-o", "--opt", nargs="+", action="extend", default=[], metavar="KEY=VALUE",
                        help="config overrides, e.g. Global.max_steps=300")
    parser.add_argument("--num_train", type=int, default=8000, help="training lines to render (default 8000)")
    parser.add_argument("--num_heldout", type=int, default=500, help="held-out lines of unseen strings (default 500)")
    parser.add_argument("--augment", choices=("none", "mixed", "full"), default="none",
                        help="none (default): all lines plain; mixed: --clean_fraction of the training lines "
                             "plain, the rest and the held-out set with synth's styles and distortions; "
                             "full: all styled")
    parser.add_argument("--clean_fraction", type=float, default=0.33,
                        help="share of plain lines in the mixed training set (default 0.33)")
    parser.add_argument("--nproc", type=int, default=1, help="data-parallel training processes (default 1)")
    parser.add_argument("--target", type=float, default=0.95, help="held-out word accuracy to reach (default 0.95)")
    parser.add_argument("--check", action="store_true", help="exit 1 when the target is not reached")
    parser.add_argument("--no_progress", action="store_true", help="hide progress bars")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    args = parser.parse_args(argv)

    from ppresnet45.errors import PPResNetError

    try:
        return _run(args)
    except PPResNetError as exc:
        if args.debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _run(args):
    from ppresnet45.charset import load_character_list
    from ppresnet45.config import load_config
    from ppresnet45.errors import ConfigError
    from ppresnet45.training.evaluator import evaluate_checkpoint, format_metrics
    from ppresnet45.training.plot import plot_training_log
    from ppresnet45.training.trainer import train
    from ppresnet45.utils.io import atomic_write_text

    if args.num_train < 1 or args.num_heldout < 1 or args.nproc < 1:
        raise ConfigError("--num_train, --num_heldout and --nproc must be positive")
    if not 0.0 <= args.clean_fraction <= 1.0:
        raise ConfigError(f"--clean_fraction: expected a number in [0, 1], got {args.clean_fraction}")
    out = os.path.abspath(args.output_dir)
    data_dir = os.path.join(out, "data")
    model_dir = os.path.join(out, "model")
    timings = {}
    t0 = time.time()

    base = load_config(args.config)
    charset = "".join(load_character_list(base["Global"].get("character_dict_path")))
    progress = not args.no_progress
    heldout_file, heldout = render_split(data_dir, "heldout", args.num_heldout, seed=2024, charset=charset,
                                         augment=args.augment != "none", unique=True, show_progress=progress)
    n_clean = {"none": args.num_train, "full": 0}.get(args.augment, int(round(args.num_train * args.clean_fraction)))
    train_files = []
    if n_clean:
        train_files.append(render_split(data_dir, "train_clean", n_clean, seed=7, charset=charset, augment=False,
                                        exclude=set(heldout), show_progress=progress)[0])
    if args.num_train - n_clean:
        train_files.append(render_split(data_dir, "train_aug", args.num_train - n_clean, seed=8, charset=charset,
                                        augment=True, exclude=set(heldout), show_progress=progress)[0])
    timings["render_s"] = time.time() - t0

    overrides = [
        f"Global.save_model_dir={model_dir}",
        f"Train.dataset.data_dir={data_dir}",
        f"Train.dataset.label_file_list=[{', '.join(train_files)}]",
        f"Eval.dataset.data_dir={data_dir}",
        f"Eval.dataset.label_file_list=[{heldout_file}]",
    ]
    config = load_config(args.config, overrides + list(args.opt))
    if args.nproc > 1:
        loader = config["Train"]["loader"]
        per_card = max(1, loader["batch_size_per_card"] // args.nproc)
        loader["batch_size_per_card"] = per_card  # same global batch as one process
    t1 = time.time()
    if args.nproc > 1:
        rc = _train_distributed(config, args.nproc, out, args.no_progress)
        if rc != 0:
            return rc
    else:
        train(config, show_progress=not args.no_progress)
    timings["train_s"] = time.time() - t1

    t2 = time.time()
    metrics = evaluate_checkpoint(config, checkpoint=os.path.join(model_dir, "best_accuracy"),
                                  output_dir=model_dir, show_progress=not args.no_progress)
    timings["eval_s"] = time.time() - t2
    png = plot_training_log(os.path.join(model_dir, "train_log.jsonl"), os.path.join(out, "curves.png"),
                            title="ResNet45 + CTC demo (digits + lowercase, unseen strings)")
    timings["total_s"] = time.time() - t0
    acc = metrics["acc"]
    result = {"heldout_acc": acc, "heldout_norm_edit_dis": metrics["norm_edit_dis"], "target": args.target,
              "target_met": acc >= args.target, "num_train": args.num_train, "num_heldout": args.num_heldout,
              "nproc": args.nproc, "augment": args.augment,
              "clean_fraction": args.clean_fraction if args.augment == "mixed" else None, "timings": timings,
              "eval_result": metrics["result_file"], "curves": png}
    atomic_write_text(os.path.join(out, "demo_result.json"), json.dumps(result, indent=2) + "\n")
    print(format_metrics(metrics))
    print(f"held-out word accuracy {acc:.4f} (target {args.target:.2f}: {'met' if acc >= args.target else 'NOT met'}); "
          f"total {timings['total_s'] / 60:.1f} min (training {timings['train_s'] / 60:.1f} min)")
    print(f"curves: {png}\nresult: {os.path.join(out, 'demo_result.json')}")
    return 1 if args.check and acc < args.target else 0


if __name__ == "__main__":
    sys.exit(main())
