"""``ppresnet45 benchmark``: latency, throughput, memory and GFLOP/s of an exported model.

For every backend × precision × batch size it measures

* **model only**: latency per batch (p50/p90/p99 over ``iters`` timed calls after
  ``warmup`` untimed ones) on pre-processed batches at the nominal width (e.g. 32×128),
  throughput in images/s, GFLOP/s from the counted multiply-adds
  (``2 × macs_per_image × images/s``, ``macs_per_image`` from ``inference.yml``) and that
  as a percentage of this CPU's measured FP32 matmul peak;
* **the full recognize path** (:class:`ppresnet45.inference.recognizer.TextRecognizer` on
  image files: header read, decode, pre-process, model, CTC decode), twice:

  - ``full_path_nominal``: on copies of the images stretched to exactly the nominal
    ``H×W``, so every batch has the model-only shape; ``vs_model_only`` = its images/s ÷
    model-only images/s is the cost of everything around the model (the target is ≥ 0.9
    at batch 8);
  - ``full_path``: on the images as they are (real widths, batched by aspect ratio),
    after one untimed pass (when ``warmup > 0``) that lets the runtime prepare the
    batch widths; ``path_efficiency`` = its images/s ÷ the model-only images/s *on the
    same batches* (1.0 = no overhead), ``vs_model_only`` as above (it also reflects that
    real lines are wider or narrower than the nominal width).

  Each has the time split per image (ms) into decode + pre-process (CPU time of the
  thread doing it; a background thread overlapping the model for ONNX Runtime, OpenVINO
  and eager, so the parts can add up to more than the wall time; between model calls
  for Paddle Inference, whose ``run()`` holds the GIL), model and post-process;
* **memory**: the peak resident set size (``ru_maxrss``) of the process after each record.
  Each backend × precision runs in its own subprocess (``isolate=True``, the default), so
  the number is that backend's own high-water mark (it includes the Python interpreter and
  the imported libraries, reported separately as ``rss_before_load_mb``), and a backend
  that crashes only loses its own rows. With ``isolate=False`` everything runs in this
  process and the high-water marks accumulate.

The peak is probed before and after the runs, in a subprocess with the same thread count:
the best of a large float32 matmul in numpy (OpenBLAS) and in Paddle (its CPU BLAS), best
of both probes (a VM's CPU speed drifts by 20-30 % between seconds); the method and
GFLOP/s are recorded. It is an FP32 peak, so BF16 rows can exceed 100 %.

Default images are synthetic text lines (:func:`ppresnet45.data.synth.render_dataset`,
seeded) rendered into a temporary folder; ``image_dir`` uses your own (an image, a
folder or a label file). Unavailable combinations (a backend not installed, ONNX backends
without ``model.onnx``, ``bf16`` where the backend or CPU has none) are skipped with a note.

Outputs (when ``output_dir`` is given, each written atomically): ``benchmark.json`` (machine
info, peak probe, settings, records, skipped), ``benchmark.md`` (a table) and
``benchmark.png`` (throughput vs batch size; skipped with a note without matplotlib).
"""

import contextlib
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

from ..errors import DataError, PPResNetError

MARK = "@@ppresnet45-benchmark@@ "
THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "FLAGS_cpu_math_library_num_threads")
PROBE_SIZE = 1536


# --------------------------------------------------------------------------------------
# Machine information and the peak probe
# --------------------------------------------------------------------------------------
def _version(dist):
    from importlib import metadata

    for name in (dist,) if isinstance(dist, str) else dist:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None


