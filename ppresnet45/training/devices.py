"""Where a run executes: device, data-parallel processes, CPU threads, and the collectives
the trainer needs across processes."""

import contextlib
import ctypes
import logging
import os

import numpy as np
import paddle
import paddle.distributed as dist

from ..config import image_shape_of
from ..errors import ConfigError
from ..utils.cpu import available_cores
from .steps import model_needs_targets

logger = logging.getLogger("ppresnet45.train")
MAX_THREADS = 4096


RUNTIME_BLOCKTIME = 200  # ms: Intel OpenMP's own default


def blocktime_settable():
    """Whether :func:`set_omp_blocktime` can act here: Intel OpenMP loaded, no ``KMP_BLOCKTIME`` set."""
    return os.environ.get("KMP_BLOCKTIME") is None and _iomp_library() is not None


def set_omp_blocktime(ms):
    """Set how long Intel OpenMP (``libiomp5``, which Paddle's CPU kernels use) lets an idle
    worker spin before it sleeps; returns True when the runtime took it.

    Eager training runs thousands of small kernels with Python in between; with the runtime's
    default of 200 ms the idle workers spin through that Python time. On the 2-vCPU AMD EPYC
    this project measured, 2 threads then trained at 2.06 images/s against 6.63 with 1; with
    a block time of 0 ms, 7.89 (``KMP_BLOCKTIME=0``, same effect as ``OMP_WAIT_POLICY=PASSIVE``:
    7.21). Inference keeps the default: Paddle Inference runs large oneDNN primitives back to
    back, where spinning pays (passive waiting cost it up to 48 % at batch 1). A
    ``KMP_BLOCKTIME`` in the environment wins.
    """
    if os.environ.get("KMP_BLOCKTIME") is not None:
        return False
    lib = _iomp_library()
    if lib is None:
        return False
    lib.kmp_set_blocktime(ctypes.c_int(int(ms)))
    return True


def _iomp_library():
    """The Intel OpenMP runtime this process has loaded (Paddle's ``libiomp5``), or None."""
    try:
        with open("/proc/self/maps", encoding="utf-8") as f:
            paths = {line.split()[-1] for line in f if "libiomp5" in line}
    except OSError:
        return None
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)  # already loaded: this returns the same library
            lib.kmp_set_blocktime.argtypes = [ctypes.c_int]
            return lib
        except (OSError, AttributeError):
            continue
    return None


