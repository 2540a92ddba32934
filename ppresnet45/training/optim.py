"""Optimizers and step-based learning-rate schedules from PaddleOCR's ``Optimizer:`` section.

The section reads as in PaddleOCR::

    Optimizer:
      name: Adam            # Adam | AdamW | Momentum (SGD with momentum; alias SGD)
      beta1: 0.9
      beta2: 0.999
      lr:
        name: Cosine        # Const | Piecewise | Cosine
        learning_rate: 0.001
        warmup_epoch: 1
      regularizer: {name: L2, factor: 3.0e-05}
      clip_norm: 10.0       # per-parameter gradient-norm clipping (clip_norm_global: global norm)

Schedules count optimizer steps, not epochs: epoch values (``warmup_epoch``,
``decay_epochs``) are converted with the number of batches per epoch, so resuming at a
step gives the same learning rate as an uninterrupted run.

* Warm-up: during the first ``W = round(warmup_epoch * steps_per_epoch)`` steps the rate
  rises linearly, ``lr = target * (step + 1) / W``, where ``target`` is the schedule's first
  value; from step ``W`` on the schedule itself applies.
* ``Const``: ``learning_rate`` throughout.
* ``Piecewise``: ``values[i]`` from epoch ``decay_epochs[i - 1]`` on (boundaries are
  absolute epochs, warm-up included).
* ``Cosine``: ``learning_rate * (1 + cos(pi * t)) / 2`` with ``t`` going from 0 right after
  warm-up to 1 at the last step of ``epoch_num`` epochs.
"""

import math

import paddle

from ..errors import ConfigError

LR_NAMES = ("Const", "Piecewise", "Cosine")
OPTIMIZER_NAMES = ("Adam", "AdamW", "Momentum", "SGD")

_LR_KEYS = {
    "Const": {"name", "learning_rate", "warmup_epoch", "warmup_steps"},
    "Piecewise": {"name", "decay_epochs", "values", "warmup_epoch", "warmup_steps", "learning_rate"},
    "Cosine": {"name", "learning_rate", "warmup_epoch", "warmup_steps", "min_lr"},
}
_OPT_KEYS = {
    "name", "lr", "regularizer", "clip_norm", "clip_norm_global", "beta1", "beta2", "epsilon", "momentum",
    "use_nesterov", "weight_decay", "no_weight_decay_name", "one_dim_param_no_weight_decay",
}


def _number(value, key, minimum=0.0, allow_equal=True):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{key}: expected a number, got {value!r}")
    if value < minimum or (not allow_equal and value == minimum):
        op = ">=" if allow_equal else ">"
        raise ConfigError(f"{key}: expected a number {op} {minimum}, got {value!r}")
    return float(value)


class StepLRSchedule(paddle.optimizer.lr.LRScheduler):
    """A learning rate that is a pure function of the optimizer step (``last_epoch``).

    Args:
        name (str): ``"Const"``, ``"Piecewise"`` or ``"Cosine"``.
        learning_rate (float): base rate (``Const``/``Cosine``).
        total_steps (int): steps of the whole run (``epoch_num * steps_per_epoch``); the end
            of the cosine.
        warmup_steps (int): linear warm-up length in steps.
        boundaries (list[int] | None): ``Piecewise`` step boundaries.
        values (list[float] | None): ``Piecewise`` rates, one more than ``boundaries``.
        min_lr (float): ``Cosine`` floor.
        last_step (int): the step to start at (``-1`` for a fresh run).
    """

    def __init__(self, name, learning_rate=0.001, total_steps=1, warmup_steps=0, boundaries=None, values=None,
                 min_lr=0.0, last_step=-1):
        if name not in LR_NAMES:
            raise ConfigError(f"Optimizer.lr.name: unknown schedule {name!r}, expected one of {', '.join(LR_NAMES)}")
        self.name = name
        self.total_steps = max(int(total_steps), 1)
        self.warmup_steps = max(int(warmup_steps), 0)
        self.boundaries = list(boundaries or [])
        self.values = [float(v) for v in (values or [])]
        self.min_lr = float(min_lr)
        base = self.values[0] if name == "Piecewise" else float(learning_rate)
        super().__init__(learning_rate=base, last_epoch=last_step)

    def target_lr(self, step):
        """The schedule without warm-up at ``step``."""
        if self.name == "Const":
            return self.base_lr
        if self.name == "Piecewise":
            index = sum(1 for b in self.boundaries if step >= b)
            return self.values[index]
        span = max(self.total_steps - self.warmup_steps, 1)
        t = min(max(step - self.warmup_steps, 0) / span, 1.0)
        return self.min_lr + (self.base_lr - self.min_lr) * 0.5 * (1.0 + math.cos(math.pi * t))

    def lr_at(self, step):
        """The learning rate used by optimizer step ``step`` (0-based)."""
        step = max(int(step), 0)
        if step < self.warmup_steps:
            return self.target_lr(self.warmup_steps if self.name == "Cosine" else 0) * (step + 1) / self.warmup_steps
        return self.target_lr(step)

    def get_lr(self):
        return self.lr_at(self.last_epoch)


