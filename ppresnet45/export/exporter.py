"""``ppresnet45 export``: dygraph model → Paddle inference model, checked for parity.

Steps:

1. Build the model from the config (``build_model``) and load ``Global.pretrained_model``
   (or ``--pretrained``; PaddleOCR full-model ``.pdparams`` with ``backbone.…`` /
   ``head.…`` keys, or a backbone-only state dict). Missing, unexpected and
   shape-mismatched keys are reported in one line each.
2. Convert with ``paddle.jit.to_static`` + ``paddle.jit.save`` into ``inference.json``
   (PIR program) + ``inference.pdiparams``. The input is ``[None, C, H, -1]`` (any batch,
   any width) unless a part of the model declares ``requires_fixed_width = True``, in
   which case the width is fixed to the config's ``W``.
3. Write ``inference.yml`` (what a predictor needs: pre-processing, the dictionary, the
   architecture) and ``model.pdparams`` (for the ``eager`` runtime backend).
4. Optionally (``--onnx``) convert to ``model.onnx`` with paddle2onnx.
5. Parity check: run a few rendered text lines at two widths through the saved model
   (Paddle Inference, oneDNN FP32; and ONNX Runtime with ``--onnx``) and compare with the
   eager model's probabilities. Past the tolerance the export fails.
6. Everything is written into a temporary folder beside the target, which replaces the
   target only when all steps succeeded (``export_report.json`` records the numbers).

Tolerance: the outputs are softmax probabilities in [0, 1]. FP32 kernels that only
differ in summation order (oneDNN vs Paddle's eager kernels, ONNX Runtime's MLAS) give
differences of ~1e-6 … 1e-5 on them for a trained model; a real conversion fault (a wrong
op, padding, BN folding or width handling) moves probabilities by 1e-2 or more. The
default absolute tolerance 1e-4 keeps ~10x headroom over FP32 noise while staying two
orders of magnitude below any fault that can change a decoded character.

Rounding errors scale with the size of the numbers, though: an *untrained* ResNet45 has
logits of ~1e4 (activations grow through 16 residual blocks at initialisation), so a
relative FP32 error of ~5e-8 moves a logit by ~1e-3 and a probability near a tie by as
much (measured: up to 7e-4). Since the softmax's Jacobian has ∞-norm ≤ 1/2, a logit error
``Δz`` moves probabilities by at most ``Δz / 2``. The tolerance per batch is therefore
``max(tolerance, logit_rtol * max|z| / 2)`` with ``logit_rtol = 1e-6`` (20x the measured
relative error) and ``max|z|`` the eager model's largest classifier output on that batch.
For a trained model (``max|z|`` ≈ 10 … 50) the second term is < 3e-5 and the absolute
tolerance decides; for an untrained one the check still catches real faults (those
change the argmax and move probabilities by O(1)).
"""

import json
import logging
import math
import os
import time

import numpy as np

from ..config import image_shape_of, load_config
from ..errors import ConfigError, PPResNetError
from ..inference import runtime as rt
from ..utils.stdio import captured_native_output
from ..training.components import load_weights
from ..utils.io import atomic_output_dir, atomic_write_text

logger = logging.getLogger(__name__)

DEFAULT_TOLERANCE = 1e-4
# Relative differences are taken against max(|reference|, REL_FLOOR): a probability of
# 1e-9 vs 3e-9 is a 200% "relative" difference that means nothing for decoding.
REL_FLOOR = 1e-3
DEFAULT_LOGIT_RTOL = 1e-6
# Dynamic-width models: lines are resized to height H keeping their aspect ratio; one model
# call takes at most MAX_WIDTH_RATIO * H pixels (800 px at H = 32: ~60 characters of typical
# print, 200 CTC steps at stride 4), which bounds latency and memory per call. ``infer``
# splits wider lines into overlapping chunks of that width and joins their predictions.
MAX_WIDTH_RATIO = 25
ONNX_OPSET = 17
PARITY_LINES = ("ResNet45 text", "0123456789", "Hello, World!", "paddle export", "a", "line of text 42")


