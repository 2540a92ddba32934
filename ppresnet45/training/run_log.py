"""A training run's records: ``train.log``, ``train_log.jsonl``, ``config.yml``, VisualDL
scalars, the console's progress bar, and the smoothed step statistics the step lines report.

The trainer passes values; :class:`RunLog` builds the lines and records from them.
``train.log`` is human-readable; ``train_log.jsonl`` holds one JSON object per logged step
(``"type": "train"``), evaluation (``"eval"``), epoch (``"epoch"``, with the skipped samples),
CPU thread timing (``"threads"``), failure (``"error"``) and the run's end (``"done"``);
``config.yml`` is the resolved config; VisualDL scalars go to ``vdl/`` when
``Global.use_visualdl`` is set and visualdl is installed.
"""

import collections
import json
import logging
import os
import time

import numpy as np
from tqdm import tqdm

from ..config import save_config
from ..utils.io import atomic_write_text

logger = logging.getLogger("ppresnet45.train")
step_logger = logging.getLogger("ppresnet45.train.steps")  # step lines: the file only (the console has the bar)


class JsonlLog:
    """Append-only JSONL writer, flushed per record (a crash loses at most the last line).

    Args:
        path (str): the file.
        truncate_after_step (int | None): None starts a fresh file; a step keeps the
            existing records up to that step (a resumed run continues its log).
    """

    def __init__(self, path, truncate_after_step=None):
        self.path = path
        if truncate_after_step is None:
            open(path, "w").close()
        elif os.path.isfile(path):
            kept = []
            with open(path, encoding="utf-8") as f:
                for line in f:
                    try:
                        rec = json.loads(line)
                    except ValueError:
                        continue
                    if rec.get("step", 0) <= truncate_after_step:
                        kept.append(line if line.endswith("\n") else line + "\n")
            atomic_write_text(path, "".join(kept))
        self.file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed by close()

    def write(self, record):
        self.file.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.file.flush()

    def close(self):
        self.file.close()


