"""Optimizers and step-based learning-rate schedules from PaddleOCR's ``Optimizer:`` section.

The section reads as in PaddleOCR::

    Optimizer:
      name: Adam            # Adam | AdamW | Momentum | SGD (Momentum under PaddleOCR's other name)
      beta1: 0.9
      beta2: 0.999
      lr:
        name: Cosine        # Const | Piecewise | Cosine
        learning_rate: 0.001
        warmup_epoch: 1
      regularizer: {name: L2, factor: 3.0e-05}
      clip_norm: 10.0       # per-parameter gradient-norm clipping (clip_norm_global: global norm)
      group_lr: false       # VisionLAN LF_2: MLM at the scheduled rate, the rest at 0.1x (see param_groups)
      training_step: LA     # VisionLAN's step (LF_1 | LF_2 | LA); default the head's

``Optimizer.name`` is looked up in :data:`ppresnet45.registry.OPTIMIZERS` and
``Optimizer.lr.name`` in :data:`ppresnet45.registry.LR_SCHEDULERS`, so an unknown name or
key is a one-line :class:`~ppresnet45.errors.RegistryError` listing what exists, and a
plugin can register its own. An ``OPTIMIZERS`` entry is built from the section's keys
(without ``name`` and ``lr``) and called as ``entry(model, schedule)`` to make the Paddle
optimizer; an ``LR_SCHEDULERS`` entry is built from the ``lr`` keys (without ``name``) and
called as ``entry(epoch_num, steps_per_epoch, last_step)`` to make the
``paddle.optimizer.lr.LRScheduler``.

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
from ..registry import LR_SCHEDULERS, OPTIMIZERS
from .param_groups import parameter_groups, trainable_parameters


def _number(value, key, minimum=0.0, allow_equal=True, below=None):
    """``value`` as a finite float ``>= minimum`` (``> minimum`` unless ``allow_equal``) and,
    with ``below``, ``< below``; else a one-line ConfigError naming ``key``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{key}: expected a number, got {value!r}")
    try:
        number = float(value)
    except OverflowError:  # an int beyond float's range
        number = math.inf
    if not math.isfinite(number):
        raise ConfigError(f"{key}: expected a finite number, got {value!r}")
    if below is not None and not (minimum <= number < below):
        raise ConfigError(f"{key}: expected a number in [{minimum}, {below}), got {value!r}")
    if number < minimum or (not allow_equal and number == minimum):
        op = ">=" if allow_equal else ">"
        raise ConfigError(f"{key}: expected a number {op} {minimum}, got {value!r}")
    return number


# ---------------------------------------------------------------------------- schedules
class StepLRSchedule(paddle.optimizer.lr.LRScheduler):
    """A learning rate that is a pure function of the optimizer step (``last_epoch``).

    Args:
        rate (Callable[[int], float]): the schedule without warm-up, by 0-based step.
        warmup_steps (int): linear warm-up length in steps.
        peak (float | None): the rate the warm-up rises to (default ``rate(0)``).
        last_step (int): the step to start at (``-1`` for a fresh run).
    """

    def __init__(self, rate, warmup_steps=0, peak=None, last_step=-1):
        self.rate = rate
        self.warmup_steps = max(int(warmup_steps), 0)
        self.peak = float(rate(0) if peak is None else peak)
        super().__init__(learning_rate=self.peak, last_epoch=last_step)

    def lr_at(self, step):
        """The learning rate used by optimizer step ``step`` (0-based)."""
        step = max(int(step), 0)
        if step < self.warmup_steps:
            return self.peak * (step + 1) / self.warmup_steps
        return self.rate(step)

    def get_lr(self):
        return self.lr_at(self.last_epoch)


