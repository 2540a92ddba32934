"""Training speed on the CPU: images/s of real training steps in one execution mode.

:func:`time_mode` runs the real trainer (:class:`~ppresnet45.training.trainer.Trainer`: data
loader, forward, loss, backward, optimizer step) for ``warmup`` + ``steps`` steps in fresh
process(es) (Paddle's flags and compiled programs are process-wide) and returns one row: the
images/s over the last ``steps`` steps, the settings the trainer ended up with and the 1-minute
load average before and after. ``ppresnet45 benchmark-train`` prints a table of such rows;
``ppresnet45 train-demo --mode auto`` times two modes with it and trains in the faster.

Modes (:data:`MODES`):

* ``eager``         - dygraph, ``Global.use_onednn: false``: the baseline every ratio is taken to;
* ``eager+onednn``  - dygraph with ``FLAGS_use_onednn`` on (eager CPU kernels never call oneDNN);
* ``to_static``     - ``paddle.jit.to_static`` of the model (``Global.to_static: true``);
* ``dp2``           - two data-parallel processes (``paddle.distributed.launch``, gloo), each
                      with half the batch: the same global batch, hence the same steps;
* ``to_static+dp2`` - both;
* ``bf16``          - bf16 autocast: run only when the CPU has AVX512-BF16 or AMX AND this
                      Paddle has a bf16 CPU ``conv2d`` kernel (:func:`bf16_refusal`).

The child process is ``python -m ppresnet45 benchmark-train --child SPEC`` (under
``paddle.distributed.launch`` for the dp2 modes), which calls :func:`train_steps`.
"""

import dataclasses
import json
import os
import sys

from ..utils.subproc import LAUNCH_SCRIPT, run_child

MODES = {
    "eager": {"Global.use_onednn": False, "Global.to_static": False},
    "eager+onednn": {"Global.use_onednn": True, "Global.to_static": False},
    "to_static": {"Global.use_onednn": False, "Global.to_static": True},
    "dp2": {"Global.use_onednn": False, "Global.to_static": False},
    "to_static+dp2": {"Global.use_onednn": False, "Global.to_static": True},
    "bf16": {"Global.use_onednn": False, "Global.to_static": False},
}
DEFAULT_MODES = "eager,to_static,dp2,to_static+dp2,bf16"
# the command line of the child process (the hidden --child argument of benchmark-train)
CHILD_COMMAND = ["benchmark-train", "--child"]


def processes(mode):
    """Training processes of ``mode``."""
    return 2 if mode.endswith("dp2") else 1


@dataclasses.dataclass(frozen=True)
class TimingJob:
    """What to time: a config file and the lines to train on.

    Attributes:
        config (str): training config (YAML; its Train section's transforms and model are used).
        data_dir (str): the training images' folder.
        label_files (list[str]): the training label files (read in the config's order).
        batch_size (int): images per step over all processes (each dp2 process gets half).
        steps (int): timed steps (images/s is taken over these).
        warmup (int): untimed steps first.
    """

    config: str
    data_dir: str
    label_files: tuple
    batch_size: int = 16
    steps: int = 20
    warmup: int = 5


