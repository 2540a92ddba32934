"""The export's parity check: the saved model must reproduce the eager model's outputs.

A few rendered text lines (:func:`ppresnet45.data.synth.render_line`), pre-processed as
the export's ``inference.yml`` says (:func:`ppresnet45.inference.preprocess.model_input`),
go through the eager model before conversion and through the saved model afterwards
(Paddle Inference with oneDNN FP32; ONNX Runtime with ``--onnx``); each backend runs every
batch twice, and the second answer must match the first. Dynamic-width models get two
batch sizes at two widths, fixed-size ones (ABINet, VisionLAN) two batch sizes.

What is compared is the output that decides the text (:mod:`ppresnet45.inference.families`),
as probabilities ``[N, T, K]``: CTC's and ABINet's softmax output, the softmax of
VisionLAN's time-major logits (its second output, the features, decides nothing).

Tolerance: the compared outputs are softmax probabilities in [0, 1]. FP32 kernels that only
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

Attention heads (ABINet, VisionLAN) with untrained weights are worse conditioned still: the
untrained backbone's activations (~1e5) make the Transformer's attention scores so large
that attention is effectively hard, and a near tie between two keys can be decided either
way by FP32 rounding; the eager model and an export can then differ past the tolerance on
that line without a conversion fault (seen with ResNet45 + ABINetHead at PaddleOCR's size,
one seed: the encoder output of one line differed by 9 % and its probabilities by 1.6e-4,
while oneDNN and ONNX Runtime agreed with each other to 3e-7 and the eager model with a
float64 run). The error message then says so; pass a larger ``--tolerance`` for such an
export, or export trained weights.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import paddle
from paddle import nn

from ..data.imgproc import resize_norm_img
from ..data.synth import render_line
from ..errors import PPResNetError
from ..inference.families import select_output, text_probabilities
from ..inference.policy import LOGIT_RTOL, PROB_TOLERANCE, AgreementPolicy
from ..inference.preprocess import model_input
from ..inference.runtime import create_runtime

if TYPE_CHECKING:
    from .._types import StrPath
    from ..inference.runtime_base import Runtime
    from ..inference.spec import InferenceSpec

logger = logging.getLogger(__name__)

DEFAULT_TOLERANCE = PROB_TOLERANCE
DEFAULT_LOGIT_RTOL = LOGIT_RTOL
PARITY_LINES = ("ResNet45 text", "0123456789", "Hello, World!", "paddle export", "a", "line of text 42")


class ParityError(PPResNetError):
    """The exported model's outputs differ from the eager model's past the tolerance."""


def parity_batches(
    image_shape: Sequence[int], dynamic_width: bool, spec: InferenceSpec | None = None
) -> list[np.ndarray]:
    """The parity check's inputs: list of float32 ``[N, C, H, W]`` arrays.

    Dynamic width: 3 lines at ``W`` and 2 lines at ``2W`` (batch and width both change);
    fixed width: 3 lines and 1 line at ``W``. Deterministic: line ``k`` is rendered with
    seed ``k``; real text strokes exercise the network better than uniform noise.

    Args:
        image_shape (list[int]): the nominal ``[C, H, W]``.
        dynamic_width (bool): whether the model takes any width.
        spec (InferenceSpec | None): pre-process as this spec says (default: the CTC
            aspect-ratio resize with padding).
    """
    c, h, w = (int(v) for v in image_shape)
    plan = [(3, w), (2, 2 * w)] if dynamic_width else [(3, w), (1, w)]
    batches, k = [], 0
    for n, width in plan:
        rows = []
        for _ in range(n):
            img = render_line(PARITY_LINES[k % len(PARITY_LINES)], np.random.default_rng(k), height=h)
            if spec is not None:
                rows.append(model_input(img, spec, width)[0])
            else:
                rows.append(resize_norm_img(img, [c, h, w], padding=True, target_width=width)[0])
            k += 1
        batches.append(np.stack(rows).astype(np.float32))
    return batches


def eager_references(
    model: nn.Layer, batches: list[np.ndarray], postprocess: str = "CTCLabelDecode"
) -> tuple[list[np.ndarray], list[float]]:
    """The eager model's text output on ``batches`` as probabilities ``[N, T, K]`` and, per
    batch, the largest absolute output of the last linear/conv layer run (the classifier
    logits of the heads here).

    Args:
        model (paddle.nn.Layer): the model, in eval mode.
        batches (list[np.ndarray]): the inputs.
        postprocess (str): the decoder's name (which output decides the text, and its layout).

    Returns:
        tuple[list[np.ndarray], list[float]]: the probabilities and the logit scales.
    """
    last = {}

    def hook(layer: nn.Layer, inputs: Any, output: Any) -> None:
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
                out = [o.numpy() for o in out] if isinstance(out, (list, tuple)) else out.numpy()
                references.append(text_probabilities(select_output(out, postprocess), postprocess))
                scales.append(last.get("absmax", 0.0))
    finally:
        for h in hooks:
            h.remove()
    return references, scales


def batch_tolerance(tolerance: float, logit_rtol: float, logit_absmax: float) -> float:
    """The parity tolerance for one batch: ``max(tolerance, logit_rtol * logit_absmax / 2)``
    (see the module docstring; :meth:`AgreementPolicy.output_tolerance`)."""
    return AgreementPolicy(prob_tolerance=tolerance, logit_rtol=logit_rtol).output_tolerance(logit_absmax)


def _parity_row(
    runtime: Runtime, backend: str, x: np.ndarray, ref: np.ndarray, scale: float, policy: AgreementPolicy
) -> dict[str, Any]:
    post = runtime.spec.postprocess
    # run twice: the second call (cached shape) must give the same answer
    out = text_probabilities(runtime(x), post)
    again = text_probabilities(runtime(x), post)
    ok, stats = policy.outputs_match(ref, out, scale, reference_name="eager")
    row = {"backend": backend, "input_shape": list(x.shape), "logit_absmax": scale, **stats}
    if "error" in row:
        row["ok"] = False
        logger.info("parity %-12s %-16s FAIL: %s", backend, "x".join(map(str, x.shape)), row["error"])
        return row
    repeat_ok, repeat = policy.outputs_match(out, again, scale)
    row["repeat_max_abs"] = repeat.get("max_abs", float("inf"))
    row["ok"] = bool(ok and repeat_ok)
    logger.info(
        "parity %-12s %-16s max abs %.2e  max rel %.2e  argmax agree %.1f%%  (tolerance %.1e) %s",
        backend,
        "x".join(map(str, x.shape)),
        row["max_abs"],
        row["max_rel"],
        100 * row["argmax_agreement"],
        row["tolerance"],
        "ok" if row["ok"] else "FAIL",
    )
    return row


def run_parity_check(
    model_dir: StrPath,
    backends: Sequence[str],
    batches: list[np.ndarray],
    references: list[np.ndarray],
    logit_scales: list[float],
    tolerance: float = DEFAULT_TOLERANCE,
    logit_rtol: float = DEFAULT_LOGIT_RTOL,
) -> list[dict[str, Any]]:
    """Run ``batches`` through the saved model with each backend and compare with the references.

    Returns:
        list[dict]: one row per backend and batch: ``backend``, ``input_shape``,
        ``logit_absmax``, ``tolerance``, the :func:`compare_outputs` numbers,
        ``repeat_max_abs`` and ``ok`` (or ``ok=False`` with an ``error``).
    """
    policy = AgreementPolicy(prob_tolerance=tolerance, logit_rtol=logit_rtol)
    rows = []
    for backend in backends:
        runtime = create_runtime(model_dir, backend=backend, precision="fp32")
        for x, ref, scale in zip(batches, references, logit_scales):
            rows.append(_parity_row(runtime, backend, x, ref, scale, policy))
        del runtime
    return rows


def raise_on_parity_failure(rows: list[dict[str, Any]], save_dir: StrPath, untrained: bool = False) -> None:
    """Raise :class:`ParityError` naming the worst row when any row failed (with a hint for
    untrained weights: see the module docs)."""
    if all(row["ok"] for row in rows):
        return
    worst = max(rows, key=lambda r: r.get("max_abs", float("inf")) / r["tolerance"])
    hint = (
        "; the weights are untrained, whose huge activations can make FP32 rounding flip near-tied attention "
        "(export trained weights, or pass e.g. --tolerance 1e-2)"
        if untrained and "error" not in worst
        else ""
    )
    raise ParityError(
        f"parity check failed: {worst['backend']} output at input {worst['input_shape']} differs from the eager "
        f"model by max abs {worst.get('max_abs', float('nan')):.3g} > tolerance {worst['tolerance']:.3g}"
        + (f" ({worst['error']})" if "error" in worst else "")
        + f"; '{save_dir}' left unchanged"
        + hint
    )
