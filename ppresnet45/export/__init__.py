"""Export: dynamic graph -> Paddle 3 inference model (``inference.json`` + ``.pdiparams`` +
``inference.yml``), a parity check against the eager model, and an optional ONNX copy."""

from ..inference.policy import compare_outputs
from .exporter import build_spec, export_inference_model, requires_fixed_width
from .onnx import ONNX_OPSET, export_onnx
from .parity import (
    DEFAULT_LOGIT_RTOL,
    DEFAULT_TOLERANCE,
    ParityError,
    batch_tolerance,
    parity_batches,
)

__all__ = [
    "DEFAULT_LOGIT_RTOL",
    "DEFAULT_TOLERANCE",
    "ONNX_OPSET",
    "ParityError",
    "batch_tolerance",
    "build_spec",
    "compare_outputs",
    "export_inference_model",
    "export_onnx",
    "parity_batches",
    "requires_fixed_width",
]
