"""Which parameters an optimizer trains, and at what share of the scheduled rate.

PaddleOCR's VisionLAN trains in three steps, chosen by ``training_step`` (the head's
``Architecture.Head.training_step``, the loss's ``Loss.mode`` and, with ``group_lr``,
``Optimizer.training_step`` — one value; :func:`check_training_step` rejects a config
where they differ):

* ``LF_1`` — the head runs the VRM only: the MLM branch (``VLHead.mlm_parameters()``: the
  ``MLM`` module, ``Prediction.pp_share``, ``Prediction.w_share``) gets no gradient and
  keeps its weights; everything else trains at the scheduled rate.
* ``LF_2`` — the MLM joins. With ``Optimizer.group_lr: true`` the MLM group trains at the
  scheduled rate and every other parameter (backbone, VRM) at
  :data:`SMALL_GROUP_FACTOR` (0.1) times it, for the whole run (the factor follows the
  schedule, warm-up and decays included). Without ``group_lr`` all train at the full rate.
* ``LA`` — all parameters at the scheduled rate (``group_lr`` is ignored, as in PaddleOCR).

Not copied from PaddleOCR: its ``LF_2`` group gives the small group
``learning_rate: values[0] * 0.1``. Paddle 3 reads a group's ``learning_rate`` as a
*multiplier* of the optimizer's rate, so that group trains at ``lr * values[0] * 0.1``
(about 1e-9 with ``values[0] = 1e-4``), i.e. it is frozen. Here the group's multiplier is
0.1, which is what VisionLAN intends.

A Paddle parameter group overwrites each member's ``ParamAttr`` learning-rate multiplier
with its own (1.0 or 0.1): do not combine ``group_lr`` with per-parameter rates.
"""

import logging

from ..errors import ConfigError
from ..modeling.heads.visionlan import TRAINING_STEPS

logger = logging.getLogger("ppresnet45.train")

SMALL_GROUP_FACTOR = 0.1


def trainable_parameters(model):
    """The parameters of ``model`` that take gradients."""
    return [p for p in model.parameters() if not p.stop_gradient]


def _check_step(value, key):
    if value not in TRAINING_STEPS:
        raise ConfigError(f"{key}: expected one of {', '.join(TRAINING_STEPS)}, got {value!r}")
    return value


def check_training_step(config):
    """Raise a one-line :class:`ConfigError` when the config's training steps disagree.

    Compares ``Architecture.Head.training_step``, ``Loss.mode`` (a loss that has one:
    ``VLLoss``) and ``Optimizer.training_step``, where set.

    Returns:
        str | None: the training step, or None when none of the keys is set.
    """
    found = []
    head = (config.get("Architecture") or {}).get("Head") or {}
    loss = config.get("Loss") or {}
    opt = config.get("Optimizer") or {}
    for key, section in (
        ("Architecture.Head.training_step", head),
        ("Loss.mode", loss),
        ("Optimizer.training_step", opt),
    ):
        name = key.rsplit(".", 1)[1]
        if isinstance(section, dict) and section.get(name) is not None:
            found.append((key, section[name]))
    for key, value in found[1:]:
        if value != found[0][1]:
            raise ConfigError(
                f"{key} {value!r} disagrees with {found[0][0]} {found[0][1]!r}: VisionLAN's "
                f"training step must be one value (LF_1, LF_2 or LA) in all three places"
            )
    return found[0][1] if found else None


def _head(model):
    model = getattr(model, "_layers", model)  # paddle.DataParallel
    return getattr(model, "head", None)


def parameter_groups(model, group_lr=False, training_step=None):
    """The ``parameters`` argument of a Paddle optimizer for ``model``.

    Args:
        model (paddle.nn.Layer): the model (or its ``paddle.DataParallel`` wrapper).
        group_lr (bool): ``Optimizer.group_lr``: in ``LF_2``, train the head's MLM group at
            the scheduled rate and the rest at :data:`SMALL_GROUP_FACTOR` times it.
        training_step (str | None): ``Optimizer.training_step``; default the head's
            ``training_step``.

    Returns:
        list: the trainable parameters, or two groups ``[{"params": mlm},
        {"params": rest, "learning_rate": 0.1}]`` (Paddle multiplies a group's
        ``learning_rate`` with the optimizer's scheduled rate).
    """
    params = trainable_parameters(model)
    if not group_lr:
        return params
    head = _head(model)
    mlm_parameters = getattr(head, "mlm_parameters", None)
    if mlm_parameters is None:
        what = type(head).__name__ if head is not None else f"a {type(model).__name__} without a head"
        raise ConfigError(
            f"Optimizer.group_lr: true needs a head with an MLM branch (VLHead), got {what}; drop group_lr"
        )
    step = getattr(head, "training_step", None) if training_step is None else training_step
    _check_step(step, "Optimizer.training_step")
    if step != "LF_2":
        logger.info(
            "Optimizer.group_lr applies to training_step LF_2 only; %s trains every parameter at the scheduled rate",
            step,
        )
        return params
    mlm = {id(p) for p in mlm_parameters()}
    base = [p for p in params if id(p) in mlm]
    small = [p for p in params if id(p) not in mlm]
    groups = [{"params": base}]
    if small:
        groups.append({"params": small, "learning_rate": SMALL_GROUP_FACTOR})
    return groups
