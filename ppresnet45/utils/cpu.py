"""The CPU this process runs on: usable cores, model name, instruction-set flags and its kind.

Which precision and runtime is fastest (or possible at all) depends on a handful of
instruction-set extensions: AVX2 only, AVX-512, VNNI (int8 dot products), AVX512-BF16, AMX.
Every decision that depends on them reads :func:`cpu_flags` / :func:`cpu_kind` here, never
``/proc/cpuinfo`` or a runtime's own probe directly, so that one setting can make this
machine behave as a smaller one:

``ONEDNN_MAX_CPU_ISA`` (oneDNN's own variable, e.g. ``AVX2``) caps the kernels oneDNN
dispatches to (Paddle Inference and OpenVINO's CPU plugin use oneDNN), and the same cap is
applied to the flags reported here: with ``ONEDNN_MAX_CPU_ISA=AVX2`` on an AMX machine,
:func:`cpu_has_bf16` is False, :func:`cpu_kind` is ``"avx2"``, bf16 is refused cleanly and
the auto choice and the int8 gate see an AVX2-only CPU. That is how the AVX2-only path is
tested on any machine (``make test`` runs part of the suite that way). ONNX Runtime's MLAS
kernels do not read the variable; :data:`ISA_CAP_IGNORED_BY` says so in reports.
"""

import os
import platform

ISA_CAP_ENV = "ONEDNN_MAX_CPU_ISA"
ISA_CAP_IGNORED_BY = ("onnxruntime",)  # runtimes whose kernels do not honour the cap

# The instruction-set flags that decide which precision and runtime is fastest.
SPEED_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8", "amx_tile")

_AVX512 = {
    "avx512f",
    "avx512_vnni",
    "avx512_bf16",
    "avx512_fp16",
    "avx512bw",
    "avx512dq",
    "avx512vl",
    "avx512cd",
    "avx512ifma",
    "avx512vbmi",
    "avx512_vbmi2",
    "avx512_bitalg",
    "avx512_vpopcntdq",
}
_AMX = {"amx_bf16", "amx_int8", "amx_tile", "amx_fp16", "amx_complex"}
# oneDNN's ISA names (``ONEDNN_MAX_CPU_ISA`` values) -> the flags a cap at that level takes away.
ISA_CAPS = {
    "SSE41": _AVX512 | _AMX | {"avx", "avx2", "avx_vnni", "fma", "f16c"},
    "AVX": _AVX512 | _AMX | {"avx2", "avx_vnni", "fma"},
    "AVX2": _AVX512 | _AMX | {"avx_vnni"},
    "AVX2_VNNI": _AVX512 | _AMX,
    "AVX2_VNNI_2": _AVX512 | _AMX,
    "AVX512_CORE": (_AMX | {"avx512_vnni", "avx512_bf16", "avx512_fp16", "avx_vnni"}),
    "AVX512_CORE_VNNI": _AMX | {"avx512_bf16", "avx512_fp16"},
    "AVX512_CORE_BF16": _AMX | {"avx512_fp16"},
    "AVX512_CORE_FP16": set(_AMX),
    "AVX10_1_512": set(_AMX),
    "AVX512_CORE_AMX": set(),
    "AVX10_1_512_AMX": set(),
    "AVX512_CORE_AMX_FP16": set(),
    "AVX10_1_512_AMX_FP16": set(),
    "ALL": set(),
}


def available_cores():
    """CPU cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def _read_cpuinfo():
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


def isa_cap():
    """The ``ONEDNN_MAX_CPU_ISA`` cap in force (upper case), or None when there is none (or ``ALL``)."""
    value = os.environ.get(ISA_CAP_ENV, "").strip().upper()
    return value if value in ISA_CAPS and value != "ALL" else None


def ignores_isa_cap(backend):
    """Whether a cap is in force and ``backend``'s kernels ignore it (its speed would be the real
    CPU's, so choices made for the capped CPU leave it out)."""
    return bool(isa_cap()) and backend in ISA_CAP_IGNORED_BY


def cpu_model_and_flags():
    """``(model name, sorted list of flags)`` from ``/proc/cpuinfo``, with the flags above an
    ``ONEDNN_MAX_CPU_ISA`` cap removed (see the module docs); ``platform.processor()`` and no
    flags where that file does not exist."""
    model, flags = _read_cpuinfo()
    cap = isa_cap()
    if cap:
        flags = [f for f in flags if f not in ISA_CAPS[cap]]
    return model, flags


def cpu_flags():
    """The set of effective instruction-set flags (capped as :func:`cpu_model_and_flags`)."""
    return set(cpu_model_and_flags()[1])


def cpu_has_bf16():
    """Whether the CPU computes bf16 natively (AVX512-BF16 or AMX-BF16), after any cap."""
    return bool(cpu_flags() & {"avx512_bf16", "amx_bf16"})


def cpu_has_vnni():
    """Whether the CPU has int8 dot-product instructions (AVX512-VNNI, AVX-VNNI or AMX-INT8)."""
    return bool(cpu_flags() & {"avx512_vnni", "avx_vnni", "amx_int8"})


def cpu_kind():
    """One word for the CPU's class as far as speed goes: ``amx``, ``avx512_bf16``,
    ``avx512_vnni``, ``avx512``, ``avx2_vnni``, ``avx2`` or ``older`` (after any cap).
    Two machines of one kind pick the same precisions; an int8 model measured on one kind
    is re-checked on another."""
    flags = cpu_flags()
    for kind, needs in (
        ("amx", {"amx_int8", "amx_bf16"}),
        ("avx512_bf16", {"avx512_bf16"}),
        ("avx512_vnni", {"avx512_vnni"}),
        ("avx512", {"avx512f"}),
        ("avx2_vnni", {"avx2", "avx_vnni"}),
        ("avx2", {"avx2"}),
    ):
        if needs <= flags:
            return kind
    return "older"


def cpu_description():
    """``"<model> (<speed flags>), <n> cores"``: the CPU a figure was measured on, in one line
    (with ``, ONEDNN_MAX_CPU_ISA=<cap>`` when a cap is in force)."""
    model, flags = cpu_model_and_flags()
    have = [f for f in SPEED_FLAGS if f in set(flags)]
    cap = isa_cap()
    capped = f", {ISA_CAP_ENV}={cap}" if cap else ""
    return f"{model} ({', '.join(have) or 'none of ' + '/'.join(SPEED_FLAGS[:3])}), {available_cores()} cores{capped}"


def cpu_record():
    """What an int8 or speed record keeps about the CPU: model, kind, speed flags, cap, cores."""
    model, flags = cpu_model_and_flags()
    return {
        "model": model,
        "kind": cpu_kind(),
        "flags": [f for f in SPEED_FLAGS if f in set(flags)],
        "isa_cap": isa_cap(),
        "cores": available_cores(),
    }
