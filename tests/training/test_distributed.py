"""Data-parallel training: two CPU processes (gloo) through ``paddle.distributed.launch``.

What is compared, and why: each process runs BatchNorm on its own half of the global
batch, so a single process on the whole global batch is *not* the same computation (batch
statistics over 4 vs. 2 images). The same computation in one process is: per step, run the
model on rank 0's half and on rank 1's half separately (train-mode BatchNorm on each half,
exactly as the ranks do), average the two losses and take one optimizer step on the
averaged gradient — which is what ``paddle.DataParallel``'s gradient all-reduce computes.
That reference must match the distributed run's logged (rank-averaged) loss at every step
and its final parameters, up to float32 rounding: the all-reduce adds the two ranks'
gradients in its own order where the reference accumulates g0/2 + g1/2, and the logged loss
is averaged in float64. Tolerance: 1e-5 relative on losses, 1e-5 relative / 1e-7 absolute
on parameters after 3 SGD-momentum steps (measured: 4e-8 relative on the loss, parameters
bit-identical). Momentum SGD is used because its update is linear in the gradient; Adam
divides by sqrt(v) and would amplify rounding in near-zero gradients. Both ranks must end with bit-identical parameters and, after the
BatchNorm statistics are averaged at the checkpoint, identical buffers.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import paddle
import pytest

from ppresnet45.config import PACKAGE_CONFIG_DIR, load_config, save_config

pytestmark = pytest.mark.slow  # training, exports or third-party clients: over ~10 s on 2 cores

DEMO = os.path.join(PACKAGE_CONFIG_DIR, "rec", "rec_resnet45_ctc_demo.yml")
SHAPE = [3, 32, 64]
STEPS = 3

DRIVER = """
import os, sys
os.environ.setdefault("GLOG_minloglevel", "2")
import paddle
from ppresnet45.config import load_config
from ppresnet45.training.trainer import Trainer
trainer = Trainer(load_config(sys.argv[1]), show_progress=False)
trainer.fit()
paddle.save(trainer.model.state_dict(), os.path.join(sys.argv[2], f"rank{trainer.rank}.pdparams"))
print("world", trainer.world_size, "rank", trainer.rank, "threads", trainer.cpu_threads, flush=True)
"""


def _config(tmp_path):
    from ppresnet45.data.synth import render_dataset

    data = tmp_path / "data"
    render_dataset(str(data), 16, seed=11, min_len=1, max_len=4, show_progress=False)
    ops = [
        {"DecodeImage": {"img_mode": "BGR", "channel_first": False}},
        {"RecAug": None},
        {"CTCLabelEncode": None},
        {"RecResizeImg": {"image_shape": SHAPE}},
        {"KeepKeys": {"keep_keys": ["image", "label", "length"]}},
    ]
    return load_config(
        DEMO,
        {
            "Global.image_shape": SHAPE,
            "Global.save_model_dir": str(tmp_path / "out"),
            "Global.max_steps": STEPS,
            "Global.print_batch_step": 1,
            "Global.eval_batch_step": 0,
            "Optimizer": {
                "name": "Momentum",
                "momentum": 0.9,
                "lr": {"name": "Const", "learning_rate": 0.01},
                "clip_norm": 10.0,
            },
            "Train.dataset.data_dir": str(data),
            "Train.dataset.label_file_list": [str(data / "labels.txt")],
            "Train.dataset.transforms": ops,
            "Train.loader.batch_size_per_card": 2,
            "Eval.dataset.transforms": [op for op in ops if "RecAug" not in op],  # the model input: 32x64 too
        },
    )


def _reference_run(config):
    """One process computing what two data-parallel ranks compute (see the module docstring)."""
    import random

    from ppresnet45.data import build_dataloader
    from ppresnet45.modeling import build_model
    from ppresnet45.modeling.losses.ctc import CTCLoss
    from ppresnet45.training.optim import build_optimizer

    seed = config["Global"]["seed"]
    random.seed(seed)
    np.random.seed(seed)
    paddle.seed(seed)
    model = build_model(config)
    loaders = [build_dataloader(config, "Train", seed=seed, rank=r, world_size=2) for r in range(2)]
    opt, sched = build_optimizer(config["Optimizer"], config["Global"]["epoch_num"], len(loaders[0]), model)
    loss_fn = CTCLoss()
    model.train()
    losses = []
    for step, (b0, b1) in enumerate(zip(*loaders)):
        if step == STEPS:
            break
        loss = (loss_fn(model(b0[0]), b0)["loss"] + loss_fn(model(b1[0]), b1)["loss"]) / 2
        losses.append(float(loss))
        loss.backward()
        opt.step()
        opt.clear_grad()
        sched.step()
    return losses, model


def test_two_cpu_processes_match_the_averaged_gradient_reference(tmp_path, repo_root):
    config = _config(tmp_path)
    cfg_file = tmp_path / "cfg.yml"
    save_config(config, cfg_file)
    rank0, rank1, train = _launch_two_ranks(tmp_path, repo_root, cfg_file)

    # only rank 0 writes checkpoints and logs
    out = tmp_path / "out"
    assert (out / "latest.pdparams").is_file()
    assert [r["step"] for r in train] == [1, 2, 3]
    assert json.loads((out / "latest.json").read_text())["world_size"] == 2
    for k in rank0:
        np.testing.assert_array_equal(rank0[k].numpy(), rank1[k].numpy(), err_msg=k)

    ref_losses, ref_model = _reference_run(config)
    np.testing.assert_allclose([r["loss"] for r in train], ref_losses, rtol=1e-5)
    for name, param in ref_model.named_parameters():
        if param.stop_gradient:  # BatchNorm running statistics: per-process by design, compared above
            continue
        np.testing.assert_allclose(rank0[name].numpy(), param.numpy(), rtol=1e-5, atol=1e-7, err_msg=name)


def test_without_launcher_environment_training_is_single_process(monkeypatch):
    from ppresnet45.training.devices import init_distributed

    monkeypatch.delenv("PADDLE_TRAINERS_NUM", raising=False)
    assert init_distributed(False) == (1, 0)


@pytest.mark.parametrize("family, step", [("abinet", None), ("visionlan", "LA")])
def test_abinet_and_visionlan_train_data_parallel(tmp_path, repo_root, family, step):
    """The demo recipes take 3 steps in two gloo processes through ``paddle.distributed.launch`` (VisionLAN
    in training step LA: its head reads the targets through ``paddle.DataParallel``), and both ranks end
    with the same parameters."""
    from ppresnet45.data.synth import render_dataset

    data = tmp_path / "data"
    render_dataset(str(data), 8, seed=12, min_len=1, max_len=4, augment=False, show_progress=False)
    opts = {
        "Global.save_model_dir": str(tmp_path / "out"),
        "Global.max_steps": STEPS,
        "Global.print_batch_step": 1,
        "Global.eval_batch_step": 0,
        "Train.loader.batch_size_per_card": 2,
    }
    if step:
        opts.update({"Architecture.Head.training_step": step, "Loss.mode": step, "Optimizer.training_step": step})
    for mode in ("Train", "Eval"):
        opts.update(
            {f"{mode}.dataset.data_dir": str(data), f"{mode}.dataset.label_file_list": [str(data / "labels.txt")]}
        )
    cfg_file = tmp_path / "cfg.yml"
    save_config(load_config(os.path.join(PACKAGE_CONFIG_DIR, "rec", f"rec_resnet45_{family}_demo.yml"), opts), cfg_file)
    rank0, rank1, train = _launch_two_ranks(tmp_path, repo_root, cfg_file)
    assert [r["step"] for r in train] == [1, 2, 3] and all(np.isfinite(r["loss"]) for r in train)
    for k in rank0:
        np.testing.assert_array_equal(rank0[k].numpy(), rank1[k].numpy(), err_msg=k)


def _launch_two_ranks(tmp_path, repo_root, cfg_file):
    """Run :data:`DRIVER` on ``cfg_file`` in two gloo processes; returns both ranks' parameters and the
    train records of rank 0's log."""
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    env = dict(os.environ, PADDLE_DISTRI_BACKEND="gloo", GLOG_minloglevel="2", PYTHONPATH=str(repo_root))
    for key in [k for k in env if k.startswith("PADDLE_TRAINER") or k == "PADDLE_CURRENT_ENDPOINT"]:
        env.pop(key)
    cmd = [
        sys.executable,
        "-m",
        "paddle.distributed.launch",
        "--nproc_per_node",
        "2",
        "--log_dir",
        str(tmp_path / "launch_log"),
        str(driver),
        str(cfg_file),
        str(tmp_path),
    ]
    proc = subprocess.run(cmd, env=env, cwd=str(repo_root), capture_output=True, text=True, timeout=300)
    logs = "".join(p.read_text(errors="replace") for p in sorted((tmp_path / "launch_log").glob("workerlog.*")))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:] + logs[-4000:]
    assert "world 2 rank 0 threads" in logs and "world 2 rank 1 threads" in logs
    train = [
        json.loads(line)
        for line in Path(tmp_path / "out" / "train_log.jsonl").read_text().splitlines()
        if '"train"' in line
    ]
    return paddle.load(str(tmp_path / "rank0.pdparams")), paddle.load(str(tmp_path / "rank1.pdparams")), train
