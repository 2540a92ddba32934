"""The CPU view every speed decision reads, and the ``ONEDNN_MAX_CPU_ISA`` cap that makes this
machine look like an AVX2-only one (how the AVX2 path is tested on any machine)."""

import os
import subprocess
import sys

import pytest

from ppresnet45.utils import cpu


def test_an_avx2_cap_hides_every_wider_feature(monkeypatch):
    real = set(cpu._read_cpuinfo()[1])
    monkeypatch.setenv(cpu.ISA_CAP_ENV, "avx2")  # oneDNN accepts either case
    flags = cpu.cpu_flags()
    assert not any(f.startswith(("avx512", "amx")) or f == "avx_vnni" for f in flags)
    assert flags == real - cpu.ISA_CAPS["AVX2"]
    assert not cpu.cpu_has_bf16() and not cpu.cpu_has_vnni()
    assert cpu.cpu_kind() == ("avx2" if "avx2" in real else "older")
    assert cpu.cpu_description().endswith(", ONEDNN_MAX_CPU_ISA=AVX2")
    assert cpu.cpu_record()["isa_cap"] == "AVX2" and cpu.cpu_record()["kind"] == cpu.cpu_kind()
    assert cpu.ignores_isa_cap("onnxruntime") and not cpu.ignores_isa_cap("openvino")


def test_without_a_cap_the_flags_are_the_cpus_own(monkeypatch):
    monkeypatch.delenv(cpu.ISA_CAP_ENV, raising=False)
    assert cpu.cpu_flags() == set(cpu._read_cpuinfo()[1])
    assert cpu.isa_cap() is None and "ONEDNN_MAX_CPU_ISA" not in cpu.cpu_description()
    assert not cpu.ignores_isa_cap("onnxruntime")  # no cap: every runtime measures this CPU
    monkeypatch.setenv(cpu.ISA_CAP_ENV, "ALL")  # oneDNN's "no cap"
    assert cpu.isa_cap() is None and cpu.cpu_flags() == set(cpu._read_cpuinfo()[1])


@pytest.mark.parametrize("cap, kind_at_most", [("AVX512_CORE_VNNI", "avx512_vnni"), ("AVX512_CORE", "avx512")])
def test_intermediate_caps_order_the_kinds(monkeypatch, cap, kind_at_most):
    monkeypatch.setenv(cpu.ISA_CAP_ENV, cap)
    order = ["older", "avx2", "avx2_vnni", "avx512", "avx512_vnni", "avx512_bf16", "amx"]
    assert order.index(cpu.cpu_kind()) <= order.index(kind_at_most)
    assert not cpu.cpu_has_bf16()


def test_paddle_runs_under_the_avx2_cap_and_refuses_bf16_in_one_line(tiny_model_dir):
    """The cap reaches Paddle's oneDNN (a fresh process: oneDNN reads it once): fp32 runs on AVX2
    kernels, and bf16 is the clean refusal an AVX2-only CPU gives."""
    code = (
        "import numpy as np, sys\n"
        "from ppresnet45.inference import create_runtime, BackendError\n"
        "rt = create_runtime(sys.argv[1], 'paddle', cpu_threads=1)\n"
        "rt(np.zeros((1, 3, 32, 128), np.float32))  # the first run's native output is captured\n"
        "y = rt(np.zeros((1, 3, 32, 128), np.float32))\n"
        "print('fp32', y.shape, bool(np.isfinite(y).all()))\n"
        "try:\n"
        "    create_runtime(sys.argv[1], 'paddle', precision='bf16')\n"
        "except BackendError as e:\n"
        "    print('bf16 refused:', e)\n"
    )
    env = dict(os.environ, ONEDNN_MAX_CPU_ISA="AVX2", ONEDNN_VERBOSE="1", GLOG_minloglevel="2")
    proc = subprocess.run(
        [sys.executable, "-c", code, tiny_model_dir], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    assert "fp32 (1, 32, 96) True" in out
    refusal = [line for line in out.splitlines() if line.startswith("bf16 refused:")]
    assert len(refusal) == 1 and "AVX512-BF16 or AMX" in refusal[0] and "ONEDNN_MAX_CPU_ISA=AVX2" in refusal[0]
    # oneDNN's own log: it ran with the cap (no AVX-512 / AMX kernels were dispatched)
    isa_lines = [line for line in out.splitlines() if line.startswith("onednn_verbose") and "cpu,isa" in line]
    assert isa_lines and all("avx512" not in line.lower() and "amx" not in line.lower() for line in isa_lines), (
        isa_lines
    )
    kernels = [line for line in out.splitlines() if line.startswith("onednn_verbose") and ",exec,cpu," in line]
    assert kernels and not any("avx512" in line or "amx" in line for line in kernels)
