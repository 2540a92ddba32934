"""How ``ppresnet45 train-demo`` trains: in one eager process, in two data-parallel eager
processes (``--nproc 2``), or in two with ``paddle.jit.to_static`` (``--nproc 2 -o
Global.to_static=true``), whichever this CPU runs fastest.

Which is faster depends on the CPU, its cores and what else runs on it, so ``--mode auto`` (the
default) times each for a few steps on the rendered training lines
(:func:`ppresnet45.training.speed.time_mode`, each mode in its own process(es)) and trains in
the fastest. It does not time when the run is too short for the probe to pay (it would cost
more than :data:`MAX_PROBE_SHARE` of the run), when the process has one core (two processes
would share it), for the staged algorithms (abinet, visionlan: they train as before), or when
the user chose: an explicit ``--nproc`` or ``-o Global.to_static=...`` always wins.
"""

import dataclasses
import math
import os
import tempfile

CHOICES = ("auto", "eager", "dp2", "to_static+dp2")
# (nproc, Global.to_static) of each mode train-demo can choose (and times, in this order)
SETTINGS = {"eager": (1, False), "dp2": (2, False), "to_static+dp2": (2, True)}
PROBE_WARMUP = 3  # untimed steps per mode (the first ones compile the to_static program)
PROBE_STEPS = 6  # timed steps per mode
# One process start (Python, Paddle, the model, the loader; to_static's conversion comes in the
# warm-up steps) in steps' worth: an estimate, so that the probe's cost can be compared with the
# run's steps on any CPU (both scale with its speed).
START_STEPS = 15
MAX_PROBE_SHARE = 0.05  # probe only when it costs at most this share of the training run


@dataclasses.dataclass
class TrainMode:
    """How the run trains and why.

    Attributes:
        mode (str): ``eager``, ``dp2``, ``to_static+dp2``, or ``as given`` (the user's --nproc / -o).
        nproc (int): training processes.
        to_static (bool | None): the ``Global.to_static`` to set; None: keep the config's.
        line (str): the one log line saying what was measured or why nothing was, and the choice.
        probe (list[dict] | None): the probe's rows (:func:`~ppresnet45.training.speed.time_mode`).
    """

    mode: str
    nproc: int
    to_static: object
    line: str
    probe: object = None

    def record(self, requested):
        """The JSON record for demo_result.json."""
        return {
            "requested": requested,
            "chosen": self.mode,
            "nproc": self.nproc,
            "to_static": self.to_static,
            "why": self.line,
            "probe": self.probe,
        }


def probe_cost_steps(cores):
    """The probe's cost in training steps' worth (an estimate): both modes' warm-up and timed
    steps, eager's thread timing (``Global.cpu_threads: null`` on more than one core) and a
    process start for each mode."""
    from .settings import TrainSettings
    from .threads import tuning_steps

    tuner = tuning_steps(TrainSettings.from_config({"Global": {}}), 1, cores)  # threads null, block time auto
    return len(SETTINGS) * (PROBE_WARMUP + PROBE_STEPS + START_STEPS) + tuner


def min_run_steps(cores):
    """The shortest run (in steps) that is timed first."""
    return math.ceil(probe_cost_steps(cores) / MAX_PROBE_SHARE)


def skip_reason(requested, algorithm, nproc, to_static, cores, run_steps):
    """Why ``--mode auto`` does not time the modes (one phrase), or None when it does."""
    given = [name for name, value in (("--nproc", nproc), ("-o Global.to_static", to_static)) if value is not None]
    if requested != "auto":
        return f"--mode {requested}" + (f", {' and '.join(given)} given" if given else "")
    if given:
        return f"{' and '.join(given)} given"
    if algorithm != "ctc":
        return f"--algorithm {algorithm} trains its stages as before; the probe is for ctc"
    if cores < 2:
        return "this process has 1 CPU core; dp2 and to_static+dp2 need 2"
    if run_steps < min_run_steps(cores):
        return (
            f"{run_steps} training steps: timing the modes (~{probe_cost_steps(cores)} steps' worth) would "
            f"cost over {MAX_PROBE_SHARE:.0%} of the run; it is timed from {min_run_steps(cores)} steps"
        )
    return None


def faster(rows):
    """``(chosen mode, its row, the other rows)`` from the probe's rows: the highest images/s;
    a mode whose row has none (it failed) is not chosen; eager when all failed."""
    by_mode = {r["mode"]: r for r in rows}
    ok = [r for r in rows if (r.get("images_per_s") or 0) > 0]
    best = max(ok, key=lambda r: r["images_per_s"]) if ok else by_mode.get("eager", rows[0])
    return best["mode"], best, [r for r in rows if r is not best]


