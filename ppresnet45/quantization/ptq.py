"""Post-training int8 quantization of an export (``ppresnet45 quantize``).

What it does, in order:

1. makes sure the export has ``model.onnx`` (converts ``inference.json`` with paddle2onnx when
   it is missing, as ``export --onnx`` would);
2. pre-processes the calibration lines exactly as the recognizer does (the FP32 model is run on
   them through :class:`~ppresnet45.inference.TextRecognizer` and every batch it receives is
   kept), so calibration sees the inputs inference will see, widths and padding included;
3. quantizes with ONNX Runtime's static quantization into a QDQ graph (weights int8, per output
   channel by default; activations uint8 from the calibration ranges) — one file that both
   ONNX Runtime and OpenVINO run with int8 kernels;
4. reads the held-out lines with FP32 and with int8 on every int8 runtime installed here and
   compares word accuracy (the rule of ``ppresnet45 eval``) and the decoded text;
5. refuses, writing nothing, when the accuracy drops by more than ``max_drop`` points on any
   of them; otherwise moves the int8 model into place as ``model_int8.onnx`` and records in
   ``inference.yml`` (``Global.quantization``) what was quantized, how, and what it measured.

Why ONNX Runtime's quantizer and not Paddle's own: on paddlepaddle 3.3 Paddle Inference has no
working int8 path for a PIR export (see the README's int8 section for what was tried).
Without ``--calib_data`` / ``--eval_data`` the lines come from the built-in renderer (every
installed font, the full style distribution, characters of the model's dictionary that the
renderer draws), calibration and evaluation with different seeds and strings.
"""

import json
import logging
import os
import string
import tempfile
import time

import numpy as np

from ..config import read_yaml_file
from ..data.synth import find_fonts, render_dataset
from ..errors import DataError, PPResNetError
from ..inference import TextRecognizer, create_runtime, score_against_labels
from ..inference.runtime import available_backends
from ..inference.sources import list_image_sources
from ..inference.spec import CONFIG_FILE, INT8_ONNX_FILE, ONNX_FILE, InferenceSpec, check_model_dir, dump_inference_yml
from ..utils.cpu import cpu_description
from ..utils.io import atomic_write_text
from ..utils.stdio import captured_native_output

CALIBRATION_METHODS = ("minmax", "percentile", "entropy")
INT8_BACKENDS = ("onnxruntime", "openvino")  # the runtimes that run model_int8.onnx
REPORT_FILE = "quantize_report.json"
RENDER_CHARS = string.digits + string.ascii_lowercase + string.ascii_uppercase


class QuantizationRefused(PPResNetError):
    """The int8 model lost more accuracy than allowed; nothing was written."""


class _RecordingRuntime:
    """A runtime that keeps a copy of every batch it runs (the calibration inputs)."""

    def __init__(self, runtime):
        self.runtime = runtime
        self.spec = runtime.spec
        self.batches = []

    def __call__(self, images):
        self.batches.append(np.array(images, dtype=np.float32, copy=True))
        return self.runtime(images)


def _calibration_reader(input_name, batches):
    from onnxruntime.quantization import CalibrationDataReader

    class _Reader(CalibrationDataReader):
        def __init__(self):
            self._batches = iter(batches)

        def get_next(self):
            batch = next(self._batches, None)
            return None if batch is None else {input_name: batch}

    return _Reader()


def render_charset(spec):
    """The characters of the model's dictionary that the built-in renderer draws (letters and digits)."""
    chars = "".join(c for c in RENDER_CHARS if c in set(spec.character_list))
    if len(chars) < 10:
        raise DataError(f"the model's dictionary has {len(chars)} of the renderer's letters and digits; give "
                        "--calib_data and --eval_data (a folder or label file of your own text lines)")
    return chars


def _rendered(workdir, name, num, seed, spec, exclude=()):
    """``num`` rendered lines (label file) for the model's dictionary; returns the label file."""
    out = os.path.join(workdir, name)
    render_dataset(out, num, seed=seed, charset=render_charset(spec), min_len=1, max_len=10,
                   fonts=find_fonts(include_packages=True), height=spec.height, show_progress=False,
                   exclude_texts=set(exclude), unique=True)
    return os.path.join(out, "labels.txt")


def _sources(path, num, what):
    try:
        sources = list_image_sources(path)
    except DataError as exc:
        raise DataError(f"{what}: {exc}") from None
    usable = [i for i in range(len(sources.paths)) if i not in sources.errors][:num]
    if not usable:
        raise DataError(f"{what} '{path}': no usable image")
    labels = [sources.labels[i] for i in usable] if sources.labels is not None else None
    return [sources.paths[i] for i in usable], labels


