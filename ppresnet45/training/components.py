"""Build the parts of a recognition pipeline from a config, once, for train, eval and export.

Every stage that needs a model, its weights, a decoder or a metric gets it here, so the
three stay in step (the same defaults, the same error messages).
"""

import os

from ..modeling import build_model as _build_model
from ..registry import METRICS, POSTPROCESS
from .checkpoint import checkpoint_prefix, load_pretrained


def build_model(config):
    """The :class:`ppresnet45.RecModel` the config's ``Architecture`` describes."""
    return _build_model(config)


def build_postprocess(config):
    """The config's ``PostProcess`` decoder (default ``CTCLabelDecode``), with the dictionary
    of ``Global.character_dict_path`` / ``Global.use_space_char``."""
    glob = config.get("Global") or {}
    post_cfg = dict(config.get("PostProcess") or {"name": "CTCLabelDecode"})
    return POSTPROCESS.build(post_cfg, character_dict_path=glob.get("character_dict_path"),
                             use_space_char=bool(glob.get("use_space_char", False)))


def build_metric(config):
    """The config's ``Metric`` (default ``RecMetric``)."""
    return METRICS.build(dict(config.get("Metric") or {"name": "RecMetric"}))


def load_weights(model, path, key="Global.pretrained_model"):
    """Load matching weights into ``model`` (see :func:`.checkpoint.load_pretrained`).

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
