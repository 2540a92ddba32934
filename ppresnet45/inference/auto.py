"""``--backend auto``: the fastest runtime × precision for this model on this CPU.

Which runtime and precision is fastest depends on the CPU (bf16 pays off with AMX far more
than with AVX512-BF16; oneDNN and ONNX Runtime trade places) and on the model, so nothing is
hard-coded: :func:`choose_backend` opens every available candidate (``paddle``,
``onnxruntime``, ``openvino`` × ``fp32``, ``bf16`` where the CPU has it, ``int8`` where the
export has an int8 model for that runtime), reads a probe set (the first lines of the user's
own input) once to warm up and once timed, and keeps the fastest candidate whose decoded
text agrees with the FP32 reference (``paddle`` FP32, else the first FP32 candidate) by the
one agreement rule (:mod:`.policy`: at least ``min_agreement`` of the probe lines).
:func:`resolve_runtime` is what a run calls: auto, or the runtime asked for (re-checking an
int8 model measured on another CPU kind). The choice is cached per model (its files' sizes
and times), CPU (model, flags and any ``ONEDNN_MAX_CPU_ISA`` cap), thread count and batch size
in ``$PPRESNET45_CACHE_DIR/backend_choice.json`` (default ``~/.cache/ppresnet45``), so later
runs skip the probe. Under a cap, runtimes that ignore it (ONNX Runtime) are not candidates.

Auto keeps the precision asked for: FP32 unless told otherwise (``--precision bf16`` or
``int8`` choose among the runtimes of that precision; ``--precision any`` lets auto take a
lower precision whose text agrees with FP32). A probe costs about ``candidates x (2 x probe
lines + LOAD_LINES)`` line-passes; a job too small for that to stay under
:data:`MAX_PROBE_SHARE` of its own work does not probe: it uses a cached choice when there is
one, else the reference runtime, and says so in its one line.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import ModelDirError
from ..utils.cpu import cpu_description, cpu_has_bf16, ignores_isa_cap
from ..utils.io import atomic_write_text
from ..version import __version__
from .formats import open_model
from .int8 import INT8_OTHER_CPU, int8_backends, other_cpu_note
from .policy import DEFAULT_POLICY, MIN_SAME_TEXT, AgreementPolicy
from .recognizer import TextRecognizer
from .runtime import available_backends, create_runtime
from .runtime_base import BF16_NEEDS, BackendError, default_cpu_threads

if TYPE_CHECKING:
    from .._types import LogFn, StrPath
    from .formats import ModelFiles
    from .runtime_base import Runtime
    from .sources import ImageInput
    from .spec import InferenceSpec

AUTO = "auto"
ANY = "any"  # --precision any: auto may pick a lower precision whose text agrees with fp32
CANDIDATE_BACKENDS = ("paddle", "onnxruntime", "openvino")  # eager and paddle-nomkl are never the fastest
CANDIDATE_PRECISIONS = ("fp32", "bf16", "int8")
MIN_AGREEMENT = MIN_SAME_TEXT
PROBE_LINES = 32
MAX_PROBE_SHARE = 0.05  # a probe may cost at most this share of the job it chooses for
LOAD_LINES = 32  # opening a runtime costs about as much as reading this many lines (a model load, first-run setup)


def probe_cost_lines(n_candidates: int, probe_lines: int = PROBE_LINES) -> int:
    """What probing ``n_candidates`` runtimes costs, in line-passes: each is opened, warmed up
    on the probe lines and timed on them."""
    return n_candidates * (2 * probe_lines + LOAD_LINES)


def worth_probing(job_lines: int, n_candidates: int) -> bool:
    """Whether a job of ``job_lines`` lines pays for a probe (:data:`MAX_PROBE_SHARE`); one
    candidate needs no probe at all."""
    if n_candidates <= 1:
        return False
    return probe_cost_lines(n_candidates, min(PROBE_LINES, job_lines)) <= MAX_PROBE_SHARE * job_lines


CACHE_FILE = "backend_choice.json"


def cache_path() -> str:
    """Where choices are cached: ``$PPRESNET45_CACHE_DIR`` or ``~/.cache/ppresnet45``."""
    root = os.environ.get("PPRESNET45_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "ppresnet45")
    return os.path.join(root, CACHE_FILE)


def cache_key(
    model_dir: StrPath | ModelFiles, cpu_threads: int | None, batch_size: int | None, use_gpu: bool = False
) -> str:
    """What a cached choice is valid for: the model's files, the CPU, threads, batch size, version."""
    model = model_dir
    model_dir = os.path.abspath(os.fspath(model_dir))
    files: list[list[Any]] = []
    for name in sorted(os.listdir(model_dir)):
        path = os.path.join(model_dir, name)
        if os.path.isfile(path) and name.endswith((".json", ".pdmodel", ".pdiparams", ".onnx", ".yml")):
            st = os.stat(path)
            files.append([name, st.st_size, st.st_mtime_ns])
    # an opened model (.formats.ModelFiles) also names its file and dictionary: two ONNX files share a folder
    which = [
        os.path.abspath(getattr(model, "given", "") or model_dir),
        getattr(getattr(model, "spec", None), "source", ""),
    ]
    text = json.dumps(
        [model_dir, files, cpu_description(), cpu_threads, batch_size, bool(use_gpu), __version__] + which
    )
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def _read_cache(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}  # a missing or damaged cache only costs a new probe