def _read(recognizer, paths):
    return [r.get("text") for r in recognizer(paths)]


def _accuracy(texts, labels):
    rows = [{"text": t, "path": None} for t in texts]
    return score_against_labels(rows, labels)["accuracy"]


def _ensure_onnx(model_dir, spec):
    path = os.path.join(model_dir, ONNX_FILE)
    if os.path.isfile(path):
        return False
    from ..export.onnx import export_onnx

    export_onnx(model_dir, spec.dynamic_width)
    return True


def _quantize_file(src, dst, reader, per_channel, method, workdir):
    """ONNX Runtime static QDQ quantization of ``src`` into ``dst``; returns what was done."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    prepared = os.path.join(workdir, "prepared.onnx")
    methods = {"minmax": CalibrationMethod.MinMax, "percentile": CalibrationMethod.Percentile,
               "entropy": CalibrationMethod.Entropy}
    logging.disable(logging.WARNING)  # the quantizer warns per tensor about things that do not matter here
    try:
        with captured_native_output() as captured:
            # ONNX Runtime's graph optimisation first: BatchNormalization folds into the convolutions
            # (a conv whose bias is not a constant cannot be quantized), constants are folded
            quant_pre_process(src, prepared, skip_symbolic_shape=True)
            quantize_static(prepared, dst, reader, quant_format=QuantFormat.QDQ, per_channel=per_channel,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                            calibrate_method=methods[method])
    except Exception as exc:  # noqa: BLE001 - one line, with what the native code printed
        raise PPResNetError(f"ONNX Runtime could not quantize {src}: {exc} ({captured.tail()})") from None
    finally:
        logging.disable(logging.NOTSET)
    return {"tool": f"onnxruntime {_version('onnxruntime')} quantize_static", "format": "QDQ",
            "weights": "int8, symmetric, " + ("per output channel" if per_channel else "per tensor"),
            "activations": "uint8, asymmetric", "calibration_method": method,
            "folded": "BatchNormalization into Conv (quant_pre_process)"}


def _version(package):
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "?"


def quantize_export(model_dir, calib_data=None, eval_data=None, calib_num=128, eval_num=300, max_drop=0.5,
                    per_channel=True, method="minmax", cpu_threads=None, batch_size=8, seed=0, log=print):
    """Quantize the export in ``model_dir`` to int8 (see the module docs).

    Args:
        model_dir (str): the export directory (``inference.json`` + ``inference.yml``; ``model.onnx``
            is made when missing).
        calib_data (str | None): a folder, image or label file of calibration lines (default:
            ``calib_num`` rendered lines).
        eval_data (str | None): a label file of held-out lines (default: ``eval_num`` rendered lines).
        calib_num, eval_num (int): at most this many calibration / evaluation lines.
        max_drop (float): largest allowed drop of word accuracy, in points (0-100).
        per_channel (bool): one weight scale per output channel (else one per tensor).
        method (str): calibration method, one of :data:`CALIBRATION_METHODS`.
        cpu_threads (int | None): threads for the runtimes.
        batch_size (int): lines per model call (calibration and evaluation).
        seed (int): seed of the rendered lines.
        log (callable): where progress lines go.

    Returns:
        dict: the report (also in ``quantize_report.json`` and ``inference.yml``'s
        ``Global.quantization``).

    Raises:
        QuantizationRefused: the accuracy dropped by more than ``max_drop`` points (nothing written).
        DataError, ModelDirError, BackendError: bad data, export or missing packages.
    """
    model_dir = check_model_dir(model_dir)
    if method not in CALIBRATION_METHODS:
        raise DataError(f"method: expected one of {', '.join(CALIBRATION_METHODS)}, got {method!r}")
    if not 0 <= float(max_drop) <= 100:
        raise DataError(f"max_drop: expected points in [0, 100], got {max_drop!r}")
    spec = InferenceSpec.from_yaml(model_dir)
    int8_backends = [b for b in INT8_BACKENDS if b in available_backends()]
    if "onnxruntime" not in int8_backends:
        raise DataError("ppresnet45 quantize needs onnxruntime (and paddle2onnx, onnx): pip install "
                        "'ppresnet45[onnx]'")
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=".quantize-", dir=model_dir) as work:
        if calib_data is None:
            calib_file = _rendered(work, "calib", calib_num, seed + 11, spec)
            calib_desc = f"{calib_num} rendered lines (seed {seed + 11})"
        else:
            calib_file, calib_desc = calib_data, None
        calib_paths, calib_labels = _sources(calib_file, calib_num, "--calib_data")
        calib_desc = calib_desc or f"{len(calib_paths)} lines from {calib_data}"
        if eval_data is None:
            eval_file = _rendered(work, "eval", eval_num, seed + 12, spec, exclude=calib_labels or ())
            eval_desc = f"{eval_num} rendered lines (seed {seed + 12}, strings not in the calibration set)"
        else:
            eval_file, eval_desc = eval_data, None
        eval_paths, labels = _sources(eval_file, eval_num, "--eval_data")
        if labels is None:
            raise DataError(f"--eval_data '{eval_data}': expected a 'path<TAB>text' label file (the accuracy "
                            "check needs the true text)")
        eval_desc = eval_desc or f"{len(eval_paths)} lines from {eval_data}"
        if _ensure_onnx(model_dir, spec):  # only once the data is known to be usable
            log(f"wrote {os.path.join(model_dir, ONNX_FILE)} (paddle2onnx) to quantize from")

        fp32 = create_runtime(model_dir, "onnxruntime", "fp32", cpu_threads=cpu_threads)
        recorder = _RecordingRuntime(fp32)
        TextRecognizer(runtime=recorder, inference_config=spec, batch_size=batch_size, prefetch=0)(calib_paths)
        log(f"calibrating on {calib_desc}: {len(recorder.batches)} batches")
        candidate = os.path.join(work, INT8_ONNX_FILE)
        how = _quantize_file(os.path.join(model_dir, ONNX_FILE), candidate,
                             _calibration_reader(fp32.input_name, recorder.batches), per_channel, method, work)

        ref = _read(TextRecognizer(runtime=fp32, inference_config=spec, batch_size=batch_size, prefetch=0),
                    eval_paths)
        fp32_acc = _accuracy(ref, labels)
        results = {}
        for backend in int8_backends:
            rt = create_runtime(model_dir, backend, "int8", cpu_threads=cpu_threads, model_file=candidate)
            texts = _read(TextRecognizer(runtime=rt, inference_config=spec, batch_size=batch_size, prefetch=0),
                          eval_paths)
            acc = _accuracy(texts, labels)
            agree = sum(a == b for a, b in zip(texts, ref))
            results[backend] = {"word_accuracy": acc, "drop_points": round((fp32_acc - acc) * 100, 3),
                                "same_text_as_fp32": agree, "lines": len(ref)}
            log(f"int8 on {backend}: word accuracy {acc:.4f} (fp32 {fp32_acc:.4f}), same text as fp32 "
                f"{agree}/{len(ref)}")
        report = {
            "file": INT8_ONNX_FILE, "source": ONNX_FILE, "method": how, "calibration": calib_desc,
            "evaluation": eval_desc, "fp32_word_accuracy": fp32_acc, "int8": results, "max_drop_points": max_drop,
            "cpu": cpu_description(), "seconds": round(time.perf_counter() - t0, 1),
        }
        worst = max(results.values(), key=lambda r: r["drop_points"])
        if worst["drop_points"] > max_drop:
            bad = ", ".join(f"{b} {r['word_accuracy']:.4f}" for b, r in results.items())
            raise QuantizationRefused(
                f"int8 word accuracy dropped {worst['drop_points']:.2f} points (fp32 {fp32_acc:.4f}; int8 {bad}) "
                f"on {eval_desc}, more than --max_drop {max_drop}: no model written (try --method percentile, "
                "more --calib_data, or a larger --max_drop)")
        os.replace(candidate, os.path.join(model_dir, INT8_ONNX_FILE))
    _record(model_dir, report)
    return report


def _record(model_dir, report):
    """Write the report beside the model and into ``inference.yml`` (``Global.quantization``), atomically."""
    atomic_write_text(os.path.join(model_dir, REPORT_FILE), json.dumps(report, indent=2) + "\n")
    path = os.path.join(model_dir, CONFIG_FILE)
    cfg = read_yaml_file(path)
    glob = cfg.setdefault("Global", {}) if isinstance(cfg.get("Global"), dict) or "Global" not in cfg else None
    if glob is None:
        raise DataError(f"{path}: Global is not a mapping; cannot record the quantization")
    glob["quantization"] = {"int8": {k: report[k] for k in ("file", "method", "calibration", "evaluation",
                                                            "fp32_word_accuracy", "int8", "max_drop_points")}}
    atomic_write_text(path, dump_inference_yml(cfg))

