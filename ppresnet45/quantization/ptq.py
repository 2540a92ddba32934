"""Post-training int8 quantization of an export (``ppresnet45 quantize``), measured on this CPU.

What it does, in order:

1. makes sure the export has ``model.onnx`` (converts ``inference.json`` with paddle2onnx when
   it is missing, as ``export --onnx`` would), once the data is known to be usable;
2. pre-processes the calibration lines exactly as the recognizer does (the FP32 model is run on
   them through :class:`~ppresnet45.inference.TextRecognizer` and every batch it receives is
   kept: :func:`.lines.calibration_batches`), so calibration sees the inputs inference will
   see, widths and padding included;
3. for each runtime (:data:`.quantizers.QUANTIZERS`: OpenVINO with NNCF, ONNX Runtime's static
   QDQ quantization; Paddle Inference is reported as having no int8 path), quantizes with that
   runtime's own quantizer, then reads the held-out lines with that runtime in FP32 and in
   int8, timing both, and judges the int8 model with the one agreement rule
   (:class:`~ppresnet45.inference.policy.AgreementPolicy`): it *holds* when it loses at most
   ``max_drop`` points of word accuracy and is faster than ``min_speedup`` × its FP32;
4. keeps the fastest int8 model that holds (its file(s) moved into the export; int8 files of
   the other runtimes removed, they would be unrecorded), and records the runtime, what was
   done, every candidate's figures and this CPU's model, kind and flags in ``inference.yml``
   (``Global.quantization.int8``, through :class:`~ppresnet45.inference.InferenceSpec`) and
   ``quantize_report.json``; or refuses, writing nothing, with each candidate's figures.

Without ``--calib_data`` / ``--eval_data`` the lines come from the built-in renderer (every
installed font, the full style distribution, characters of the model's dictionary that the
renderer draws), calibration and evaluation with different seeds and strings (:mod:`.lines`).
"""

import json
import os
import tempfile
import time

from ..errors import DataError, PPResNetError
from ..inference import create_runtime
from ..inference.formats import EXPORT, PADDLEOCR2, open_model
from ..inference.int8 import INT8_FILES
from ..inference.model_dir import CONFIG_FILE, ONNX_FILE
from ..inference.policy import AgreementPolicy
from ..inference.recognizer import default_batch_size
from ..inference.runtime import available_backends
from ..registry import RUNTIMES
from ..utils.cpu import ISA_CAP_ENV, cpu_description, cpu_record, ignores_isa_cap, isa_cap
from ..utils.io import atomic_write_bytes, atomic_write_text
from ..version import __version__
from .lines import calibration_batches, measure, quantize_lines
from .quantizers import CALIBRATION_METHODS, QUANTIZERS, QuantizerUnavailable

REPORT_FILE = "quantize_report.json"
INT8_BACKENDS = tuple(r for r in QUANTIZERS if r in INT8_FILES)  # the runtimes that can run an int8 model


class QuantizationRefused(PPResNetError):
    """No int8 model held (accuracy or speed); nothing was written."""


def quantizes_in_place(model):
    """Whether ``quantize`` writes into the model's own folder: our exports (and folders an earlier
    ``quantize`` wrote); a PaddleOCR 2.x folder or a PP-OCR ONNX model gets a new folder instead."""
    return model.format == EXPORT or (
        model.spec.ppresnet45_version is not None and model.onnx_file == os.path.join(model.folder, ONNX_FILE)
    )


def default_output(model):
    """Where ``quantize`` writes the folder of a model it does not write into: ``<model>_int8`` beside it."""
    given = os.path.abspath(model.given or model.folder).rstrip(os.sep)
    return (os.path.splitext(given)[0] if given.lower().endswith(".onnx") else given) + "_int8"


def _adopt(model, folder, log):
    """Write ``inference.yml`` (the spec ``model`` is run with) and ``model.onnx`` (the model's ONNX
    file, or its 2.x program converted with paddle2onnx) into ``folder``."""
    if model.onnx_file:
        with open(model.onnx_file, "rb") as f:
            atomic_write_bytes(os.path.join(folder, ONNX_FILE), f.read())
    elif model.format == PADDLEOCR2:
        from ..export.onnx import _convert

        data, _ = _convert(model.program, model.params)
        atomic_write_bytes(os.path.join(folder, ONNX_FILE), data)
        log(f"converted {model.program} to ONNX (paddle2onnx) to quantize from")
    spec = model.spec
    spec.ppresnet45_version = __version__
    spec.to_yaml(os.path.join(folder, CONFIG_FILE))
    return open_model(folder)


def _ensure_onnx(model_dir, spec, log):
    if os.path.isfile(os.path.join(model_dir, ONNX_FILE)):
        return
    from ..export.onnx import export_onnx

    export_onnx(model_dir, spec.dynamic_width)
    log(f"wrote {os.path.join(model_dir, ONNX_FILE)} (paddle2onnx) to quantize from")