def build_lr_scheduler(lr_cfg, epoch_num, steps_per_epoch, last_step=-1):
    """Build a :class:`StepLRSchedule` from ``Optimizer.lr``.

    Args:
        lr_cfg (dict | float | int): the ``lr`` mapping, or a bare number (constant rate).
        epoch_num (int): epochs of the run (``Global.epoch_num``).
        steps_per_epoch (int): batches per epoch on one card.
        last_step (int): resume at this step (``-1`` = fresh run).
    """
    if isinstance(lr_cfg, (int, float)) and not isinstance(lr_cfg, bool):
        lr_cfg = {"name": "Const", "learning_rate": lr_cfg}
    if lr_cfg is None:
        lr_cfg = {"name": "Const", "learning_rate": 0.001}
    if not isinstance(lr_cfg, dict):
        raise ConfigError(f"Optimizer.lr: expected a mapping like {{name: Cosine, learning_rate: 0.001}}, got {lr_cfg!r}")
    name = lr_cfg.get("name", "Const")
    if name not in LR_NAMES:
        raise ConfigError(f"Optimizer.lr.name: unknown schedule {name!r}, expected one of {', '.join(LR_NAMES)}")
    unknown = sorted(set(lr_cfg) - _LR_KEYS[name])
    if unknown:
        raise ConfigError(
            f"Optimizer.lr: unknown key(s) {', '.join(unknown)} for {name}; accepted: {', '.join(sorted(_LR_KEYS[name]))}"
        )
    steps_per_epoch = max(int(steps_per_epoch), 1)
    total_steps = max(int(epoch_num), 1) * steps_per_epoch
    if "warmup_steps" in lr_cfg:
        warmup = int(_number(lr_cfg["warmup_steps"], "Optimizer.lr.warmup_steps"))
    else:
        warmup = int(round(_number(lr_cfg.get("warmup_epoch", 0), "Optimizer.lr.warmup_epoch") * steps_per_epoch))
    kwargs = dict(name=name, total_steps=total_steps, warmup_steps=warmup, last_step=last_step)
    if name == "Piecewise":
        epochs, values = lr_cfg.get("decay_epochs"), lr_cfg.get("values")
        if not isinstance(epochs, list) or not isinstance(values, list) or len(values) != len(epochs) + 1:
            raise ConfigError(
                "Optimizer.lr: Piecewise needs decay_epochs (list) and values (list with one more entry), got "
                f"decay_epochs={epochs!r}, values={values!r}"
            )
        for i, e in enumerate(epochs):
            _number(e, f"Optimizer.lr.decay_epochs[{i}]")
        if any(b <= a for a, b in zip(epochs, epochs[1:])):
            raise ConfigError(f"Optimizer.lr.decay_epochs: expected increasing epochs, got {epochs!r}")
        kwargs["values"] = [_number(v, f"Optimizer.lr.values[{i}]") for i, v in enumerate(values)]
        kwargs["boundaries"] = [int(round(e * steps_per_epoch)) for e in epochs]
    else:
        kwargs["learning_rate"] = _number(lr_cfg.get("learning_rate", 0.001), "Optimizer.lr.learning_rate")
        if name == "Cosine":
            kwargs["min_lr"] = _number(lr_cfg.get("min_lr", 0.0), "Optimizer.lr.min_lr")
    return StepLRSchedule(**kwargs)


