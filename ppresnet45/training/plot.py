"""Training curves from ``train_log.jsonl``: loss (raw and smoothed), learning rate, and
training / evaluation accuracy against the step, in one PNG written atomically."""

import json
import os

from ..errors import DataError
from ..utils.io import atomic_output_file


def read_log(path):
    """Read a ``train_log.jsonl``; returns ``{"train": [...], "eval": [...]}`` records.

    Raises:
        ppresnet45.errors.DataError: the file is missing or has no training record.
    """
    if not os.path.isfile(path):
        raise DataError(f"training log '{path}' not found (expected save_model_dir/train_log.jsonl)")
    out = {"train": [], "eval": []}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                rec = json.loads(line)
            except ValueError:
                raise DataError(f"{path}:{n}: not a JSON line") from None
            if rec.get("type") in out:
                out[rec["type"]].append(rec)
    if not out["train"]:
        raise DataError(f"{path}: no training step records (type 'train')")
    return out


def plot_training_log(log_path, png_path, title=None):
    """Draw the curves of ``log_path`` into ``png_path``; returns ``png_path``."""
    import matplotlib  # optional dependency (extras "plot"): imported only to draw

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    log = read_log(log_path)
    train, evals = log["train"], log["eval"]
    steps = [r["step"] for r in train]
    fig, (ax_loss, ax_acc) = plt.subplots(2, 1, figsize=(8, 7), sharex=True)
    ax_loss.plot(steps, [r["loss"] for r in train], color="tab:blue", alpha=0.35, lw=1, label="loss (logged step)")
    ax_loss.plot(steps, [r.get("loss_avg", r["loss"]) for r in train], color="tab:blue", lw=2, label="loss (smoothed)")
    ax_loss.set_yscale("log")
    ax_loss.set_ylabel("training loss")
    ax_loss.grid(True, which="both", alpha=0.3)
    ax_lr = ax_loss.twinx()
    ax_lr.plot(steps, [r["lr"] for r in train], color="tab:gray", ls="--", lw=1, label="learning rate")
    ax_lr.set_ylabel("learning rate")
    lines = ax_loss.get_legend_handles_labels()
    lines_lr = ax_lr.get_legend_handles_labels()
    ax_loss.legend(lines[0] + lines_lr[0], lines[1] + lines_lr[1], loc="upper right", fontsize=8)
    acc = [(r["step"], r["acc"]) for r in train if r.get("acc") is not None]
    if acc:
        ax_acc.plot(*zip(*acc), color="tab:orange", alpha=0.6, lw=1, label="train batch accuracy")
    if evals:
        ax_acc.plot(
            [r["step"] for r in evals],
            [r["acc"] for r in evals],
            "o-",
            color="tab:green",
            lw=2,
            label="eval word accuracy",
        )
        best = max(evals, key=lambda r: r["acc"])
        ax_acc.annotate(
            f"{best['acc']:.3f}",
            (best["step"], best["acc"]),
            textcoords="offset points",
            xytext=(0, -14),
            ha="center",
            fontsize=8,
            color="tab:green",
        )
    ax_acc.set_ylim(-0.02, 1.02)
    ax_acc.set_xlabel("step")
    ax_acc.set_ylabel("word accuracy")
    ax_acc.grid(True, alpha=0.3)
    ax_acc.legend(loc="lower right", fontsize=8)
    fig.suptitle(title or os.path.basename(os.path.dirname(os.path.abspath(log_path))) or "training")
    fig.tight_layout()
    with atomic_output_file(png_path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return png_path