class _Schedule:
    """An ``Optimizer.lr`` entry: the warm-up keys every schedule accepts; subclasses give
    :meth:`rate` and may override :meth:`peak_step`."""

    def __init__(self, warmup_epoch=0, warmup_steps=None):
        self.warmup_epoch = _number(warmup_epoch, "Optimizer.lr.warmup_epoch")
        self.warmup_steps = None
        if warmup_steps is not None:
            self.warmup_steps = int(_number(warmup_steps, "Optimizer.lr.warmup_steps"))

    def rate(self, steps_per_epoch, total_steps, warmup_steps):
        """The schedule without warm-up: a function of the 0-based step."""
        raise NotImplementedError

    def peak_step(self, warmup_steps):
        """The step whose rate the warm-up rises to."""
        return 0

    def __call__(self, epoch_num, steps_per_epoch, last_step=-1):
        """The :class:`StepLRSchedule` of a run of ``epoch_num`` epochs of ``steps_per_epoch``."""
        steps_per_epoch = max(int(steps_per_epoch), 1)
        total_steps = max(int(epoch_num), 1) * steps_per_epoch
        warmup = self.warmup_steps
        if warmup is None:
            steps = self.warmup_epoch * steps_per_epoch
            if not math.isfinite(steps):
                raise ConfigError(
                    f"Optimizer.lr.warmup_epoch: expected a finite number of epochs, got {self.warmup_epoch!r}"
                )
            warmup = int(round(steps))
        rate = self.rate(steps_per_epoch, total_steps, warmup)
        return StepLRSchedule(rate, warmup, peak=rate(self.peak_step(warmup)), last_step=last_step)


@LR_SCHEDULERS.register()
class Const(_Schedule):
    """``learning_rate`` throughout (after the warm-up)."""

    def __init__(self, learning_rate=0.001, warmup_epoch=0, warmup_steps=None):
        super().__init__(warmup_epoch, warmup_steps)
        self.learning_rate = _number(learning_rate, "Optimizer.lr.learning_rate", 0.0, allow_equal=False)

    def rate(self, steps_per_epoch, total_steps, warmup_steps):
        lr = self.learning_rate
        return lambda step: lr


@LR_SCHEDULERS.register()
class Piecewise(_Schedule):
    """``values[i]`` from epoch ``decay_epochs[i - 1]`` on; ``learning_rate`` is accepted
    (PaddleOCR configs set it) and unused."""

    def __init__(self, decay_epochs=None, values=None, learning_rate=None, warmup_epoch=0, warmup_steps=None):
        if not isinstance(decay_epochs, list) or not isinstance(values, list) or len(values) != len(decay_epochs) + 1:
            raise ConfigError(
                "Optimizer.lr: Piecewise needs decay_epochs (list) and values (list with one more entry), got "
                f"decay_epochs={decay_epochs!r}, values={values!r}"
            )
        super().__init__(warmup_epoch, warmup_steps)
        self.decay_epochs = [_number(e, f"Optimizer.lr.decay_epochs[{i}]") for i, e in enumerate(decay_epochs)]
        if any(b <= a for a, b in zip(self.decay_epochs, self.decay_epochs[1:])):
            raise ConfigError(f"Optimizer.lr.decay_epochs: expected increasing epochs, got {decay_epochs!r}")
        self.values = [_number(v, f"Optimizer.lr.values[{i}]") for i, v in enumerate(values)]

    def rate(self, steps_per_epoch, total_steps, warmup_steps):
        boundaries = [int(round(e * steps_per_epoch)) for e in self.decay_epochs]
        values = list(self.values)
        return lambda step: values[sum(1 for b in boundaries if step >= b)]


@LR_SCHEDULERS.register()
class Cosine(_Schedule):
    """Cosine decay from ``learning_rate`` right after the warm-up to ``min_lr`` at the last step."""

    def __init__(self, learning_rate=0.001, warmup_epoch=0, warmup_steps=None, min_lr=0.0):
        super().__init__(warmup_epoch, warmup_steps)
        self.learning_rate = _number(learning_rate, "Optimizer.lr.learning_rate", 0.0, allow_equal=False)
        self.min_lr = _number(min_lr, "Optimizer.lr.min_lr")

    def rate(self, steps_per_epoch, total_steps, warmup_steps):
        lr, min_lr = self.learning_rate, self.min_lr
        span = max(total_steps - warmup_steps, 1)

        def cosine(step):
            t = min(max(step - warmup_steps, 0) / span, 1.0)
            return min_lr + (lr - min_lr) * 0.5 * (1.0 + math.cos(math.pi * t))

        return cosine

    def peak_step(self, warmup_steps):
        return warmup_steps