def _regularizer(reg_cfg):
    if reg_cfg is None:
        return None
    if not isinstance(reg_cfg, dict) or "name" not in reg_cfg:
        raise ConfigError(f"Optimizer.regularizer: expected {{name: L2, factor: 3.0e-05}}, got {reg_cfg!r}")
    name = str(reg_cfg["name"]).upper().replace("DECAY", "")
    factor = _number(reg_cfg.get("factor", 0.0), "Optimizer.regularizer.factor")
    if name not in ("L1", "L2"):
        raise ConfigError(f"Optimizer.regularizer.name: expected L1 or L2, got {reg_cfg['name']!r}")
    if factor == 0.0:
        return None
    return paddle.regularizer.L2Decay(factor) if name == "L2" else paddle.regularizer.L1Decay(factor)


def _grad_clip(opt_cfg):
    if opt_cfg.get("clip_norm") is not None:
        value = _number(opt_cfg["clip_norm"], "Optimizer.clip_norm", 0.0, allow_equal=False)
        return paddle.nn.ClipGradByNorm(clip_norm=value)
    if opt_cfg.get("clip_norm_global") is not None:
        value = _number(opt_cfg["clip_norm_global"], "Optimizer.clip_norm_global", 0.0, allow_equal=False)
        return paddle.nn.ClipGradByGlobalNorm(clip_norm=value)
    return None


def build_optimizer(opt_cfg, epoch_num, steps_per_epoch, model, last_step=-1):
    """Build the optimizer and its schedule from the ``Optimizer`` section.

    Args:
        opt_cfg (dict): the ``Optimizer`` section (see the module docstring).
        epoch_num (int): ``Global.epoch_num``.
        steps_per_epoch (int): batches per epoch (per card).
        model (paddle.nn.Layer): the model whose parameters are optimised.
        last_step (int): resume at this step (``-1`` = fresh run).

    Returns:
        tuple[paddle.optimizer.Optimizer, StepLRSchedule]: the optimizer and its schedule
        (call ``schedule.step()`` after each ``optimizer.step()``).
    """
    opt_cfg = dict(opt_cfg or {"name": "Adam"})
    name = opt_cfg.get("name", "Adam")
    if name not in OPTIMIZER_NAMES:
        raise ConfigError(f"Optimizer.name: unknown optimizer {name!r}, expected one of Adam, AdamW, Momentum (SGD)")
    unknown = sorted(set(opt_cfg) - _OPT_KEYS)
    if unknown:
        raise ConfigError(f"Optimizer: unknown key(s) {', '.join(unknown)}; accepted: {', '.join(sorted(_OPT_KEYS))}")
    schedule = build_lr_scheduler(opt_cfg.get("lr"), epoch_num, steps_per_epoch, last_step=last_step)
    params = [p for p in model.parameters() if not p.stop_gradient]
    clip = _grad_clip(opt_cfg)
    reg = _regularizer(opt_cfg.get("regularizer"))
    if name in ("Adam", "AdamW"):
        common = dict(
            learning_rate=schedule,
            beta1=_number(opt_cfg.get("beta1", 0.9), "Optimizer.beta1"),
            beta2=_number(opt_cfg.get("beta2", 0.999), "Optimizer.beta2"),
            epsilon=_number(opt_cfg.get("epsilon", 1e-8), "Optimizer.epsilon", 0.0, allow_equal=False),
            parameters=params,
            grad_clip=clip,
        )
        if name == "Adam":
            return paddle.optimizer.Adam(weight_decay=reg, **common), schedule
        decay = opt_cfg.get("weight_decay")
        if decay is None:
            decay = reg._coeff if reg is not None else 0.01  # PaddleOCR's default for AdamW
        decay = _number(decay, "Optimizer.weight_decay")
        no_decay_names = str(opt_cfg.get("no_weight_decay_name") or "").split()
        one_dim_no_decay = bool(opt_cfg.get("one_dim_param_no_weight_decay", False))
        names_by_param = {p.name: n for n, p in model.named_parameters()}
        exempt = {
            p.name
            for p in params
            if any(k in names_by_param.get(p.name, "") for k in no_decay_names) or (one_dim_no_decay and p.ndim == 1)
        }
        return paddle.optimizer.AdamW(
            weight_decay=decay, apply_decay_param_fun=lambda pname: pname not in exempt, **common
        ), schedule
    return paddle.optimizer.Momentum(
        learning_rate=schedule,
        momentum=_number(opt_cfg.get("momentum", 0.9), "Optimizer.momentum"),
        use_nesterov=bool(opt_cfg.get("use_nesterov", False)),
        parameters=params,
        weight_decay=reg,
        grad_clip=clip,
    ), schedule
