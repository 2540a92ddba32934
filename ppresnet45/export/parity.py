"""The export's parity check: the saved model must reproduce the eager model's outputs.

A few rendered text lines (:func:`ppresnet45.data.synth.render_line`) at two widths go
through the eager model before conversion and through the saved model afterwards (Paddle
Inference with oneDNN FP32; ONNX Runtime with ``--onnx``); each backend runs every batch
twice, and the second answer must match the first.

Tolerance: the outputs are softmax probabilities in [0, 1]. FP32 kernels that only
differ in summation order (oneDNN vs Paddle's eager kernels, ONNX Runtime's MLAS) give
differences of ~1e-6 … 1e-5 on them for a trained model; a real conversion fault (a wrong
op, padding, BN folding or width handling) moves probabilities by 1e-2 or more. The
default absolute tolerance 1e-4 keeps ~10x headroom over FP32 noise while staying two
orders of magnitude below any fault that can change a decoded character.

Rounding errors scale with the size of the numbers, though: an *untrained* ResNet45 has
logits of ~1e4 (activations grow through 16 residual blocks at initialisation), so a
relative FP32 error of ~5e-8 moves a logit by ~1e-3 and a probability near a tie by as
much (up to 7e-4 seen). Since the softmax's Jacobian has ∞-norm ≤ 1/2, a logit error
``Δz`` moves probabilities by at most ``Δz / 2``. The tolerance per batch is therefore
``max(tolerance, logit_rtol * max|z| / 2)`` with ``logit_rtol = 1e-6`` (20x the seen
relative error) and ``max|z|`` the eager model's largest classifier output on that batch.
For a trained model (``max|z|`` ≈ 10 … 50) the second term is < 3e-5 and the absolute
tolerance decides; for an untrained one the check still catches real faults (those
change the argmax and move probabilities by O(1)).
"""

import logging

import numpy as np
import paddle
from paddle import nn

from ..data.imgproc import resize_norm_img
from ..data.synth import render_line
from ..errors import PPResNetError
from ..inference.runtime import create_runtime

logger = logging.getLogger(__name__)

DEFAULT_TOLERANCE = 1e-4
DEFAULT_LOGIT_RTOL = 1e-6
# Relative differences are taken against max(|reference|, REL_FLOOR): a probability of
# 1e-9 vs 3e-9 is a 200% "relative" difference that means nothing for decoding.
REL_FLOOR = 1e-3
PARITY_LINES = ("ResNet45 text", "0123456789", "Hello, World!", "paddle export", "a", "line of text 42")


class ParityError(PPResNetError):
    """The exported model's outputs differ from the eager model's past the tolerance."""


def parity_batches(image_shape, dynamic_width):
    """The parity check's inputs: list of float32 ``[N, C, H, W]`` arrays.

    Dynamic width: 3 lines at ``W`` and 2 lines at ``2W`` (batch and width both change);
    fixed width: 3 lines and 1 line at ``W``. Deterministic: line ``k`` is rendered with
    seed ``k``; real text strokes exercise the network better than uniform noise.
    """
    c, h, w = (int(v) for v in image_shape)
    plan = [(3, w), (2, 2 * w)] if dynamic_width else [(3, w), (1, w)]
    batches, k = [], 0
    for n, width in plan:
        rows = []
        for _ in range(n):
            img = render_line(PARITY_LINES[k % len(PARITY_LINES)], np.random.default_rng(k), height=h)
            rows.append(resize_norm_img(img, [c, h, w], padding=True, target_width=width)[0])
            k += 1
        batches.append(np.stack(rows).astype(np.float32))
    return batches


def eager_references(model, batches):
    """The eager model's outputs on ``batches`` and, per batch, the largest absolute output
    of the last linear/conv layer run (the classifier logits for CTC heads).

    Returns:
        tuple[list[np.ndarray], list[float]]: the outputs and the logit scales.
    """
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


def _parity_row(runtime, backend, x, ref, scale, tolerance, logit_rtol):
    tol = batch_tolerance(tolerance, logit_rtol, scale)
    # run twice: the second call (cached shape) must give the same answer
    out = runtime(x)
    again = runtime(x)
    row = {"backend": backend, "input_shape": list(x.shape), "logit_absmax": scale, "tolerance": tol}
    if out.shape != ref.shape:
        row.update(ok=False, error=f"output shape {list(out.shape)} != eager {list(ref.shape)}")
        logger.info("parity %-12s %-16s FAIL: %s", backend, "x".join(map(str, x.shape)), row["error"])
        return row
    row.update(compare_outputs(ref, out))
    row["repeat_max_abs"] = float(np.abs(again - out).max())
    row["ok"] = bool(row["finite"] and row["max_abs"] <= tol and row["repeat_max_abs"] <= tol)
    logger.info(
        "parity %-12s %-16s max abs %.2e  max rel %.2e  argmax agree %.1f%%  (tolerance %.1e) %s",
        backend, "x".join(map(str, x.shape)), row["max_abs"], row["max_rel"],
        100 * row["argmax_agreement"], tol, "ok" if row["ok"] else "FAIL",
    )
    return row


def run_parity_check(model_dir, backends, batches, references, logit_scales, tolerance=DEFAULT_TOLERANCE,
                     logit_rtol=DEFAULT_LOGIT_RTOL):
    """Run ``batches`` through the saved model with each backend and compare with the references.

    Returns:
        list[dict]: one row per backend and batch: ``backend``, ``input_shape``,
        ``logit_absmax``, ``tolerance``, the :func:`compare_outputs` numbers,
        ``repeat_max_abs`` and ``ok`` (or ``ok=False`` with an ``error``).
    """
    rows = []
    for backend in backends:
        runtime = create_runtime(model_dir, backend=backend, precision="fp32")
        for x, ref, scale in zip(batches, references, logit_scales):
            rows.append(_parity_row(runtime, backend, x, ref, scale, tolerance, logit_rtol))
        del runtime
    return rows


def raise_on_parity_failure(rows, save_dir):
    """Raise :class:`ParityError` naming the worst row when any row failed."""
    if all(row["ok"] for row in rows):
        return
    worst = max(rows, key=lambda r: r.get("max_abs", float("inf")) / r["tolerance"])
    raise ParityError(
        f"parity check failed: {worst['backend']} output at input {worst['input_shape']} differs from the eager "
        f"model by max abs {worst.get('max_abs', float('nan')):.3g} > tolerance {worst['tolerance']:.3g}"
        + (f" ({worst['error']})" if "error" in worst else "")
        + f"; '{save_dir}' left unchanged"
    )
