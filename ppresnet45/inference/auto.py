"""``--backend auto``: the fastest runtime × precision for this model on this CPU.

Which runtime and precision is fastest depends on the CPU (bf16 pays off with AMX far more
than with AVX512-BF16; oneDNN and ONNX Runtime trade places) and on the model, so nothing is
hard-coded: :func:`choose_backend` opens every available candidate (``paddle``,
``onnxruntime``, ``openvino`` × ``fp32``, ``bf16``, ``int8`` where the export and the CPU
allow), reads a probe set (the first lines of the user's own input) once to warm up and once
timed, and keeps the fastest candidate whose decoded text agrees with the FP32 reference
(``paddle`` FP32, else the first FP32 candidate) on at least ``min_agreement`` of the probe
lines. The choice is cached per model (its files' sizes and times), CPU (model and flags),
thread count and batch size in ``$PPRESNET45_CACHE_DIR/backend_choice.json`` (default
``~/.cache/ppresnet45``), so later runs skip the probe.
"""

import hashlib
import json
import os
import time

from ..errors import ModelDirError
from ..utils.cpu import cpu_description
from ..utils.io import atomic_write_text
from ..version import __version__
from .recognizer import TextRecognizer
from .runtime import available_backends, create_runtime
from .runtime_base import BackendError, default_cpu_threads
from .spec import INT8_ONNX_FILE, InferenceSpec

AUTO = "auto"
CANDIDATE_BACKENDS = ("paddle", "onnxruntime", "openvino")  # eager and paddle-nomkl are never the fastest
CANDIDATE_PRECISIONS = ("fp32", "bf16", "int8")
MIN_AGREEMENT = 0.95
PROBE_LINES = 32
CACHE_FILE = "backend_choice.json"


def cache_path():
    """Where choices are cached: ``$PPRESNET45_CACHE_DIR`` or ``~/.cache/ppresnet45``."""
    root = os.environ.get("PPRESNET45_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "ppresnet45")
    return os.path.join(root, CACHE_FILE)


def cache_key(model_dir, cpu_threads, batch_size, use_gpu=False):
    """What a cached choice is valid for: the model's files, the CPU, threads, batch size, version."""
    model_dir = os.path.abspath(os.fspath(model_dir))
    files = []
    for name in sorted(os.listdir(model_dir)):
        path = os.path.join(model_dir, name)
        if os.path.isfile(path) and name.endswith((".json", ".pdiparams", ".onnx", ".yml")):
            st = os.stat(path)
            files.append([name, st.st_size, st.st_mtime_ns])
    text = json.dumps([model_dir, files, cpu_description(), cpu_threads, batch_size, bool(use_gpu), __version__])
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def _read_cache(path):
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}  # a missing or damaged cache only costs a new probe


def _candidates(model_dir, measured):
    have = set(available_backends(model_dir))
    int8 = os.path.isfile(os.path.join(os.fspath(model_dir), INT8_ONNX_FILE))
    return [(b, p) for b in CANDIDATE_BACKENDS if b in have for p in measured
            if p != "int8" or (int8 and b in ("onnxruntime", "openvino"))]


def _measure(runtime, spec, probe, batch_size):
    rec = TextRecognizer(runtime=runtime, inference_config=spec, batch_size=batch_size)
    rec(probe)  # warm-up: oneDNN primitives, OpenVINO / ORT first-run allocations
    t0 = time.perf_counter()
    texts = [r.get("text") for r in rec(probe)]
    return texts, len(probe) / max(time.perf_counter() - t0, 1e-9)


