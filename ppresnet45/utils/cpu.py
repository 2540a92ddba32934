"""The CPU this process runs on: usable cores, model name and instruction-set flags."""

import os
import platform


def available_cores():
    """CPU cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def cpu_model_and_flags():
    """``(model name, sorted list of flags)`` from ``/proc/cpuinfo``; ``platform.processor()``
    and no flags where that file does not exist."""
    model, flags = None, []
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and model is None:
                    model = value.strip()
                elif key == "flags" and not flags:
                    flags = sorted(value.split())
                if model is not None and flags:
                    break
    except OSError:
        pass
    return model or platform.processor() or platform.machine(), flags


# The instruction-set flags that decide which precision and runtime is fastest.
SPEED_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8", "amx_tile")


def cpu_description():
    """``"<model> (<speed flags>), <n> cores"``: the CPU a figure was measured on, in one line."""
    model, flags = cpu_model_and_flags()
    have = [f for f in SPEED_FLAGS if f in set(flags)]
    return f"{model} ({', '.join(have) or 'none of ' + '/'.join(SPEED_FLAGS[:3])}), {available_cores()} cores"
