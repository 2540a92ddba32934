"""Running a benchmark: one worker process per backend × precision, interleaved rounds, the report.

:func:`run_benchmark` measures every backend × precision × batch size of one or more exported
models (what is measured: :mod:`ppresnet45.benchmark.measure`), ours and PaddleOCR's alike
(e.g. a ResNet45 export beside PP-OCRv5's), on the same images, in one report: each record
names its ``model``, and decoded-text agreement compares rows of the same model only. Each
backend × precision runs in its
own subprocess (``isolate=True``, the default): its thread count is set in the environment
before its libraries load, its peak RSS is its own high-water mark (it includes the Python
interpreter and the imported libraries, reported separately as ``rss_before_load_mb``), and a
backend that crashes only loses its own rows. With ``isolate=False`` everything runs in this
process and the high-water marks accumulate.

With ``rounds > 1`` every job runs that many times, interleaved (A B C A B C), and each row
keeps its fastest round: on a shared or throttling machine a slow round says nothing about
the backend, and interleaving exposes every backend to the same drift.

The CPU's matmul peak (:mod:`ppresnet45.benchmark.peak`) is probed before and after the runs
with the same thread count, and the better probe is the denominator of ``pct_of_peak``.

Default images are synthetic text lines (:func:`ppresnet45.data.synth.render_dataset`,
seeded) rendered into a temporary folder; ``image_dir`` uses your own. Unavailable
combinations (a backend not installed, ONNX backends without ``model.onnx``, ``bf16`` where
the backend or CPU has none) are skipped with a reason (planning: :mod:`.plan`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from tqdm import tqdm

from ..errors import DataError
from ..utils.cpu import available_cores
from .inputs import benchmark_images
from .machine import machine_info
from .measure import BenchmarkJob, measure_backend
from .peak import best_peak, measure_peak
from .plan import check_arguments, label_models, model_settings, plan_all
from .protocol import child_command, read_event, thread_env, write_event
from .report import add_text_agreement, write_reports

if TYPE_CHECKING:
    from .._types import StrPath
    from ..inference.spec import InferenceSpec

Emit = Callable[[dict[str, Any]], Any]  # receives one event of a worker


# --------------------------------------------------------------------------------------
# The worker protocol: a job file in, marked JSON events out
# --------------------------------------------------------------------------------------
def worker_main(job_path: str) -> int:
    """Subprocess entry: run :func:`measure_backend` on the job saved at ``job_path`` and
    print its events as marked JSON lines."""
    measure_backend(BenchmarkJob.load(job_path), write_event)
    return 0


def run_isolated(job: BenchmarkJob, emit: Emit, workdir: str) -> None:
    """Run :func:`measure_backend` for ``job`` in a fresh Python process with the thread
    environment set; ``emit`` receives its events as they arrive. Batch sizes the worker did
    not report (it crashed or exited early) are emitted as skips with its exit code and the
    last line of its stderr."""
    job_path = os.path.join(workdir, f"job-{job.backend}-{job.precision}.json")
    job.save(job_path)
    seen: set[int] = set()
    with open(job_path + ".stderr", "w+b") as err:
        proc = subprocess.Popen(
            child_command(__name__, "worker_main", job_path),
            stdout=subprocess.PIPE,
            stderr=err,
            env=thread_env(job.cpu_threads),
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        for line in proc.stdout:  # type: ignore[union-attr]  # stdout=PIPE: never None
            event = read_event(line)
            if event is not None:
                seen.add(event["batch_size"])
                emit(event)
        rc = proc.wait()
        err.seek(0)
        tail = [ln for ln in err.read().decode("utf-8", "replace").splitlines() if ln.strip()]
    if rc != 0 or len(seen) < len(job.batch_sizes):
        why = f"worker exited with code {rc}" + (f": {tail[-1].strip()}" if tail else "")
        for bs in job.batch_sizes:
            if bs not in seen:
                emit(
                    {
                        "type": "skip",
                        "model": job.label,
                        "backend": job.backend,
                        "precision": job.precision,
                        "batch_size": bs,
                        "reason": why,
                    }
                )


# --------------------------------------------------------------------------------------
# Rounds
# --------------------------------------------------------------------------------------
def row_key(row: dict[str, Any]) -> tuple[Any, str, str, int]:
    """What identifies a row of the report: ``(model, backend, precision, batch_size)``."""
    return row.get("model"), row["backend"], row["precision"], row["batch_size"]


def unique_rows(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` without repeats of the same backend/precision/batch size (first kept)."""
    seen: set[tuple[Any, str, str, int]] = set()
    out: list[dict[str, Any]] = []
    for r in rows:
        if row_key(r) not in seen:
            seen.add(row_key(r))
            out.append(r)
    return out


