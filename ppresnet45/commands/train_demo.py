"""``ppresnet45 train-demo``: argument parsing for the demo training run; the recipe itself is
:mod:`ppresnet45.training.demo_recipe` (what it renders, trains and reports)."""

from ..data.synth.demo_data import DEFAULT_HOLDOUT
from ..training.demo_mode import CHOICES
from ..training.demo_recipe import ALGORITHMS, DEFAULT_NUM_TRAIN, run_demo_recipe
from ._args import add_override_argument


def add_arguments(parser):
    parser.add_argument("--output_dir", default="output/demo", help="where data, model and plots go")
    parser.add_argument(
        "--algorithm",
        choices=sorted(ALGORITHMS),
        default="ctc",
        help="ctc (default): ResNet45 + CTC; abinet: vision-only pre-training, then the full model; "
        "visionlan: LF_1, LF_2, LA. Each with its demo config from configs/rec/",
    )
    parser.add_argument("-c", "--config", default=None, help="training config (default: the --algorithm's demo config)")
    parser.add_argument(
        "--stage_steps",
        type=int,
        nargs="+",
        default=None,
        metavar="N",
        help="steps per training stage (Global.max_steps of each; default: ctc one epoch of each "
        "stage's lines, abinet 600 400, visionlan 1500 500 1000)",
    )
    parser.add_argument(
        "--data_dir",
        default=None,
        help="where the rendered lines go (default OUTPUT/data); share it between runs to compare "
        "algorithms on the same lines",
    )
    add_override_argument(parser, "config overrides, e.g. Global.max_steps=300")
    parser.add_argument(
        "--num_train",
        type=int,
        default=DEFAULT_NUM_TRAIN,
        help=f"training lines to render (default {DEFAULT_NUM_TRAIN}); ctc trains one epoch of them "
        f"({DEFAULT_NUM_TRAIN // 16} steps of 16 with its demo config, which then evaluates on the "
        "held-out strings about 8 times a run, every 100 steps or a multiple: every 500 for the "
        "default; -o Global.eval_batch_step=[0,N] sets it)",
    )
    parser.add_argument(
        "--num_heldout",
        type=int,
        default=500,
        help="held-out lines of unseen strings, and as many in held-out fonts (default 500)",
    )
    parser.add_argument(
        "--augment",
        choices=("diverse", "none", "mixed", "full"),
        default="diverse",
        help="diverse (default): a curriculum file, plain built-in-font lines ramping (--ramp) to "
        "every font the installed packages carry except --fonts_holdout, --clean_fraction of "
        "those plain, the rest with synth's full style distribution; none: plain lines in the built-in font (the "
        "earlier recipe); mixed: --clean_fraction plain, the rest styled (built-in font); "
        "full: all styled (built-in font)",
    )
    parser.add_argument(
        "--fonts_holdout",
        nargs="+",
        default=DEFAULT_HOLDOUT,
        metavar="FAMILY",
        help=f"font families never used in training; the held-out-font set is drawn only with "
        f"them (default: {' '.join(DEFAULT_HOLDOUT)})",
    )
    parser.add_argument(
        "--clean_fraction",
        type=float,
        default=None,
        help="share of plain lines (black on white, no distortion) in the diverse and mixed training "
        "sets; diverse draws them in the training fonts, mixed in the built-in font (default: "
        "0.25 for diverse, 0.33 for mixed)",
    )
    parser.add_argument(
        "--ramp",
        type=float,
        nargs=2,
        default=None,
        metavar=("START", "END"),
        help="--augment diverse: the curriculum file is all plain built-in-font lines up to fraction "
        "START, then the diverse lines' share rises linearly to 1 at fraction END (default: 3600 "
        "plain lines, within 0.1-0.3 of the file, then a ramp over 0.4 of it: 0.3 0.7 for 12000 "
        "lines, 0.1 0.5 for 60000)",
    )
    parser.add_argument(
        "--short_len",
        type=int,
        default=None,
        help="--augment diverse: a length curriculum too: the first line's text has at most this many "
        "characters, the cap rising to the full length at START (default: none)",
    )
    parser.add_argument(
        "--mode",
        choices=CHOICES,
        default="auto",
        help="auto (default): for a ctc run long enough that it costs under 5%% of it (estimated in "
        "steps; the default run is), time eager, dp2 and to_static+dp2 for 3 + 6 steps each on the "
        "training lines (1-2 minutes on 2 cores) and train in the fastest, saying so in one "
        "line; shorter runs, 1-core processes and abinet / visionlan train as the config says "
        "(eager by default). eager: one process, Global.to_static=false; dp2: two data-parallel "
        "processes, Global.to_static=false; to_static+dp2: two with Global.to_static=true. An explicit "
        "--nproc or -o Global.to_static=... wins over any mode",
    )
    parser.add_argument(
        "--nproc",
        type=int,
        default=None,
        help="data-parallel training processes (default: as --mode chooses); given, no probe runs",
    )
    parser.add_argument("--target", type=float, default=0.95, help="held-out word accuracy to reach (default 0.95)")
    parser.add_argument(
        "--target_fonts", type=float, default=0.6, help="word accuracy to reach on the held-out fonts (default 0.6)"
    )
    parser.add_argument(
        "--eval_only",
        action="store_true",
        help="skip training: evaluate OUTPUT/model/best_accuracy on the held-out sets (and draw "
        "the curves of the training logs there)",
    )
    parser.add_argument(
        "--check", action="store_true", help="exit 1 when a target (--target, --target_fonts) is not reached"
    )
    parser.add_argument("--no_progress", action="store_true", help="hide progress bars")


def run(args):
    return run_demo_recipe(args)
