"""Plot training curves from ``train_log.jsonl``.

``python tools/plot_log.py output/demo/model/train_log.jsonl -o curves.png`` draws the
training loss (per logged step and smoothed), the learning rate, and the training and
evaluation accuracy against the step, into one PNG (written atomically).
"""

import argparse
import os
import sys

from ppresnet45.errors import PPResNetError
from ppresnet45.training.plot import plot_training_log


def main(argv=None):
    """CLI entry; returns the exit code."""
    parser = argparse.ArgumentParser(description="plot training curves from train_log.jsonl")
    parser.add_argument("log", help="train_log.jsonl written by tools/train.py")
    parser.add_argument("-o", "--output", default=None, help="PNG path (default: curves.png beside the log)")
    parser.add_argument("--title", default=None, help="figure title")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    args = parser.parse_args(argv)
    out = args.output or os.path.join(os.path.dirname(os.path.abspath(args.log)), "curves.png")
    try:
        plot_training_log(args.log, out, args.title)
    except PPResNetError as exc:
        if args.debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
