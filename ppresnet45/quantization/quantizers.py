"""Each runtime's own int8 quantizer, behind one signature.

``QUANTIZERS[runtime](onnx_path, batches, workdir, settings)`` quantizes the FP32 ONNX model
with the calibration ``batches`` (the pre-processed ``[N, C, H, W]`` float32 inputs the
recognizer fed the model) and returns ``(path of the int8 model in workdir, what was done)``.

* ``openvino``: NNCF's post-training quantization of the OpenVINO model (``nncf.quantize``),
  saved as OpenVINO IR. It inserts the quantize/dequantize pairs where OpenVINO's CPU plugin
  has int8 kernels and corrects the biases, so it is the int8 model OpenVINO runs best.
* ``onnxruntime``: ONNX Runtime's static quantization into a QDQ graph (BatchNorm folded into
  the convolutions first). Whether its int8 kernels beat FP32 depends on the CPU (on AVX2
  alone they were measured slower), which ``quantize`` measures before keeping it.
* ``paddle``: Paddle Inference 3.3 has no int8 path for a PIR export
  (:data:`PADDLE_INT8_UNAVAILABLE`); it is listed so that the report says why.

A quantizer whose packages are missing raises :class:`QuantizerUnavailable` (one line, with
the pip extra), and ``quantize`` reports the runtime as skipped.
"""

import contextlib
import importlib.util
import io
import logging
import os
import sys

import numpy as np

from ..errors import PPResNetError
from ..inference.int8 import INT8_ONNX_FILE, INT8_OPENVINO_FILE
from ..utils.stdio import captured_native_output
from ..utils.subproc import run_child

CALIBRATION_METHODS = ("minmax", "percentile", "entropy")  # ONNX Runtime's; NNCF chooses its own ranges
PADDLE_INT8_UNAVAILABLE = (
    "Paddle Inference 3.3 has no int8 path for a PIR export (PostTrainingQuantization "
    "reads only legacy programs; see docs/int8.md)"
)


class QuantizerUnavailable(PPResNetError):
    """This runtime's quantizer cannot run here (a package is missing)."""


def _version(package):
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "?"


@contextlib.contextmanager
def _quiet(what):
    """Silence the quantizers' per-tensor warnings and progress bars; one-line errors with what they printed."""
    logging.disable(logging.WARNING)
    sink = io.StringIO()
    try:
        with captured_native_output() as captured, contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            yield
    except QuantizerUnavailable:
        raise
    except Exception as exc:  # noqa: BLE001 - one line, with what the native code printed
        tail = " | ".join(ln.strip() for ln in (sink.getvalue() + captured.text).splitlines() if ln.strip())[-300:]
        raise PPResNetError(
            f"{what} failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            + (f" ({tail})" if tail else "")
        ) from None
    finally:
        logging.disable(logging.NOTSET)


def quantize_openvino(onnx_path, batches, workdir, settings):
    """NNCF post-training quantization of the OpenVINO model read from ``onnx_path``.

    It runs in a child process (:func:`~ppresnet45.utils.subproc.run_child`): NNCF brings SciPy
    and its own native libraries into whatever process quantizes, and the quantizer's memory is
    returned when it ends."""
    missing = [m for m in ("nncf", "openvino") if importlib.util.find_spec(m) is None]
    if missing:
        raise QuantizerUnavailable(f"needs {' and '.join(missing)}; pip install 'ppresnet45[openvino]'")
    data, dst = os.path.join(workdir, "calibration.npz"), os.path.join(workdir, INT8_OPENVINO_FILE)
    np.savez(data, *batches)
    code = "from ppresnet45.quantization.quantizers import nncf_child; nncf_child()"
    proc = run_child(
        [sys.executable, "-c", code, onnx_path, data, dst],
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
    )
    if proc.returncode != 0 or not os.path.isfile(dst):
        tail = " | ".join(ln.strip() for ln in (proc.stderr or proc.stdout).splitlines() if ln.strip())[-400:]
        raise PPResNetError(f"NNCF quantization of the OpenVINO model failed (exit {proc.returncode}): {tail}")
    how = {
        "tool": f"nncf {_version('nncf')} quantize (openvino {_version('openvino')})",
        "format": "OpenVINO IR",
        "weights": "int8, symmetric, per output channel",
        "activations": "int8/uint8 (MIXED preset: asymmetric where the values are one-signed)",
        "bias_correction": "fast",
    }
    return dst, how


