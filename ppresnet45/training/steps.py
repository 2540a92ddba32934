"""One training step's pieces that depend on the model family, kept out of the loop.

* **Targets.** A head whose class sets ``needs_targets = True`` (VisionLAN's ``VLHead``,
  which reads the masked character's position) gets the batch without its image in train
  mode — PaddleOCR's ``batch[1:]`` when the image comes first — as ``model(image, targets)``;
  every other model is called as ``model(image)``. Evaluation never passes targets.
* **Losses.** A loss returns a dict: ``loss`` is what is back-propagated; any other scalar
  entry (ABINet's ``align_loss``, ``lang_loss``, ``vision_loss``) is a part that is logged.
* **Training-time decoding.** The decoder gets the train-mode output; a decoder whose call
  takes ``length`` (VisionLAN's ``VLLabelDecode``: train outputs have no end step to stop
  at) also gets the batch's ``length`` field.
"""

import inspect

import paddle

from .batches import decode_label_batch


def model_needs_targets(model):
    """Whether ``model`` (or its ``paddle.DataParallel`` wrapper) takes targets in train mode."""
    model = getattr(model, "_layers", model)
    if hasattr(model, "needs_targets"):
        return bool(model.needs_targets)
    return bool(getattr(getattr(model, "head", None), "needs_targets", False))


def targets_of(batch, positions):
    """The batch without its image field (``batch[1:]`` when the image is first)."""
    image = positions.get("image", 0)
    return [field for i, field in enumerate(batch) if i != image]


def forward(model, batch, positions, needs_targets):
    """The model's train-mode output for ``batch`` (with targets when ``needs_targets``)."""
    image = batch[positions.get("image", 0)]
    if needs_targets:
        return model(image, targets_of(batch, positions))
    return model(image)


def split_losses(losses):
    """``(loss, parts)`` of a loss's output: the tensor to back-propagate and the other
    scalar entries as a name -> tensor dict. A bare tensor is the loss, without parts."""
    if not isinstance(losses, dict):
        return losses, {}
    parts = {k: v for k, v in losses.items() if k != "loss" and isinstance(v, paddle.Tensor) and int(v.numel()) == 1}
    return losses["loss"], parts


def detach(preds):
    """``preds`` (a tensor, or a dict / list / tuple of them) without gradient history."""
    if isinstance(preds, paddle.Tensor):
        return preds.detach()
    if isinstance(preds, dict):
        return {k: detach(v) for k, v in preds.items()}
    if isinstance(preds, (list, tuple)):
        return type(preds)(detach(v) for v in preds)
    return preds


def takes_length(postprocess):
    """Whether calling ``postprocess`` accepts a ``length`` keyword."""
    try:
        return "length" in inspect.signature(postprocess).parameters
    except (TypeError, ValueError):
        return False


def decode_train(postprocess, preds, batch, positions):
    """Decode train-mode outputs: ``[(text, score), ...]`` per line of the batch."""
    preds = detach(preds)
    if "length" in positions and takes_length(postprocess):
        return postprocess(preds, length=batch[positions["length"]])
    return postprocess(preds)


def batch_metrics(postprocess, metric, preds, batch, positions, characters):
    """``(acc, norm_edit_dis)`` of one training batch: the train-mode outputs decoded
    (:func:`decode_train`) against the label texts of its ``label`` / ``length`` fields
    (``characters``: the dictionary). Resets ``metric`` before and after."""
    decoded = decode_train(postprocess, preds, batch, positions)
    texts = decode_label_batch(batch[positions["label"]], batch[positions["length"]], characters)
    metric.reset()
    metric.update(decoded, texts)
    out = metric.get_metric()
    return out["acc"], out["norm_edit_dis"]