def machine_info():
    """CPU model and flags, core counts, load, and library versions (without importing them)."""
    model, flags = platform.processor() or "unknown", set()
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and model in ("unknown", "", platform.processor()):
                    model = value.strip()
                elif key == "flags" and not flags:
                    flags = set(value.split())
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count()
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = None
    wanted = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_tile")
    return {
        "cpu_model": model,
        "cpu_flags": [f for f in wanted if f in flags],
        "logical_cpus": os.cpu_count(),
        "usable_cpus": usable,
        "load_average": load,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "paddlepaddle": _version(("paddlepaddle", "paddlepaddle-gpu")),
        "onnxruntime": _version(("onnxruntime", "onnxruntime-gpu")),
        "openvino": _version("openvino"),
        "numpy": _version("numpy"),
        "opencv": _version(("opencv-python-headless", "opencv-python", "opencv-contrib-python")),
    }


def _matmul_gflops(fn, n, repeats):
    fn()
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return 2.0 * n ** 3 / best / 1e9


def probe_peak(n=PROBE_SIZE, repeats=20, threads=None):
    """Best float32 matmul GFLOP/s of numpy and Paddle in this process.

    Thread counts come from the environment (set them before the libraries load:
    :func:`measure_peak` does so in a subprocess); ``threads`` is also passed to Paddle.

    Returns:
        dict: ``gflops`` (the best), ``method``, and each probe's result.
    """
    rng = np.random.default_rng(0)
    a = rng.random((n, n), dtype=np.float32)
    b = rng.random((n, n), dtype=np.float32)
    c = np.empty((n, n), np.float32)
    out = {"matrix": f"{n}x{n} float32", "probes": {}}
    out["probes"]["numpy.matmul"] = _matmul_gflops(lambda: np.matmul(a, b, out=c), n, repeats)
    try:
        import paddle
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


def _best_peak(first, second):
    """The faster of two peak probes, keeping both numbers (``runs``) in the result."""
    runs = [r.get("gflops") for r in (first, second)]
    best = dict(max((first, second), key=lambda r: r.get("gflops") or 0.0))
    best["runs"] = runs
    best["method"] = f"{best.get('method')}, best of a probe before and after the runs" if best.get("method") else None
    return best


def _row_key(r):
    return r["backend"], r["precision"], r["batch_size"]


def _unique_rows(rows):
    """``rows`` without repeats of the same backend/precision/batch size (first kept)."""
    seen, out = set(), []
    for r in rows:
        if _row_key(r) not in seen:
            seen.add(_row_key(r))
            out.append(r)
    return out


def _best_rounds(records):
    """One record per backend/precision/batch size: the round with the highest model-only
    throughput, with every round's throughput in ``throughput_rounds``."""
    groups = {}
    for r in records:
        groups.setdefault(_row_key(r), []).append(r)
    out = []
    for rows in groups.values():
        best = dict(max(rows, key=lambda r: r.get("throughput_ips") or 0.0))
        best["throughput_rounds"] = [r.get("throughput_ips") for r in rows]
        out.append(best)
    return out


def _thread_env(threads):
    env = dict(os.environ)
    env.setdefault("GLOG_minloglevel", "2")
    if threads:
        for key in THREAD_ENV:
            env[key] = str(threads)
    return env