def nncf_child():
    """The child process of :func:`quantize_openvino`: ``argv`` = ONNX model, calibration .npz, output .xml."""
    onnx_path, data, dst = sys.argv[1:4]
    import nncf
    import openvino as ov

    with np.load(data) as arrays:
        batches = [arrays[k] for k in sorted(arrays.files, key=lambda k: int(k.split("_")[1]))]
    with _quiet("NNCF quantization of the OpenVINO model"):
        nncf.set_log_level(logging.ERROR)
        model = ov.Core().read_model(onnx_path)
        quantized = nncf.quantize(
            model,
            nncf.Dataset(batches),
            subset_size=len(batches),
            preset=nncf.QuantizationPreset.MIXED,
            fast_bias_correction=True,
        )
        ov.save_model(quantized, dst, compress_to_fp16=False)


PER_CHANNEL_OPSET = 13


def _opset(model):
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)


def quantize_onnxruntime(onnx_path, batches, workdir, settings):
    """ONNX Runtime static QDQ quantization of ``onnx_path``."""
    try:
        from onnxruntime.quantization import (
            CalibrationDataReader,
            CalibrationMethod,
            QuantFormat,
            QuantType,
            quantize_static,
        )
        from onnxruntime.quantization.shape_inference import quant_pre_process
    except ImportError as exc:
        raise QuantizerUnavailable(f"needs onnxruntime ({exc}); pip install 'ppresnet45[onnx]'") from None

    class _Reader(CalibrationDataReader):
        def __init__(self, input_name):
            self._items = iter(batches)
            self._name = input_name

        def get_next(self):
            batch = next(self._items, None)
            return None if batch is None else {self._name: batch}

    method, per_channel = settings.get("method", "minmax"), settings.get("per_channel", True)
    methods = {
        "minmax": CalibrationMethod.MinMax,
        "percentile": CalibrationMethod.Percentile,
        "entropy": CalibrationMethod.Entropy,
    }
    prepared, dst = os.path.join(workdir, "prepared.onnx"), os.path.join(workdir, INT8_ONNX_FILE)
    with _quiet("ONNX Runtime quantization"):
        import onnx

        model = onnx.load(onnx_path)
        input_name = model.graph.input[0].name
        if per_channel and _opset(model) < PER_CHANNEL_OPSET:
            # per-channel DequantizeLinear (its axis) needs opset 13: older files (RapidOCR's PP-OCRv4 is
            # opset 12) are converted first, the graph otherwise unchanged
            from onnx import version_converter

            onnx_path = os.path.join(workdir, "opset13.onnx")
            onnx.save(version_converter.convert_version(model, PER_CHANNEL_OPSET), onnx_path)
        del model
        # graph optimisation first: BatchNormalization folds into the convolutions (a conv whose
        # bias is not a constant cannot be quantized), constants are folded
        quant_pre_process(onnx_path, prepared, skip_symbolic_shape=True)
        quantize_static(
            prepared,
            dst,
            _Reader(input_name),
            quant_format=QuantFormat.QDQ,
            per_channel=per_channel,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=methods[method],
        )
    how = {
        "tool": f"onnxruntime {_version('onnxruntime')} quantize_static",
        "format": "QDQ",
        "weights": "int8, symmetric, " + ("per output channel" if per_channel else "per tensor"),
        "activations": "uint8, asymmetric",
        "calibration_method": method,
        "folded": "BatchNormalization into Conv (quant_pre_process)",
    }
    return dst, how


def quantize_paddle(onnx_path, batches, workdir, settings):
    """Paddle Inference: no int8 path (see :data:`PADDLE_INT8_UNAVAILABLE`)."""
    raise QuantizerUnavailable(PADDLE_INT8_UNAVAILABLE)


# runtime -> quantizer, in the order they are tried (and reported)
QUANTIZERS = {"openvino": quantize_openvino, "onnxruntime": quantize_onnxruntime, "paddle": quantize_paddle}
