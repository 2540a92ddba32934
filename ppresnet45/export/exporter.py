"""``ppresnet45 export``: dygraph model → Paddle inference model, checked for parity.

Steps:

1. Build the model from the config and load ``Global.pretrained_model`` (or
   ``--pretrained``; PaddleOCR full-model ``.pdparams`` with ``backbone.…`` / ``head.…``
   keys, or a backbone-only state dict) through :mod:`ppresnet45.training.components`.
   Missing, unexpected and shape-mismatched keys are reported in one line each.
2. Convert with ``paddle.jit.to_static`` + ``paddle.jit.save`` into ``inference.json``
   (PIR program) + ``inference.pdiparams``, keeping every output of the eval-mode model
   (VisionLAN: its text logits and its features, as PaddleOCR's ``predict_rec`` fetches
   two). The input is ``[None, C, H, -1]`` (any batch, any width) for models trained on
   the aspect-ratio resize (``RecResizeImg``), unless a part of the model declares
   ``requires_fixed_width = True``; models trained on a stretch to a fixed size
   (``ABINetRecResizeImg`` ``[3, 32, 128]``: ABINet's attention maps and positions are sized
   by ``image_size``; ``VLRecResizeImg`` ``[3, 64, 256]``: VisionLAN's ``n_position``) get
   ``[None, C, H, W]``: the batch stays dynamic.
3. Write ``inference.yml`` (:class:`ppresnet45.inference.InferenceSpec`: PaddleOCR's
   pre-processing ops and decoder for the family, the dictionary, our extra keys, the
   architecture) and ``model.pdparams`` (for the ``eager`` runtime).
4. Optionally (``--onnx``) convert to ``model.onnx`` with paddle2onnx (:mod:`.onnx`).
5. Parity check (:mod:`.parity`): rendered text lines at two batch sizes (and two widths
   for a dynamic width) through the saved model must give the eager model's probabilities;
   past the tolerance the export fails.
6. Everything is written into a temporary folder beside the target, which replaces the
   target only when all steps succeeded (``export_report.json`` records the numbers).
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from typing import TYPE_CHECKING, Any, cast

import paddle
from paddle.static import InputSpec

from ..charset import CTCCharset
from ..config import image_shape_of, load_config
from ..errors import ConfigError, PPResNetError
from ..inference.families import config_img_mode, config_resize_op, preprocessing
from ..inference.model_dir import CONFIG_FILE, MODEL_FILE, PARAMS_FILE, REPORT_FILE, STATE_DICT_FILE
from ..inference.policy import REL_FLOOR
from ..inference.spec import InferenceSpec
from ..modeling.model import resolve_architecture
from ..modeling.summary import count_macs
from ..training.components import build_model, load_weights
from ..utils.io import atomic_output_dir, atomic_write_text
from ..version import __version__
from .onnx import ONNX_OPSET, export_onnx
from .parity import (  # noqa: F401 - DEFAULT_* and ParityError are part of this module's API
    DEFAULT_LOGIT_RTOL,
    DEFAULT_TOLERANCE,
    ParityError,
    eager_references,
    parity_batches,
    raise_on_parity_failure,
    run_parity_check,
)

if TYPE_CHECKING:
    import numpy as np

    from .._types import StrPath

logger = logging.getLogger(__name__)


def requires_fixed_width(model: paddle.nn.Layer) -> bool:
    """True when a part of the model declares ``requires_fixed_width = True`` (its output
    depends on the input width being exactly the trained one, e.g. attention decoders
    with a fixed number of positions). CTC heads do not."""
    return any(bool(getattr(layer, "requires_fixed_width", False)) for layer in model.sublayers(include_self=True))


def _loaded(config: dict[str, Any] | StrPath, config_path: StrPath | None) -> tuple[dict[str, Any], str | None]:
    """``(config dict, the YAML file it came from or None)``."""
    if isinstance(config, dict):
        return config, os.fspath(config_path) if config_path else None
    return load_config(config), os.fspath(config)


def _check_options(save_dir: StrPath | None, tolerance: float | None, logit_rtol: float | None) -> tuple[float, float]:
    """``(tolerance, logit_rtol)`` with their defaults, after checking them and ``save_dir``."""
    if not save_dir:
        raise ConfigError(
            "Global.save_inference_dir: no export directory given (set it or pass -o Global.save_inference_dir=DIR)"
        )
    if os.path.exists(save_dir) and not os.path.isdir(save_dir):
        raise ConfigError(f"Global.save_inference_dir: '{save_dir}' exists and is not a directory")
    tolerance = DEFAULT_TOLERANCE if tolerance is None else tolerance
    if (
        isinstance(tolerance, bool)
        or not isinstance(tolerance, (int, float))
        or not (tolerance > 0 and math.isfinite(tolerance))
    ):
        raise ConfigError(f"--tolerance: expected a positive number, got {tolerance!r}")
    logit_rtol = DEFAULT_LOGIT_RTOL if logit_rtol is None else logit_rtol
    if isinstance(logit_rtol, bool) or not isinstance(logit_rtol, (int, float)) or not (0 <= logit_rtol < 1):
        raise ConfigError(f"--logit_rtol: expected a number in [0, 1), got {logit_rtol!r}")
    return tolerance, logit_rtol


def _weights_to_load(glob: dict[str, Any], pretrained: str | None) -> tuple[str, str | None]:
    """``(config key for messages, path)`` of the weights to export, or ``(key, None)`` for none."""
    if pretrained is not None:
        return "--pretrained", pretrained
    for key in ("pretrained_model", "checkpoints"):
        if glob.get(key):
            return f"Global.{key}", glob[key]
    return "--pretrained", None


def build_spec(config: dict[str, Any], model: paddle.nn.Layer, model_name: str, untrained: bool) -> InferenceSpec:
    """The :class:`InferenceSpec` of ``model`` built from ``config``: what ``inference.yml`` says.

    The config's resize op (Eval, else Train transforms) picks the family's pre-processing
    and whether the width may change; its ``DecodeImage.img_mode`` is the channel order.
    ``model_name`` "" writes no ``Global.model_name``.
    """
    image_shape = image_shape_of(config)
    if not (
        isinstance(image_shape, list)
        and len(image_shape) == 3
        and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in image_shape)
    ):
        raise ConfigError(
            f"the model input image_shape (the Eval/Train resize transform's, else Global.image_shape): "
            f"expected [C, H, W] of positive ints, got {image_shape!r}"
        )
    arch = resolve_architecture(config)
    glob = config.get("Global") or {}
    resize_op, _ = config_resize_op(config)
    return InferenceSpec.for_model(
        image_shape,
        CTCCharset.from_config(glob).characters,
        dynamic_width=preprocessing(resize_op).dynamic and not requires_fixed_width(model),
        resize_op=resize_op,
        img_mode=config_img_mode(config),
        model_name=model_name,
        model_type=arch.get("model_type", "rec"),
        algorithm=arch.get("algorithm", "CTC"),
        backbone=arch["Backbone"]["name"],
        untrained=bool(untrained),
        ppresnet45_version=__version__,
        macs_per_image=int(count_macs(model, tuple(image_shape))["total"]),
        postprocess=(config.get("PostProcess") or {}).get("name", "CTCLabelDecode"),
        architecture=arch,
    )


def _save_model(model: paddle.nn.Layer, spec: InferenceSpec, state_dict: dict[str, np.ndarray], folder: str) -> None:
    """Write the static program + weights, ``model.pdparams`` and ``inference.yml`` into ``folder``."""
    logger.info(
        "converting to a static graph, input [None, %s] (%s width)",
        ", ".join(map(str, spec.input_shape)),
        "dynamic" if spec.dynamic_width else "fixed",
    )
    static = paddle.jit.to_static(
        model, input_spec=[InputSpec([None] + spec.input_shape, "float32", name="x")], full_graph=True
    )
    paddle.jit.save(static, os.path.join(folder, "inference"))
    for name in (MODEL_FILE, PARAMS_FILE):
        if not os.path.isfile(os.path.join(folder, name)):
            raise PPResNetError(
                f"paddle.jit.save did not write {name} (Paddle {paddle.__version__}; expected PIR output)"
            )
    paddle.save(state_dict, os.path.join(folder, STATE_DICT_FILE))
    spec.to_yaml(os.path.join(folder, CONFIG_FILE))


def _model_name(config: dict[str, Any], source: str | None, model_name: str | None) -> tuple[str, str]:
    """``(Global.model_name to write, the name to show)``.

    Written: ``model_name`` when given, else the config's ``Global.model_name``, else none
    (PaddleOCR's ``predict_rec`` rejects names outside its own model list, and PaddleX's
    predictor a name other than the one its user passes). Shown: that name, else the config
    file's.
    """
    shown = os.path.splitext(os.path.basename(source))[0] if source else "rec_model"
    if model_name is None:
        model_name = (config.get("Global") or {}).get("model_name") or ""
    return str(model_name), str(model_name or shown)


def _new_report(
    spec: InferenceSpec,
    shown_name: str,
    source: str | None,
    save_dir: StrPath,
    load_report: dict[str, Any] | None,
    tolerance: float,
    logit_rtol: float,
) -> dict[str, Any]:
    return {
        "ok": False,
        "model_name": shown_name,
        "config": source,
        "save_dir": os.path.abspath(save_dir),
        "input_shape": [None] + spec.input_shape,
        "dynamic_width": spec.dynamic_width,
        "image_shape": spec.image_shape,
        "max_width": spec.max_width,
        "untrained": load_report is None,
        "pretrained": load_report,
        "macs_per_image": spec.macs_per_image,
        "tolerance": {"max_abs": tolerance, "logit_rtol": logit_rtol, "rel_floor": REL_FLOOR},
        "parity": [],
        "onnx": None,
        "ppresnet45_version": __version__,
        "paddle_version": paddle.__version__,
    }


def export_inference_model(
    config: dict[str, Any] | StrPath,
    save_dir: StrPath | None = None,
    pretrained: str | None = None,
    onnx: bool = False,
    check: bool = True,
    tolerance: float | None = None,
    model_name: str | None = None,
    config_path: StrPath | None = None,
    logit_rtol: float | None = None,
) -> dict[str, Any]:
    """Export a recognizer to a Paddle inference model with a parity check.

    Args:
        config (dict | str): a loaded config or a YAML path.
        save_dir (str | None): target directory (default ``Global.save_inference_dir``).
            Replaced atomically; left untouched if the export fails.
        pretrained (str | None): weights to load (default ``Global.pretrained_model``,
            then ``Global.checkpoints``); ``None`` everywhere exports an untrained model.
        onnx (bool): also write ``model.onnx`` (paddle2onnx) and check it with ONNX Runtime.
        check (bool): run the parity check.
        tolerance (float | None): maximum absolute probability difference (default 1e-4).
        logit_rtol (float | None): relative FP32 logit error allowed on top, for models with
            large logits (default 1e-6; 0 = ``tolerance`` only). See :mod:`.parity`.
        model_name (str | None): ``Global.model_name`` of ``inference.yml`` (default: the
            config's; see :func:`_model_name`).
        config_path (str | None): the YAML file a loaded ``config`` came from (recorded in
            the report and used for the default ``model_name``).

    Returns:
        dict: the export report (also saved as ``export_report.json``).

    Raises:
        ConfigError: bad config, save dir, weights or tolerance.
        ParityError: the saved model's outputs differ from the eager model's.
    """
    start = time.time()
    config, source = _loaded(config, config_path)
    glob = config.get("Global") or {}
    model_name, shown_name = _model_name(config, source, model_name)
    save_dir = save_dir or glob.get("save_inference_dir")
    tolerance, logit_rtol = _check_options(save_dir, tolerance, logit_rtol)
    weights_key, weights = _weights_to_load(glob, pretrained)

    model = build_model(config)
    load_report = load_weights(model, weights, weights_key) if weights else None
    model.eval()
    spec = build_spec(config, model, model_name, untrained=load_report is None)
    # Eager reference outputs, before to_static replaces the model's forward.
    batches = parity_batches(spec.image_shape, spec.dynamic_width, spec) if check else []
    references, logit_scales = eager_references(model, batches, spec.postprocess)
    state_dict = {k: v.numpy() for k, v in model.state_dict().items()}

    save_dir = cast("StrPath", save_dir)  # not empty: _check_options raised otherwise
    report = _new_report(spec, shown_name, source, save_dir, load_report, tolerance, logit_rtol)
    with atomic_output_dir(save_dir) as tmp:
        _save_model(model, spec, state_dict, tmp)
        backends = ["paddle"]
        if onnx:
            logger.info("converting to ONNX (opset %d)", ONNX_OPSET)
            report["onnx"] = export_onnx(tmp, spec.dynamic_width)
            backends.append("onnxruntime")
        if check:
            report["parity"] = run_parity_check(tmp, backends, batches, references, logit_scales, tolerance, logit_rtol)
        report["ok"] = all(row["ok"] for row in report["parity"])
        report["checked"] = bool(check)
        report["seconds"] = round(time.time() - start, 2)
        report["files"] = {n: os.path.getsize(os.path.join(tmp, n)) for n in sorted(os.listdir(tmp))}
        raise_on_parity_failure(report["parity"], save_dir, untrained=load_report is None)
        atomic_write_text(os.path.join(tmp, REPORT_FILE), json.dumps(report, indent=2) + "\n")
    return report
