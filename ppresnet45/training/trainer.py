"""``ppresnet45 train`` / ``tools/train.py``: train a recognizer from a PaddleOCR-style config.

One :class:`Trainer` owns the loop: model, loss, optimizer and schedule, train/eval
loaders, metric, checkpoints and logs. Outputs in ``Global.save_model_dir``:

* ``latest.*`` — written after every evaluation, at every epoch end, when training stops
  (``max_steps``, the last epoch, Ctrl-C); ``best_accuracy.*`` — the best evaluation so far;
  ``iter_epoch_N.*`` every ``save_epoch_step`` epochs. See :mod:`.checkpoint`.
* ``train.log`` (human-readable) and ``train_log.jsonl`` (one JSON object per logged step
  (``"type": "train"``), evaluation (``"eval"``), epoch (``"epoch"``, with skipped samples)
  and failure (``"error"``)); ``config.yml`` (the resolved config); VisualDL scalars in
  ``vdl/`` when ``Global.use_visualdl`` is set and visualdl is installed.

Resuming (``Global.checkpoints``) restores weights, optimizer moments, the step (hence the
learning rate), the best metric, the RNG states and the data position (epoch and batch:
the loader's order depends only on the seed and the epoch), so a resumed run takes the
same steps as an uninterrupted one.

Data parallel: start one process per card with ``python -m paddle.distributed.launch
--nproc_per_node N tools/train.py -c ...`` (GPUs; on CPU add ``PADDLE_DISTRI_BACKEND=gloo``,
which is also set here when Paddle has no CUDA). Each process loads its shard of every
global batch (``batch_size_per_card`` each); gradients are averaged by
``paddle.DataParallel``; BatchNorm statistics are per process during a step and are
averaged over processes before each evaluation and checkpoint; only rank 0 evaluates and
writes files.
"""

import collections
import json
import logging
import math
import os
import random
import time

import numpy as np

from ..config import image_shape_of, load_config, save_config
from ..errors import ConfigError, PPResNetError

logger = logging.getLogger("ppresnet45.train")


class TrainingDivergedError(PPResNetError):
    """The loss became NaN or infinite; training stopped without saving the bad weights."""


def _global_value(glob, key, default, types, check=None, expected=""):
    value = glob.get(key, default)
    if value is None:
        value = default
    if isinstance(value, bool) and bool not in types:
        raise ConfigError(f"Global.{key}: expected {expected or types[0].__name__}, got {value!r}")
    if not isinstance(value, types) or (check is not None and not check(value)):
        raise ConfigError(f"Global.{key}: expected {expected or types[0].__name__}, got {value!r}")
    return value


def parse_eval_interval(value):
    """``Global.eval_batch_step`` → ``(start, every)``: ``[start, every]`` as in PaddleOCR, or
    an int ``every`` (start 0). ``every <= 0`` disables evaluation during training."""
    if isinstance(value, bool):
        raise ConfigError(f"Global.eval_batch_step: expected an int or [start, every], got {value!r}")
    if isinstance(value, int):
        return 0, value
    if (isinstance(value, (list, tuple)) and len(value) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) for v in value) and value[0] >= 0):
        return int(value[0]), int(value[1])
    raise ConfigError(f"Global.eval_batch_step: expected an int or [start, every] of ints >= 0, got {value!r}")


def should_evaluate(step, start, every):
    """True when step ``step`` (1-based count of finished steps) is an evaluation step."""
    return every > 0 and step > start and (step - start) % every == 0