def measure_peak(threads, isolate=True):
    """Run :func:`probe_peak` with ``threads`` threads (in a subprocess when ``isolate``)."""
    if not isolate:
        res = probe_peak(threads=threads)
        res["threads"] = "process default"
        return res
    code = ("import json,sys; from ppresnet45.benchmark.core import probe_peak; "
            f"print({MARK!r} + json.dumps(probe_peak(threads={int(threads) if threads else None})))")
    proc = subprocess.run([sys.executable, "-c", code], env=_thread_env(threads), capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        if line.startswith(MARK):
            res = json.loads(line[len(MARK):])
            res["threads"] = threads
            return res
    tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    return {"gflops": None, "method": None, "threads": threads, "error": f"peak probe failed: {tail}"}


# --------------------------------------------------------------------------------------
# Measuring one backend × precision (runs in the worker process)
# --------------------------------------------------------------------------------------
def _rss_mb():
    """Current resident set size in MB (Linux /proc; 0 where unavailable)."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20
    return 0.0


def _peak_rss_mb():
    """High-water resident set size of this process in MB."""
    try:
        import resource

        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return kb / 1024.0 if sys.platform != "darwin" else kb / 2 ** 20
    except (ImportError, OSError):
        return _rss_mb()


def _nominal_batches(paths, spec, max_n):
    """Pre-processed ``[C, H, W]`` arrays at the nominal width, for model-only timing."""
    from ..data.imgproc import resize_norm_img
    from ..inference.images import ImageLoadError, load_image

    rows = []
    for p in paths:
        try:
            img = load_image(p)
        except ImageLoadError:
            continue
        rows.append(resize_norm_img(img, spec.image_shape, padding=spec.padding)[0])
        if len(rows) >= max_n:
            break
    if not rows:
        raise DataError("no readable benchmark image (every file failed to load)")
    return rows


def _latency_stats(seconds):
    ms = np.asarray(seconds, dtype=np.float64) * 1000.0
    p50, p90, p99 = (float(v) for v in np.percentile(ms, [50, 90, 99]))
    return {"mean": float(ms.mean()), "min": float(ms.min()), "p50": p50, "p90": p90, "p99": p99}


def measure_backend(job, emit):
    """Measure one backend × precision for every batch size; ``emit(event)`` per result.

    Args:
        job (dict): ``model_dir``, ``backend``, ``precision``, ``batch_sizes``, ``warmup``,
            ``iters``, ``cpu_threads``, ``paths``, ``nominal_paths`` (the same images at
            exactly the nominal size), ``macs_per_image``. ``pct_of_peak`` is left ``None``:
            :func:`run_benchmark` fills it in once the peak probes are done.
        emit (callable): receives ``{"type": "record", ...}`` or ``{"type": "skip", ...}`` dicts.
    """
    from ..inference.runtime import create_runtime, load_inference_config
    from ..inference.recognizer import InferenceSpec, TextRecognizer

    backend, precision = job["backend"], job["precision"]
    base = {"backend": backend, "precision": precision}
    rss_before = _rss_mb()
    t0 = time.perf_counter()
    try:
        runtime = create_runtime(job["model_dir"], backend=backend, precision=precision,
                                 cpu_threads=job["cpu_threads"])
    except (PPResNetError, ImportError, RuntimeError, ValueError, OSError) as exc:
        for bs in job["batch_sizes"]:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            emit(dict(base, type="skip", batch_size=bs, reason=reason))
        return
    load_s = time.perf_counter() - t0
    cfg = load_inference_config(job["model_dir"])
    spec = InferenceSpec.from_config(cfg)
    paths = job["paths"]
    pool = _nominal_batches(paths, spec, max(job["batch_sizes"]))
    macs = job.get("macs_per_image")
    nominal_paths = job.get("nominal_paths") or []
    for bs in job["batch_sizes"]:
        x = np.stack([pool[i % len(pool)] for i in range(bs)])
        try:
            for _ in range(job["warmup"]):
                runtime(x)
            lat = []
            for _ in range(job["iters"]):
                t = time.perf_counter()
                runtime(x)
                lat.append(time.perf_counter() - t)
            lat_stats = _latency_stats(lat)
            ips = bs / (lat_stats["mean"] / 1000.0)
            rec = TextRecognizer(runtime=runtime, inference_config=cfg, batch_size=bs, model_dir=job["model_dir"])
            nominal = None
            if nominal_paths:
                if job["warmup"] > 0 and len(nominal_paths) % bs:
                    rec(nominal_paths)  # warm the last, smaller batch's shape
                rec(nominal_paths)
                nominal = _full_path_summary(rec.last_stats, ips)
            if job["warmup"] > 0:
                rec(paths)
            results = rec(paths)
            full = _full_path_summary(rec.last_stats, ips)
            full["empty_texts"] = sum(1 for r in results if r.get("text") == "")
            full["texts"] = [r.get("text") for r in results]  # compared across rows, then dropped
        except Exception as exc:  # noqa: BLE001 - one failing batch size must not lose the rest
            emit(dict(base, type="skip", batch_size=bs, reason=f"failed: {type(exc).__name__}: {exc}".splitlines()[0]))
            continue
        gflops = 2.0 * macs * ips / 1e9 if macs else None
        emit(dict(
            base,
            type="record",
            batch_size=bs,
            cpu_threads=getattr(runtime, "cpu_threads", job["cpu_threads"]),
            input_shape=list(x.shape),
            load_s=load_s,
            latency_ms=lat_stats,
            throughput_ips=ips,
            gflops=gflops,
            pct_of_peak=None,
            full_path_nominal=nominal,
            full_path=full,
            rss_before_load_mb=rss_before,
            peak_rss_mb=_peak_rss_mb(),
        ))


def _full_path_summary(st, model_only_ips):
    """Condense :attr:`TextRecognizer.last_stats` of one pass into a record's ``full_path`` entry."""
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


def _worker_main(job_path):
    """Subprocess entry: run :func:`measure_backend` and print events as marked JSON lines."""
    with open(job_path, encoding="utf-8") as f:
        job = json.load(f)

    def emit(event):
        sys.stdout.write(MARK + json.dumps(event) + "\n")
        sys.stdout.flush()

    measure_backend(job, emit)
    return 0


def _run_isolated(job, emit, workdir):
    """Run :func:`measure_backend` in a fresh Python process with the thread env set."""
    job_path = os.path.join(workdir, f"job-{job['backend']}-{job['precision']}.json")
    with open(job_path, "w", encoding="utf-8") as f:
        json.dump(job, f)
    err_path = job_path + ".stderr"
    seen = set()
    with open(err_path, "w+b") as err:
        code = f"import sys; from ppresnet45.benchmark.core import _worker_main; sys.exit(_worker_main({job_path!r}))"
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=err,
                                env=_thread_env(job["cpu_threads"]), text=True, encoding="utf-8", errors="replace")
        for line in proc.stdout:
            if line.startswith(MARK):
                event = json.loads(line[len(MARK):])
                seen.add(event["batch_size"])
                emit(event)
        rc = proc.wait()
        err.seek(0)
        tail = [ln for ln in err.read().decode("utf-8", "replace").splitlines() if ln.strip()]
    if rc != 0 or len(seen) < len(job["batch_sizes"]):
        why = f"worker exited with code {rc}" + (f": {tail[-1].strip()}" if tail else "")
        for bs in job["batch_sizes"]:
            if bs not in seen:
                emit({"type": "skip", "backend": job["backend"], "precision": job["precision"], "batch_size": bs,
                      "reason": why})


