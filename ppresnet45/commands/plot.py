"""``ppresnet45 plot``: training curves from ``train_log.jsonl`` (PNG, written atomically).

    ppresnet45 plot output/demo/model/train_log.jsonl -o curves.png

draws the training loss (per logged step and smoothed), the learning rate, and the training
and evaluation accuracy against the step, into one PNG."""

import os


def add_arguments(parser):
    parser.add_argument("log", help="train_log.jsonl written by `ppresnet45 train`")
    parser.add_argument("-o", "--output", default=None, help="PNG path (default: curves.png beside the log)")
    parser.add_argument("--title", default=None, help="figure title")


def run(args):
    from ..training.plot import plot_training_log

    out = args.output or os.path.join(os.path.dirname(os.path.abspath(args.log)), "curves.png")
    plot_training_log(args.log, out, args.title)
    print(f"wrote {out}")
    return 0