def _describe(nproc, to_static):
    return f"training in {nproc} process{'es' if nproc > 1 else ''} with Global.to_static={str(to_static).lower()}"


def _load(rows):
    loads = [r[k] for r in rows for k in ("load_before", "load_after") if r.get(k) is not None]
    if not loads:
        return "load unknown"
    low, high = min(loads), max(loads)
    return f"load {low:.1f}" if f"{low:.1f}" == f"{high:.1f}" else f"load {low:.1f}-{high:.1f}"


def _measured_line(rows, chosen, best, others):
    if (best.get("images_per_s") or 0) <= 0:
        errors = "; ".join(f"{r['mode']}: {r.get('error', 'no images/s')}" for r in rows)
        return f"train-demo: the speed probe failed ({errors}), so eager"
    parts = []
    for other in others:
        if (other.get("images_per_s") or 0) > 0:
            parts.append(
                f"{other['mode']} {other['images_per_s']:.1f} ({best['images_per_s'] / other['images_per_s']:.2f}x)"
            )
        else:
            parts.append(f"{other['mode']} failed ({other.get('error', 'no images/s')})")
    return f"train-demo: {chosen} {best['images_per_s']:.1f} images/s vs {', '.join(parts)}, {_load(rows)}"


def decide(requested, algorithm, nproc, to_static, config_to_static, cores, run_steps, probe):
    """How to train.

    Args:
        requested (str): ``--mode`` (one of :data:`CHOICES`).
        algorithm (str): ``--algorithm``.
        nproc (int | None): an explicit ``--nproc`` (None: not given).
        to_static (bool | None): an explicit ``-o Global.to_static`` (None: not given).
        config_to_static (bool): the config's ``Global.to_static`` (the -o overrides applied).
        cores (int): CPU cores this process may use.
        run_steps (int): the training run's steps.
        probe (callable): ``probe(modes) -> rows``, called only when ``--mode auto`` times them.

    Returns:
        TrainMode: what to train with, the log line and the probe's rows.
    """
    reason = skip_reason(requested, algorithm, nproc, to_static, cores, run_steps)
    if reason is None:
        rows = probe(list(SETTINGS))
        chosen, best, others = faster(rows)
        n, static = SETTINGS[chosen]
        line = _measured_line(rows, chosen, best, others)
        return TrainMode(chosen, n, static, f"{line}: {_describe(n, static)}", rows)
    if requested in SETTINGS:
        mode_nproc, mode_static = SETTINGS[requested]
        n = mode_nproc if nproc is None else nproc
        static = mode_static if to_static is None else to_static
        mode = requested if (n, static) == SETTINGS[requested] else "as given"
        return TrainMode(mode, n, None if to_static is not None else static, _line(reason, n, static))
    n = 1 if nproc is None else nproc
    static = config_to_static if to_static is None else to_static
    mode = "as given" if nproc is not None or to_static is not None else "eager"
    if mode == "eager" and static:  # a -c config of the user's that trains with to_static
        mode = "as given"
    return TrainMode(mode, n, None, _line(reason, n, static))


def _line(reason, nproc, to_static):
    return f"train-demo: no speed probe ({reason}): {_describe(nproc, to_static)}"


def probe_modes(config, modes, parent_dir, show_progress=True, warmup=PROBE_WARMUP, steps=PROBE_STEPS):
    """Time ``modes`` (each in its own process(es)) training ``config`` for ``warmup`` untimed +
    ``steps`` timed steps on its training lines; returns their rows.

    The threads are the ones the run would use: ``Global.cpu_threads: null`` times them as the
    run does (``auto``), an explicit count is per process, as in training. The probe's
    checkpoints and logs go to a temporary folder in ``parent_dir``, removed afterwards.
    """
    os.makedirs(parent_dir, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mode_probe-", dir=parent_dir) as work_dir:
        return _probe_in(config, modes, work_dir, show_progress, warmup, steps)


def _probe_in(config, modes, work_dir, show_progress, warmup, steps):
    from tqdm import tqdm

    from ..config import save_config
    from .speed import TimingJob, processes, time_mode

    path = os.path.join(work_dir, "config.yml")
    save_config(config, path)
    train = config["Train"]
    job = TimingJob(
        path,
        train["dataset"]["data_dir"],
        tuple(train["dataset"]["label_file_list"]),
        batch_size=int(train["loader"]["batch_size_per_card"]),
        steps=steps,
        warmup=warmup,
    )
    threads = config["Global"].get("cpu_threads")
    rows = []
    for mode in tqdm(modes, desc="timing modes", unit="mode", disable=not show_progress, leave=False):
        per_run = "auto" if threads is None else int(threads) * processes(mode)
        rows.append(time_mode(mode, per_run, job, os.path.join(work_dir, mode), quiet=True))
    return rows
