"""What a benchmark ran on: CPU model and flags, cores, load and library versions.

Recorded with every report because the numbers mean little without them: the same model is
several times faster with AVX512/AMX than with AVX2 only, and a loaded or shared machine
gives slower, noisier rows.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Iterable
from importlib import metadata
from typing import Any

from ..utils.cpu import available_cores, cpu_model_and_flags

# The instruction-set extensions that decide which kernels the backends can use.
WANTED_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_tile")

# Report key -> distribution names to try, first installed wins.
LIBRARIES = {
    "paddlepaddle": ("paddlepaddle", "paddlepaddle-gpu"),
    "onnxruntime": ("onnxruntime", "onnxruntime-gpu"),
    "openvino": ("openvino",),
    "numpy": ("numpy",),
    "opencv": ("opencv-python-headless", "opencv-python", "opencv-contrib-python"),
}


def library_version(distributions: Iterable[str]) -> str | None:
    """Installed version of the first of ``distributions`` found, read from the package
    metadata so that the library itself is not imported; ``None`` if none is installed."""
    for name in distributions:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages (rounded), or ``None`` where the OS has none."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def machine_info() -> dict[str, Any]:
    """CPU model and flags, core counts, load, and library versions (without importing them).

    Returns:
        dict: ``cpu_model``, ``cpu_flags`` (those of :data:`WANTED_FLAGS` present),
        ``logical_cpus``, ``usable_cpus`` (this process's affinity), ``load_average``,
        ``platform``, ``python`` and one version (or ``None``) per :data:`LIBRARIES` key.
    """
    model, flag_list = cpu_model_and_flags()
    flags = set(flag_list)
    info: dict[str, Any] = {
        "cpu_model": model,
        "cpu_flags": [f for f in WANTED_FLAGS if f in flags],
        "logical_cpus": os.cpu_count(),
        "usable_cpus": available_cores(),
        "load_average": load_average(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }
    info.update({key: library_version(names) for key, names in LIBRARIES.items()})
    return info