def load_average():
    """The 1-minute load average (None where the OS has none)."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


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


def train_steps(spec):
    """The child: train ``spec['warmup'] + spec['steps']`` steps; rank 0 writes the measured row
    to ``spec['row']`` (JSON)."""
    from ..config import load_config
    from .devices import configured_threads
    from .settings import TrainSettings
    from .threads import tuning_steps
    from .trainer import Trainer

    auto = spec["threads"] == "auto"
    opts = dict(MODES[spec["mode"]])
    opts.update(
        {
            "Global.save_model_dir": spec["out"],
            "Global.epoch_num": 1000,
            "Global.print_batch_step": 1,
            "Global.log_smooth_window": spec["steps"],
            "Global.eval_batch_step": 0,
            "Global.cal_metric_during_train": False,
            "Global.cpu_threads": None if auto else spec["threads"],
            "Train.dataset.data_dir": spec["data_dir"],
            "Train.dataset.label_file_list": list(spec["label_files"]),
            "Train.loader.batch_size_per_card": spec["batch_size"],
            "Train.loader.num_workers": 0,
        }
    )
    # the thread / block-time timing's steps (thread count null, or omp_blocktime auto) come on top of
    # the untimed ones: the timed window is the chosen setting's
    settings = TrainSettings.from_config(load_config(spec["config"], [f"{k}={json.dumps(v)}" for k, v in opts.items()]))
    world = processes(spec["mode"])
    spec["warmup"] += tuning_steps(settings, world, configured_threads(settings.cpu_threads, world))
    opts["Global.max_steps"] = total = spec["warmup"] + spec["steps"]
    config = load_config(spec["config"], [f"{k}={json.dumps(v)}" for k, v in opts.items()])
    trainer = Trainer(config, show_progress=False)
    if spec["mode"] == "bf16":
        _autocast_bf16(trainer)
    trainer.fit()
    if trainer.rank == 0:
        _write_row(spec, trainer, total)


def _autocast_bf16(trainer):
    import paddle

    step = trainer._train_step

    def bf16_step(batch):
        with paddle.amp.auto_cast(dtype="bfloat16", level="O1"):
            return step(batch)

    trainer._train_step = bf16_step


def _write_row(spec, trainer, total):
    from ..utils.io import atomic_write_text

    with open(os.path.join(spec["out"], "train_log.jsonl"), encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    last = [r for r in rows if r.get("type") == "train" and r["step"] == total][-1]
    row = {
        "images_per_s": last["images_per_second"],
        "use_onednn": trainer.use_onednn,
        "to_static": trainer.to_static,
        "threads": trainer.cpu_threads,
        "processes": trainer.world_size,
    }
    atomic_write_text(spec["row"], json.dumps(row))


def time_mode(mode, threads, job, out_dir, quiet=False):
    """Time ``mode`` at ``threads`` in fresh process(es); returns the row.

    Args:
        mode (str): a key of :data:`MODES`.
        threads (int | str): CPU threads of all the mode's processes together (dp2: split over
            its 2 processes, at least 1 each), or ``"auto"`` (``Global.cpu_threads: null``: one
            process times 1, 2, ... threads and keeps the fastest, those steps added to the
            untimed ones; dp2 processes take their share of the cores).
        job (TimingJob): what to train.
        out_dir (str): a folder for the run's checkpoint and logs (created).
        quiet (bool): no "running ..." line on stderr.

    Returns:
        dict: ``mode``, ``threads``, ``batch_size``, ``steps``, ``load_before``, ``load_after``
        and either the measured ``images_per_s``, ``use_onednn``, ``to_static``, ``threads``
        (per process, as the trainer set them), ``processes``, or ``error`` / ``refused`` (one line).
    """
    os.makedirs(out_dir, exist_ok=True)
    nproc = processes(mode)
    row = {"mode": mode, "threads": threads, "batch_size": job.batch_size, "steps": job.steps}
    row["load_before"] = load_average()
    if mode == "bf16":
        refusal = bf16_refusal()
        if refusal:
            row["refused"] = refusal
            return row
    spec = {
        "config": os.path.abspath(job.config),
        "mode": mode,
        "threads": threads if threads == "auto" else max(1, int(threads) // nproc),
        "steps": job.steps,
        "warmup": job.warmup,
        "batch_size": max(1, job.batch_size // nproc),  # per process: the same global batch
        "data_dir": os.path.abspath(job.data_dir),
        "label_files": [os.path.abspath(p) for p in job.label_files],
        "out": out_dir,
        "row": os.path.join(out_dir, "row.json"),
    }
    env = dict(os.environ)
    cmd = [sys.executable, "-m", "ppresnet45", *CHILD_COMMAND]
    if nproc > 1:
        env["PADDLE_DISTRI_BACKEND"] = "gloo"
        launch = ["-m", "paddle.distributed.launch", "--nproc_per_node", str(nproc)]
        cmd = [sys.executable, *launch, "--log_dir", os.path.join(out_dir, "launch_log"), LAUNCH_SCRIPT, *CHILD_COMMAND]
    if not quiet:
        print(f"running {mode}, {threads} thread(s) ...", file=sys.stderr, flush=True)
    proc = run_child(cmd + [json.dumps(spec)], capture_output=True, text=True, env=env)
    row["load_after"] = load_average()
    if proc.returncode == 0 and os.path.isfile(spec["row"]):
        with open(spec["row"], encoding="utf-8") as f:
            row.update(json.load(f))
    else:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        row["error"] = f"exit {proc.returncode}: {tail}"
    return row
