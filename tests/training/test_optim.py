"""Optimizers and learning-rate schedules built from PaddleOCR's ``Optimizer:`` section."""

import math
import os

import numpy as np
import paddle
import pytest

from ppresnet45.config import PACKAGE_CONFIG_DIR, load_config
from ppresnet45.errors import ConfigError, RegistryError
from ppresnet45.modeling import build_model
from ppresnet45.registry import LR_SCHEDULERS, OPTIMIZERS
from ppresnet45.training.optim import (
    StepLRSchedule,
    build_lr_scheduler,
    build_optimizer,
)
from ppresnet45.training.param_groups import check_training_step


def _lrs(schedule, n):
    return [schedule.lr_at(s) for s in range(n)]


def test_linear_warmup_rises_to_the_base_rate_then_stays_constant():
    sched = build_lr_scheduler(
        {"name": "Const", "learning_rate": 0.01, "warmup_epoch": 2}, epoch_num=5, steps_per_epoch=2
    )
    np.testing.assert_allclose(_lrs(sched, 7), [0.0025, 0.005, 0.0075, 0.01, 0.01, 0.01, 0.01])


def test_cosine_decays_from_the_base_rate_after_warmup_to_zero_at_the_last_step():
    sched = build_lr_scheduler(
        {"name": "Cosine", "learning_rate": 0.1, "warmup_epoch": 1}, epoch_num=3, steps_per_epoch=4
    )
    lrs = _lrs(sched, 13)
    np.testing.assert_allclose(lrs[:4], [0.025, 0.05, 0.075, 0.1])
    np.testing.assert_allclose(lrs[4], 0.1)
    np.testing.assert_allclose(lrs[8], 0.05, rtol=1e-12)  # halfway through the 8 cosine steps
    np.testing.assert_allclose(lrs[6], 0.05 * (1 + math.cos(math.pi / 4)), rtol=1e-12)
    assert lrs[12] == pytest.approx(0.0, abs=1e-12)
    assert all(a >= b for a, b in zip(lrs[4:], lrs[5:]))


def test_piecewise_switches_values_at_epoch_boundaries_converted_to_steps():
    sched = build_lr_scheduler(
        {"name": "Piecewise", "decay_epochs": [1, 2], "values": [0.1, 0.01, 0.001]}, epoch_num=3, steps_per_epoch=3
    )
    np.testing.assert_allclose(_lrs(sched, 9), [0.1] * 3 + [0.01] * 3 + [0.001] * 3)


def test_piecewise_warmup_rises_to_the_first_value():
    sched = build_lr_scheduler(
        {"name": "Piecewise", "decay_epochs": [2], "values": [0.2, 0.02], "warmup_epoch": 1},
        epoch_num=3,
        steps_per_epoch=2,
    )
    np.testing.assert_allclose(_lrs(sched, 6), [0.1, 0.2, 0.2, 0.2, 0.02, 0.02])


def test_scheduler_steps_and_resumes_at_a_given_step():
    cfg = {"name": "Cosine", "learning_rate": 0.1, "warmup_epoch": 1}
    fresh = build_lr_scheduler(cfg, 3, 4)
    for _ in range(5):
        fresh.step()
    resumed = build_lr_scheduler(cfg, 3, 4, last_step=4)
    assert fresh.last_epoch == resumed.last_epoch == 5
    assert fresh() == pytest.approx(resumed()) == pytest.approx(fresh.lr_at(5))


def test_bare_number_and_missing_name_mean_a_constant_rate():
    for cfg in (0.02, {"learning_rate": 0.02}):
        sched = build_lr_scheduler(cfg, 2, 3)
        assert isinstance(sched, StepLRSchedule)
        np.testing.assert_allclose(_lrs(sched, 6), [0.02] * 6)
    np.testing.assert_allclose(_lrs(build_lr_scheduler(None, 1, 2), 2), [0.001] * 2)


