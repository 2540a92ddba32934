"""``ppresnet45 train`` / ``tools/train.py``: train a recognizer from a config."""

import os

from ..config import load_config
from ..training.trainer import train
from ._args import add_config_arguments


def add_arguments(parser):
    """Arguments of ``ppresnet45 train``."""
    add_config_arguments(parser)
    parser.add_argument("--no_progress", action="store_true", help="hide the progress bar")


def run(args):
    """Run ``ppresnet45 train``."""
    config = load_config(args.config, args.opt)
    summary = train(config, show_progress=not args.no_progress)
    if summary.get("best"):
        best = summary["best"]
        print(
            f"best acc {best.get('acc', 0.0):.4f} at step {best.get('best_step')} -> "
            f"{os.path.join(summary['save_model_dir'], 'best_accuracy')}"
        )
    return 0
