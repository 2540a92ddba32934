"""Planning a benchmark run: the checked arguments, each model's settings and label, and the
jobs (one per runnable backend × precision of each model) with a skip row, and its reason,
for every combination that cannot run here.

:func:`~ppresnet45.benchmark.runner.run_benchmark` checks its arguments and reads every
model here before any work starts, so a bad argument or export fails fast, in one line.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import DataError
from ..inference import BACKENDS, PRECISIONS, available_backends
from ..inference.formats import open_model
from ..inference.runtime_base import BF16_NEEDS
from ..registry import RUNTIMES
from ..utils.cpu import cpu_description, cpu_has_bf16
from .inputs import load_model_spec, macs_per_image, nominal_copies
from .measure import BenchmarkJob

if TYPE_CHECKING:
    from .._types import StrPath
    from ..inference.spec import InferenceSpec


def _check_positive_ints(values: Iterable[Any], name: str) -> list[int]:
    values = list(values)
    if not values or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in values):
        raise DataError(f"{name}: expected positive integers, got {values!r}")
    return values


def check_arguments(
    batch_sizes: Iterable[int], backends: Iterable[str], precisions: Iterable[str], warmup: int, counts: dict[str, Any]
) -> tuple[list[int], list[str], list[str]]:
    """Validated ``(batch_sizes, backends, precisions)`` as lists; ``counts`` maps the names of
    the other integer arguments that must be positive to their values.

    Raises:
        DataError: naming the first bad argument.
    """
    sizes = _check_positive_ints(batch_sizes, "batch_sizes")
    _check_positive_ints(counts.values(), "/".join(counts))
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise DataError(f"warmup: expected an int >= 0, got {warmup!r}")
    precision_list = list(precisions)
    for p in precision_list:
        if p not in PRECISIONS:
            raise DataError(f"precision: expected one of {', '.join(PRECISIONS)}, got {p!r}")
    backend_list = list(backends)
    for b in backend_list:
        if b not in BACKENDS:
            raise DataError(f"backends: unknown backend {b!r} (expected some of {', '.join(BACKENDS)})")
    return sizes, backend_list, precision_list


def skip_reason(backend: str, precision: str, installed: Sequence[str], model: dict[str, Any]) -> str | None:
    """Why ``backend`` cannot run this model (a settings entry) at ``precision`` here, or ``None`` when it can."""
    if precision == "bf16" and not cpu_has_bf16():
        return BF16_NEEDS + cpu_description()
    if backend not in installed:
        return f"backend '{backend}' is not installed here"
    if backend not in model["usable"]:
        return RUNTIMES.get(backend).missing(open_model(model["model_dir"], **model.get("model_options", {})))
    return None


def plan_jobs(
    settings: dict[str, Any], model: dict[str, Any], paths: list[str], nominal_paths: list[str]
) -> tuple[list[BenchmarkJob], list[dict[str, Any]]]:
    """One :class:`BenchmarkJob` per runnable backend × precision of one ``model`` (an entry of
    ``settings["models"]``), and a skip row per batch size of the others.

    Returns:
        tuple: (list of jobs, list of skip rows).
    """
    installed = available_backends()
    jobs: list[BenchmarkJob] = []
    skipped: list[dict[str, Any]] = []
    for b in model["backends"]:
        for p in settings["precisions"]:
            reason = skip_reason(b, p, installed, model)
            if reason:
                skipped.extend(
                    {"model": model["label"], "backend": b, "precision": p, "batch_size": bs, "reason": reason}
                    for bs in settings["batch_sizes"]
                )
                continue
            jobs.append(
                BenchmarkJob(
                    model_dir=model["model_dir"],
                    backend=b,
                    precision=p,
                    batch_sizes=settings["batch_sizes"],
                    warmup=settings["warmup"],
                    iters=settings["iters"],
                    cpu_threads=settings["cpu_threads"],
                    paths=paths,
                    nominal_paths=nominal_paths,
                    macs_per_image=model["macs_per_image"],
                    label=model["label"],
                    model_options=model["model_options"],
                )
            )
    return jobs, skipped


def plan_all(
    settings: dict[str, Any], specs: Sequence[InferenceSpec], paths: list[str], workdir: str
) -> tuple[list[BenchmarkJob], list[dict[str, Any]]]:
    """Jobs and skip rows of every model, with its copies of the images at its nominal size."""
    jobs: list[BenchmarkJob] = []
    skipped: list[dict[str, Any]] = []
    for k, (model, spec) in enumerate(zip(settings["models"], specs)):
        nominal_paths = nominal_copies(paths, spec, os.path.join(workdir, f"nominal-{k}"))
        if not nominal_paths:
            raise DataError(f"no readable image among the {len(paths)} benchmark images ({settings['images']})")
        more_jobs, more_skipped = plan_jobs(settings, model, paths, nominal_paths)
        jobs += more_jobs
        skipped += more_skipped
    return jobs, skipped


def model_settings(
    model_dir: StrPath, backends: Sequence[str] | None, model_options: dict[str, Any]
) -> tuple[dict[str, Any], InferenceSpec, str | None]:
    """``(settings entry, spec, macs note)`` of one model: what the report says about it."""
    folder = os.path.abspath(os.fspath(model_dir))
    cfg, spec = load_model_spec(folder, **model_options)
    usable = available_backends(open_model(folder, **model_options))
    macs, macs_note = macs_per_image(cfg, spec)
    entry = {
        "model_dir": folder,
        "model_name": spec.model_name or spec.algorithm,  # ABINet/VisionLAN files name none
        "untrained": bool((cfg.get("Global") or {}).get("untrained", False)),
        "image_shape": spec.image_shape,
        "max_width": spec.max_width,
        "batching": spec.batching,
        "macs_per_image": macs,
        "backends": list(usable) if backends is None else list(backends),
        "usable": usable,
        "model_options": dict(model_options),
    }
    return entry, spec, macs_note and f"{entry['model_name']}: {macs_note}"


def label_models(models: list[dict[str, Any]]) -> None:
    """Give every model a short unique ``label`` (its name, else its folder's, else numbered)."""
    names = [m["model_name"] for m in models]
    for k, m in enumerate(models):
        label = m["model_name"]
        if names.count(label) > 1:
            label = os.path.basename(m["model_dir"].rstrip(os.sep)) or label
            if [os.path.basename(o["model_dir"].rstrip(os.sep)) for o in models].count(label) > 1:
                label = f"{label}#{k + 1}"
        m["label"] = label
