"""This CPU's FP32 peak, measured: the denominator of the benchmark's "% of peak" column.

A large float32 matmul is the fastest thing a CPU's BLAS does, so its GFLOP/s is a practical
ceiling for a convolution network on the same threads. It is timed in numpy (OpenBLAS) and in
Paddle (its CPU BLAS) and the better one kept. :func:`measure_peak` runs the probe in a
subprocess with the benchmark's thread count (thread pools are sized when the libraries
load); the benchmark probes before and after its runs and keeps the better
(:func:`best_peak`), because a VM's CPU speed drifts between seconds and one slow probe
would inflate every "% of peak". It is an FP32 peak, so BF16 rows can exceed 100 %.
"""

from __future__ import annotations

import math
import subprocess
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import paddle

from .protocol import child_command, read_event, thread_env, write_event

PROBE_SIZE = 1536


def _matmul_gflops(fn: Callable[[], Any], n: int, repeats: int) -> float:
    """GFLOP/s of the fastest of ``repeats`` timed calls of an ``n``×``n`` matmul ``fn``
    (after one untimed call that lets the library set up its buffers and threads)."""
    fn()
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return 2.0 * n**3 / best / 1e9


def probe_peak(n: int = PROBE_SIZE, repeats: int = 20, threads: int | None = None) -> dict[str, Any]:
    """Best float32 matmul GFLOP/s of numpy and Paddle in this process.

    Thread counts come from the environment (set them before the libraries load:
    :func:`measure_peak` does so in a subprocess); ``threads`` is also passed to Paddle.

    Returns:
        dict: ``gflops`` (the best), ``method``, ``matrix`` and each probe's result in
        ``probes`` (``None`` for a probe that failed, with ``paddle_error`` saying why).
    """
    rng = np.random.default_rng(0)
    a = rng.random((n, n), dtype=np.float32)
    b = rng.random((n, n), dtype=np.float32)
    c = np.empty((n, n), np.float32)
    out: dict[str, Any] = {"matrix": f"{n}x{n} float32", "probes": {}}
    out["probes"]["numpy.matmul"] = _matmul_gflops(lambda: np.matmul(a, b, out=c), n, repeats)
    try:
        # imported inside the try: a Paddle without it still leaves numpy's peak
        from paddle.base import core

        paddle.set_device("cpu")
        if threads and hasattr(core, "set_num_threads"):
            core.set_num_threads(int(threads))
        pa, pb = paddle.to_tensor(a), paddle.to_tensor(b)
        out["probes"]["paddle.matmul"] = _matmul_gflops(lambda: paddle.matmul(pa, pb).numpy(), n, repeats)
    except Exception as exc:  # noqa: BLE001 - the numpy probe alone still gives a peak
        out["probes"]["paddle.matmul"] = None
        out["paddle_error"] = f"{type(exc).__name__}: {exc}"
    best = max((k for k, v in out["probes"].items() if v), key=lambda k: out["probes"][k])
    out["method"] = f"{best} ({out['matrix']}, best of {repeats})"
    out["gflops"] = out["probes"][best]
    return out


def _probe_child(threads: int | None) -> int:
    """Subprocess entry of :func:`measure_peak`: print the probe as a marked line."""
    write_event(probe_peak(threads=threads))
    return 0


def measure_peak(threads: int | None, isolate: bool = True) -> dict[str, Any]:
    """Run :func:`probe_peak` with ``threads`` threads (in a subprocess when ``isolate``).

    Returns:
        dict: the probe plus ``threads``; when the subprocess fails, ``gflops`` and
        ``method`` are ``None`` and ``error`` holds the last line it wrote to stderr.
    """
    if not isolate:
        res = probe_peak(threads=threads)
        res["threads"] = "process default"
        return res
    command = child_command(__name__, "_probe_child", int(threads) if threads else None)
    proc = subprocess.run(command, env=thread_env(threads), capture_output=True, text=True, check=False)
    for line in proc.stdout.splitlines():
        res = read_event(line)
        if res is not None:
            res["threads"] = threads
            return res
    tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    return {"gflops": None, "method": None, "threads": threads, "error": f"peak probe failed: {tail}"}


def best_peak(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    """The faster of two peak probes, keeping both numbers (``runs``) in the result."""
    runs = [r.get("gflops") for r in (first, second)]
    faster = max((first, second), key=lambda r: r.get("gflops") or 0.0)
    best = dict(faster)
    best["runs"] = runs
    best["method"] = f"{best.get('method')}, best of a probe before and after the runs" if best.get("method") else None
    return best
