"""A training run's records: ``train.log``, ``train_log.jsonl``, ``config.yml``, VisualDL
scalars, and the smoothed step statistics the step lines report."""

import collections
import json
import logging
import os

import numpy as np

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
        self.jsonl = self.vdl = self.file_handler = None
        self.enabled = enabled
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

    def close(self):
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