class ParityError(PPResNetError):
    """The exported model's outputs differ from the eager model's past the tolerance."""


# ----------------------------------------------------------------------------- inputs
def requires_fixed_width(model):
    """True when a part of the model declares ``requires_fixed_width = True`` (its output
    depends on the input width being exactly the trained one, e.g. attention decoders
    with a fixed number of positions). CTC heads do not."""
    return any(bool(getattr(layer, "requires_fixed_width", False)) for layer in model.sublayers(include_self=True))


def render_line(text, height=32, seed=0):
    """A BGR uint8 image of ``text`` (dark on a light, slightly noisy background).

    Deterministic for a given (text, height, seed). Used for the parity check: real
    text strokes exercise the network better than uniform noise.
    """
    import cv2

    rng = np.random.default_rng(seed)
    scale = height / 32.0 * 0.9
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 2)
    w = tw + int(rng.integers(4, 16))
    img = np.full((height, w, 3), int(rng.integers(180, 255)), np.uint8)
    img = np.clip(img.astype(np.int16) + rng.integers(-20, 20, img.shape), 0, 255).astype(np.uint8)
    color = tuple(int(c) for c in rng.integers(0, 90, 3))
    y = (height + th) // 2
    cv2.putText(img, text, (int(rng.integers(1, 4)), y), cv2.FONT_HERSHEY_SIMPLEX, scale, color, 2, cv2.LINE_AA)
    return img


def parity_batches(image_shape, dynamic_width):
    """The parity check's inputs: list of float32 ``[N, C, H, W]`` arrays.

    Dynamic width: 3 lines at ``W`` and 2 lines at ``2W`` (batch and width both change);
    fixed width: 3 lines and 1 line at ``W``.
    """
    from ..data.imgproc import resize_norm_img

    c, h, w = image_shape
    plan = [(3, w), (2, 2 * w)] if dynamic_width else [(3, w), (1, w)]
    batches, k = [], 0
    for n, width in plan:
        rows = []
        for _ in range(n):
            img = render_line(PARITY_LINES[k % len(PARITY_LINES)], height=h, seed=k)
            rows.append(resize_norm_img(img, [c, h, w], padding=True, target_width=width)[0])
            k += 1
        batches.append(np.stack(rows).astype(np.float32))
    return batches


def _eager_references(model, batches):
    """The eager model's outputs on ``batches`` and, per batch, the largest absolute output
    of the last linear/conv layer run (the classifier logits for CTC heads)."""
    import paddle
    from paddle import nn

    last = {}

    def hook(layer, inputs, output):
        if isinstance(output, paddle.Tensor):
            last["absmax"] = float(paddle.abs(output).max())

    hooks = [
        layer.register_forward_post_hook(hook)
        for layer in model.sublayers(include_self=True)
        if isinstance(layer, (nn.Linear, nn.Conv2D, nn.Conv1D))
    ]
    references, scales = [], []
    try:
        with paddle.no_grad():
            for x in batches:
                last.clear()
                out = model(paddle.to_tensor(x))
                references.append((out[-1] if isinstance(out, (list, tuple)) else out).numpy())
                scales.append(last.get("absmax", 0.0))
    finally:
        for h in hooks:
            h.remove()
    return references, scales


def compare_outputs(reference, output):
    """Difference statistics of two probability arrays ``[N, T, K]``.

    Returns:
        dict: ``max_abs``, ``max_rel`` (relative to ``max(|ref|, REL_FLOOR)``),
        ``mean_abs``, ``argmax_agreement`` (fraction of time steps with the same best
        class) and ``finite``.
    """
    ref = np.asarray(reference, dtype=np.float64)
    out = np.asarray(output, dtype=np.float64)
    diff = np.abs(out - ref)
    return {
        "max_abs": float(diff.max()),
        "max_rel": float((diff / np.maximum(np.abs(ref), REL_FLOOR)).max()),
        "mean_abs": float(diff.mean()),
        "argmax_agreement": float((out.argmax(-1) == ref.argmax(-1)).mean()),
        "finite": bool(np.isfinite(out).all()),
    }


