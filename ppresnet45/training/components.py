"""Build the parts of a recognition pipeline from a config, once, for train, eval and export.

Every stage that needs a model, its weights, a loss, a decoder, a metric, an optimizer or
a data loader gets it here, so the stages stay in step (the same defaults, the same error
messages). :func:`build_training_parts` assembles what :class:`.trainer.Trainer` runs.
"""

import contextlib
import dataclasses
import os
from typing import Optional

from ..charset import CTCCharset
from ..data import build_dataloader
from ..modeling import build_model as _build_model
from ..registry import LOSSES, METRICS, POSTPROCESS
from . import optim
from .batches import train_batch_positions, with_eval_fields
from .checkpoint import checkpoint_prefix
from .param_groups import check_training_step
from .settings import TrainSettings
from .weights import load_pretrained


def build_model(config):
    """The :class:`ppresnet45.RecModel` the config's ``Architecture`` describes."""
    return _build_model(config)


def build_loss(config):
    """The config's ``Loss`` (default ``CTCLoss``)."""
    return LOSSES.build(config.get("Loss") or {"name": "CTCLoss"})


def build_postprocess(config):
    """The config's ``PostProcess`` decoder (default ``CTCLabelDecode``), with the dictionary
    of ``Global.character_dict_path`` / ``Global.use_space_char``."""
    glob = config.get("Global") or {}
    post_cfg = dict(config.get("PostProcess") or {"name": "CTCLabelDecode"})
    return POSTPROCESS.build(
        post_cfg,
        character_dict_path=glob.get("character_dict_path"),
        use_space_char=bool(glob.get("use_space_char", False)),
    )


def build_metric(config):
    """The config's ``Metric`` (default ``RecMetric``)."""
    return METRICS.build(dict(config.get("Metric") or {"name": "RecMetric"}))


def main_indicator(metric, config):
    """The metric key that decides the best checkpoint (``Metric.main_indicator``, ``acc``)."""
    return getattr(metric, "main_indicator", (config.get("Metric") or {}).get("main_indicator", "acc"))


def dictionary_characters(config):
    """The characters of the config's dictionary (label index ``i`` is character ``i - 1``)."""
    return CTCCharset.from_config(config.get("Global") or {}).characters


def build_optimizer(config, model, steps_per_epoch, last_step=-1):
    """The config's ``Optimizer`` for ``model`` and its step schedule over ``Global.epoch_num``
    epochs of ``steps_per_epoch`` (see :func:`.optim.build_optimizer`)."""
    epoch_num = TrainSettings.from_config(config).epoch_num
    return optim.build_optimizer(config.get("Optimizer"), epoch_num, steps_per_epoch, model, last_step=last_step)


def build_train_loader(config, seed=0, rank=0, world_size=1, epoch=0):
    """The ``Train`` loader of one rank, positioned at the start of ``epoch``."""
    return build_dataloader(config, "Train", seed=seed, rank=rank, world_size=world_size, epoch=epoch, start_batch=0)


def build_eval_loader(config, seed=0):
    """The ``Eval`` loader, its batches also carrying label texts and image paths.

    Returns:
        tuple[RecDataLoader, dict]: the loader and the field positions of its batches.
    """
    eval_config, positions = with_eval_fields(config, "Eval")
    return build_dataloader(eval_config, "Eval", seed=seed), positions


@contextlib.contextmanager
def closing_datasets(*loaders):
    """Close the datasets of ``loaders`` (None skipped) on exit: an LMDB environment stays
    open until then, and py-lmdb refuses to open the same one twice in a process (a later
    train or eval in the same process would fail)."""
    try:
        yield
    finally:
        for loader in loaders:
            close = getattr(getattr(loader, "dataset", None), "close", None)
            if close is not None:
                close()


