"""The ``Global`` keys that steer a training run, read and checked once.

Every bad value is a :class:`~ppresnet45.errors.ConfigError` naming ``Global.<key>``, raised
before any data is read or any model is built.

Keys of PaddleOCR's ABINet / VisionLAN recipes that are accepted and unused by training:
``character_type`` (the dictionary alone decides the characters), ``infer_mode``,
``infer_img``, ``save_res_path`` (PaddleOCR's inference script) and ``training_step``
(a YAML anchor there; the head, loss and optimizer keys it fills decide).
"""

import dataclasses

from ..errors import ConfigError


def global_value(glob, key, default, types, check=None, expected=""):
    """``glob[key]`` (``default`` when missing or null), checked against ``types`` and ``check``."""
    value = glob.get(key, default)
    if value is None:
        value = default
    wrong_bool = isinstance(value, bool) and bool not in types
    if wrong_bool or not isinstance(value, types) or (check is not None and not check(value)):
        raise ConfigError(f"Global.{key}: expected {expected or types[0].__name__}, got {value!r}")
    return value


def omp_blocktime_of(glob):
    """``Global.omp_blocktime``: missing or ``auto`` -> ``"auto"`` (training times 0 ms against the
    runtime's 200 with its thread counts, :mod:`.threads`); null -> None (the OpenMP runtime's
    own 200 ms); an int -> those milliseconds."""
    value = glob.get("omp_blocktime", "auto")
    if value is None or value == "auto":
        return value
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10000:
        raise ConfigError(f"Global.omp_blocktime: expected milliseconds in [0, 10000], auto or null, got {value!r}")
    return value


def parse_eval_interval(value):
    """``Global.eval_batch_step`` → ``(start, every)``: ``[start, every]`` as in PaddleOCR, or
    an int ``every`` (start 0). ``every <= 0`` disables evaluation during training."""
    if isinstance(value, bool):
        raise ConfigError(f"Global.eval_batch_step: expected an int or [start, every], got {value!r}")
    if isinstance(value, int):
        return 0, value
    if (
        isinstance(value, (list, tuple))
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        and value[0] >= 0
    ):
        return int(value[0]), int(value[1])
    raise ConfigError(f"Global.eval_batch_step: expected an int or [start, every] of ints >= 0, got {value!r}")


def should_evaluate(step, start, every):
    """True when step ``step`` (1-based count of finished steps) is an evaluation step."""
    return every > 0 and step > start and (step - start) % every == 0


def _at_least(minimum):
    return lambda v: v >= minimum


@dataclasses.dataclass(frozen=True)
class TrainSettings:
    """The run's ``Global`` settings (PaddleOCR's key names where they differ from the field)."""

    save_dir: str = "./output/rec"  # save_model_dir
    epoch_num: int = 1
    max_steps: int = 0  # 0: no limit
    print_batch_step: int = 10
    smooth_window: int = 20  # log_smooth_window
    save_epoch_step: int = 0
    cal_metric: bool = True  # cal_metric_during_train
    eval_start: int = 0  # eval_batch_step[0]
    eval_every: int = 500  # eval_batch_step[1]
    seed: int = 0
    use_gpu: bool = False
    use_onednn: bool = False
    to_static: bool = False
    cpu_threads: object = None  # checked by devices.configure_cpu
    omp_blocktime: object = (
        "auto"  # ms an idle OpenMP worker spins (devices.set_omp_blocktime); None: the runtime's; "auto": timed
    )
    checkpoints: object = None
    pretrained_model: object = None
    use_visualdl: bool = False

    @classmethod
    def from_config(cls, config):
        """Read and check ``config['Global']``."""
        glob = config.get("Global") or {}
        eval_start, eval_every = parse_eval_interval(glob.get("eval_batch_step", [0, 500]))
        return cls(
            save_dir=global_value(glob, "save_model_dir", cls.save_dir, (str,)),
            epoch_num=global_value(glob, "epoch_num", 1, (int,), _at_least(1), "an int >= 1"),
            max_steps=global_value(glob, "max_steps", 0, (int,), _at_least(0), "an int >= 0 or null"),
            print_batch_step=global_value(glob, "print_batch_step", 10, (int,), _at_least(1), "an int >= 1"),
            smooth_window=global_value(glob, "log_smooth_window", 20, (int,), _at_least(1), "an int >= 1"),
            save_epoch_step=global_value(glob, "save_epoch_step", 0, (int,), _at_least(0), "an int >= 0"),
            cal_metric=bool(glob.get("cal_metric_during_train", True)),
            eval_start=eval_start,
            eval_every=eval_every,
            seed=global_value(glob, "seed", 0, (int,), lambda v: 0 <= v < 2**32, "an int in [0, 2**32)"),
            use_gpu=bool(glob.get("use_gpu", False)),
            use_onednn=bool(glob.get("use_onednn", False)),
            to_static=bool(glob.get("to_static", False)),
            cpu_threads=glob.get("cpu_threads"),
            omp_blocktime=omp_blocktime_of(glob),
            checkpoints=glob.get("checkpoints") or None,
            pretrained_model=glob.get("pretrained_model") or None,
            use_visualdl=bool(glob.get("use_visualdl", False)),
        )