class RunLog:
    """The files a run writes into ``save_dir`` (rank 0 only: ``enabled=False`` makes every
    method a no-op). Use as a context manager, or call :meth:`close`.

    Args:
        save_dir (str): ``Global.save_model_dir``.
        config (dict): the resolved config, saved as ``config.yml``.
        resume_step (int | None): the step a resumed run starts from (its JSONL records
            beyond that step are dropped); None for a fresh run.
        use_visualdl (bool): also write VisualDL scalars to ``save_dir/vdl`` (when installed).
        enabled (bool): write anything at all.
    """

    def __init__(self, save_dir, config, resume_step=None, use_visualdl=False, enabled=True):
        self.jsonl = self.vdl = self.file_handler = self.bar = None
        self.enabled = enabled
        self.epoch_num = self.steps_per_epoch = 0  # the run's shape, for the step lines (set by started())
        if not enabled:
            return
        os.makedirs(save_dir, exist_ok=True)
        self.file_handler = logging.FileHandler(os.path.join(save_dir, "train.log"), encoding="utf-8")
        self.file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(self.file_handler)
        logger.setLevel(logging.INFO)
        step_logger.propagate = False
        step_logger.setLevel(logging.INFO)
        step_logger.addHandler(self.file_handler)
        self.jsonl = JsonlLog(os.path.join(save_dir, "train_log.jsonl"), truncate_after_step=resume_step)
        save_config(config, os.path.join(save_dir, "config.yml"))
        if use_visualdl:
            try:
                from visualdl import LogWriter  # optional dependency

                self.vdl = LogWriter(logdir=os.path.join(save_dir, "vdl"))
            except ImportError:
                logger.warning(
                    "Global.use_visualdl is true but visualdl is not installed (pip install visualdl); "
                    "scalars go to train_log.jsonl only"
                )

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def record(self, record, scalars=None):
        """Append ``record`` (with its ``step``) to the JSONL log; ``scalars`` (tag -> value,
        None skipped) go to VisualDL at that step."""
        if self.jsonl is not None:
            self.jsonl.write(record)
        if self.vdl is not None and scalars:
            for tag, value in scalars.items():
                if value is not None:
                    self.vdl.add_scalar(tag=tag, value=float(value), step=record.get("step", 0))

    def step_line(self, message, *args):
        """One line of ``train.log`` (not the console)."""
        if self.enabled:
            step_logger.info(message, *args)

    # -- what the trainer reports: it passes values, these write the lines and records ------
    def started(self, settings, steps_per_epoch, world_size, batch_size, threads, use_onednn, to_static):
        """The run's first line (its length, processes, batch per card, CPU settings, output);
        ``settings`` is the :class:`.settings.TrainSettings`, ``threads`` the CPU threads as words."""
        self.epoch_num, self.steps_per_epoch = settings.epoch_num, steps_per_epoch
        if self.enabled:
            logger.info(
                "training: %d epoch(s) x %d step(s), %d process(es), batch %d per card, max_steps %s, "
                "CPU threads %s, oneDNN %s, to_static %s, output %s",
                settings.epoch_num,
                steps_per_epoch,
                world_size,
                batch_size,
                settings.max_steps or "-",
                threads,
                use_onednn,
                to_static,
                settings.save_dir,
            )

    def progress(self, total, done, show=True):
        """The console's tqdm bar over the run's ``total`` steps, ``done`` of them already (shown
        when ``show`` and enabled); :meth:`train_step` puts its figures on it."""
        self.bar = tqdm(
            total=total,
            initial=min(done, total),
            desc="train",
            unit="step",
            disable=not (show and self.enabled),
            dynamic_ncols=True,
        )
        return self.bar

    def train_step(self, step, epoch, batch, lr, meter, loss_parts, acc=None, ned=None):
        """A logged step (``batch`` batches of 0-based ``epoch`` done): its ``train.log`` line and
        its ``train`` record, with the :class:`StepMeter`'s smoothed figures, the loss parts
        (name -> rank-mean value) and the batch's accuracy / norm_edit_dis when computed; the
        bar of :meth:`progress` shows the smoothed loss, lr, images/s and accuracy."""
        if not self.enabled:
            return
        avg, ips, reader = meter.smoothed()
        if self.bar is not None:
            figures = {"loss": f"{avg:.4f}", "lr": f"{lr:.2e}", "img/s": f"{ips:.1f}"}
            self.bar.set_postfix(dict(figures, **({"acc": f"{acc:.3f}"} if acc is not None else {})), refresh=False)
        self.step_line(
            "epoch [%d/%d] step %d (batch %d/%d) lr %.6g loss %.5f (avg %.5f)%s%s, %.1f images/s, reader %.3fs",
            epoch + 1,
            self.epoch_num,
            step,
            batch,
            self.steps_per_epoch,
            lr,
            meter.last_loss,
            avg,
            "".join(f", {k} {v:.5f}" for k, v in loss_parts.items()),
            f", acc {acc:.4f}, norm_edit_dis {ned:.4f}" if acc is not None else "",
            ips,
            reader,
        )
        self.record(
            {
                "type": "train",
                "step": step,
                "epoch": epoch,
                "batch": batch,
                "lr": lr,
                "loss": meter.last_loss,
                "loss_avg": avg,
                "loss_parts": dict(loss_parts),
                "acc": acc,
                "norm_edit_dis": ned,
                "images_per_second": ips,
                "reader_cost": reader,
                "time": time.time(),
            },
            {
                "train/loss": avg,
                "train/lr": lr,
                "train/acc": acc,
                "train/images_per_second": ips,
                **{"train/" + k: v for k, v in loss_parts.items()},
            },
        )

    def evaluation(self, step, epoch, metrics, key, best, improved):
        """An evaluation: its line (``key`` and ``norm_edit_dis``, the best so far and whether this
        one is saved as best_accuracy) and its ``eval`` record with ``best_<key>``."""
        if not self.enabled:
            return
        logger.info(
            "eval step %d: %s %.4f, norm_edit_dis %.4f (best %s %.4f at step %d)%s",
            step,
            key,
            metrics.get(key, 0.0),
            metrics.get("norm_edit_dis", float("nan")),
            key,
            best.get(key, 0.0),
            best.get("best_step", 0),
            " — saved best_accuracy" if improved else "",
        )
        record = {"type": "eval", "step": step, "epoch": epoch, "time": time.time(), **metrics}
        record["best_" + key] = best.get(key)
        self.record(record, {"eval/" + k: v for k, v in metrics.items() if isinstance(v, (int, float))})

    def epoch_end(self, step, epoch, complete, skipped):
        """An epoch's end (``complete`` unless ``max_steps`` cut it): a warning when it skipped bad
        samples (``skipped``: reason -> count over all ranks) and its ``epoch`` record."""
        if not self.enabled:
            return
        total = sum(skipped.values())
        if total:
            logger.warning(
                "epoch %d: skipped %d bad sample(s): %s",
                epoch + 1,
                total,
                ", ".join(f"{k} {v}" for k, v in skipped.items()),
            )
        self.record(
            {
                "type": "epoch",
                "step": step,
                "epoch": epoch,
                "complete": complete,
                "skipped": skipped,
                "skipped_total": total,
                "time": time.time(),
            }
        )

    def diverged(self, step, epoch, batch, loss, kept):
        """The message of a step whose ``loss`` is not finite (``batch`` batches into ``epoch``;
        ``kept`` says which checkpoint is kept), recorded as an ``error``; returns the message."""
        message = (
            f"loss is {loss} at step {step} (epoch {epoch}, batch {batch}); training stopped and {kept}. "
            "Lower Optimizer.lr.learning_rate or set Optimizer.clip_norm"
        )
        self.record(
            {"type": "error", "step": step, "epoch": epoch, "loss": str(loss), "message": message, "time": time.time()}
        )
        return message

    def done(self, summary, key):
        """The run's last line (steps, best ``key``, images/s) and its ``done`` record: the
        trainer's ``summary`` without ``final_eval`` (its metrics have their own record)."""
        if not self.enabled:
            return
        logger.info(
            "done: %d steps, best %s %s, %.1f images/s",
            summary["global_step"],
            key,
            summary["best"].get(key),
            summary["images_per_second"] or 0.0,
        )
        rest = {k: v for k, v in summary.items() if k != "final_eval"}
        self.record({"type": "done", "step": summary["global_step"], "time": time.time(), **rest})

    def close(self):
        if self.bar is not None:
            self.bar.close()
        if self.jsonl is not None:
            self.jsonl.close()
            self.jsonl = None
        if self.vdl is not None:
            self.vdl.close()
            self.vdl = None
        if self.file_handler is not None:
            logger.removeHandler(self.file_handler)
            step_logger.removeHandler(self.file_handler)
            self.file_handler.close()
            self.file_handler = None


class StepMeter:
    """Losses and speed of the last ``window`` steps, and totals over the run.

    Args:
        window (int): steps in the smoothing window (``Global.log_smooth_window``).
    """

    def __init__(self, window):
        self.losses = collections.deque(maxlen=window)
        self.speeds = collections.deque(maxlen=window)  # (images, batch seconds, reader seconds)
        self.total_images = 0
        self.total_time = 0.0
        self.last_loss = None
        self.last_acc = None

    def add(self, loss, images, batch_cost, reader_cost):
        """Record one step: its loss, images (all ranks), total and data-loading seconds."""
        self.losses.append(loss)
        self.speeds.append((images, batch_cost, reader_cost))
        self.total_images += images
        self.total_time += batch_cost
        self.last_loss = loss

    def smoothed(self):
        """``(mean loss, images/s, mean reader seconds)`` over the window."""
        images = sum(s[0] for s in self.speeds)
        cost = sum(s[1] for s in self.speeds)
        reader = sum(s[2] for s in self.speeds) / max(len(self.speeds), 1)
        return float(np.mean(self.losses)), (images / cost if cost else 0.0), reader

    def images_per_second(self):
        """Over the whole run; None before the first step."""
        return self.total_images / self.total_time if self.total_time else None