def choose_backend(model_dir, probe, batch_size=8, cpu_threads=None, use_gpu=False, min_agreement=MIN_AGREEMENT,
                   precisions=CANDIDATE_PRECISIONS, use_cache=True, log=None):
    """Pick the fastest backend × precision whose text agrees with FP32 (see the module docs).

    Args:
        model_dir (str): the export directory.
        probe (list): inputs to probe with (paths or arrays; the first :data:`PROBE_LINES` are used).
        batch_size (int): lines per model call, as the run will use.
        cpu_threads (int | None): threads, as the run will use (default: all cores).
        use_gpu (bool): a GPU run: no probe, ``paddle`` FP32.
        min_agreement (float): share of probe lines that must read as with FP32.
        precisions (tuple[str]): the precisions to choose among (FP32 is always measured: it
            is the reference).
        use_cache (bool): read and write the cache (:func:`cache_path`).
        log (callable | None): receives one line saying what was picked and why.

    Returns:
        dict: ``backend``, ``precision``, ``reason`` and ``candidates`` (per candidate:
        ``images_per_s``, ``agreement`` or ``skipped``), plus ``runtime`` (the opened
        runtime of the choice, to reuse) unless it came from the cache.

    Raises:
        BackendError: no candidate runs here.
    """
    log = log or (lambda line: None)
    cpu_threads = cpu_threads or default_cpu_threads()
    if use_gpu:
        return {"backend": "paddle", "precision": "fp32", "reason": "GPU run: paddle fp32", "candidates": {}}
    probe = [p for p in probe if isinstance(p, (str, os.PathLike)) or hasattr(p, "shape")][:PROBE_LINES]
    if not probe:
        raise ModelDirError("--backend auto needs at least one readable input to probe with")
    wanted = set(precisions)
    measured = tuple(dict.fromkeys(("fp32",) + tuple(precisions)))  # fp32 is the reference
    key = cache_key(model_dir, cpu_threads, batch_size) + "-" + "-".join(sorted(wanted))
    path = cache_path()
    if use_cache:
        hit = _read_cache(path).get(key)
        if isinstance(hit, dict) and hit.get("backend") and hit.get("precision"):
            log(f"auto: {hit['backend']}/{hit['precision']} (cached {hit.get('when', '')} in {path}: "
                f"{hit.get('reason', '')})")
            return dict(hit, cached=True)
    spec = InferenceSpec.from_yaml(model_dir)
    table, reference, best, best_runtime = {}, None, None, None
    # fp32 candidates first: the first that runs is the reference the others must agree with
    for backend, precision in sorted(_candidates(model_dir, measured), key=lambda c: c[1] != "fp32"):
        name = f"{backend}/{precision}"
        try:
            rt = create_runtime(model_dir, backend=backend, precision=precision, cpu_threads=cpu_threads)
            texts, speed = _measure(rt, spec, probe, batch_size)
        except (BackendError, ModelDirError, RuntimeError, ValueError) as exc:
            table[name] = {"skipped": str(exc).splitlines()[0][:200]}
            continue
        if reference is None:
            if precision != "fp32":
                break
            reference = texts
        agreement = sum(a == b for a, b in zip(texts, reference)) / len(reference)
        table[name] = {"images_per_s": round(speed, 1), "agreement": round(agreement, 4)}
        if agreement >= min_agreement and precision in wanted and (
                best is None or speed > table[best]["images_per_s"]):
            best, best_runtime = name, rt  # only the best runtime so far stays open
    if reference is None:
        raise BackendError("--backend auto: no fp32 backend runs this model here: "
                           + "; ".join(f"{k}: {v['skipped']}" for k, v in table.items()))
    if best is None:
        raise BackendError(f"--backend auto: no {'/'.join(sorted(wanted))} backend agrees with fp32 on "
                           f">= {min_agreement:.0%} of the probe lines: {table}")
    backend, precision = best.split("/")
    ranked = sorted((n for n in table if "images_per_s" in table[n]), key=lambda n: -table[n]["images_per_s"])
    reason = (f"fastest of {len(ranked)} with text = fp32 on >= {min_agreement:.0%} of {len(probe)} probe lines: "
              + ", ".join(f"{n} {table[n]['images_per_s']:g} img/s ({table[n]['agreement']:.0%} same)" for n in ranked))
    choice = {"backend": backend, "precision": precision, "reason": reason, "candidates": table,
              "cpu": cpu_description(), "cpu_threads": cpu_threads, "batch_size": batch_size,
              "when": time.strftime("%Y-%m-%d %H:%M")}
    log(f"auto: picked {best} — {reason}")
    if use_cache:
        data = _read_cache(path)
        data[key] = choice
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            atomic_write_text(path, json.dumps(data, indent=1) + "\n")
        except OSError as exc:  # a read-only home only costs the probe next time
            log(f"auto: could not write the cache {path}: {exc}")
    return dict(choice, runtime=best_runtime)