def _check_arguments(runtimes, method, max_drop, min_speedup):
    runtimes = list(runtimes or QUANTIZERS)
    unknown = [r for r in runtimes if r not in QUANTIZERS]
    if unknown:
        raise DataError(f"runtimes: unknown {', '.join(unknown)}; expected some of {', '.join(QUANTIZERS)}")
    if method not in CALIBRATION_METHODS:
        raise DataError(f"method: expected one of {', '.join(CALIBRATION_METHODS)}, got {method!r}")
    try:
        return runtimes, AgreementPolicy(max_drop_points=float(max_drop), min_speedup=float(min_speedup))
    except ValueError as exc:
        raise DataError(str(exc)) from None


def _try_runtime(runtime, model_dir, spec, batches, eval_lines, work, settings, policy, log):
    """Quantize for ``runtime``, measure FP32 and int8 on it: ``(row for the report, int8 file or None)``."""
    if runtime not in available_backends(model_dir):
        why = RUNTIMES.get(runtime).missing(open_model(model_dir)) if runtime in available_backends() else None
        return {"skipped": why or f"backend '{runtime}' is not installed here"}, None
    if ignores_isa_cap(runtime):
        return {
            "skipped": f"its kernels ignore {ISA_CAP_ENV}={isa_cap()}: its speed here is not that of the capped CPU"
        }, None
    paths, labels, threads, bs = eval_lines + (settings["cpu_threads"], settings["batch_size"])
    folder = os.path.join(work, runtime)
    os.makedirs(folder)
    try:
        path, how = QUANTIZERS[runtime](os.path.join(model_dir, ONNX_FILE), batches, folder, settings)
    except QuantizerUnavailable as exc:
        return {"skipped": str(exc)}, None
    fp32 = measure(
        f"{runtime}/fp32", create_runtime(model_dir, runtime, "fp32", cpu_threads=threads), spec, paths, labels, bs
    )
    int8 = measure(
        f"{runtime}/int8",
        create_runtime(model_dir, runtime, "int8", cpu_threads=threads, model_file=path),
        spec,
        paths,
        labels,
        bs,
    )
    verdict = policy.judge(fp32, int8)
    log(verdict.reason)
    row = {
        "file": os.path.basename(path),
        "method": how,
        "fp32": fp32.figures(),
        "int8": int8.figures(),
        **verdict.figures(),
    }
    return row, path


def _install(model_dir, runtime, path, log):
    """Move the kept int8 model (and its weights file) into the export; remove other runtimes' int8 files."""
    keep = set()
    for src in (path, os.path.splitext(path)[0] + ".bin"):
        if os.path.isfile(src):
            os.replace(src, os.path.join(model_dir, os.path.basename(src)))
            keep.add(os.path.basename(src))
    for name in {n for files in INT8_FILES.values() for n in files} - keep:
        for stale in (name, os.path.splitext(name)[0] + ".bin") if name.endswith(".xml") else (name,):
            target = os.path.join(model_dir, stale)
            if os.path.isfile(target):
                os.remove(target)
                log(f"removed {target}: an earlier int8 model this run did not keep")


def quantize_export(
    model_dir,
    calib_data=None,
    eval_data=None,
    calib_num=128,
    eval_num=300,
    max_drop=0.5,
    min_speedup=1.0,
    runtimes=None,
    per_channel=True,
    method="minmax",
    cpu_threads=None,
    batch_size=None,
    seed=0,
    log=print,
    output=None,
    **model_options,
):
    """Quantize the model in ``model_dir`` to int8 and keep what holds here (see the module docs).

    An export is quantized in place. A PaddleOCR 2.x folder or a PP-OCR ONNX model
    (:func:`~ppresnet45.inference.formats.open_model`) is left as it is: ``output`` (default
    :func:`default_output`) becomes a model folder of its own, ``inference.yml`` (the
    dictionary, shape and batching it was run with) + ``model.onnx`` + the int8 model, written
    only when an int8 model holds.

    Args:
        model_dir (str): the export directory (``inference.json`` + ``inference.yml``; ``model.onnx``
            is made when missing), or a model in another format.
        output (str | None): the folder for a model not quantized in place.
        **model_options: ``dict_path``, ``image_shape``, ``use_space_char`` for
            :func:`~ppresnet45.inference.formats.open_model`.
        calib_data (str | None): a folder, image or label file of calibration lines (default:
            ``calib_num`` rendered lines).
        eval_data (str | None): a label file of held-out lines (default: ``eval_num`` rendered lines).
        calib_num, eval_num (int): at most this many calibration / evaluation lines.
        max_drop (float): largest allowed drop of word accuracy, in points (0-100).
        min_speedup (float): an int8 model must be more than this many times as fast as FP32 on
            the same runtime (1.0: faster).
        runtimes (list[str] | None): the runtimes to quantize for (default: all of
            :data:`.quantizers.QUANTIZERS`).
        per_channel (bool): ONNX Runtime: one weight scale per output channel (else per tensor).
        method (str): ONNX Runtime's calibration method, one of :data:`CALIBRATION_METHODS`.
        cpu_threads (int | None): threads for the runtimes.
        batch_size (int | None): lines per model call (calibration and evaluation; None: the
            model's default, :func:`~ppresnet45.inference.recognizer.default_batch_size`).
        seed (int): seed of the rendered lines.
        log (callable): where progress lines go.

    Returns:
        dict: the report (also in ``quantize_report.json``; its record in ``inference.yml``).

    Raises:
        QuantizationRefused: no int8 model held (nothing written).
        DataError, ModelDirError, BackendError: bad data, export or missing packages.
    """
    model = open_model(model_dir, **model_options)
    runtimes, policy = _check_arguments(runtimes, method, max_drop, min_speedup)

    job = (calib_data, eval_data, calib_num, eval_num, policy, runtimes, per_channel, method, cpu_threads)

    def quantize_in(folder):
        return _quantize(folder, *job, batch_size, seed, log)

    if quantizes_in_place(model):
        if output and os.path.abspath(output) != os.path.abspath(model.folder):
            raise DataError(
                f"--output: {model_dir} is quantized in place (its int8 model goes into that folder); "
                "leave --output out"
            )
        return quantize_in(model.folder)
    output = os.path.abspath(output or default_output(model))
    if os.path.exists(output):
        raise DataError(
            f"--output '{output}' exists; remove it, give another --output, or quantize it again with "
            f"--model_dir {output}"
        )
    parent = os.path.dirname(output)
    os.makedirs(parent, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".quantize-model-", dir=parent) as staging:
        adopted = _adopt(model, staging, log)
        report = quantize_in(adopted.folder)
        os.replace(staging, output)
        os.makedirs(staging)  # for the context manager's clean-up
    report["output"] = output
    return report


