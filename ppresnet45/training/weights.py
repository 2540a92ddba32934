"""Weights from files into a model: exactly (resuming a checkpoint) or as far as they match
(``Global.pretrained_model``), with a report of the keys that did not.

Both go through :func:`match_state_dict`: it drops the wrappers some tools add to key names
(``_layers.``, ``module.``), adds ``backbone.`` when the file holds a bare backbone, and sets
apart the keys the model lacks and those of the wrong shape. Resuming accepts nothing less
than every weight of the model; pretrained loading keeps what fits and says what did not.
The checkpoint files themselves (layout, writing, run state) are :mod:`.checkpoint`'s.
"""

import logging
import os
import warnings

import paddle

from ..errors import ConfigError, DataError
from .checkpoint import checkpoint_prefix, optimizer_state_for, read_states

logger = logging.getLogger(__name__)


def load_state_dict_file(path, key):
    """``paddle.load`` of a state dict file; a missing or unreadable file is one line naming ``key``."""
    if not os.path.isfile(path):
        raise ConfigError(
            f"{key}: '{path}' not found (expected a checkpoint prefix such as output/rec/best_accuracy "
            f"with .pdparams beside it)"
        )
    try:
        return paddle.load(path)
    except Exception as exc:  # noqa: BLE001 - re-raised as one line naming the key
        raise DataError(f"{key}: '{path}' is not a Paddle state dict ({type(exc).__name__}: {exc})") from None


def strip_wrappers(state_dict):
    """Drop the ``_layers.`` (DataParallel) and ``module.`` wrappers some tools add to key names."""
    out = {}
    for k, v in state_dict.items():
        for p in ("_layers.", "module."):
            if k.startswith(p):
                k = k[len(p) :]
        out[k] = v
    return out


def match_state_dict(model_state, loaded):
    """Match a loaded state dict against a model's, adding a ``backbone.`` prefix when the
    file holds a bare backbone.

    Returns:
        tuple[dict, dict]: (weights to load keyed like the model, report with ``loaded``,
        ``missing``, ``unexpected``, ``shape_mismatch`` (``[key, file_shape, model_shape]``)
        and ``prefix_added``).
    """
    loaded = strip_wrappers(loaded)
    direct = sum(1 for k in loaded if k in model_state)
    prefixed = sum(1 for k in loaded if "backbone." + k in model_state)
    prefix = "backbone." if prefixed > direct else ""
    matched, unexpected, mismatch = {}, [], []
    for k, v in loaded.items():
        mk = prefix + k
        if mk not in model_state:
            unexpected.append(k)
            continue
        shape = list(v.shape)
        want = list(model_state[mk].shape)
        if shape != want:
            mismatch.append([mk, shape, want])
            continue
        matched[mk] = v
    if prefix:
        # A bare backbone file says nothing about neck and head: report only backbone keys missing.
        missing = [
            k
            for k in model_state
            if k.startswith("backbone.") and k not in matched and k not in {m[0] for m in mismatch}
        ]
    else:
        missing = [k for k in model_state if k not in matched and k not in {m[0] for m in mismatch}]
    report = {
        "loaded": len(matched),
        "missing": missing,
        "unexpected": unexpected,
        "shape_mismatch": mismatch,
        "prefix_added": prefix,
    }
    return matched, report


def load_pretrained(model, path, key="Global.pretrained_model"):
    """Load the matching weights of a pretrained model and report what did not match.

    Accepts a full-model checkpoint (``backbone.conv1.weight`` … ``head.fc.weight``, e.g.
    PaddleOCR's ResNet45 recognizer) or a bare backbone state dict (``conv1.weight`` …);
    keys of the wrong shape (e.g. a head for another dictionary) are skipped.

    Args:
        model (paddle.nn.Layer): the model.
        path (str): checkpoint prefix or ``.pdparams`` file.
        key (str): config key named in messages.

    Returns:
        dict: the report of :func:`match_state_dict`.
    """
    layer = getattr(model, "_layers", model)
    file = checkpoint_prefix(path) + ".pdparams"
    if not os.path.isfile(file) and os.path.isfile(os.fspath(path)):
        file = os.fspath(path)
    loaded = load_state_dict_file(file, key)
    if not isinstance(loaded, dict):
        raise DataError(f"{key}: '{file}' does not hold a state dict (got {type(loaded).__name__})")
    model_state = layer.state_dict()
    matched, report = match_state_dict(model_state, loaded)
    if not matched:
        raise DataError(
            f"{key}: no weight of '{file}' matches the model (file keys like {sorted(loaded)[:3]}, model keys like "
            f"{sorted(model_state)[:3]})"
        )
    with warnings.catch_warnings():  # Paddle warns per missing key; the report below says it once
        warnings.simplefilter("ignore")
        layer.set_state_dict(matched)
    logger.info(
        "loaded %d weights from %s%s",
        report["loaded"],
        file,
        " (added prefix 'backbone.')" if report["prefix_added"] else "",
    )
    if report["missing"]:
        logger.warning(
            "%d model weights not in %s (kept initialised): %s",
            len(report["missing"]),
            file,
            preview(report["missing"]),
        )
    if report["unexpected"]:
        logger.warning(
            "%d weights in %s not used by the model: %s",
            len(report["unexpected"]),
            file,
            preview(report["unexpected"]),
        )
    for k, got, want in report["shape_mismatch"]:
        logger.warning("skipped %s: shape %s in %s, %s in the model", k, got, file, want)
    return report


def preview(keys, n=5):
    """The first ``n`` of ``keys`` and how many more, for a one-line message."""
    keys = list(keys)
    return ", ".join(keys[:n]) + (f" … (+{len(keys) - n})" if len(keys) > n else "")


def load_checkpoint(prefix, model, optimizer=None, key="Global.checkpoints"):
    """Restore model weights, optimizer state and run state to resume training.

    Args:
        prefix (str): checkpoint prefix (``output/rec/latest``) or its ``.pdparams`` file.
        model (paddle.nn.Layer): the model.
        optimizer (paddle.optimizer.Optimizer | None): restored from ``.pdopt`` when given
            and the file exists.
        key (str): config key named in messages.

    Returns:
        dict: the run state (``global_step``, ``epoch``, ``batch_in_epoch``,
        ``best_model_dict``, ``rng``, ...); ``{}`` for a weights-only checkpoint.
    """
    prefix = checkpoint_prefix(prefix)
    layer = getattr(model, "_layers", model)
    params = load_state_dict_file(prefix + ".pdparams", key)
    model_state = layer.state_dict()
    matched, report = match_state_dict(model_state, params)
    if report["shape_mismatch"] or report["missing"]:
        bad = report["shape_mismatch"][0] if report["shape_mismatch"] else None
        detail = (
            f"shape of {bad[0]} is {bad[1]} in the checkpoint, {bad[2]} in the model"
            if bad
            else f"missing {preview(report['missing'], 3)}"
        )
        raise ConfigError(
            f"{key}: '{prefix}.pdparams' does not fit the model of this config ({detail}); "
            f"use Global.pretrained_model to load partially matching weights"
        )
    layer.set_state_dict(matched)
    if optimizer is not None and os.path.isfile(prefix + ".pdopt"):
        opt_state = load_state_dict_file(prefix + ".pdopt", key)
        optimizer.set_state_dict(optimizer_state_for(layer, opt_state))
    elif optimizer is not None:
        logger.warning("%s.pdopt not found: the optimizer starts fresh", prefix)
    return read_states(prefix)