# --------------------------------------------------------------------------------------
# Orchestration
# --------------------------------------------------------------------------------------
def _default_images(workdir, num_images, height):
    try:
        from ..data.synth import render_dataset
    except ImportError as exc:
        raise DataError(f"cannot generate benchmark images ({exc}); pass --image_dir") from None
    label_file = render_dataset(os.path.join(workdir, "lines"), num_images, seed=0, height=height, show_progress=False)
    return label_file


def _nominal_copies(paths, spec, folder):
    """Copies of the readable images stretched to exactly the nominal ``H×W`` (PNG), so the full
    path can be compared with model-only timing on identical input shapes."""
    import cv2

    from ..data.imgproc import to_model_channels
    from ..inference.images import ImageLoadError, load_image

    os.makedirs(folder, exist_ok=True)
    out = []
    for i, p in enumerate(paths):
        try:
            img = to_model_channels(load_image(p), spec.channels)
        except ImageLoadError:
            continue
        img = cv2.resize(img, (spec.width, spec.height), interpolation=cv2.INTER_LINEAR)
        path = os.path.join(folder, f"{i:06d}.png")
        ok, buf = cv2.imencode(".png", img)
        if ok:
            buf.tofile(path)
            out.append(path)
    return out


def _macs_from_architecture(cfg, spec):
    """Count multiply-adds from ``inference.yml``'s Architecture when the export did not record them."""
    arch = cfg.get("Architecture")
    if not isinstance(arch, dict):
        return None
    try:
        from ..modeling.model import RecModel
        from ..modeling.summary import count_macs

        return int(count_macs(RecModel(arch), tuple(spec.image_shape))["total"])
    except Exception:  # noqa: BLE001 - GFLOP/s columns are then left empty
        return None