def _quantize(
    model_dir,
    calib_data,
    eval_data,
    calib_num,
    eval_num,
    policy,
    runtimes,
    per_channel,
    method,
    cpu_threads,
    batch_size,
    seed,
    log,
):
    """:func:`quantize_export` on a folder it writes into."""
    model = open_model(model_dir)
    spec = model.spec
    batch_size = batch_size or default_batch_size(spec)
    settings = {"method": method, "per_channel": per_channel, "cpu_threads": cpu_threads, "batch_size": batch_size}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=".quantize-", dir=model_dir) as work:
        calib_paths, calib_desc, eval_paths, labels, eval_desc = quantize_lines(
            work, spec, calib_data, eval_data, calib_num, eval_num, seed
        )
        _ensure_onnx(model_dir, spec, log)
        reference = next(b for b in ("paddle", "onnxruntime", "openvino") if b in available_backends(model_dir))
        reference_runtime = create_runtime(model_dir, reference, "fp32", cpu_threads=cpu_threads)
        batches = calibration_batches(reference_runtime, spec, calib_paths, batch_size)
        reference_runtime = None  # release the Paddle predictor now, not with a refusal's traceback
        log(f"calibrating on {calib_desc}: {len(batches)} batches; evaluating on {eval_desc}")
        rows, files = {}, {}
        for runtime in runtimes:
            rows[runtime], files[runtime] = _try_runtime(
                runtime, model_dir, spec, batches, (eval_paths, labels), work, settings, policy, log
            )
            if "skipped" in rows[runtime]:
                log(f"{runtime}: skipped: {rows[runtime]['skipped']}")
        held = [r for r in rows if rows[r].get("holds")]
        if not held:
            why = "; ".join(r.get("reason") or f"{name}: skipped ({r['skipped']})" for name, r in rows.items())
            raise QuantizationRefused(
                f"no int8 model holds on this CPU ({cpu_description()}): {why}; no model "
                f"written (try more --calib_data, --method percentile, or a larger --max_drop)"
            )
        kept = max(held, key=lambda r: rows[r]["int8"]["images_per_s"])
        _install(model_dir, kept, files[kept], log)
    report = {
        "runtime": kept,
        "file": rows[kept]["file"],
        "method": rows[kept]["method"],
        "fp32_word_accuracy": rows[kept]["fp32"].get("word_accuracy"),
        "word_accuracy": rows[kept]["int8"].get("word_accuracy"),
        "speedup_vs_fp32": rows[kept].get("speedup"),
        "candidates": rows,
        "calibration": calib_desc,
        "evaluation": eval_desc,
        "policy": {"max_drop_points": policy.max_drop_points, "min_speedup": policy.min_speedup},
        "cpu": cpu_record(),
        "cpu_threads": cpu_threads,
        "batch_size": batch_size,
        "when": time.strftime("%Y-%m-%d %H:%M"),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    atomic_write_text(os.path.join(model_dir, REPORT_FILE), json.dumps(report, indent=2) + "\n")
    spec.quantization = dict(spec.quantization or {}, int8={k: v for k, v in report.items() if k != "seconds"})
    spec.save_records()
    return report