def _candidates(
    model_dir: StrPath, measured: Iterable[str], backends: Sequence[str] = CANDIDATE_BACKENDS
) -> list[tuple[str, str]]:
    have = {b for b in available_backends(model_dir) if not ignores_isa_cap(b)}
    int8 = set(int8_backends(model_dir))
    bf16 = cpu_has_bf16()
    return [
        (b, p) for b in backends if b in have for p in measured if (p != "int8" or b in int8) and (p != "bf16" or bf16)
    ]


def _measure(
    runtime: Runtime, spec: InferenceSpec, probe: list[ImageInput], batch_size: int | None
) -> tuple[list[str | None], float]:
    rec = TextRecognizer(runtime=runtime, inference_config=spec, batch_size=batch_size)
    rec(probe)  # warm-up: oneDNN primitives, OpenVINO / ORT first-run allocations
    t0 = time.perf_counter()
    texts = [r.get("text") for r in rec(probe)]
    return texts, len(probe) / max(time.perf_counter() - t0, 1e-9)


def choose_backend(
    model_dir: StrPath | ModelFiles,
    probe: Iterable[ImageInput],
    batch_size: int | None = None,
    cpu_threads: int | None = None,
    use_gpu: bool = False,
    min_agreement: float = MIN_AGREEMENT,
    precisions: Sequence[str] = ("fp32",),
    use_cache: bool = True,
    log: LogFn | None = None,
    backends: Sequence[str] = CANDIDATE_BACKENDS,
    job_lines: int | None = None,
) -> dict[str, Any]:
    """Pick the fastest backend × precision whose text agrees with FP32 (see the module docs).

    Args:
        model_dir (str | ModelFiles): the model (:func:`.formats.open_model`).
        probe (list): inputs to probe with (paths or arrays; the first :data:`PROBE_LINES` are used).
        batch_size (int | None): lines per model call, as the run will use (None: the model's
            default, :func:`.recognizer.default_batch_size`).
        cpu_threads (int | None): threads, as the run will use (default: all cores).
        use_gpu (bool): a GPU run: no probe, ``paddle`` FP32.
        min_agreement (float): share of probe lines that must read as with FP32.
        precisions (tuple[str]): the precisions to choose among (FP32 is always measured: it
            is the reference).
        use_cache (bool): read and write the cache (:func:`cache_path`).
        log (callable | None): receives one line saying what was picked and why.
        backends (tuple[str]): the runtimes to choose among (default :data:`CANDIDATE_BACKENDS`).
        job_lines (int | None): the size of the job the choice is for; a job too small to pay
            for the probe (:func:`worth_probing`) takes the cached choice or the reference
            runtime without probing. None: probe.

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
        gpu = "paddle" if "paddle" in available_backends(model_dir) else "onnxruntime"
        return {"backend": gpu, "precision": "fp32", "reason": f"GPU run: {gpu} fp32", "candidates": {}}
    probe = [p for p in probe if isinstance(p, (str, os.PathLike)) or hasattr(p, "shape")][:PROBE_LINES]
    if not probe:
        raise ModelDirError("--backend auto needs at least one readable input to probe with")
    wanted = set(precisions)
    if wanted == {"bf16"} and not cpu_has_bf16():  # say so at once, not after probing every runtime
        raise BackendError(BF16_NEEDS + cpu_description())
    measured = tuple(dict.fromkeys(("fp32",) + tuple(precisions)))  # fp32 is the reference
    policy = (
        AgreementPolicy(min_same_text=min_agreement)
        if min_agreement != DEFAULT_POLICY.min_same_text
        else DEFAULT_POLICY
    )
    key = "-".join([cache_key(model_dir, cpu_threads, batch_size)] + sorted(wanted) + list(backends))
    path = cache_path()
    if use_cache:
        hit = _read_cache(path).get(key)
        if isinstance(hit, dict) and hit.get("backend") and hit.get("precision"):
            log(
                f"auto: {hit['backend']}/{hit['precision']} (cached {hit.get('when', '')} in {path}: "
                f"{hit.get('reason', '')})"
            )
            return dict(hit, cached=True)
    candidates = sorted(_candidates(model_dir, measured, backends), key=lambda c: c[1] != "fp32")
    if not any(p in wanted for _, p in candidates):
        raise BackendError(_nothing_to_run(model_dir, wanted))
    if job_lines is not None and not worth_probing(job_lines, len(candidates)):
        return _without_probe(model_dir, candidates, wanted, job_lines, log)
    spec = open_model(model_dir).spec
    table: dict[str, dict[str, Any]] = {}
    reference: list[str | None] | None = None
    best: str | None = None
    best_runtime: Runtime | None = None
    # fp32 candidates first: the first that runs is the reference the others must agree with
    for backend, precision in candidates:
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
        agreement = policy.same_text(reference, texts)
        table[name] = {"images_per_s": round(speed, 1), "agreement": round(agreement, 4)}
        if (
            policy.agrees(reference, texts)
            and precision in wanted
            and (best is None or speed > table[best]["images_per_s"])
        ):
            best, best_runtime = name, rt  # only the best runtime so far stays open
    if reference is None:
        raise BackendError(
            "--backend auto: no fp32 backend runs this model here: "
            + "; ".join(f"{k}: {v['skipped']}" for k, v in table.items())
        )
    if best is None:
        measured_text = ", ".join(
            f"{k} {v['agreement']:.0%} same" if "agreement" in v else f"{k} skipped" for k, v in table.items()
        )
        raise BackendError(
            f"--backend auto: no {'/'.join(sorted(wanted))} runtime reads like fp32 on "
            f">= {min_agreement:.0%} of the probe lines ({measured_text})"
        )
    backend, precision = best.split("/")
    ranked = sorted((n for n in table if "images_per_s" in table[n]), key=lambda n: -table[n]["images_per_s"])
    reason = (
        f"fastest of {len(ranked)} with text = fp32 on >= {min_agreement:.0%} of {len(probe)} probe lines: "
        + ", ".join(f"{n} {table[n]['images_per_s']:g} img/s ({table[n]['agreement']:.0%} same)" for n in ranked)
    )
    choice = {
        "backend": backend,
        "precision": precision,
        "reason": reason,
        "candidates": table,
        "cpu": cpu_description(),
        "cpu_threads": cpu_threads,
        "batch_size": batch_size,
        "when": time.strftime("%Y-%m-%d %H:%M"),
    }
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


def _nothing_to_run(model_dir: StrPath | ModelFiles, wanted: set[str]) -> str:
    folder = getattr(model_dir, "folder", model_dir)
    hint = (
        f"; `ppresnet45 quantize --model_dir {folder}` makes int8 models for OpenVINO and ONNX Runtime"
        if wanted == {"int8"}
        else ""
    )
    return f"--backend auto: no {'/'.join(sorted(wanted))} runtime runs the model in {folder} here{hint}"


def _without_probe(
    model_dir: StrPath | ModelFiles, candidates: list[tuple[str, str]], wanted: set[str], job_lines: int, log: LogFn
) -> dict[str, Any]:
    """The choice for a job too small to probe for: the first candidate of the wanted
    precision in :data:`CANDIDATE_BACKENDS` order (``paddle``, PaddleOCR's own, first)."""
    pick = next(((b, p) for b, p in candidates if p in wanted), None)
    if pick is None:
        raise BackendError(_nothing_to_run(model_dir, wanted))
    others = len(candidates)
    reason = (
        "the only candidate"
        if others <= 1
        else f"not probed: measuring {others} runtimes costs ~{probe_cost_lines(others, min(PROBE_LINES, job_lines))} "
        f"line-passes, over {MAX_PROBE_SHARE:.0%} of this {job_lines}-line job"
    )
    log(f"auto: {pick[0]}/{pick[1]} ({reason}; a larger job probes and caches the fastest)")
    return {"backend": pick[0], "precision": pick[1], "reason": reason, "candidates": {}, "probed": False}


def resolve_runtime(
    model_dir: StrPath | ModelFiles,
    backend: str,
    precision: str | None,
    probe: Sequence[ImageInput],
    batch_size: int | None = None,
    cpu_threads: int | None = None,
    use_gpu: bool = False,
    use_cache: bool = True,
    int8_other_cpu: str = "recheck",
    log: LogFn | None = None,
) -> tuple[str, str, Runtime | None]:
    """The runtime a run uses: ``(backend, precision, opened runtime or None)``.

    ``backend="auto"`` chooses with :func:`choose_backend` (among ``precision``'s runtimes when a
    precision is given). An explicit int8 run of a model measured on another CPU kind
    (:func:`.int8.other_cpu_note`) is, by ``int8_other_cpu``: re-measured on ``probe`` against
    FP32 on the same runtime, keeping int8 only if it agrees and is faster (``recheck``),
    replaced by FP32 (``fp32``), or run as asked (``run``); each says so in one line.

    Args:
        model_dir (str | ModelFiles): the model (:func:`.formats.open_model`).
        backend (str): a runtime name or ``"auto"``.
        precision (str | None): ``fp32``, ``bf16``, ``int8``, ``any`` (auto only: a lower precision
            that agrees with fp32 may be picked) or None (fp32).
        probe (list): the run's inputs (the first :data:`PROBE_LINES` are measured when needed).
        batch_size, cpu_threads, use_gpu, use_cache: as for :func:`choose_backend`.
        int8_other_cpu (str): one of :data:`.int8.INT8_OTHER_CPU`.
        log (callable | None): receives the one-line notes.
    """
    log = log or (lambda line: None)
    if int8_other_cpu not in INT8_OTHER_CPU:
        raise BackendError(f"int8_other_cpu: expected one of {', '.join(INT8_OTHER_CPU)}, got {int8_other_cpu!r}")
    if backend == AUTO and not probe:  # nothing to read: no probe, the reference runtime
        backend = next((b for b in CANDIDATE_BACKENDS if b in available_backends(model_dir)), "paddle")
    if backend == AUTO:
        wanted = CANDIDATE_PRECISIONS if precision == ANY else (precision or "fp32",)
        choice = choose_backend(
            model_dir,
            probe,
            batch_size=batch_size,
            cpu_threads=cpu_threads,
            use_gpu=use_gpu,
            precisions=wanted,
            use_cache=use_cache,
            log=log,
            job_lines=len(probe),
        )
        return choice["backend"], choice["precision"], choice.get("runtime")
    if precision == ANY:
        raise BackendError(f"--precision any: only with --backend auto (got --backend {backend})")
    precision = precision or "fp32"
    note = other_cpu_note(open_model(model_dir).spec) if precision == "int8" else None
    if note is None or int8_other_cpu == "run":
        if note:
            log(f"warning: {note}; running it as asked (--int8_other_cpu run)")
        return backend, precision, None
    if int8_other_cpu == "fp32" or not probe:
        log(f"warning: {note}; running fp32 instead (--int8_other_cpu recheck re-measures it here)")
        return backend, "fp32", None
    choice = choose_backend(
        model_dir,
        probe,
        batch_size=batch_size,
        cpu_threads=cpu_threads,
        precisions=("fp32", "int8"),
        use_cache=use_cache,
        backends=(backend,),
    )
    verdict = (
        "int8 still reads like fp32 and is faster" if choice["precision"] == "int8" else "fp32 (int8 did not hold)"
    )
    log(f"warning: {note}; re-measured here: {verdict}: {choice['reason']}")
    return choice["backend"], choice["precision"], choice.get("runtime")