def _check_positive_ints(values, name):
    values = list(values)
    if not values or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in values):
        raise DataError(f"{name}: expected positive integers, got {values!r}")
    return values


def run_benchmark(model_dir, batch_sizes=(1, 8, 32), backends=None, precisions=("fp32",), warmup=3, iters=10,
                  output_dir=None, image_dir=None, cpu_threads=2, num_images=64, isolate=True, progress=True,
                  rounds=1):
    """Benchmark an exported model (see the module docs for what is measured).

    Args:
        model_dir (str): the exported model folder.
        batch_sizes (tuple[int]): batch sizes to measure.
        backends (list[str] | None): backends (default: every one available for this export).
        precisions (tuple[str]): ``"fp32"`` and/or ``"bf16"``.
        warmup (int): untimed calls before timing (and one untimed full-path pass if > 0).
        iters (int): timed model-only calls per batch size.
        output_dir (str | None): where to write benchmark.json/.md/.png (nothing written if None).
        image_dir (str | None): images to use (image, folder or label file); default:
            ``num_images`` generated text lines.
        cpu_threads (int): threads for every backend and the peak probe.
        num_images (int): images for the full-path measurement (and generated ones).
        isolate (bool): run each backend × precision in its own subprocess.
        progress (bool): tqdm progress bar on stderr.
        rounds (int): run every backend × precision this many times, interleaved (A B C A B C),
            and keep each row's fastest round: on a shared or throttling machine a slow
            round says nothing about the backend, and interleaving exposes every backend
            to the same drift. ``throughput_rounds`` keeps every round's images/s.

    Returns:
        dict: ``machine``, ``peak``, ``settings``, ``records`` (list), ``skipped`` (list),
        ``outputs`` (written files), ``notes``.
    """
    from ..inference.images import list_image_sources
    from ..inference.runtime import BACKENDS, PRECISIONS, available_backends, load_inference_config
    from ..inference.recognizer import InferenceSpec

    batch_sizes = _check_positive_ints(batch_sizes, "batch_sizes")
    _check_positive_ints([num_images, cpu_threads, iters, rounds], "num_images/cpu_threads/iters/rounds")
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise DataError(f"warmup: expected an int >= 0, got {warmup!r}")
    precisions = list(precisions)
    for p in precisions:
        if p not in PRECISIONS:
            raise DataError(f"precision: expected one of {', '.join(PRECISIONS)}, got {p!r}")
    model_dir = os.path.abspath(os.fspath(model_dir))
    cfg = load_inference_config(model_dir)
    spec = InferenceSpec.from_config(cfg, os.path.join(model_dir, "inference.yml"))
    usable = available_backends(model_dir)
    installed = available_backends()
    if backends is None:
        backends = list(usable)
    backends = list(backends)
    for b in backends:
        if b not in BACKENDS:
            raise DataError(f"backends: unknown backend {b!r} (expected some of {', '.join(BACKENDS)})")
    notes = []
    macs = spec.macs_per_image or _macs_from_architecture(cfg, spec)
    if not spec.macs_per_image:
        notes.append("inference.yml has no Global.macs_per_image; "
                     + ("counted from its Architecture" if macs else "GFLOP/s not reported"))

    workdir = tempfile.mkdtemp(prefix="ppresnet45-bench-")
    try:
        if image_dir is None:
            source = _default_images(workdir, num_images, spec.height)
            images_desc = f"{num_images} generated text lines (ppresnet45.data.synth, seed 0, height {spec.height})"
        else:
            source = image_dir
            images_desc = None
        paths = [os.path.abspath(p) for p in list_image_sources(source).paths[:num_images]]
        if images_desc is None:
            images_desc = f"{len(paths)} images from {image_dir}"
        nominal_paths = _nominal_copies(paths, spec, os.path.join(workdir, "nominal"))
        if not nominal_paths:
            raise DataError(f"no readable image among the {len(paths)} benchmark images from {source}")

        peak = measure_peak(cpu_threads, isolate=isolate)
        jobs, skipped = [], []
        for b in backends:
            for p in precisions:
                if b not in installed:
                    reason = f"backend '{b}' is not installed here"
                elif b not in usable:
                    reason = ("no model.onnx in the model dir (export with --onnx)" if b in ("onnxruntime", "openvino")
                              else "no model.pdparams in the model dir")
                else:
                    reason = None
                if reason:
                    skipped.extend({"backend": b, "precision": p, "batch_size": bs, "reason": reason}
                                   for bs in batch_sizes)
                    continue
                jobs.append(dict(model_dir=model_dir, backend=b, precision=p, batch_sizes=batch_sizes, warmup=warmup,
                                 iters=iters, cpu_threads=cpu_threads, paths=paths, nominal_paths=nominal_paths,
                                 macs_per_image=macs))
        records = []
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=len(jobs) * len(batch_sizes) * rounds, desc="benchmark", unit="run",
                       file=sys.stderr, dynamic_ncols=True)

        def emit(event):
            kind = event.pop("type")
            (records if kind == "record" else skipped).append(event)
            if bar is not None:
                bar.set_postfix_str(f"{event['backend']}/{event['precision']} bs {event['batch_size']}")
                bar.update(1)

        try:
            for _ in range(rounds):
                for job in jobs:
                    if isolate:
                        _run_isolated(job, emit, workdir)
                    else:
                        measure_backend(job, lambda e: emit(dict(e)))
        finally:
            if bar is not None:
                bar.close()
        records, skipped = _best_rounds(records), _unique_rows(skipped)
        # The CPU's speed drifts (turbo, other tenants of a VM): probe again after the runs and
        # take the better of the two, so that "% of peak" is not inflated by one slow probe.
        peak = _best_peak(peak, measure_peak(cpu_threads, isolate=isolate))
        for r in records:
            r["pct_of_peak"] = 100.0 * r["gflops"] / peak["gflops"] if (r.get("gflops") and peak.get("gflops")) else None
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    _add_text_agreement(records)
    if not isolate:
        notes.append("isolate=False: all backends ran in one process, so peak_rss_mb accumulates across rows")
    if any(p == "bf16" for p in precisions):
        notes.append("% of peak is against the FP32 matmul peak; BF16 rows can exceed 100 %")
    over = sorted({f"{r['backend']} bs {r['batch_size']}" for r in records
                   if r.get("precision") == "fp32" and (r.get("pct_of_peak") or 0) > 100})
    if over:
        notes.append(f"FP32 rows above 100 % of peak ({', '.join(over)}): their convolution kernels beat the "
                     "matmul probe's BLAS on this CPU, so the probe understates the real FP32 ceiling")
    report = {
        "machine": machine_info(),
        "peak": peak,
        "settings": {
            "model_dir": model_dir,
            "model_name": spec.model_name,
            "untrained": bool((cfg.get("Global") or {}).get("untrained", False)),
            "image_shape": spec.image_shape,
            "max_width": spec.max_width,
            "macs_per_image": macs,
            "batch_sizes": batch_sizes,
            "backends": backends,
            "precisions": precisions,
            "warmup": warmup,
            "iters": iters,
            "rounds": rounds,
            "cpu_threads": cpu_threads,
            "num_images": len(paths),
            "images": images_desc,
            "isolate": isolate,
        },
        "records": records,
        "skipped": skipped,
        "notes": notes,
        "outputs": {},
    }
    if output_dir:
        write_reports(report, output_dir)
    return report


