"""``ppresnet45 demo``: what ``make demo`` runs (see :mod:`ppresnet45.demo`)."""

from ..demo import TRAINED_CHECKPOINT, run  # noqa: F401  (run is this command's entry)
from ._args import add_config_arguments, positive_int


def add_arguments(parser):
    add_config_arguments(parser, required=False)
    parser.set_defaults()  # -c default: the demo config with trained weights when present, else the built-in
    parser.add_argument("--output_dir", default="demo_output", help="where the demo writes (default: demo_output)")
    parser.add_argument("--num_lines", type=positive_int, default=300, help="text lines to render (default: 300)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the rendered lines (default: 7)")
    parser.add_argument("--checkpoint", default=TRAINED_CHECKPOINT,
                        help=f"trained weights to use when present (default: {TRAINED_CHECKPOINT})")
    parser.add_argument("--bench_iters", type=positive_int, default=10, help="timed iterations per benchmark row")


