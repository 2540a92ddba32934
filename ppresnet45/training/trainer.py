"""The training loop: :class:`Trainer` and :func:`train`.

The trainer runs parts built elsewhere (:func:`.components.build_training_parts` by
default: model, loss, decoder, metric, optimizer and schedule, loaders) and owns what
happens between them: steps, evaluation, checkpoints, logs. Outputs in
``Global.save_model_dir``:

* ``latest.*`` — written after every evaluation, at every epoch end, when training stops
  (``max_steps``, the last epoch, Ctrl-C); ``best_accuracy.*`` — the best evaluation so far;
  ``iter_epoch_N.*`` every ``save_epoch_step`` epochs. See :mod:`.checkpoint`.
* the run's logs: ``train.log``, ``train_log.jsonl`` (a record per logged step, evaluation,
  epoch and failure), ``config.yml`` and VisualDL scalars. See :mod:`.run_log`.

A step runs the model on the batch's image — plus the rest of the batch (``batch[1:]``) for
a head that ``needs_targets`` (VisionLAN) — back-propagates the loss dict's ``loss`` and logs
its other entries (ABINet's ``align_loss`` / ``lang_loss`` / ``vision_loss``) as ``loss_parts``;
training-time metrics decode the train outputs with the config's decoder (see :mod:`.steps`).

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

import logging
import math
import os
import time

import paddle

from ..config import load_config
from ..data.transforms import SKIP_REASONS
from ..errors import PPResNetError
from . import checkpoint as ckpt
from . import weights
from .components import build_training_parts, closing_datasets, main_indicator
from .devices import (
    all_reduce_mean,
    compile_static,
    configure_cpu,
    init_distributed,
    sum_over_ranks,
    sync_batchnorm_stats,
)
from .evaluator import evaluate_model
from .run_log import RunLog, StepMeter
from .settings import TrainSettings, parse_eval_interval, should_evaluate
from .steps import batch_metrics, forward, model_needs_targets, split_losses
from .threads import describe_threads, tuner_for

__all__ = ["Trainer", "TrainingDivergedError", "parse_eval_interval", "should_evaluate", "train"]

logger = logging.getLogger("ppresnet45.train")


class TrainingDivergedError(PPResNetError):
    """The loss became NaN or infinite; training stopped without saving the bad weights."""


class Trainer:
    """Train a recognition model as the config describes.

    Args:
        config (dict): a loaded config (:func:`ppresnet45.load_config`).
        show_progress (bool): show the tqdm bar (rank 0 only).
        parts (TrainingParts | None): the model, loss, optimizer, loaders, ... to run;
            default :func:`.components.build_training_parts` of ``config``, after the
            device, the process group and the seeds are set up.

    Attributes:
        model (paddle.nn.Layer): the model being trained (what checkpoints hold).
        forward_model (paddle.nn.Layer): what forward passes run: ``model`` converted by
            ``paddle.jit.to_static`` when ``Global.to_static``, else ``model`` itself.
        parallel_model (paddle.nn.Layer): ``paddle.DataParallel(forward_model)`` when
            distributed, else ``forward_model``: what training steps run.
        optimizer, schedule, loss, postprocess, metric, train_loader, eval_loader: the parts.
        settings (TrainSettings): the checked ``Global`` keys.
        global_step (int): optimizer steps taken.
        best (dict): best evaluation metrics so far.
        world_size, rank (int): the data-parallel processes and this one's index.
        use_onednn, to_static (bool), cpu_threads (int): the effective CPU settings.
    """

    def __init__(self, config, show_progress=True, parts=None):
        self.config = config
        self.settings = s = TrainSettings.from_config(config)
        self.show_progress = show_progress
        self.world_size, self.rank = init_distributed(s.use_gpu)
        self.is_main = self.rank == 0
        self.use_onednn, self.to_static, self.cpu_threads = configure_cpu(
            s.use_onednn, s.to_static, s.cpu_threads, self.world_size, omp_blocktime=s.omp_blocktime
        )
        self.thread_tuner = tuner_for(s, self.world_size, self.cpu_threads)
        ckpt.seed_rngs(s.seed)  # the same initial weights on every rank
        # the resume point first: the loader starts at its epoch, the schedule at its step
        resume = ckpt.ResumePoint.read(s.checkpoints, example_dir=s.save_dir) if s.checkpoints else ckpt.ResumePoint()
        self.global_step, self.best = resume.global_step, resume.best
        self.eval_enabled = bool(config.get("Eval")) and s.eval_every > 0  # the same on every rank
        if parts is None:
            parts = build_training_parts(
                config,
                seed=s.seed,
                rank=self.rank,
                world_size=self.world_size,
                epoch=resume.epoch,
                last_step=self.global_step - 1,
                with_eval=self.is_main and self.eval_enabled,
            )
        self._take_parts(parts)
        self.needs_targets = model_needs_targets(self.model)  # VisionLAN: model(image, batch[1:])
        self.loss_parts = {}  # the last step's loss parts (ABINet: align/lang/vision), rank mean
        self.steps_per_epoch = len(self.train_loader)
        self.start_epoch, self.start_batch = ckpt.data_position(resume.epoch, resume.batch, self.steps_per_epoch)
        self.train_loader.set_epoch(self.start_epoch, self.start_batch)
        self.epoch, self.batch_in_epoch = self.start_epoch, self.start_batch  # the data position
        self.pretrained_report = None
        if s.checkpoints:
            self._restore(resume)
        elif s.pretrained_model:
            self.pretrained_report = weights.load_pretrained(self.model, s.pretrained_model)
        self.forward_model = self.model
        if self.to_static:
            self.forward_model, self.to_static = compile_static(self.model, config)
        self.parallel_model = paddle.DataParallel(self.forward_model) if self.world_size > 1 else self.forward_model
        self.run_log = RunLog(s.save_dir, config, enabled=False)  # opened by fit()
        self._saved = {}  # checkpoint name -> step last saved (no duplicate writes)
        self._last_eval_step = None
        self._in_update = False

    def _take_parts(self, parts):
        self.parts = parts
        self.model, self.loss, self.postprocess = parts.model, parts.loss, parts.postprocess
        self.metric, self.main_indicator = parts.metric, main_indicator(parts.metric, self.config)
        self.optimizer, self.schedule = parts.optimizer, parts.schedule
        self.train_loader, self.train_positions = parts.train_loader, parts.train_positions
        self.eval_loader, self.eval_positions = parts.eval_loader, parts.eval_positions
        self.characters = parts.characters

    def _restore(self, resume):
        weights.load_checkpoint(self.settings.checkpoints, self.model, self.optimizer)
        self.schedule.last_epoch = self.global_step  # the step is the schedule's clock
        self.schedule.last_lr = self.schedule.get_lr()
        ckpt.set_rng_state(resume.states.get("rng"))
        logger.info(
            "resumed from %s at step %d (epoch %d, batch %d), lr %.6g",
            self.settings.checkpoints,
            self.global_step,
            self.start_epoch,
            self.start_batch,
            self.schedule.last_lr,
        )

    # ------------------------------------------------------------------ checkpoints
    def _save(self, name, metrics=None, sync=True):
        """Save checkpoint ``name`` at the current data position. Every rank must call it when
        ``sync`` is true (BatchNorm statistics are averaged over ranks first); rank 0 writes."""
        if sync:
            sync_batchnorm_stats(self.model, self.world_size)
        if not self.is_main or self._saved.get(name) == self.global_step:
            return None
        self._saved[name] = self.global_step
        state = ckpt.run_state(
            self.global_step,
            self.epoch,
            self.batch_in_epoch,
            self.steps_per_epoch,
            self.best,
            metrics,
            world_size=self.world_size,
            seed=self.settings.seed,
            lr=self.schedule.last_lr,
        )
        return ckpt.save_checkpoint(
            os.path.join(self.settings.save_dir, name), self.model, self.optimizer, state, config=self.config
        )

    # ------------------------------------------------------------------ evaluation
    def evaluate(self):
        """Evaluate on the Eval set (rank 0 only; other ranks get ``{}``); returns the metric dict."""
        if self.eval_loader is None:
            return {}
        metrics, _ = evaluate_model(
            self.forward_model,
            self.eval_loader,
            self.postprocess,
            self.metric,
            self.eval_positions,
            characters=self.characters,
            show_progress=self.show_progress,
            keep_records=False,
        )
        return metrics

    def _evaluate_and_save(self):
        """Every rank calls this: BatchNorm statistics are averaged, rank 0 evaluates and saves."""
        sync_batchnorm_stats(self.model, self.world_size)
        self._last_eval_step = self.global_step
        self._saved.pop("latest", None)  # latest.json then carries these metrics
        metrics = self.evaluate() if self.is_main else {}
        if self.is_main and metrics and self._update_best(metrics):
            self._save("best_accuracy", metrics, sync=False)
        self._save("latest", metrics, sync=False)
        return metrics

    def _update_best(self, metrics):
        """Log and record an evaluation; returns whether it is the best so far."""
        key = self.main_indicator
        self.best, improved = ckpt.update_best(self.best, metrics, key, self.global_step, self.epoch)
        self.run_log.evaluation(self.global_step, self.epoch, metrics, key, self.best, improved)
        return improved

    # ------------------------------------------------------------------ training
    def fit(self):
        """Run the training loop; returns a summary dict (steps, best metrics, last loss, speed)."""
        s = self.settings
        self.run_log = RunLog(
            s.save_dir,
            self.config,
            resume_step=self.global_step if s.checkpoints else None,
            use_visualdl=s.use_visualdl,
            enabled=self.is_main,
        )
        with self.run_log, closing_datasets(self.train_loader, self.eval_loader):
            self.run_log.started(
                s,
                self.steps_per_epoch,
                self.world_size,
                self.train_loader.batch_sampler.batch_size,
                describe_threads(self.thread_tuner, self.cpu_threads),
                self.use_onednn,
                self.to_static,
            )
            meter = StepMeter(s.smooth_window)
            total = s.epoch_num * self.steps_per_epoch
            total = min(total, s.max_steps) if s.max_steps else total
            bar = self.run_log.progress(total, self.global_step, show=self.show_progress)
            try:
                self._run_epochs(meter, bar)
            except KeyboardInterrupt:
                bar.close()
                self._save_on_interrupt()
                raise
            bar.close()
            return self._finish(meter)

    def _run_epochs(self, meter, bar):
        s = self.settings
        if s.max_steps and self.global_step >= s.max_steps:
            logger.info("already at step %d >= Global.max_steps %d: nothing to train", self.global_step, s.max_steps)
            return
        for epoch in range(self.start_epoch, s.epoch_num):
            self.epoch = epoch
            self.batch_in_epoch = self.start_batch if epoch == self.start_epoch else 0
            self.train_loader.set_epoch(epoch, self.batch_in_epoch)
            self.parallel_model.train()
            stop = self._run_epoch(meter, bar)
            self._end_epoch()
            if stop:
                return

    def _run_epoch(self, meter, bar):
        """Train on the rest of the current epoch; returns True when ``max_steps`` is reached."""
        s = self.settings
        t_read = time.perf_counter()
        for batch in self.train_loader:
            reader_cost = time.perf_counter() - t_read
            t0 = time.perf_counter()
            preds, loss_value, lr = self._train_step(batch)
            n_images = int(batch[self.train_positions["image"]].shape[0]) * self.world_size
            if self.thread_tuner is not None:
                self.cpu_threads = self.thread_tuner.after_step(n_images, time.perf_counter() - t0)
                for record in self.thread_tuner.pop_records():
                    self.run_log.record({"type": "threads", **record, "step": self.global_step})
            meter.add(loss_value, n_images, time.perf_counter() - t0 + reader_cost, reader_cost)
            if self.global_step % s.print_batch_step == 0 or self.global_step == 1:
                self._log_step(preds, batch, lr, meter)
            bar.update(1)
            if should_evaluate(self.global_step, s.eval_start, s.eval_every):
                self._evaluate_and_save()
                self.parallel_model.train()
            if s.max_steps and self.global_step >= s.max_steps:
                return True
            t_read = time.perf_counter()
        return False

    def _train_step(self, batch):
        """One optimizer step; returns the predictions, the loss (mean over ranks) and the
        learning rate the step used."""
        preds = forward(self.parallel_model, batch, self.train_positions, self.needs_targets)
        loss, parts = split_losses(self.loss(preds, batch))
        values = all_reduce_mean([float(loss)] + [float(v) for v in parts.values()], self.world_size)
        loss_value, self.loss_parts = values[0], dict(zip(parts, values[1:]))
        if not math.isfinite(loss_value):
            raise self._diverged(loss_value)
        self._in_update = True  # an interrupt from here on leaves a half-updated model
        loss.backward()
        self.optimizer.step()
        self.optimizer.clear_grad()
        lr = self.schedule.last_lr
        self.schedule.step()
        self.global_step += 1
        self.batch_in_epoch += 1
        self._in_update = False
        return preds, loss_value, lr

    def _log_step(self, preds, batch, lr, meter):
        """The run log's step line, record and bar figures (rank 0; the batch's metrics when asked)."""
        if not self.is_main:
            return
        acc = ned = None
        if self.settings.cal_metric:
            acc, ned = batch_metrics(self.postprocess, self.metric, preds, batch, self.train_positions, self.characters)
            meter.last_acc = acc
        self.run_log.train_step(self.global_step, self.epoch, self.batch_in_epoch, lr, meter, self.loss_parts, acc, ned)

    def _end_epoch(self):
        counts = sum_over_ranks(self.train_loader.skip_counts(), SKIP_REASONS, self.world_size)
        complete = self.batch_in_epoch >= self.steps_per_epoch
        self.run_log.epoch_end(self.global_step, self.epoch, complete, counts)
        if complete:
            self._save("latest")
            if self.settings.save_epoch_step and (self.epoch + 1) % self.settings.save_epoch_step == 0:
                self._save(f"iter_epoch_{self.epoch + 1}")

    def _diverged(self, value):
        latest = os.path.join(self.settings.save_dir, "latest")
        kept = "no checkpoint had been saved yet"
        if os.path.isfile(latest + ".json"):
            kept = f"the last good checkpoint {latest} (step {ckpt.saved_step(latest)}) is kept"
        return TrainingDivergedError(
            self.run_log.diverged(self.global_step + 1, self.epoch, self.batch_in_epoch, value, kept)
        )

    def _save_on_interrupt(self):
        if self._in_update:
            logger.warning(
                "interrupted during an optimizer update at step %d: latest is not overwritten", self.global_step + 1
            )
            return
        logger.info("interrupted at step %d: saving latest", self.global_step)
        self._save("latest", sync=self.world_size == 1)  # no collective: the other ranks may be gone already

    def _finish(self, meter):
        final_metrics = {}
        if self.eval_enabled and self.global_step > 0 and self._last_eval_step != self.global_step:
            final_metrics = self._evaluate_and_save()
        else:
            self._save("latest")
        summary = {
            "global_step": self.global_step,
            "epoch": self.epoch,
            "last_loss": meter.last_loss,
            "last_train_acc": meter.last_acc,
            "best": self.best,
            "final_eval": final_metrics,
            "images_per_second": meter.images_per_second(),
            "save_model_dir": self.settings.save_dir,
        }
        self.run_log.done(summary, self.main_indicator)
        return summary


def train(config, show_progress=True):
    """Train from a config dict (or YAML path); returns :meth:`Trainer.fit`'s summary."""
    if not isinstance(config, dict):
        config = load_config(config)
    return Trainer(config, show_progress=show_progress).fit()