def available_cores():
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def configure_cpu(use_onednn=False, to_static=False, cpu_threads=None, world_size=1):
    """Apply CPU execution settings; returns the effective ``(use_onednn, to_static, threads)``.

    Measured with Paddle 3.3.1 (CPU wheel):

    * Paddle sets ``OMP_NUM_THREADS=1`` when it is unset, so CPU kernels run on one core.
      ``cpu_threads=None`` therefore means "this process's share of the cores"
      (``cores // world_size``): ResNet45 training went from 8.3 to 15 images/s on 2 cores.
    * Eager kernels never use oneDNN whatever ``FLAGS_use_onednn`` says (no oneDNN
      primitive runs); static graphs do, but training a ``to_static`` model with oneDNN on
      crashes (segmentation fault in ``run_program``), so that combination falls back to
      oneDNN off.
    """
    import paddle

    if cpu_threads is None:
        cpu_threads = max(1, available_cores() // max(int(world_size), 1))
    if isinstance(cpu_threads, bool) or not isinstance(cpu_threads, int) or cpu_threads < 1:
        raise ConfigError(f"Global.cpu_threads: expected a positive int or null, got {cpu_threads!r}")
    paddle.base.core.set_num_threads(int(cpu_threads))
    if use_onednn and to_static:
        logger.warning("Global.use_onednn with Global.to_static crashes Paddle 3.3 CPU training "
                       "(segmentation fault); training with oneDNN off")
        use_onednn = False
    for flag in ("FLAGS_use_onednn", "FLAGS_use_mkldnn"):
        try:
            paddle.set_flags({flag: bool(use_onednn)})
        except (ValueError, KeyError, RuntimeError):
            pass  # not a flag of this Paddle build
    return use_onednn, to_static, cpu_threads


def _keep_keys_op(config, mode):
    transforms = (((config.get(mode) or {}).get("dataset") or {}).get("transforms")) or []
    for op in transforms:
        if isinstance(op, dict) and "KeepKeys" in op and isinstance(op["KeepKeys"], dict):
            return op["KeepKeys"]
    return None


def with_eval_fields(config, mode="Eval", fields=("text", "img_path")):
    """Return a copy of ``config`` whose ``mode`` KeepKeys also keeps ``fields`` (label text,
    image path) for reports, and the positions of image, label, length and those fields."""
    import copy

    config = copy.deepcopy(config)
    op = _keep_keys_op(config, mode)
    if op is None:
        return config, {"image": 0, "label": 1, "length": 2}
    keys = list(op.get("keep_keys") or [])
    for f in fields:
        if f not in keys:
            keys.append(f)
    op["keep_keys"] = keys
    return config, {k: i for i, k in enumerate(keys)}


def batch_positions(config, mode):
    """Positions of ``image``, ``label``, ``length`` in a ``mode`` batch (KeepKeys order)."""
    op = _keep_keys_op(config, mode)
    if op is None:
        return {"image": 0, "label": 1, "length": 2}
    return {k: i for i, k in enumerate(op.get("keep_keys") or [])}


def decode_label_batch(labels, lengths, characters):
    """Label index rows → texts (index ``i`` is character ``i - 1``; 0 pads)."""
    labels = labels.numpy() if hasattr(labels, "numpy") else np.asarray(labels)
    lengths = lengths.numpy() if hasattr(lengths, "numpy") else np.asarray(lengths)
    out = []
    for row, n in zip(labels, lengths.reshape(-1)):
        out.append("".join(characters[i - 1] for i in row[: int(n)] if 0 < i <= len(characters)))
    return out


class _JsonlLog:
    """Append-only JSONL writer, flushed per record (a crash loses at most the last line)."""

    def __init__(self, path, truncate_after_step=None):
        self.path = path
        if truncate_after_step is None:
            open(path, "w").close()  # a fresh run starts a fresh log
        elif os.path.isfile(path):
            # A resumed run continues the log: drop records from beyond the checkpoint.
            from ..utils.io import atomic_write_text

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
        self.file = open(path, "a", encoding="utf-8")

    def write(self, record):
        self.file.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.file.flush()

    def close(self):
        self.file.close()


class Trainer:
    """Train a recognition model as the config describes.

    Args:
        config (dict): a loaded config (:func:`ppresnet45.load_config`).
        show_progress (bool): show the tqdm bar (rank 0 only).

    Attributes:
        model (paddle.nn.Layer): the model (``paddle.DataParallel`` when distributed).
        layer (paddle.nn.Layer): the underlying model.
        optimizer, schedule: see :func:`.optim.build_optimizer`.
        global_step (int): optimizer steps taken.
        best (dict): best evaluation metrics so far.
    """

    def __init__(self, config, show_progress=True):
        import paddle

        import ppresnet45  # noqa: F401  (registers components)
        from ..charset import CTCCharset
        from ..data import build_dataloader
        from ..registry import LOSSES
        from ..modeling import build_model
        from ..registry import METRICS, POSTPROCESS
        from . import checkpoint as ckpt
        from .optim import build_optimizer

        self.config = config
        glob = config.get("Global") or {}
        self.glob = glob
        self.show_progress = show_progress
        self.save_dir = _global_value(glob, "save_model_dir", "./output/rec", (str,))
        self.epoch_num = _global_value(glob, "epoch_num", 1, (int,), lambda v: v >= 1, "an int >= 1")
        self.max_steps = _global_value(glob, "max_steps", 0, (int,), lambda v: v >= 0, "an int >= 0 or null")
        self.print_batch_step = _global_value(glob, "print_batch_step", 10, (int,), lambda v: v >= 1, "an int >= 1")
        self.smooth_window = _global_value(glob, "log_smooth_window", 20, (int,), lambda v: v >= 1, "an int >= 1")
        self.save_epoch_step = _global_value(glob, "save_epoch_step", 0, (int,), lambda v: v >= 0, "an int >= 0")
        self.cal_metric = bool(glob.get("cal_metric_during_train", True))
        self.eval_start, self.eval_every = parse_eval_interval(glob.get("eval_batch_step", [0, 500]))
        self.seed = _global_value(glob, "seed", 0, (int,))

        # --- devices and processes
        self.world_size, self.rank = self._init_distributed(bool(glob.get("use_gpu", False)))
        self.is_main = self.rank == 0
        self.use_onednn, self.to_static, self.cpu_threads = configure_cpu(
            bool(glob.get("use_onednn", False)), bool(glob.get("to_static", False)), glob.get("cpu_threads"),
            self.world_size)
        random.seed(self.seed)
        np.random.seed(self.seed)
        paddle.seed(self.seed)  # the same initial weights on every rank

        # --- model, loss, decoding, metric
        self.layer = build_model(config)
        self.loss_fn = LOSSES.build(config.get("Loss") or {"name": "CTCLoss"})
        post_cfg = dict(config.get("PostProcess") or {"name": "CTCLabelDecode"})
        self.postprocess = POSTPROCESS.build(
            post_cfg, character_dict_path=glob.get("character_dict_path"),
            use_space_char=bool(glob.get("use_space_char", False)))
        metric_cfg = dict(config.get("Metric") or {"name": "RecMetric"})
        self.metric = METRICS.build(metric_cfg)
        self.main_indicator = getattr(self.metric, "main_indicator", metric_cfg.get("main_indicator", "acc"))
        self.characters = CTCCharset.from_config(glob).characters
        self.train_pos = batch_positions(config, "Train")
        for key in ("image", "label", "length"):
            if key not in self.train_pos:
                raise ConfigError(f"Train.dataset.transforms: KeepKeys must keep '{key}' (keep_keys: "
                                  f"{list(self.train_pos)})")

        # --- resume position (read first: the loader starts at the saved epoch/batch)
        self.global_step, self.start_epoch, self.start_batch = 0, 0, 0
        self.best = {}
        self.resume_state = {}
        checkpoints = glob.get("checkpoints")
        if checkpoints:
            if not os.path.isfile(ckpt.checkpoint_prefix(checkpoints) + ".pdparams"):
                raise ConfigError(f"Global.checkpoints: '{ckpt.checkpoint_prefix(checkpoints)}.pdparams' not found "
                                  f"(expected a checkpoint prefix such as {self.save_dir}/latest)")
            self.resume_state = ckpt.read_states(checkpoints)
            st = self.resume_state
            self.global_step = int(st.get("global_step", 0))
            if "data_epoch" in st:
                self.start_epoch, self.start_batch = int(st["data_epoch"]), int(st.get("batch_in_epoch", 0))
            else:  # a PaddleOCR checkpoint: 'epoch' epochs are done
                self.start_epoch = int(st.get("epoch", 0))
            self.best = dict(st.get("best_model_dict") or {})

        # --- data
        self.train_loader = build_dataloader(config, "Train", seed=self.seed, rank=self.rank,
                                             world_size=self.world_size, epoch=self.start_epoch, start_batch=0)
        self.steps_per_epoch = len(self.train_loader)
        if self.start_batch >= self.steps_per_epoch:
            self.start_epoch, self.start_batch = self.start_epoch + 1, 0
        self.train_loader.set_epoch(self.start_epoch, self.start_batch)
        self.eval_loader = None
        self.eval_pos = None
        self.eval_enabled = bool(config.get("Eval")) and self.eval_every > 0  # the same on every rank
        if self.is_main and self.eval_enabled:
            eval_config, self.eval_pos = with_eval_fields(config, "Eval")
            self.eval_loader = build_dataloader(eval_config, "Eval", seed=self.seed)

        # --- optimizer (the schedule starts at the resumed step)
        self.optimizer, self.schedule = build_optimizer(
            config.get("Optimizer"), self.epoch_num, self.steps_per_epoch, self.layer,
            last_step=self.global_step - 1)

        # --- weights
        self.pretrained_report = None
        if checkpoints:
            ckpt.load_checkpoint(checkpoints, self.layer, self.optimizer)
            self.schedule.last_epoch = self.global_step  # the step is the schedule's clock
            self.schedule.last_lr = self.schedule.get_lr()
            ckpt.set_rng_state(self.resume_state.get("rng"))
            logger.info("resumed from %s at step %d (epoch %d, batch %d), lr %.6g", checkpoints, self.global_step,
                        self.start_epoch, self.start_batch, self.schedule.last_lr)
        elif glob.get("pretrained_model"):
            self.pretrained_report = ckpt.load_pretrained(self.layer, glob["pretrained_model"])

        self.forward_layer = self.layer
        if self.to_static:
            self.forward_layer = self._to_static(self.layer)
        self.model = self.forward_layer
        if self.world_size > 1:
            self.model = paddle.DataParallel(self.forward_layer)
        self._ckpt = ckpt
        self._saved = {}  # checkpoint name -> step last saved (no duplicate writes)
        self._last_eval_step = None

    # ------------------------------------------------------------------ set-up helpers
    @staticmethod
    def _init_distributed(use_gpu):
        import paddle
        import paddle.distributed as dist

        world = int(os.environ.get("PADDLE_TRAINERS_NUM", "1") or 1)
        gpu = use_gpu and paddle.is_compiled_with_cuda()
        if use_gpu and not gpu:
            logger.warning("Global.use_gpu is true but this Paddle has no CUDA: training on the CPU")
        if world > 1:
            if not gpu:
                os.environ.setdefault("PADDLE_DISTRI_BACKEND", "gloo")
            local = int(os.environ.get("PADDLE_LOCAL_RANK", os.environ.get("PADDLE_TRAINER_ID", "0")))
            paddle.set_device(f"gpu:{int(os.environ.get('FLAGS_selected_gpus', local))}" if gpu else "cpu")
            dist.init_parallel_env()
            return dist.get_world_size(), dist.get_rank()
        paddle.set_device("gpu" if gpu else "cpu")
        return 1, 0

    def _to_static(self, layer):
        import paddle

        try:
            c, h, _ = image_shape_of(self.config)
            spec = [paddle.static.InputSpec([None, c, h, None], "float32", "x")]
            return paddle.jit.to_static(layer, input_spec=spec, full_graph=True)
        except Exception as exc:  # pragma: no cover - depends on the Paddle build
            logger.warning("Global.to_static: conversion failed (%s); training eagerly", exc)
            self.to_static = False
            return layer

    # ------------------------------------------------------------------ distributed helpers
    def _all_reduce_mean(self, values):
        """Mean over ranks of a list of floats (identity when not distributed)."""
        if self.world_size == 1:
            return list(values)
        import paddle
        import paddle.distributed as dist

        t = paddle.to_tensor(np.asarray(values, dtype="float64"))
        dist.all_reduce(t)
        return (t.numpy() / self.world_size).tolist()

    def _sync_batchnorm_stats(self):
        """Average BatchNorm running statistics over ranks, so every rank (and the saved
        checkpoint) holds the same buffers."""
        if self.world_size == 1:
            return
        import paddle.distributed as dist

        for layer in self.layer.sublayers():
            for name in ("_mean", "_variance"):
                buf = getattr(layer, name, None)
                if buf is not None and hasattr(buf, "shape"):
                    dist.all_reduce(buf)
                    buf.set_value(buf / self.world_size)

    # ------------------------------------------------------------------ outputs
    def _open_outputs(self):
        self.jsonl = None
        self.vdl = None
        self._file_handler = None
        if not self.is_main:
            return
        os.makedirs(self.save_dir, exist_ok=True)
        resumed = bool(self.glob.get("checkpoints"))
        self._file_handler = logging.FileHandler(os.path.join(self.save_dir, "train.log"), encoding="utf-8")
        self._file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(self._file_handler)
        logger.setLevel(logging.INFO)
        self.step_logger = logging.getLogger("ppresnet45.train.steps")
        self.step_logger.propagate = False  # step lines go to the file; the console has the bar
        self.step_logger.setLevel(logging.INFO)
        self.step_logger.addHandler(self._file_handler)
        self.jsonl = _JsonlLog(os.path.join(self.save_dir, "train_log.jsonl"),
                               truncate_after_step=self.global_step if resumed else None)
        save_config(self.config, os.path.join(self.save_dir, "config.yml"))
        if self.glob.get("use_visualdl"):
            try:
                from visualdl import LogWriter

                self.vdl = LogWriter(logdir=os.path.join(self.save_dir, "vdl"))
            except ImportError:
                logger.warning("Global.use_visualdl is true but visualdl is not installed (pip install visualdl); "
                               "scalars go to train_log.jsonl only")

    def _close_outputs(self):
        if getattr(self, "jsonl", None) is not None:
            self.jsonl.close()
            self.jsonl = None
        if getattr(self, "vdl", None) is not None:
            self.vdl.close()
            self.vdl = None
        if getattr(self, "_file_handler", None) is not None:
            logger.removeHandler(self._file_handler)
            self.step_logger.removeHandler(self._file_handler)
            self._file_handler.close()
            self._file_handler = None

    def _record(self, record, scalars=None):
        if not self.is_main:
            return
        if self.jsonl is not None:
            self.jsonl.write(record)
        if self.vdl is not None and scalars:
            for tag, value in scalars.items():
                if value is not None:
                    self.vdl.add_scalar(tag=tag, value=float(value), step=record.get("step", self.global_step))

    def _save(self, name, epoch, batch_in_epoch, metrics=None, sync=True):
        """Save checkpoint ``name``. Every rank must call it when ``sync`` is true (BatchNorm
        statistics are averaged over ranks first); only rank 0 writes."""
        if batch_in_epoch >= self.steps_per_epoch:
            epoch, batch_in_epoch = epoch + 1, 0
        if sync:
            self._sync_batchnorm_stats()
        if not self.is_main or self._saved.get(name) == self.global_step:
            return None
        self._saved[name] = self.global_step
        state = {
            "global_step": self.global_step,
            "epoch": epoch,  # PaddleOCR's meaning when batch_in_epoch is 0: epochs completed
            "data_epoch": epoch,
            "batch_in_epoch": batch_in_epoch,
            "steps_per_epoch": self.steps_per_epoch,
            "world_size": self.world_size,
            "seed": self.seed,
            "lr": self.schedule.last_lr,
            "metrics": metrics or {},
            "best_model_dict": self.best,
        }
        return self._ckpt.save_checkpoint(os.path.join(self.save_dir, name), self.layer, self.optimizer, state,
                                          config=self.config)

    # ------------------------------------------------------------------ evaluation
    def evaluate(self):
        """Evaluate on the Eval set (rank 0 only; other ranks get ``{}``); returns the metric dict."""
        from .evaluator import evaluate_model

        if self.eval_loader is None:
            return {}
        metrics, _ = evaluate_model(self.forward_layer, self.eval_loader, self.postprocess, self.metric,
                                    self.eval_pos, characters=self.characters, show_progress=self.show_progress,
                                    keep_records=False)
        return metrics

    def _evaluate_and_save(self, epoch, batch_in_epoch):
        """Every rank calls this: BatchNorm statistics are averaged, rank 0 evaluates and saves."""
        self._sync_batchnorm_stats()
        self._last_eval_step = self.global_step
        self._saved.pop("latest", None)  # latest.json then carries these metrics
        metrics = self.evaluate() if self.is_main else {}
        if self.is_main and metrics:
            value = metrics.get(self.main_indicator, 0.0)
            improved = not self.best or value > self.best.get(self.main_indicator, -math.inf)
            if improved:
                self.best = {k: v for k, v in metrics.items() if k != "acc_by_length"}
                self.best["best_step"] = self.global_step
                self.best["best_epoch"] = epoch
            logger.info("eval step %d: %s %.4f, norm_edit_dis %.4f (best %s %.4f at step %d)%s",
                        self.global_step, self.main_indicator, value, metrics.get("norm_edit_dis", float("nan")),
                        self.main_indicator, self.best.get(self.main_indicator, 0.0), self.best.get("best_step", 0),
                        " — saved best_accuracy" if improved else "")
            record = {"type": "eval", "step": self.global_step, "epoch": epoch, "time": time.time()}
            record.update({k: v for k, v in metrics.items()})
            record["best_" + self.main_indicator] = self.best.get(self.main_indicator)
            self._record(record, {"eval/" + k: v for k, v in metrics.items() if isinstance(v, (int, float))})
            if improved:
                self._save("best_accuracy", epoch, batch_in_epoch, metrics, sync=False)
        self._save("latest", epoch, batch_in_epoch, metrics, sync=False)
        return metrics

    # ------------------------------------------------------------------ training
    def _train_metrics(self, preds, batch):
        pos = self.train_pos
        decoded = self.postprocess(preds.detach() if hasattr(preds, "detach") else preds)
        texts = decode_label_batch(batch[pos["label"]], batch[pos["length"]], self.characters)
        self.metric.reset()
        self.metric.update(decoded, texts)
        out = self.metric.get_metric()
        return out["acc"], out["norm_edit_dis"]

    def _diverged(self, value, epoch, batch_index):
        latest = os.path.join(self.save_dir, "latest")
        have = os.path.isfile(latest + ".json")
        step_of_latest = None
        if have:
            try:
                with open(latest + ".json", encoding="utf-8") as f:
                    step_of_latest = json.load(f).get("global_step")
            except (OSError, ValueError):
                pass
        kept = (f"the last good checkpoint {latest} (step {step_of_latest}) is kept" if have
                else "no checkpoint had been saved yet")
        msg = (f"loss is {value} at step {self.global_step + 1} (epoch {epoch}, batch {batch_index}); training "
               f"stopped and {kept}. Lower Optimizer.lr.learning_rate or set Optimizer.clip_norm")
        self._record({"type": "error", "step": self.global_step + 1, "epoch": epoch, "loss": str(value),
                      "message": msg, "time": time.time()})
        return TrainingDivergedError(msg)

    def fit(self):
        """Run the training loop; returns a summary dict (steps, best metrics, last loss, speed)."""
        import paddle
        from tqdm import tqdm

        self._open_outputs()
        try:
            return self._fit(paddle, tqdm)
        finally:
            self._close_outputs()

    def _fit(self, paddle, tqdm):
        pos = self.train_pos
        if self.is_main:
            logger.info("training: %d epoch(s) x %d step(s), %d process(es), batch %d per card, max_steps %s, "
                        "%d CPU thread(s), oneDNN %s, to_static %s, output %s", self.epoch_num, self.steps_per_epoch,
                        self.world_size, self.train_loader.batch_sampler.batch_size, self.max_steps or "-",
                        self.cpu_threads, self.use_onednn, self.to_static, self.save_dir)
        losses = collections.deque(maxlen=self.smooth_window)
        speeds = collections.deque(maxlen=self.smooth_window)
        last = {"loss": None, "acc": None, "norm_edit_dis": None}
        total_images, total_time = 0, 0.0
        stop = False
        in_update = False
        epoch, b = self.start_epoch, self.start_batch
        if self.max_steps and self.global_step >= self.max_steps:
            logger.info("already at step %d >= Global.max_steps %d: nothing to train", self.global_step,
                        self.max_steps)
            stop = True
        total_steps = self.epoch_num * self.steps_per_epoch
        if self.max_steps:
            total_steps = min(total_steps, self.max_steps)
        bar = tqdm(total=total_steps, initial=min(self.global_step, total_steps), desc="train", unit="step",
                   disable=not (self.show_progress and self.is_main), dynamic_ncols=True)
        try:
            for epoch in range(self.start_epoch, self.epoch_num):
                if stop:
                    break
                start_batch = self.start_batch if epoch == self.start_epoch else 0
                self.train_loader.set_epoch(epoch, start_batch)
                self.model.train()
                b = start_batch
                t_read = time.perf_counter()
                for batch in self.train_loader:
                    reader_cost = time.perf_counter() - t_read
                    t0 = time.perf_counter()
                    images = batch[pos["image"]]
                    preds = self.model(images)
                    loss = self.loss_fn(preds, batch)["loss"]
                    loss_value = self._all_reduce_mean([float(loss)])[0]
                    if not math.isfinite(loss_value):
                        raise self._diverged(loss_value, epoch, b)
                    in_update = True  # an interrupt from here on leaves a half-updated model
                    loss.backward()
                    self.optimizer.step()
                    self.optimizer.clear_grad()
                    lr = self.schedule.last_lr
                    self.schedule.step()
                    self.global_step += 1
                    b += 1
                    in_update = False
                    n_images = int(images.shape[0]) * self.world_size
                    batch_cost = time.perf_counter() - t0 + reader_cost
                    total_images += n_images
                    total_time += batch_cost
                    losses.append(loss_value)
                    speeds.append((n_images, batch_cost, reader_cost))
                    last["loss"] = loss_value
                    if self.global_step % self.print_batch_step == 0 or self.global_step == 1:
                        self._log_step(preds, batch, epoch, b, lr, loss_value, losses, speeds, last, bar)
                    bar.update(1)
                    if should_evaluate(self.global_step, self.eval_start, self.eval_every):
                        self._evaluate_and_save(epoch, b)
                        self.model.train()
                    if self.max_steps and self.global_step >= self.max_steps:
                        stop = True
                        break
                    t_read = time.perf_counter()
                self._end_epoch(epoch, b)
                if stop:
                    break
        except KeyboardInterrupt:
            bar.close()
            if in_update:
                logger.warning("interrupted during an optimizer update at step %d: latest is not overwritten",
                               self.global_step + 1)
            else:
                logger.info("interrupted at step %d: saving latest", self.global_step)
                # no collective here: the other ranks may be gone already
                self._save("latest", epoch, b, sync=self.world_size == 1)
            raise
        bar.close()
        final_metrics = {}
        if self.eval_enabled and self.global_step > 0 and self._last_eval_step != self.global_step:
            final_metrics = self._evaluate_and_save(epoch, b)
        else:
            self._save("latest", epoch, b)
        summary = {
            "global_step": self.global_step,
            "epoch": epoch,
            "last_loss": last["loss"],
            "last_train_acc": last["acc"],
            "best": self.best,
            "final_eval": final_metrics,
            "images_per_second": total_images / total_time if total_time else None,
            "save_model_dir": self.save_dir,
        }
        if self.is_main:
            logger.info("done: %d steps, best %s %s, %.1f images/s", self.global_step, self.main_indicator,
                        self.best.get(self.main_indicator), summary["images_per_second"] or 0.0)
            self._record({"type": "done", "step": self.global_step, "time": time.time(),
                          **{k: v for k, v in summary.items() if k not in ("final_eval",)}})
        return summary

    def _log_step(self, preds, batch, epoch, b, lr, loss_value, losses, speeds, last, bar):
        acc = ned = None
        if self.cal_metric and self.is_main:
            acc, ned = self._train_metrics(preds, batch)
            last["acc"], last["norm_edit_dis"] = acc, ned
        n = sum(s[0] for s in speeds)
        cost = sum(s[1] for s in speeds)
        ips = n / cost if cost else 0.0
        reader = sum(s[2] for s in speeds) / max(len(speeds), 1)
        avg = float(np.mean(losses))
        if not self.is_main:
            return
        post = {"loss": f"{avg:.4f}", "lr": f"{lr:.2e}", "img/s": f"{ips:.1f}"}
        if acc is not None:
            post["acc"] = f"{acc:.3f}"
        bar.set_postfix(post, refresh=False)
        self.step_logger.info(
            "epoch [%d/%d] step %d (batch %d/%d) lr %.6g loss %.5f (avg %.5f)%s, %.1f images/s, reader %.3fs",
            epoch + 1, self.epoch_num, self.global_step, b, self.steps_per_epoch, lr, loss_value, avg,
            f", acc {acc:.4f}, norm_edit_dis {ned:.4f}" if acc is not None else "", ips, reader)
        self._record(
            {"type": "train", "step": self.global_step, "epoch": epoch, "batch": b, "lr": lr, "loss": loss_value,
             "loss_avg": avg, "acc": acc, "norm_edit_dis": ned, "images_per_second": ips,
             "reader_cost": reader, "time": time.time()},
            {"train/loss": avg, "train/lr": lr, "train/acc": acc, "train/images_per_second": ips},
        )

    def _end_epoch(self, epoch, b):
        counts = self.train_loader.skip_counts()
        if self.world_size > 1:
            from ..data.transforms import SKIP_REASONS

            vec = self._all_reduce_mean([counts.get(r, 0) for r in SKIP_REASONS])
            counts = {r: int(round(v * self.world_size)) for r, v in zip(SKIP_REASONS, vec) if round(v * self.world_size)}
        complete = b >= self.steps_per_epoch
        if self.is_main:
            total = sum(counts.values())
            if total:
                logger.warning("epoch %d: skipped %d bad sample(s): %s", epoch + 1, total,
                               ", ".join(f"{k} {v}" for k, v in counts.items()))
            self._record({"type": "epoch", "step": self.global_step, "epoch": epoch, "complete": complete,
                          "skipped": counts, "skipped_total": total, "time": time.time()})
        if complete:
            self._save("latest", epoch, b)
            if self.save_epoch_step and (epoch + 1) % self.save_epoch_step == 0:
                self._save(f"iter_epoch_{epoch + 1}", epoch, b)


def train(config, show_progress=True):
    """Train from a config dict (or YAML path); returns :meth:`Trainer.fit`'s summary."""
    if not isinstance(config, dict):
        config = load_config(config)
    return Trainer(config, show_progress=show_progress).fit()
