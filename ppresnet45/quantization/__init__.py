"""int8 quantization of exports (``ppresnet45 quantize``): see :mod:`.ptq`, :mod:`.quantizers`
and :mod:`.lines` (the calibration and held-out lines)."""

from .ptq import INT8_BACKENDS, REPORT_FILE, QuantizationRefused, quantize_export
from .quantizers import CALIBRATION_METHODS, QUANTIZERS

__all__ = [
    "CALIBRATION_METHODS",
    "INT8_BACKENDS",
    "QUANTIZERS",
    "REPORT_FILE",
    "QuantizationRefused",
    "quantize_export",
]