def configured_threads(cpu_threads, world_size=1):
    """``Global.cpu_threads``, or for null this process's share of the cores (``cores // world_size``)."""
    return max(1, available_cores() // max(int(world_size), 1)) if cpu_threads is None else cpu_threads


def configure_cpu(use_onednn=False, to_static=False, cpu_threads=None, world_size=1, omp_blocktime=None):
    """Apply CPU execution settings; returns the effective ``(use_onednn, to_static, threads)``.

    * Paddle sets ``OMP_NUM_THREADS=1`` when it is unset, so its CPU kernels would run on
      one core. ``cpu_threads=None`` therefore means "this process's share of the cores"
      (``cores // world_size``), so that data-parallel processes do not oversubscribe them.
    * Eager kernels never use oneDNN whatever ``FLAGS_use_onednn`` says (no oneDNN
      primitive runs); static graphs do, but training a ``to_static`` model with oneDNN on
      crashes Paddle 3.3 (segmentation fault in ``run_program``), so that combination falls
      back to oneDNN off.
    """
    cpu_threads = configured_threads(cpu_threads, world_size)
    if isinstance(cpu_threads, bool) or not isinstance(cpu_threads, int) or not 1 <= cpu_threads <= MAX_THREADS:
        raise ConfigError(f"Global.cpu_threads: expected an int in [1, {MAX_THREADS}] or null, got {cpu_threads!r}")
    paddle.base.core.set_num_threads(int(cpu_threads))
    if isinstance(omp_blocktime, int):  # "auto" is the thread tuner's (threads.py); None: the runtime's
        set_omp_blocktime(omp_blocktime)
    if use_onednn and to_static:
        logger.warning(
            "Global.use_onednn with Global.to_static crashes Paddle 3.3 CPU training "
            "(segmentation fault); training with oneDNN off"
        )
        use_onednn = False
    for flag in ("FLAGS_use_onednn", "FLAGS_use_mkldnn"):
        with contextlib.suppress(ValueError, KeyError, RuntimeError):  # not a flag of this Paddle build
            paddle.set_flags({flag: bool(use_onednn)})
    return use_onednn, to_static, cpu_threads


def use_cuda(use_gpu):
    """Whether to run on a GPU: ``Global.use_gpu`` and a CUDA build of Paddle (warns otherwise)."""
    gpu = bool(use_gpu) and paddle.is_compiled_with_cuda()
    if use_gpu and not gpu:
        logger.warning("Global.use_gpu is true but this Paddle has no CUDA: running on the CPU")
    return gpu


def init_distributed(use_gpu):
    """Set the device and, under ``paddle.distributed.launch``, join the process group.

    Returns:
        tuple[int, int]: ``(world_size, rank)``; ``(1, 0)`` without the launcher.
    """
    world = int(os.environ.get("PADDLE_TRAINERS_NUM", "1") or 1)
    gpu = use_cuda(use_gpu)
    if world > 1:
        if not gpu:
            os.environ.setdefault("PADDLE_DISTRI_BACKEND", "gloo")
        local = int(os.environ.get("PADDLE_LOCAL_RANK", os.environ.get("PADDLE_TRAINER_ID", "0")))
        gpu_id = int(os.environ.get("FLAGS_selected_gpus", local))  # noqa: SIM112 - Paddle's own variable name
        paddle.set_device(f"gpu:{gpu_id}" if gpu else "cpu")
        dist.init_parallel_env()
        return dist.get_world_size(), dist.get_rank()
    paddle.set_device("gpu" if gpu else "cpu")
    return 1, 0


def all_reduce_mean(values, world_size):
    """Mean over ranks of a list of floats (the list itself when ``world_size`` is 1)."""
    if world_size == 1:
        return list(values)
    t = paddle.to_tensor(np.asarray(values, dtype="float64"))
    dist.all_reduce(t)
    return (t.numpy() / world_size).tolist()


def sum_over_ranks(counts, keys, world_size):
    """``counts`` (key -> int, ``keys`` in a fixed order) summed over ranks, zeros left out;
    ``counts`` itself when ``world_size`` is 1. Every rank must call it."""
    if world_size == 1:
        return counts
    means = all_reduce_mean([counts.get(k, 0) for k in keys], world_size)
    return {k: int(round(v * world_size)) for k, v in zip(keys, means) if round(v * world_size)}


def sync_batchnorm_stats(model, world_size):
    """Average BatchNorm running statistics over ranks, so that every rank (and a saved
    checkpoint) holds the same buffers. Every rank must call it."""
    if world_size == 1:
        return
    for layer in model.sublayers():
        for name in ("_mean", "_variance"):
            buf = getattr(layer, name, None)
            if buf is not None and hasattr(buf, "shape"):
                dist.all_reduce(buf)
                buf.set_value(buf / world_size)


def compile_static(model, config):
    """``paddle.jit.to_static`` of ``model`` for the config's input shape (variable width).

    Returns:
        tuple[paddle.nn.Layer, bool]: the converted model and True, or ``model`` and False
        when conversion fails or the model reads targets in train mode (VisionLAN: the
        compiled program takes the image alone); logged, training then runs eagerly.
    """
    if model_needs_targets(model):
        logger.warning("Global.to_static: this model reads the batch's targets in train mode; training eagerly")
        return model, False
    try:
        c, h, _ = image_shape_of(config)
        spec = [paddle.static.InputSpec([None, c, h, None], "float32", "x")]
        return paddle.jit.to_static(model, input_spec=spec, full_graph=True), True
    except Exception as exc:  # noqa: BLE001 - depends on the Paddle build; training goes on eagerly
        logger.warning("Global.to_static: conversion failed (%s); training eagerly", exc)
        return model, False
