"""``ppresnet45 eval`` / ``tools/eval.py``: evaluate a checkpoint on the Eval dataset."""

from ..config import load_config
from ..training.evaluator import evaluate_checkpoint, format_metrics
from ._args import add_config_arguments, non_negative_int


def add_arguments(parser):
    """Arguments of ``ppresnet45 eval``."""
    add_config_arguments(parser)
    parser.add_argument(
        "--output_dir",
        default=None,
        help="where eval_result.json and eval_worst.tsv go (default: the checkpoint's folder)",
    )
    parser.add_argument(
        "--num_worst", type=non_negative_int, default=50, help="samples listed in eval_worst.tsv (default 50)"
    )
    parser.add_argument("--no_progress", action="store_true", help="hide the progress bar")


def run(args):
    """Run ``ppresnet45 eval``."""
    config = load_config(args.config, args.opt)
    metrics = evaluate_checkpoint(
        config, output_dir=args.output_dir, num_worst=args.num_worst, show_progress=not args.no_progress
    )
    print(format_metrics(metrics))
    print(f"results: {metrics['result_file']}")
    return 0