@pytest.mark.parametrize(
    "bad, error, words",
    [
        (
            {"name": "Exponential", "learning_rate": 0.1},
            RegistryError,
            ["unknown lr schedule 'Exponential'", "registered: Const, Cosine, Piecewise"],
        ),
        ({"name": "Piecewise", "decay_epochs": [1], "values": [0.1]}, ConfigError, ["Piecewise", "values"]),
        ({"name": "Cosine", "learning_rate": "fast"}, ConfigError, ["Optimizer.lr.learning_rate", "fast"]),
        (
            {"name": "Cosine", "learning_rate": 0.1, "warmup_epochs": 1},
            RegistryError,
            ["lr schedule 'Cosine'", "'warmup_epochs'", "did you mean 'warmup_epoch'", "accepted"],
        ),
        (
            {"name": "Piecewise", "decay_epochs": [2, 1], "values": [0.1, 0.01, 0.001]},
            ConfigError,
            ["Optimizer.lr.decay_epochs", "increasing"],
        ),
        ([0.1], ConfigError, ["Optimizer.lr", "expected a mapping"]),
    ],
)
def test_bad_schedule_config_names_the_key(bad, error, words):
    with pytest.raises(error) as err:
        build_lr_scheduler(bad, 2, 2)
    assert len(str(err.value).splitlines()) == 1
    for w in words:
        assert w in str(err.value)


def test_optimizers_and_schedules_are_registered_under_paddleocr_names():
    assert {"Adam", "AdamW", "Momentum", "SGD"} <= set(OPTIMIZERS.names())
    assert {"Const", "Piecewise", "Cosine"} <= set(LR_SCHEDULERS.names())
    assert OPTIMIZERS.get("SGD") is OPTIMIZERS.get("Momentum")


