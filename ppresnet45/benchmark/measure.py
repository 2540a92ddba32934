"""Measuring one backend × precision: the code that runs in a benchmark worker process.

For every batch size of a :class:`BenchmarkJob` it measures

* **model only**: latency per batch (mean, min, p50/p90/p99 over ``iters`` timed calls after
  ``warmup`` untimed ones) on pre-processed batches at the nominal width, and throughput;
* **the full recognize path** (:class:`~ppresnet45.inference.recognizer.TextRecognizer` on
  image files: header read, decode, pre-process, model, text decode), first on the copies
  stretched to the nominal size (``full_path_nominal``: same shapes as model only), then on
  the images as they are (``full_path``: real widths, batched by aspect ratio, after one
  untimed pass when ``warmup > 0`` so the runtime has prepared those widths);
* **memory**: the process's peak resident set size after each record.

Results go out through an ``emit(event)`` callback, one event per batch size, so the parent
keeps every row measured before a crash.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from types import ModuleType
from typing import Any

import numpy as np

from ..errors import DataError, PPResNetError
from ..inference import TextRecognizer, create_runtime
from ..inference.formats import open_model
from .inputs import load_model_spec, nominal_batches

resource: ModuleType | None
try:
    import resource
except ImportError:  # not on Windows: peak_rss_mb falls back to the current size
    resource = None

# What creating a runtime raises when a combination is unavailable: those become "skip" rows.
RUNTIME_ERRORS = (PPResNetError, ImportError, RuntimeError, ValueError, OSError)


@dataclass
class BenchmarkJob:
    """Everything a worker needs to measure one backend × precision (JSON-serialisable, so it
    crosses the process boundary as a file).

    Attributes:
        model_dir (str): the exported model folder (absolute).
        backend (str): one of :data:`ppresnet45.inference.BACKENDS`.
        precision (str): one of :data:`ppresnet45.inference.PRECISIONS`.
        batch_sizes (list[int]): batch sizes to measure, in order.
        warmup (int): untimed model calls per batch size (and one untimed full-path pass if > 0).
        iters (int): timed model-only calls per batch size.
        cpu_threads (int): threads for the runtime.
        paths (list[str]): the images for the full path (absolute).
        nominal_paths (list[str]): the same images stretched to exactly the nominal size.
        macs_per_image (int | None): multiply-adds of one image; ``None`` leaves GFLOP/s out.
        label (str): the model's name in the report (its records' ``model``).
        model_options (dict): ``dict_path``, ``image_shape``, ``use_space_char`` of a model
            without an ``inference.yml`` (:func:`~ppresnet45.inference.formats.open_model`).
    """

    model_dir: str
    backend: str
    precision: str
    batch_sizes: list[int]
    warmup: int
    iters: int
    cpu_threads: int
    paths: list[str]
    nominal_paths: list[str] = field(default_factory=list)
    macs_per_image: int | None = None
    label: str = ""
    model_options: dict = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The job as a plain dict of JSON types."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BenchmarkJob:
        """The job :meth:`to_dict` wrote.

        Raises:
            DataError: a key is missing or unknown (a worker from another version).
        """
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise DataError(f"benchmark job: unknown keys {unknown}")
        try:
            return cls(**data)
        except TypeError as exc:
            raise DataError(f"benchmark job: {exc}") from None

    def save(self, path: str) -> None:
        """Write the job as JSON to ``path``."""
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_dict(), f)

    @classmethod
    def load(cls, path: str) -> BenchmarkJob:
        """Read a job :meth:`save` wrote."""
        with open(path, encoding="utf-8") as f:
            return cls.from_dict(json.load(f))


def rss_mb() -> float:
    """Current resident set size in MB (Linux /proc; 0 where unavailable)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


def peak_rss_mb() -> float:
    """High-water resident set size of this process in MB."""
    if resource is None:
        return rss_mb()
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024.0 if sys.platform != "darwin" else kb / 2**20  # macOS reports bytes


def latency_stats(seconds: Sequence[float]) -> dict[str, float]:
    """``mean``, ``min``, ``p50``, ``p90``, ``p99`` in milliseconds of call durations in seconds."""
    ms = np.asarray(seconds, dtype=np.float64) * 1000.0
    p50, p90, p99 = (float(v) for v in np.percentile(ms, [50, 90, 99]))
    return {"mean": float(ms.mean()), "min": float(ms.min()), "p50": p50, "p90": p90, "p99": p99}


def time_model(
    runtime: Callable[[np.ndarray], Any], x: np.ndarray, warmup: int, iters: int
) -> tuple[dict[str, float], float]:
    """Latency statistics of ``runtime(x)`` and the images/s they imply (from the mean)."""
    for _ in range(warmup):
        runtime(x)
    lat: list[float] = []
    for _ in range(iters):
        t = time.perf_counter()
        runtime(x)
        lat.append(time.perf_counter() - t)
    stats = latency_stats(lat)
    return stats, len(x) / (stats["mean"] / 1000.0)