def batch_tolerance(tolerance, logit_rtol, logit_absmax):
    """The parity tolerance for one batch: ``max(tolerance, logit_rtol * logit_absmax / 2)``
    (see the module docstring)."""
    return max(float(tolerance), float(logit_rtol) * float(logit_absmax) / 2.0)


def _parity_check(save_dir, backends, batches, references, logit_scales, tolerance, logit_rtol):
    rows = []
    for backend in backends:
        runtime = rt.create_runtime(save_dir, backend=backend, precision="fp32")
        for x, ref, scale in zip(batches, references, logit_scales):
            tol = batch_tolerance(tolerance, logit_rtol, scale)
            # run twice: the second call (cached shape) must give the same answer
            out = runtime(x)
            again = runtime(x)
            row = {"backend": backend, "input_shape": list(x.shape), "logit_absmax": scale, "tolerance": tol}
            if out.shape != ref.shape:
                row.update(ok=False, error=f"output shape {list(out.shape)} != eager {list(ref.shape)}")
            else:
                row.update(compare_outputs(ref, out))
                row["repeat_max_abs"] = float(np.abs(again - out).max())
                row["ok"] = bool(row["finite"] and row["max_abs"] <= tol and row["repeat_max_abs"] <= tol)
            rows.append(row)
            if "error" in row:
                logger.info("parity %-12s %-16s FAIL: %s", backend, "x".join(map(str, x.shape)), row["error"])
            else:
                logger.info(
                    "parity %-12s %-16s max abs %.2e  max rel %.2e  argmax agree %.1f%%  (tolerance %.1e) %s",
                    backend, "x".join(map(str, x.shape)), row["max_abs"], row["max_rel"],
                    100 * row["argmax_agreement"], tol, "ok" if row["ok"] else "FAIL",
                )
        del runtime
    return rows


# ----------------------------------------------------------------------------- files
def _inference_yml(config, model_name, arch, image_shape, input_shape, dynamic, max_width, untrained, macs):
    from .. import __version__
    from ..charset import CTCCharset

    glob = config.get("Global") or {}
    c, h, w = image_shape
    post = dict(config.get("PostProcess") or {"name": "CTCLabelDecode"})
    post_name = post.get("name", "CTCLabelDecode")
    characters = CTCCharset.from_config(glob).characters
    return {
        "Global": {
            "model_name": model_name,
            "model_type": arch.get("model_type", "rec"),
            "algorithm": arch.get("algorithm", "CTC"),
            "backbone": arch["Backbone"]["name"],
            "input_shape": list(input_shape),
            "dynamic_width": bool(dynamic),
            "image_shape": [c, h, w],
            "max_width": int(max_width),
            "untrained": bool(untrained),
            "ppresnet45_version": __version__,
            "macs_per_image": int(macs),
        },
        "PreProcess": {
            "transform_ops": [
                {"DecodeImage": {"img_mode": "BGR", "channel_first": False}},
                {"RecResizeImg": {"image_shape": [c, h, w], "padding": True}},
                {"NormalizeImage": {"scale": 1.0 / 255.0, "mean": [0.5] * c, "std": [0.5] * c, "order": "chw"}},
            ]
        },
        "PostProcess": {"name": post_name, "character_dict": characters},
        "Architecture": arch,
    }


def dump_inference_yml(data):
    """YAML text of ``inference.yml``: short number lists in flow style (``[3, 32, -1]``),
    the character list one entry per line, as PaddleOCR/PaddleX write it."""
    import yaml

    class _Dumper(yaml.SafeDumper):
        pass

    def represent_list(dumper, value):
        flow = len(value) <= 8 and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
        return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flow)

    _Dumper.add_representer(list, represent_list)
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1000, default_flow_style=False)