def test_a_registered_schedule_is_used_by_name():
    class Halving:  # a plugin's schedule: halves the rate every epoch
        def __init__(self, learning_rate=0.1):
            self.learning_rate = learning_rate

        def __call__(self, epoch_num, steps_per_epoch, last_step=-1):
            return StepLRSchedule(lambda s: self.learning_rate / 2 ** (s // steps_per_epoch), last_step=last_step)

    LR_SCHEDULERS.register("TestHalving", Halving)
    try:
        opt, sched = build_optimizer(
            {"name": "Adam", "lr": {"name": "TestHalving", "learning_rate": 0.4}}, 3, 2, _model()
        )
        np.testing.assert_allclose(_lrs(sched, 6), [0.4, 0.4, 0.2, 0.2, 0.1, 0.1])
        assert opt.get_lr() == pytest.approx(0.4)
    finally:
        LR_SCHEDULERS._items.pop("TestHalving")


def _model():
    paddle.seed(0)
    return paddle.nn.Sequential(paddle.nn.Linear(3, 4), paddle.nn.BatchNorm1D(4), paddle.nn.Linear(4, 2))


@pytest.mark.parametrize(
    "name, cls",
    [
        ("Adam", paddle.optimizer.Adam),
        ("AdamW", paddle.optimizer.AdamW),
        ("Momentum", paddle.optimizer.Momentum),
        ("SGD", paddle.optimizer.Momentum),
    ],
)
def test_build_optimizer_takes_a_step_with_the_scheduled_rate(name, cls):
    cfg = {
        "name": name,
        "momentum": 0.9,
        "lr": {"name": "Const", "learning_rate": 0.05, "warmup_epoch": 1},
        "regularizer": {"name": "L2", "factor": 1e-4},
        "clip_norm": 1.0,
    }
    if name.startswith("Adam"):
        cfg.pop("momentum")
        cfg.update(beta1=0.9, beta2=0.99)
    model = _model()
    opt, sched = build_optimizer(cfg, epoch_num=2, steps_per_epoch=2, model=model)
    assert isinstance(opt, cls)
    assert opt.get_lr() == pytest.approx(0.025)
    before = model[0].weight.numpy().copy()
    loss = (model(paddle.randn([5, 3])) ** 2).mean()
    loss.backward()
    opt.step()
    opt.clear_grad()
    sched.step()
    assert opt.get_lr() == pytest.approx(0.05)
    assert not np.allclose(before, model[0].weight.numpy(), rtol=0, atol=1e-4)


def test_gradient_norm_clipping_per_parameter_and_global():
    model = _model()
    opt, _ = build_optimizer({"name": "Adam", "lr": 0.1, "clip_norm": 2.0}, 1, 1, model)
    assert isinstance(opt._grad_clip, paddle.nn.ClipGradByNorm)
    opt, _ = build_optimizer({"name": "Adam", "lr": 0.1, "clip_norm_global": 2.0}, 1, 1, model)
    assert isinstance(opt._grad_clip, paddle.nn.ClipGradByGlobalNorm)


def test_momentum_sgd_update_matches_the_formula_with_clipping():
    paddle.seed(0)
    lin = paddle.nn.Linear(2, 1, bias_attr=False)
    lin.weight.set_value(paddle.to_tensor([[1.0], [2.0]]))
    opt, _ = build_optimizer(
        {"name": "Momentum", "momentum": 0.9, "lr": {"name": "Const", "learning_rate": 0.1}, "clip_norm": 1.0},
        1,
        10,
        lin,
    )
    x = paddle.to_tensor([[3.0, 4.0]])
    lin(x).sum().backward()  # gradient [3, 4], norm 5 -> clipped to [0.6, 0.8]
    opt.step()
    np.testing.assert_allclose(lin.weight.numpy().ravel(), [1.0 - 0.06, 2.0 - 0.08], rtol=1e-6)


def test_adamw_exempts_named_and_one_dim_parameters_from_decay():
    model = _model()
    opt, _ = build_optimizer(
        {"name": "AdamW", "lr": 0.1, "weight_decay": 0.05, "one_dim_param_no_weight_decay": True}, 1, 1, model
    )
    decays = {p.name: opt._apply_decay_param_fun(p.name) for p in model.parameters()}
    assert decays[model[0].weight.name] and not decays[model[0].bias.name]
    assert opt._weight_decay == pytest.approx(0.05)


def test_unknown_optimizer_and_keys_are_one_line_registry_errors():
    with pytest.raises(RegistryError, match=r"^unknown Optimizer 'Lamb' .*registered: Adam, AdamW, Momentum, SGD$"):
        build_optimizer({"name": "Lamb"}, 1, 1, _model())
    with pytest.raises(RegistryError, match=r"^Optimizer 'Adam' got unexpected argument\(s\) 'betas'.*accepted: beta1"):
        build_optimizer({"name": "Adam", "betas": [0.9, 0.99]}, 1, 1, _model())
    with pytest.raises(RegistryError, match="Optimizer 'Momentum' got unexpected argument.*'beta1'"):
        build_optimizer({"name": "Momentum", "beta1": 0.9}, 1, 1, _model())
    with pytest.raises(ConfigError, match="Optimizer.regularizer.name"):
        build_optimizer({"name": "Adam", "regularizer": {"name": "L3", "factor": 0.1}}, 1, 1, _model())
    with pytest.raises(ConfigError, match="Optimizer.clip_norm: expected a number > 0"):
        build_optimizer({"name": "Adam", "clip_norm": 0}, 1, 1, _model())


# ---------------------------------------------------------------------------- VisionLAN's group_lr
VL_DEMO = os.path.join(PACKAGE_CONFIG_DIR, "rec", "rec_resnet45_visionlan_demo.yml")


def _visionlan(step):
    """The demo VisionLAN (reduced widths, 32x128) in training step ``step``."""
    paddle.seed(0)
    config = load_config(VL_DEMO, {"Architecture.Head.training_step": step})
    return build_model(config)


def _one_step(model, opt_cfg):
    """One optimizer step on random images; returns {name: (before, grad, after)} of parameters with a gradient."""
    opt, _ = build_optimizer(opt_cfg, epoch_num=1, steps_per_epoch=10, model=model)
    model.train()
    targets = [None, None, None, paddle.to_tensor([0, 2], dtype="int64"), None]  # label_id at targets[-2]
    out = model(paddle.randn([2, 3, 32, 128]), targets)
    sum(o.mean() for o in out[:3]).backward()
    before = {n: p.numpy().copy() for n, p in model.named_parameters()}
    grads = {n: p.grad.numpy().copy() for n, p in model.named_parameters() if p.grad is not None}
    opt.step()
    opt.clear_grad()
    return {n: (before[n], g, p.numpy()) for n, p in model.named_parameters() if n in grads for g in [grads[n]]}


def _mlm_names(model):
    ids = {id(p) for p in model.head.mlm_parameters()}
    return {n for n, p in model.named_parameters() if id(p) in ids}


def test_group_lr_in_lf2_trains_the_rest_at_a_tenth_of_the_sgd_rate():
    model = _visionlan("LF_2")
    lr = 0.01
    moved = _one_step(
        model,
        {
            "name": "SGD",
            "momentum": 0.0,
            "group_lr": True,
            "training_step": "LF_2",
            "lr": {"name": "Const", "learning_rate": lr},
        },
    )
    mlm = _mlm_names(model)
    assert mlm and len(mlm) < len(moved)
    assert {n.split(".")[0] for n in moved} == {"backbone", "head"}
    for name, (before, grad, after) in moved.items():
        if not np.any(grad):
            continue
        factor = 1.0 if name in mlm else 0.1
        delta = before.astype(np.float64) - after  # float32 weights: compare up to their rounding
        np.testing.assert_allclose(delta, factor * lr * grad, rtol=1e-3, atol=2e-7 * np.abs(before).max(), err_msg=name)
        assert np.sum(delta * grad) / np.sum(grad * grad) / lr == pytest.approx(factor, rel=1e-3), name


def test_group_lr_with_adam_moves_the_small_group_by_a_tenth_not_by_lr_squared():
    """PaddleOCR's LF_2 group says ``learning_rate: values[0] * 0.1``, which Paddle 3 multiplies with the
    scheduled rate: the backbone and VRM would move by ~1e-9 per step. Adam's first step moves each
    parameter by about the rate it trains at (|m / sqrt(v)| = 1), so the two groups must show ~lr and ~lr/10."""
    model = _visionlan("LF_2")
    lr = 1e-4
    moved = _one_step(
        model,
        {
            "name": "Adam",
            "beta1": 0.9,
            "beta2": 0.999,
            "clip_norm": 20.0,
            "group_lr": True,
            "training_step": "LF_2",
            "regularizer": {"name": "L2", "factor": 0},
            "lr": {"name": "Piecewise", "decay_epochs": [6], "values": [lr, lr / 10]},
        },
    )
    mlm = _mlm_names(model)
    steps = {True: [], False: []}
    for name, (before, grad, after) in moved.items():
        big = np.abs(grad) > 1e-5  # where Adam's epsilon is negligible
        steps[name in mlm].append(np.abs(before - after)[big] / lr)
    mlm_step, rest_step = np.median(np.concatenate(steps[True])), np.median(np.concatenate(steps[False]))
    assert mlm_step == pytest.approx(1.0, rel=0.02)
    assert rest_step == pytest.approx(0.1, rel=0.02)


@pytest.mark.parametrize("step", ["LF_1", "LA"])
def test_group_lr_outside_lf2_trains_every_parameter_at_the_scheduled_rate(step):
    model = _visionlan(step)
    opt, _ = build_optimizer({"name": "Adam", "group_lr": True, "lr": 0.001}, 1, 1, model)
    assert all(not isinstance(p, dict) for p in opt._parameter_list)
    assert len(opt._parameter_list) == len([p for p in model.parameters() if not p.stop_gradient])


def test_lf1_leaves_the_mlm_branch_untouched():
    model = _visionlan("LF_1")
    moved = _one_step(model, {"name": "Adam", "group_lr": True, "lr": 0.001})
    mlm = _mlm_names(model)
    assert not mlm & set(moved)  # no gradient reaches the MLM in LF_1
    for name, p in model.named_parameters():
        if name in mlm:
            assert p.grad is None


def test_training_step_defaults_to_the_heads_and_group_lr_needs_an_mlm_head():
    model = _visionlan("LF_2")
    opt, _ = build_optimizer({"name": "Adam", "group_lr": True, "lr": 0.001}, 1, 1, model)
    assert [g.get("learning_rate", 1.0) for g in opt._param_groups] == [1.0, 0.1]
    with pytest.raises(
        ConfigError,
        match=r"^Optimizer.group_lr: true needs a head with an MLM branch \(VLHead\), "
        r"got a Sequential without a head; drop group_lr$",
    ):
        build_optimizer({"name": "Adam", "group_lr": True}, 1, 1, _model())
    with pytest.raises(ConfigError, match=r"^Optimizer.training_step: expected one of LF_1, LF_2, LA, got 'LF_3'$"):
        build_optimizer({"name": "Adam", "group_lr": True, "training_step": "LF_3"}, 1, 1, model)
    with pytest.raises(ConfigError, match="^Optimizer.group_lr: expected true or false, got 'yes'$"):
        build_optimizer({"name": "Adam", "group_lr": "yes"}, 1, 1, model)


def test_training_steps_of_head_loss_and_optimizer_must_agree():
    config = load_config(VL_DEMO)
    assert check_training_step(config) == "LF_1"
    config = load_config(VL_DEMO, {"Loss.mode": "LA"})
    with pytest.raises(ConfigError) as err:
        check_training_step(config)
    assert str(err.value).startswith("Loss.mode 'LA' disagrees with Architecture.Head.training_step 'LF_1'")
    assert len(str(err.value).splitlines()) == 1
    assert check_training_step({"Architecture": {"Head": {"name": "CTCHead"}}}) is None


@pytest.mark.parametrize(
    "cfg, words",
    [
        ({"beta1": 2.5}, ["Optimizer.beta1", "[0.0, 1.0)", "2.5"]),
        ({"beta2": 1.0}, ["Optimizer.beta2", "[0.0, 1.0)"]),
        ({"beta1": -0.1}, ["Optimizer.beta1"]),
        ({"epsilon": 0}, ["Optimizer.epsilon", "> 0"]),
        ({"epsilon": float("nan")}, ["Optimizer.epsilon", "finite"]),
        ({"lr": {"warmup_epoch": float("inf")}}, ["Optimizer.lr.warmup_epoch", "finite", "inf"]),
        ({"lr": {"warmup_epoch": 10**400}}, ["Optimizer.lr.warmup_epoch", "finite"]),
        ({"lr": {"warmup_epoch": 1e308}}, ["Optimizer.lr.warmup_epoch", "finite"]),
        ({"lr": {"learning_rate": 0}}, ["Optimizer.lr.learning_rate", "> 0"]),
        ({"lr": {"name": "Cosine", "learning_rate": float("inf")}}, ["Optimizer.lr.learning_rate", "finite"]),
    ],
)
def test_out_of_range_optimizer_numbers_are_one_line_errors_naming_the_key(cfg, words):
    # Regression (fuzz): Optimizer.lr.warmup_epoch=inf raised OverflowError; Optimizer.beta1=2.5 Paddle's
    # multi-line ValueError from paddle.optimizer.Adam.
    with pytest.raises(ConfigError) as err:
        build_optimizer({"name": "Adam", **cfg}, 2, 3, paddle.nn.Linear(2, 2))
    msg = str(err.value)
    assert "\n" not in msg and all(w in msg for w in words), msg