def build_lr_scheduler(lr_cfg, epoch_num, steps_per_epoch, last_step=-1):
    """Build the step schedule of ``Optimizer.lr``.

    Args:
        lr_cfg (dict | float | int | None): the ``lr`` mapping (``name`` defaults to
            ``Const``), or a bare number (constant rate); None: constant 0.001.
        epoch_num (int): epochs of the run (``Global.epoch_num``).
        steps_per_epoch (int): batches per epoch on one card.
        last_step (int): resume at this step (``-1`` = fresh run).

    Returns:
        paddle.optimizer.lr.LRScheduler: a :class:`StepLRSchedule` for the built-in names.
    """
    if isinstance(lr_cfg, (int, float)) and not isinstance(lr_cfg, bool):
        lr_cfg = {"name": "Const", "learning_rate": lr_cfg}
    if lr_cfg is None:
        lr_cfg = {"name": "Const", "learning_rate": 0.001}
    if not isinstance(lr_cfg, dict):
        raise ConfigError(
            f"Optimizer.lr: expected a mapping like {{name: Cosine, learning_rate: 0.001}}, got {lr_cfg!r}"
        )
    entry = LR_SCHEDULERS.build({"name": "Const", **lr_cfg})
    return entry(epoch_num, steps_per_epoch, last_step=last_step)


# ---------------------------------------------------------------------------- optimizers
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


def _grad_clip(clip_norm, clip_norm_global):
    if clip_norm is not None:
        return paddle.nn.ClipGradByNorm(clip_norm=_number(clip_norm, "Optimizer.clip_norm", 0.0, allow_equal=False))
    if clip_norm_global is not None:
        value = _number(clip_norm_global, "Optimizer.clip_norm_global", 0.0, allow_equal=False)
        return paddle.nn.ClipGradByGlobalNorm(clip_norm=value)
    return None


class _Optimizer:
    """An ``Optimizer`` entry: the keys every optimizer accepts (weight regularizer, gradient
    clipping, VisionLAN's ``group_lr`` / ``training_step``, see :mod:`.param_groups`);
    subclasses make the Paddle optimizer in ``__call__(model, schedule)``."""

    def __init__(self, regularizer=None, clip_norm=None, clip_norm_global=None, group_lr=False, training_step=None):
        self.grad_clip = _grad_clip(clip_norm, clip_norm_global)
        self.regularizer = _regularizer(regularizer)
        if not isinstance(group_lr, bool):
            raise ConfigError(f"Optimizer.group_lr: expected true or false, got {group_lr!r}")
        self.group_lr = group_lr
        self.training_step = training_step

    def parameters(self, model):
        """The optimizer's ``parameters``: the trainable ones, or VisionLAN's LF_2 groups."""
        return parameter_groups(model, self.group_lr, self.training_step)

    def __call__(self, model, schedule):
        raise NotImplementedError


@OPTIMIZERS.register()
class Adam(_Optimizer):
    """``paddle.optimizer.Adam``; ``regularizer`` is its weight decay."""

    def __init__(
        self,
        beta1=0.9,
        beta2=0.999,
        epsilon=1e-8,
        regularizer=None,
        clip_norm=None,
        clip_norm_global=None,
        group_lr=False,
        training_step=None,
    ):
        super().__init__(regularizer, clip_norm, clip_norm_global, group_lr, training_step)
        self.beta1 = _number(beta1, "Optimizer.beta1", 0.0, below=1.0)
        self.beta2 = _number(beta2, "Optimizer.beta2", 0.0, below=1.0)
        self.epsilon = _number(epsilon, "Optimizer.epsilon", 0.0, allow_equal=False)

    def _adam_args(self, model, schedule):
        return dict(
            learning_rate=schedule,
            beta1=self.beta1,
            beta2=self.beta2,
            epsilon=self.epsilon,
            parameters=self.parameters(model),
            grad_clip=self.grad_clip,
        )

    def __call__(self, model, schedule):
        return paddle.optimizer.Adam(weight_decay=self.regularizer, **self._adam_args(model, schedule))