def _export_onnx(save_dir, dynamic):
    try:
        import paddle2onnx
    except ImportError as exc:
        raise rt.BackendError(f"--onnx needs paddle2onnx ({exc}); pip install 'ppresnet45[onnx]'") from None
    model_file = os.path.join(save_dir, rt.MODEL_FILE)
    params_file = os.path.join(save_dir, rt.PARAMS_FILE)
    # save_file=None returns the bytes: paddle2onnx's own saving path runs polygraphy with
    # POLYGRAPHY_AUTOINSTALL_DEPS=1, which may pip-install packages during an export.
    with captured_native_output() as captured:
        try:
            data = paddle2onnx.export(model_file, params_file, None, opset_version=ONNX_OPSET, enable_onnx_checker=True)
        except Exception as exc:
            err = exc
        else:
            err = None
    if err is not None or not data:
        raise PPResNetError(f"paddle2onnx could not convert {model_file}: {err or 'no output'} ({captured.tail()})")
    path = os.path.join(save_dir, rt.ONNX_FILE)
    with open(path, "wb") as f:
        f.write(data)
    info = {"file": rt.ONNX_FILE, "opset": ONNX_OPSET, "paddle2onnx_version": getattr(paddle2onnx, "__version__", "?")}
    try:
        import onnx

        graph = onnx.load(path, load_external_data=False).graph
        dims = [d.dim_param or d.dim_value for d in graph.input[0].type.tensor_type.shape.dim]
        info["input"] = {"name": graph.input[0].name, "shape": [d if isinstance(d, int) and d > 0 else -1 for d in dims]}
        if dynamic and not (info["input"]["shape"][0] == -1 and info["input"]["shape"][3] == -1):
            raise PPResNetError(f"{path}: expected dynamic batch and width, got input shape {dims}")
    except ImportError:
        pass
    return info


