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