def full_path_summary(st: dict[str, Any], model_only_ips: float | None) -> dict[str, Any]:
    """Condense :attr:`TextRecognizer.last_stats` of one pass into a record's ``full_path`` entry.

    ``path_efficiency`` compares with the model alone *on the same batches* (1.0 = nothing
    around the model costs time); ``vs_model_only`` with the model-only images/s at the
    nominal width (``model_only_ips``).
    """
    done = max(1, st["images"] - st["failed"])
    stage = {k: st[k + "_s"] * 1000.0 / done for k in ("preprocess", "model", "postprocess")}
    stage_sum = sum(stage.values()) or 1.0
    full_ips = st["images_per_s"]
    same_batches_ips = done / st["model_s"] if st["model_s"] > 0 else None
    return dict(
        images=st["images"],
        failed=st["failed"],
        batches=st["batches"],
        wall_s=st["wall_s"],
        images_per_s=full_ips,
        ms_per_image=dict(stage, wall=st["wall_s"] * 1000.0 / done),
        split_pct={k: 100.0 * v / stage_sum for k, v in stage.items()},
        model_only_same_batches_ips=same_batches_ips,
        path_efficiency=full_ips / same_batches_ips if same_batches_ips else None,
        vs_model_only=full_ips / model_only_ips if model_only_ips else None,
        mean_content_width=st["content_pixels"] / max(1, st["pieces"]),
        mean_padded_width=st["padded_pixels"] / max(1, st["pieces"]),
    )


def time_full_path(
    recognizer: TextRecognizer, job: BenchmarkJob, model_only_ips: float
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """``(full_path_nominal, full_path)`` summaries of ``recognizer`` on the job's images.

    ``full_path`` also holds ``empty_texts`` and the decoded ``texts`` (compared across rows
    by the report, then dropped); ``full_path_nominal`` is ``None`` without nominal copies.
    """
    bs, nominal = recognizer.batch_size, None
    if job.nominal_paths:
        if job.warmup > 0 and len(job.nominal_paths) % bs:
            recognizer(job.nominal_paths)  # warm the last, smaller batch's shape
        recognizer(job.nominal_paths)
        nominal = full_path_summary(recognizer.last_stats, model_only_ips)
    if job.warmup > 0:
        recognizer(job.paths)
    results = recognizer(job.paths)
    full = full_path_summary(recognizer.last_stats, model_only_ips)
    full["empty_texts"] = sum(1 for r in results if r.get("text") == "")
    full["texts"] = [r.get("text") for r in results]
    return nominal, full


def _first_line(text: str) -> str:
    return text.splitlines()[0] if text else ""


def measure_backend(job: BenchmarkJob, emit: Callable[[dict[str, Any]], Any]) -> None:
    """Measure one backend × precision for every batch size; ``emit(event)`` per result.

    Args:
        job (BenchmarkJob): what to measure. ``pct_of_peak`` is left ``None`` in the records:
            the runner fills it in once the peak probes are done.
        emit (callable): receives ``{"type": "record", ...}`` or ``{"type": "skip", ...}`` dicts.
    """
    base = {"model": job.label, "backend": job.backend, "precision": job.precision}
    rss_before = rss_mb()
    t0 = time.perf_counter()
    try:
        runtime = create_runtime(
            open_model(job.model_dir, **job.model_options),
            backend=job.backend,
            precision=job.precision,
            cpu_threads=job.cpu_threads,
        )
    except RUNTIME_ERRORS as exc:
        reason = _first_line(str(exc)) or type(exc).__name__
        for bs in job.batch_sizes:
            emit(dict(base, type="skip", batch_size=bs, reason=reason))
        return
    load_s = time.perf_counter() - t0
    _, spec = load_model_spec(job.model_dir, **job.model_options)
    pool = nominal_batches(job.paths, spec, max(job.batch_sizes))
    for bs in job.batch_sizes:
        x = np.stack([pool[i % len(pool)] for i in range(bs)])
        try:
            lat, ips = time_model(runtime, x, job.warmup, job.iters)
            rec = TextRecognizer(runtime=runtime, inference_config=spec, batch_size=bs, model_dir=job.model_dir)
            nominal, full = time_full_path(rec, job, ips)
        except Exception as exc:  # noqa: BLE001 - one failing batch size must not lose the rest
            emit(dict(base, type="skip", batch_size=bs, reason=_first_line(f"failed: {type(exc).__name__}: {exc}")))
            continue
        emit(
            dict(
                base,
                type="record",
                batch_size=bs,
                cpu_threads=getattr(runtime, "cpu_threads", job.cpu_threads),
                input_shape=list(x.shape),
                load_s=load_s,
                latency_ms=lat,
                throughput_ips=ips,
                gflops=2.0 * job.macs_per_image * ips / 1e9 if job.macs_per_image else None,
                pct_of_peak=None,
                full_path_nominal=nominal,
                full_path=full,
                rss_before_load_mb=rss_before,
                peak_rss_mb=peak_rss_mb(),
            )
        )