def load_weights(model, path, key="Global.pretrained_model"):
    """Load matching weights into ``model`` (see :func:`.weights.load_pretrained`).

    Accepts PaddleOCR full-model checkpoints (``backbone.…``, ``neck.…``, ``head.…``) and
    backbone-only state dicts; tensors of another shape (a head for another dictionary)
    are skipped and keep their initial values.

    Returns:
        dict: ``path``, ``loaded`` / ``total`` counts, ``missing``, ``unexpected``,
        ``mismatched`` (``[key, checkpoint shape, model shape]``) and ``key_prefix_added``.
    """
    report = load_pretrained(model, path, key=key)
    file = checkpoint_prefix(path) + ".pdparams"
    return {
        "path": file if os.path.isfile(file) else os.fspath(path),
        "key_prefix_added": report["prefix_added"],
        "loaded": report["loaded"],
        "total": len(model.state_dict()),
        "missing": report["missing"],
        "unexpected": report["unexpected"],
        "mismatched": report["shape_mismatch"],
    }


@dataclasses.dataclass
class TrainingParts:
    """What the training loop runs; :func:`build_training_parts` makes them from a config.

    Attributes:
        model (paddle.nn.Layer): the recognizer being trained.
        loss (Callable): ``loss(preds, batch) -> {"loss": Tensor, ...}``: ``loss`` is
            back-propagated, other scalar entries are logged as parts.
        postprocess (Callable): decoder, ``postprocess(preds) -> [(text, score), ...]``
            (train outputs too; see :func:`.steps.decode_train`).
        metric: reset / update / get_metric (:class:`~ppresnet45.modeling.metrics.RecMetric`).
        optimizer (paddle.optimizer.Optimizer): over ``model``'s parameters.
        schedule (paddle.optimizer.lr.LRScheduler): the optimizer's learning rate, stepped
            once per optimizer step.
        train_loader: this rank's training batches (``set_epoch``, ``skip_counts``, ``len``).
        train_positions (dict): field positions in a training batch.
        characters (list[str]): the dictionary, to turn label indices into texts.
        eval_loader: evaluation batches, or None (no evaluation on this rank).
        eval_positions (dict | None): field positions in an evaluation batch.
    """

    model: object
    loss: object
    postprocess: object
    metric: object
    optimizer: object
    schedule: object
    train_loader: object
    train_positions: dict
    characters: list
    eval_loader: object = None
    eval_positions: Optional[dict] = None


def build_training_parts(config, seed=0, rank=0, world_size=1, epoch=0, last_step=-1, with_eval=True):
    """Build every :class:`TrainingParts` field from the config.

    Args:
        config (dict): a loaded config.
        seed (int): the run's seed (data order and augmentation).
        rank (int), world_size (int): this process among the data-parallel ones.
        epoch (int): the epoch the train loader starts at (resuming).
        last_step (int): the optimizer step the schedule resumes after (``-1``: fresh run).
        with_eval (bool): build the ``Eval`` loader too.

    The model is built first, so the initial weights depend only on the RNG state at the
    call (seed it the same on every rank). VisionLAN's training step must be one value in
    the head, the loss and the optimizer (:func:`.param_groups.check_training_step`).
    """
    check_training_step(config)
    model = build_model(config)
    loss = build_loss(config)
    postprocess = build_postprocess(config)
    metric = build_metric(config)
    characters = dictionary_characters(config)
    train_positions = train_batch_positions(config)
    train_loader = build_train_loader(config, seed=seed, rank=rank, world_size=world_size, epoch=epoch)
    eval_loader = eval_positions = None
    if with_eval:
        eval_loader, eval_positions = build_eval_loader(config, seed=seed)
    optimizer, schedule = build_optimizer(config, model, len(train_loader), last_step=last_step)
    return TrainingParts(
        model=model,
        loss=loss,
        postprocess=postprocess,
        metric=metric,
        optimizer=optimizer,
        schedule=schedule,
        train_loader=train_loader,
        train_positions=train_positions,
        characters=characters,
        eval_loader=eval_loader,
        eval_positions=eval_positions,
    )
