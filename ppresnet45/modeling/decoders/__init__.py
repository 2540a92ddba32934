"""Label decoders (PaddleOCR's ``PostProcess``): model output -> text and score. Importing registers them."""

from .abinet import ABINetLabelDecode  # noqa: F401
from .ctc import CTCLabelDecode
from .visionlan import VLLabelDecode  # noqa: F401

__all__ = ["CTCLabelDecode"]