@OPTIMIZERS.register()
class AdamW(Adam):
    """``paddle.optimizer.AdamW`` (decoupled weight decay).

    ``weight_decay`` defaults to the regularizer's factor, else 0.01 (PaddleOCR's default);
    parameters whose structured name contains a word of ``no_weight_decay_name``, and with
    ``one_dim_param_no_weight_decay`` all 1-D parameters, are exempt.
    """

    def __init__(
        self,
        beta1=0.9,
        beta2=0.999,
        epsilon=1e-8,
        weight_decay=None,
        no_weight_decay_name=None,
        one_dim_param_no_weight_decay=False,
        regularizer=None,
        clip_norm=None,
        clip_norm_global=None,
        group_lr=False,
        training_step=None,
    ):
        super().__init__(beta1, beta2, epsilon, regularizer, clip_norm, clip_norm_global, group_lr, training_step)
        if weight_decay is None:
            weight_decay = self.regularizer._coeff if self.regularizer is not None else 0.01
        self.weight_decay = _number(weight_decay, "Optimizer.weight_decay")
        self.no_decay_names = str(no_weight_decay_name or "").split()
        self.one_dim_no_decay = bool(one_dim_param_no_weight_decay)

    def __call__(self, model, schedule):
        args = self._adam_args(model, schedule)
        names_by_param = {p.name: n for n, p in model.named_parameters()}
        exempt = {
            p.name
            for p in trainable_parameters(model)
            if any(k in names_by_param.get(p.name, "") for k in self.no_decay_names)
            or (self.one_dim_no_decay and p.ndim == 1)
        }
        return paddle.optimizer.AdamW(
            weight_decay=self.weight_decay, apply_decay_param_fun=lambda pname: pname not in exempt, **args
        )


@OPTIMIZERS.register()
class Momentum(_Optimizer):
    """``paddle.optimizer.Momentum`` (SGD with momentum); also registered as ``SGD``."""

    def __init__(
        self,
        momentum=0.9,
        use_nesterov=False,
        regularizer=None,
        clip_norm=None,
        clip_norm_global=None,
        group_lr=False,
        training_step=None,
    ):
        super().__init__(regularizer, clip_norm, clip_norm_global, group_lr, training_step)
        self.momentum = _number(momentum, "Optimizer.momentum")
        self.use_nesterov = bool(use_nesterov)

    def __call__(self, model, schedule):
        return paddle.optimizer.Momentum(
            learning_rate=schedule,
            momentum=self.momentum,
            use_nesterov=self.use_nesterov,
            parameters=self.parameters(model),
            weight_decay=self.regularizer,
            grad_clip=self.grad_clip,
        )


OPTIMIZERS.register("SGD", Momentum)


def build_optimizer(opt_cfg, epoch_num, steps_per_epoch, model, last_step=-1):
    """Build the optimizer and its schedule from the ``Optimizer`` section.

    Args:
        opt_cfg (dict | None): the ``Optimizer`` section (see the module docstring); ``name``
            defaults to ``Adam``.
        epoch_num (int): ``Global.epoch_num``.
        steps_per_epoch (int): batches per epoch (per card).
        model (paddle.nn.Layer): the model whose parameters are optimised.
        last_step (int): resume at this step (``-1`` = fresh run).

    Returns:
        tuple[paddle.optimizer.Optimizer, paddle.optimizer.lr.LRScheduler]: the optimizer and
        its schedule (call ``schedule.step()`` after each ``optimizer.step()``).
    """
    if opt_cfg is not None and not isinstance(opt_cfg, dict):
        raise ConfigError(f"Optimizer: expected a mapping like {{name: Adam, lr: ...}}, got {opt_cfg!r}")
    opt_cfg = {"name": "Adam", **(opt_cfg or {})}
    lr_cfg = opt_cfg.pop("lr", None)
    entry = OPTIMIZERS.build(opt_cfg)
    schedule = build_lr_scheduler(lr_cfg, epoch_num, steps_per_epoch, last_step=last_step)
    return entry(model, schedule), schedule