# ----------------------------------------------------------------------------- API
def export_inference_model(
    config,
    save_dir=None,
    pretrained=None,
    onnx=False,
    check=True,
    tolerance=None,
    model_name=None,
    config_path=None,
    logit_rtol=None,
):
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
            large logits (default 1e-6; 0 = ``tolerance`` only). See the module docstring.
        model_name (str | None): ``Global.model_name`` of ``inference.yml`` (default: the
            config file's stem, else ``rec_model``).
        config_path (str | None): the YAML file a loaded ``config`` came from (recorded in
            the report and used for the default ``model_name``).

    Returns:
        dict: the export report (also saved as ``export_report.json``).

    Raises:
        ConfigError: bad config, save dir, weights or tolerance.
        ParityError: the saved model's outputs differ from the eager model's.
    """
    import paddle
    from paddle.static import InputSpec

    from .. import __version__
    from ..modeling.model import RecModel, resolve_architecture
    from ..modeling.summary import count_macs

    start = time.time()
    source = os.fspath(config_path) if config_path else None
    if not isinstance(config, dict):
        source = os.fspath(config)
        config = load_config(config)
    glob = config.get("Global") or {}
    if model_name is None:
        model_name = os.path.splitext(os.path.basename(source))[0] if source else "rec_model"
    save_dir = save_dir or glob.get("save_inference_dir")
    if not save_dir:
        raise ConfigError("Global.save_inference_dir: no export directory given (set it or pass -o Global.save_inference_dir=DIR)")
    if os.path.exists(save_dir) and not os.path.isdir(save_dir):
        raise ConfigError(f"Global.save_inference_dir: '{save_dir}' exists and is not a directory")
    tolerance = DEFAULT_TOLERANCE if tolerance is None else tolerance
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not (tolerance > 0 and math.isfinite(tolerance)):
        raise ConfigError(f"--tolerance: expected a positive number, got {tolerance!r}")
    logit_rtol = DEFAULT_LOGIT_RTOL if logit_rtol is None else logit_rtol
    if isinstance(logit_rtol, bool) or not isinstance(logit_rtol, (int, float)) or not (0 <= logit_rtol < 1):
        raise ConfigError(f"--logit_rtol: expected a number in [0, 1), got {logit_rtol!r}")
    weights_key, weights = "--pretrained", pretrained
    if weights is None:
        for key in ("pretrained_model", "checkpoints"):
            if glob.get(key):
                weights_key, weights = f"Global.{key}", glob[key]
                break

    arch = resolve_architecture(config)
    model = RecModel(arch)
    load_report = load_weights(model, weights, weights_key) if weights else None
    model.eval()
    image_shape = [int(v) for v in image_shape_of(config)]
    c, h, w = image_shape
    fixed = requires_fixed_width(model)
    input_shape = [c, h, w] if fixed else [c, h, -1]
    max_width = w if fixed else max(w, MAX_WIDTH_RATIO * h)
    macs = count_macs(model, tuple(image_shape))["total"]

    # Eager reference outputs, before to_static replaces the model's forward.
    batches = parity_batches(image_shape, not fixed) if check else []
    references, logit_scales = _eager_references(model, batches)
    state_dict = {k: v.numpy() for k, v in model.state_dict().items()}

    report = {
        "ok": False,
        "model_name": model_name,
        "config": source,
        "save_dir": os.path.abspath(save_dir),
        "input_shape": [None] + input_shape,
        "dynamic_width": not fixed,
        "image_shape": image_shape,
        "max_width": max_width,
        "untrained": load_report is None,
        "pretrained": load_report,
        "macs_per_image": int(macs),
        "tolerance": {"max_abs": tolerance, "logit_rtol": logit_rtol, "rel_floor": REL_FLOOR},
        "parity": [],
        "onnx": None,
        "ppresnet45_version": __version__,
        "paddle_version": paddle.__version__,
    }
    with atomic_output_dir(save_dir) as tmp:
        logger.info("converting to a static graph, input [None, %s] (%s width)",
                    ", ".join(map(str, input_shape)), "fixed" if fixed else "dynamic")
        static = paddle.jit.to_static(
            model, input_spec=[InputSpec([None] + input_shape, "float32", name="x")], full_graph=True
        )
        paddle.jit.save(static, os.path.join(tmp, "inference"))
        for name in (rt.MODEL_FILE, rt.PARAMS_FILE):
            if not os.path.isfile(os.path.join(tmp, name)):
                raise PPResNetError(f"paddle.jit.save did not write {name} (Paddle {paddle.__version__}; expected PIR output)")
        paddle.save(state_dict, os.path.join(tmp, rt.STATE_DICT_FILE))
        yml = _inference_yml(config, model_name, arch, image_shape, input_shape, not fixed, max_width, load_report is None, macs)
        atomic_write_text(os.path.join(tmp, rt.CONFIG_FILE), dump_inference_yml(yml))
        backends = ["paddle"]
        if onnx:
            logger.info("converting to ONNX (opset %d)", ONNX_OPSET)
            report["onnx"] = _export_onnx(tmp, not fixed)
            backends.append("onnxruntime")
        if check:
            report["parity"] = _parity_check(tmp, backends, batches, references, logit_scales, tolerance, logit_rtol)
        report["ok"] = all(row["ok"] for row in report["parity"])
        report["checked"] = bool(check)
        report["seconds"] = round(time.time() - start, 2)
        report["files"] = {n: os.path.getsize(os.path.join(tmp, n)) for n in sorted(os.listdir(tmp))}
        if not report["ok"]:
            worst = max(report["parity"], key=lambda r: r.get("max_abs", float("inf")) / r["tolerance"])
            raise ParityError(
                f"parity check failed: {worst['backend']} output at input {worst['input_shape']} differs from the eager "
                f"model by max abs {worst.get('max_abs', float('nan')):.3g} > tolerance {worst['tolerance']:.3g}"
                + (f" ({worst['error']})" if "error" in worst else "")
                + f"; '{save_dir}' left unchanged"
            )
        atomic_write_text(os.path.join(tmp, rt.REPORT_FILE), json.dumps(report, indent=2) + "\n")
    return report