def _add_text_agreement(records):
    """Set each record's ``text_agreement``: the share of images whose decoded text equals the
    reference row's (``paddle``/``fp32`` at the same batch size, else the first FP32 row), so a
    lower precision or another runtime shows at once whether it changes what is read."""
    texts = {id(r): r["full_path"].pop("texts", None) for r in records}
    for r in records:
        same_bs = [o for o in records if o["batch_size"] == r["batch_size"] and o["precision"] == "fp32"]
        ref = next((o for o in same_bs if o["backend"] == "paddle"), same_bs[0] if same_bs else None)
        mine, theirs = texts[id(r)], texts[id(ref)] if ref is not None else None
        if not mine or not theirs or len(mine) != len(theirs):
            r["text_agreement"] = None
            continue
        pairs = [(a, b) for a, b in zip(mine, theirs) if a is not None and b is not None]
        r["text_agreement"] = {
            "reference": f"{ref['backend']}/{ref['precision']}",
            "images": len(pairs),
            "same_text": sum(1 for a, b in pairs if a == b),
            "fraction": sum(1 for a, b in pairs if a == b) / len(pairs) if pairs else None,
        }


# --------------------------------------------------------------------------------------
# Reports
# --------------------------------------------------------------------------------------
def _fmt(value, digits=1):
    if value is None:
        return "–"
    return f"{value:.{digits}f}"


