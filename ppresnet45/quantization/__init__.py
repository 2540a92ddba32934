"""int8 quantization of exports (``ppresnet45 quantize``): see :mod:`.ptq`."""

from .ptq import CALIBRATION_METHODS, INT8_BACKENDS, REPORT_FILE, QuantizationRefused, quantize_export

__all__ = ["CALIBRATION_METHODS", "INT8_BACKENDS", "REPORT_FILE", "QuantizationRefused", "quantize_export"]
