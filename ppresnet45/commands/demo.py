"""``ppresnet45 demo``: what ``make demo`` runs (see :mod:`ppresnet45.demo`)."""

from ..demo import TRAINED_CHECKPOINT, run_demo
from ._args import add_config_arguments, positive_int


def add_arguments(parser):
    """Arguments of ``ppresnet45 demo``."""
    add_config_arguments(
        parser,
        required=False,
        config_help=f"config to export (default: the demo config with trained weights when "
        f"{TRAINED_CHECKPOINT} exists, else the built-in ResNet45 + CTC config)",
    )
    parser.add_argument("--output_dir", default="demo_output", help="where the demo writes (default: demo_output)")
    parser.add_argument("--num_lines", type=positive_int, default=300, help="text lines to render (default: 300)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the rendered lines (default: 7)")
    parser.add_argument(
        "--checkpoint",
        default=TRAINED_CHECKPOINT,
        help=f"trained weights to use when present (default: {TRAINED_CHECKPOINT})",
    )
    parser.add_argument("--bench_iters", type=positive_int, default=10, help="timed iterations per benchmark row")
    parser.add_argument(
        "--cpu_threads",
        type=positive_int,
        default=None,
        help="threads for recognition and the benchmark (default: the cores this process may use)",
    )


def run(args):
    """Run ``ppresnet45 demo``."""
    return run_demo(
        args.output_dir,
        config_path=args.config,
        overrides=args.opt,
        num_lines=args.num_lines,
        seed=args.seed,
        checkpoint=args.checkpoint,
        bench_iters=args.bench_iters,
        cpu_threads=args.cpu_threads,
    )