def _agreement_text(agreement):
    if not agreement or agreement.get("fraction") is None:
        return "–"
    return f"{100 * agreement['fraction']:.1f} % ({agreement['same_text']}/{agreement['images']})"


def format_markdown(report):
    """The report as Markdown: settings, a table of records, skipped combinations, notes."""
    m, s, peak = report["machine"], report["settings"], report["peak"]
    lines = [
        "# ppresnet45 benchmark",
        "",
        f"- model: `{s['model_dir']}` ({s['model_name'] or 'unnamed'}"
        f"{', untrained weights' if s['untrained'] else ''}), "
        f"input {s['image_shape']}, max width {s['max_width']}, "
        f"{_fmt((s['macs_per_image'] or 0) / 1e9, 2)} GMAC per image",
        f"- CPU: {m['cpu_model']} ({m['usable_cpus']} usable of {m['logical_cpus']} logical; "
        f"{' '.join(m['cpu_flags']) or 'no listed flags'}); load average at the end {m['load_average']}",
        f"- threads: {s['cpu_threads']}; warmup {s['warmup']}, iters {s['iters']}"
        + (f", best of {s['rounds']} interleaved rounds" if s.get("rounds", 1) > 1 else "")
        + f"; images: {s['images']}",
        f"- FP32 peak: {_fmt(peak.get('gflops'))} GFLOP/s by {peak.get('method') or peak.get('error')}",
        f"- versions: python {m['python']}, paddlepaddle {m['paddlepaddle']}, onnxruntime {m['onnxruntime']}, "
        f"openvino {m['openvino']}, numpy {m['numpy']}, opencv {m['opencv']}",
        "",
        "Model only: latency per batch on pre-processed batches at the nominal width. Full path: files → text "
        "(header read, decode, pre-process, model, CTC decode; decoding overlaps the model in a background "
        "thread except on the paddle backends, whose run() holds the GIL), "
        f"first on copies of the images stretched to exactly {s['image_shape'][1]}×{s['image_shape'][2]} "
        "(same input shapes as model only; '% of model' = its images/s ÷ model-only images/s), then on the images "
        "as they are (real widths, batched by aspect ratio; efficiency = images/s ÷ model-only images/s on the same "
        "batches). Split: ms per image of the real-width pass in decode+pre-process (CPU time) / model / "
        "post-process.",
        "",
        "| backend | precision | batch | p50 ms | p90 ms | p99 ms | model img/s | GFLOP/s | % peak "
        f"| full img/s @{s['image_shape'][2]} | % of model | full img/s real widths | efficiency "
        "| split ms/img (pre / model / post) | peak RSS MB | same text as fp32 |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for r in report["records"]:
        lat, fp, nom = r["latency_ms"], r["full_path"], r.get("full_path_nominal") or {}
        ms = fp["ms_per_image"]
        eff, vs = fp["path_efficiency"], nom.get("vs_model_only")
        lines.append(
            f"| {r['backend']} | {r['precision']} | {r['batch_size']} | {_fmt(lat['p50'])} | {_fmt(lat['p90'])} "
            f"| {_fmt(lat['p99'])} | {_fmt(r['throughput_ips'])} | {_fmt(r['gflops'])} | {_fmt(r['pct_of_peak'])} "
            f"| {_fmt(nom.get('images_per_s'))} | {_fmt(vs * 100 if vs else None)} % "
            f"| {_fmt(fp['images_per_s'])} | {_fmt(eff * 100 if eff else None)} % "
            f"| {_fmt(ms['preprocess'], 2)} / {_fmt(ms['model'], 2)} / {_fmt(ms['postprocess'], 2)} "
            f"| {_fmt(r['peak_rss_mb'], 0)} | {_agreement_text(r.get('text_agreement'))} |")
    if not report["records"]:
        lines.append("| (no measurements) |" + " |" * 15)
    skipped = {}
    for sk in report["skipped"]:
        key = (sk["backend"], sk["precision"], sk["reason"])
        skipped.setdefault(key, []).append(sk["batch_size"])
    if skipped:
        lines += ["", "Skipped:", ""]
        for (b, p, reason), sizes in skipped.items():
            lines.append(f"- {b}/{p} (batch {', '.join(map(str, sizes))}): {reason}")
    if report.get("notes"):
        lines += ["", "Notes:", ""] + [f"- {n}" for n in report["notes"]]
    return "\n".join(lines) + "\n"


def plot_throughput(report, path):
    """Write ``benchmark.png`` (images/s vs batch size per backend/precision). Returns a note or None."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed: benchmark.png skipped"
    from ..utils.io import atomic_output_file

    series = {}
    for r in report["records"]:
        series.setdefault((r["backend"], r["precision"]), []).append(r)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for i, ((b, p), rows) in enumerate(sorted(series.items())):
        rows = sorted(rows, key=lambda r: r["batch_size"])
        xs = [r["batch_size"] for r in rows]
        color = f"C{i % 10}"
        ax.plot(xs, [r["throughput_ips"] for r in rows], "o-", color=color, label=f"{b}/{p} model only")
        ax.plot(xs, [r["full_path"]["images_per_s"] for r in rows], "s--", color=color, label=f"{b}/{p} full path")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("batch size")
    ax.set_ylabel("images / s")
    s = report["settings"]
    ax.set_title(f"{s['model_name'] or 'model'} {s['image_shape']}, {s['cpu_threads']} threads")
    ax.grid(True, alpha=0.3)
    if series:
        ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_output_file(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    return None


def write_reports(report, output_dir):
    """Write benchmark.json, benchmark.md and benchmark.png atomically into ``output_dir``."""
    from ..utils.io import atomic_write_text

    os.makedirs(output_dir, exist_ok=True)
    png = os.path.join(output_dir, "benchmark.png")
    note = plot_throughput(report, png)
    if note:
        report["notes"].append(note)
    else:
        report["outputs"]["png"] = png
    report["outputs"]["json"] = os.path.join(output_dir, "benchmark.json")
    report["outputs"]["markdown"] = os.path.join(output_dir, "benchmark.md")
    atomic_write_text(report["outputs"]["markdown"], format_markdown(report))
    atomic_write_text(report["outputs"]["json"], json.dumps(report, indent=2, ensure_ascii=False) + "\n")
