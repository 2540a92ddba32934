"""Label decoders (PaddleOCR's ``PostProcess``): model output -> text and score. Importing registers them."""

from .abinet import ABINetLabelDecode  # noqa: F401 - imported to register it
from .ctc import CTCLabelDecode
from .visionlan import VLLabelDecode  # noqa: F401 - imported to register it

__all__ = ["CTCLabelDecode"]
