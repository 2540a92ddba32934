"""An export's int8 models: which file each runtime runs, and what ``quantize`` measured.

``ppresnet45 quantize`` quantizes with each runtime's own quantizer and keeps the one that
holds and is fastest on the CPU it ran on (:mod:`ppresnet45.quantization`):

=============  =======================================  ======================================
runtime        file                                     made by
=============  =======================================  ======================================
openvino       ``model_int8.xml`` + ``model_int8.bin``  NNCF post-training quantization
onnxruntime    ``model_int8.onnx``                      ONNX Runtime static quantization (QDQ)
=============  =======================================  ======================================

OpenVINO is never given ONNX Runtime's QDQ file: on AVX2 without VNNI its uint8 × int8 products
saturate and the text falls apart (measured: 63 % word accuracy where FP32 reads 98 %). What was
measured — the runtime, accuracy, speed and the CPU model, kind and flags — is the export's
record ``Global.quantization.int8`` (:class:`.spec.InferenceSpec`).
The speed of int8 differs more between CPU kinds than any other choice (VNNI and AMX make
it; on AVX2 alone it can be slower than FP32), so a model measured on one kind is not
trusted blindly on another: :func:`other_cpu_note` says so, and the recognizer re-checks or
falls back to FP32 as the user chooses (:data:`INT8_OTHER_CPU`).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from ..utils.cpu import cpu_description, cpu_kind

if TYPE_CHECKING:
    from .._types import StrPath
    from .spec import InferenceSpec

INT8_ONNX_FILE = "model_int8.onnx"  # ONNX Runtime static quantization (QDQ)
INT8_OPENVINO_FILE = "model_int8.xml"  # NNCF, OpenVINO IR (weights in model_int8.bin)
INT8_FILES: dict[str, tuple[str, ...]] = {"onnxruntime": (INT8_ONNX_FILE,), "openvino": (INT8_OPENVINO_FILE,)}
# What to do with an int8 model measured on another CPU kind: measure again on the run's first
# lines and keep int8 only if it still holds (recheck), run FP32 instead, or run it regardless.
INT8_OTHER_CPU = ("recheck", "fp32", "run")


def int8_file(model_dir: StrPath, backend: str | None) -> str | None:
    """The int8 model ``backend`` runs in ``model_dir`` (a path), or None when there is none."""
    for name in INT8_FILES.get(backend or "", ()):
        path = os.path.join(os.fspath(model_dir), name)
        if os.path.isfile(path):
            return path
    return None


def int8_backends(model_dir: StrPath) -> list[str]:
    """The runtimes that have an int8 model in ``model_dir``."""
    return [b for b in INT8_FILES if int8_file(model_dir, b)]


def int8_record(spec: InferenceSpec) -> dict[str, Any] | None:
    """``Global.quantization.int8`` of an :class:`~.spec.InferenceSpec` (a dict), or None."""
    record = (spec.quantization or {}).get("int8")
    return record if isinstance(record, dict) else None


def other_cpu_note(spec: InferenceSpec) -> str | None:
    """One line when the export's int8 model was measured on another CPU kind than this one; else None."""
    record = int8_record(spec)
    cpu = (record or {}).get("cpu")
    if not isinstance(cpu, dict) or not cpu.get("kind") or cpu.get("kind") == cpu_kind():
        return None
    return (
        f"the int8 model in {spec.source} was measured on a {cpu['kind']} CPU ({cpu.get('model', '?')}); this "
        f"one is {cpu_kind()} ({cpu_description()})"
    )