def best_rounds(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One record per backend/precision/batch size: the round with the highest model-only
    throughput, with every round's throughput in ``throughput_rounds``."""
    groups: dict[tuple[Any, str, str, int], list[dict[str, Any]]] = {}
    for r in records:
        groups.setdefault(row_key(r), []).append(r)
    out: list[dict[str, Any]] = []
    for rows in groups.values():
        fastest = max(rows, key=lambda r: r.get("throughput_ips") or 0.0)
        best = dict(fastest)
        best["throughput_rounds"] = [r.get("throughput_ips") for r in rows]
        out.append(best)
    return out


def run_rounds(
    jobs: Sequence[BenchmarkJob], rounds: int, isolate: bool, workdir: str, progress: bool = False
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Run every job ``rounds`` times, interleaved.

    Returns:
        tuple: (records, best round per row; skipped rows reported by the jobs, in order).
    """
    records: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    bar = None
    if progress:
        bar = tqdm(
            total=sum(len(j.batch_sizes) for j in jobs) * rounds,
            desc="benchmark",
            unit="run",
            file=sys.stderr,
            dynamic_ncols=True,
        )

    def emit(event: dict[str, Any]) -> None:
        event = dict(event)
        kind = event.pop("type")
        (records if kind == "record" else skipped).append(event)
        if bar is not None:
            bar.set_postfix_str(f"{event['backend']}/{event['precision']} bs {event['batch_size']}")
            bar.update(1)

    try:
        for _ in range(rounds):
            for job in jobs:
                if isolate:
                    run_isolated(job, emit, workdir)
                else:
                    measure_backend(job, emit)
    finally:
        if bar is not None:
            bar.close()
    return best_rounds(records), skipped


# --------------------------------------------------------------------------------------
# The whole run
# --------------------------------------------------------------------------------------
def _measure(
    settings: dict[str, Any], specs: Sequence[InferenceSpec], image_dir: StrPath | None, progress: bool
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """Prepare the images, probe the peak, run every job, probe again: ``(peak, records, skipped)``
    with ``pct_of_peak`` filled in. Sets ``settings["num_images"]`` and ``settings["images"]``
    to what was actually used."""
    threads, isolate = settings["cpu_threads"], settings["isolate"]
    workdir = tempfile.mkdtemp(prefix="ppresnet45-bench-")
    try:
        height = max(spec.height for spec in specs)
        paths, settings["images"] = benchmark_images(image_dir, settings["num_images"], height, workdir)
        settings["num_images"] = len(paths)
        jobs, skipped = plan_all(settings, specs, paths, workdir)
        peak = measure_peak(threads, isolate=isolate)
        records, failed = run_rounds(jobs, settings["rounds"], isolate, workdir, progress)
        # The CPU's speed drifts (turbo, other tenants of a VM): probe again after the runs and
        # take the better of the two, so that "% of peak" is not inflated by one slow probe.
        peak = best_peak(peak, measure_peak(threads, isolate=isolate))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    for r in records:
        r["pct_of_peak"] = 100.0 * r["gflops"] / peak["gflops"] if (r.get("gflops") and peak.get("gflops")) else None
    return peak, records, unique_rows(skipped + failed)


def _run_notes(records: Iterable[dict[str, Any]], settings: dict[str, Any]) -> list[str]:
    """Notes on how to read this run's numbers."""
    notes: list[str] = []
    if not settings["isolate"]:
        notes.append("isolate=False: all backends ran in one process, so peak_rss_mb accumulates across rows")
    if "bf16" in settings["precisions"]:
        notes.append("% of peak is against the FP32 matmul peak; BF16 rows can exceed 100 %")
    over = sorted(
        {
            f"{r['backend']} bs {r['batch_size']}"
            for r in records
            if r.get("precision") == "fp32" and (r.get("pct_of_peak") or 0) > 100
        }
    )
    if over:
        notes.append(
            f"FP32 rows above 100 % of peak ({', '.join(over)}): their convolution kernels beat the "
            "matmul probe's BLAS on this CPU, so the probe understates the real FP32 ceiling"
        )
    return notes


def run_benchmark(
    model_dir: StrPath | Iterable[StrPath],
    batch_sizes: Iterable[int] = (1, 8, 32),
    backends: Iterable[str] | None = None,
    precisions: Iterable[str] = ("fp32",),
    warmup: int = 3,
    iters: int = 10,
    output_dir: str | None = None,
    image_dir: StrPath | None = None,
    cpu_threads: int | None = None,
    num_images: int = 64,
    isolate: bool = True,
    progress: bool = True,
    rounds: int = 1,
    model_options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Benchmark exported models (see the module docs for how, and
    :mod:`ppresnet45.benchmark.measure` for what is measured).

    Args:
        model_dir (str | list[str]): the exported model folder, or several (compared in one run
            on the same images: ours, PaddleOCR's, any mix).
        batch_sizes (tuple[int]): batch sizes to measure.
        backends (list[str] | None): backends (default: every one available for each export).
        precisions (tuple[str]): ``"fp32"`` and/or ``"bf16"``.
        warmup (int): untimed calls before timing (and one untimed full-path pass if > 0).
        iters (int): timed model-only calls per batch size.
        output_dir (str | None): where to write benchmark.json/.md/.png (nothing written if None).
        image_dir (str | None): images to use (image, folder or label file); default:
            ``num_images`` generated text lines (at the tallest model's height).
        cpu_threads (int | None): threads for every backend and the peak probe (default: the
            cores this process may use, :func:`ppresnet45.utils.cpu.available_cores`).
        num_images (int): images for the full-path measurement (and generated ones).
        isolate (bool): run each backend × precision in its own subprocess.
        progress (bool): tqdm progress bar on stderr.
        rounds (int): run every backend × precision this many times, interleaved, and keep
            each row's fastest round (``throughput_rounds`` keeps every round's images/s).
        model_options (dict | None): ``dict_path``, ``image_shape``, ``use_space_char`` for
            models without an ``inference.yml`` (PaddleOCR 2.x folders, ONNX files).

    Returns:
        dict: ``machine``, ``peak``, ``settings`` (the first model's ``model_dir``,
        ``model_name``, ... at the top, every model in ``models``), ``records`` (list, each
        with its ``model`` label), ``skipped`` (list), ``outputs`` (written files), ``notes``.
    """
    cpu_threads = available_cores() if cpu_threads is None else cpu_threads
    counts = {"num_images": num_images, "cpu_threads": cpu_threads, "iters": iters, "rounds": rounds}
    sizes, requested, precision_list = check_arguments(batch_sizes, backends or (), precisions, warmup, counts)
    model_dirs = [model_dir] if isinstance(model_dir, (str, os.PathLike)) else list(model_dir)
    if not model_dirs:
        raise DataError("model_dir: expected one or more exported model folders, got none")
    loaded = [model_settings(d, None if backends is None else requested, model_options or {}) for d in model_dirs]
    models, specs = [m for m, _, _ in loaded], [spec for _, spec, _ in loaded]
    label_models(models)
    first = {
        k: models[0][k]
        for k in ("model_dir", "model_name", "untrained", "image_shape", "max_width", "macs_per_image", "backends")
    }
    settings = dict(
        first,
        models=models,
        batch_sizes=sizes,
        precisions=precision_list,
        warmup=warmup,
        iters=iters,
        rounds=rounds,
        cpu_threads=cpu_threads,
        num_images=num_images,
        images=None,
        isolate=isolate,
    )
    peak, records, skipped = _measure(settings, specs, image_dir, progress)
    for m in models:
        del m["usable"]
    add_text_agreement(records)
    notes = [note for _, _, note in loaded if note] + _run_notes(records, settings)
    report = {
        "machine": machine_info(),
        "peak": peak,
        "settings": settings,
        "records": records,
        "skipped": skipped,
        "notes": notes,
        "outputs": {},
    }
    if output_dir:
        write_reports(report, output_dir)
    return report
