"""Label decoders (PaddleOCR's ``PostProcess``): model output -> text and score. Importing registers them."""

from .ctc import CTCLabelDecode

__all__ = ["CTCLabelDecode"]
