"""Run an exported model: one small interface over Paddle Inference, ONNX Runtime, OpenVINO
and the eager (dygraph) model.

An export directory (written by ``ppresnet45 export``) holds::

    inference.json / inference.pdiparams   Paddle 3 (PIR) inference program + weights
    inference.yml                           pre/post-processing, dictionary, architecture
    model.pdparams                          the state dict, for the ``eager`` backend
    model.onnx                              with ``export --onnx`` only
    export_report.json                      the export's parity numbers

Every backend is wrapped in a :class:`Runtime` taking a float32 ``[N, C, H, W]`` batch
(already resized and normalised, see :func:`ppresnet45.data.imgproc.resize_norm_img`)
and returning the head's probabilities ``[N, T, K]`` as a float32 numpy array. For models
exported with a dynamic width, consecutive calls may change both ``N`` and ``W``.

Backends:

* ``paddle``: Paddle Inference with oneDNN (FP32, or BF16 with ``precision="bf16"`` on
  CPUs with AVX512-BF16/AMX), IR optimisation on; on GPU with ``use_gpu=True`` when
  Paddle was built with CUDA.
* ``paddle-nomkl``: Paddle Inference with oneDNN off (the plain CPU kernels).
* ``onnxruntime``: ONNX Runtime on ``model.onnx`` (FP32 only).
* ``openvino``: OpenVINO on ``model.onnx``. FP32 is requested explicitly: on CPUs with
  BF16 support OpenVINO otherwise silently runs in BF16. ``precision="bf16"`` asks for it.
* ``eager``: the dygraph model rebuilt from ``inference.yml``'s ``Architecture`` and
  ``model.pdparams`` (a reference / baseline, not a deployment path).
"""

import importlib.util
import os

import numpy as np
import yaml

from ..errors import ModelDirError, PPResNetError
from ..utils.stdio import captured_native_output

MODEL_FILE = "inference.json"
PARAMS_FILE = "inference.pdiparams"
CONFIG_FILE = "inference.yml"
STATE_DICT_FILE = "model.pdparams"
ONNX_FILE = "model.onnx"
REPORT_FILE = "export_report.json"
REQUIRED_FILES = (CONFIG_FILE, MODEL_FILE, PARAMS_FILE)

BACKENDS = ("paddle", "paddle-nomkl", "onnxruntime", "openvino", "eager")
PRECISIONS = ("fp32", "bf16")

# oneDNN keeps compiled primitives per input shape; with a dynamic width every new
# width adds entries. Inference batches widths to multiples of 8, so 32 entries cover the
# common widths of a text-line stream while still bounding memory, so a
# long-running service that sees many widths does not grow without limit.
ONEDNN_CACHE_CAPACITY = 32


class BackendError(PPResNetError, RuntimeError):
    """A backend is unavailable here or does not support the requested settings."""


def default_cpu_threads():
    """The number of CPU cores this process may use (the default for ``cpu_threads``)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _require_files(model_dir, names):
    model_dir = os.fspath(model_dir)
    if not os.path.isdir(model_dir):
        raise ModelDirError(
            f"model dir '{model_dir}' not found (expected a folder written by `ppresnet45 export` "
            f"with {', '.join(REQUIRED_FILES)})"
        )
    for name in names:
        path = os.path.join(model_dir, name)
        if not os.path.isfile(path):
            raise ModelDirError(f"model dir '{model_dir}': {name} missing ('{path}' not found; re-run `ppresnet45 export`)")
    return model_dir


def load_inference_config(model_dir):
    """Read and check ``inference.yml`` of an export directory.

    Args:
        model_dir (str | os.PathLike): the export directory.

    Returns:
        dict: the parsed ``inference.yml`` (sections ``Global``, ``PreProcess``,
        ``PostProcess``, ``Architecture``).

    Raises:
        ModelDirError: the folder, ``inference.yml``, ``inference.json`` or
            ``inference.pdiparams`` is missing, or ``inference.yml`` is malformed; the
            one-line message names the file (and key).
    """
    model_dir = _require_files(model_dir, REQUIRED_FILES)
    path = os.path.join(model_dir, CONFIG_FILE)
    try:
        with open(path, "r", encoding="utf-8") as f:
            cfg = yaml.safe_load(f)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else path
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ModelDirError(f"{where}: YAML syntax error: {problem}") from None
    except UnicodeDecodeError:
        raise ModelDirError(f"{path}: not UTF-8 text") from None
    if not isinstance(cfg, dict):
        raise ModelDirError(f"{path}: expected a mapping with Global, PreProcess, PostProcess, got {type(cfg).__name__}")
    glob = cfg.get("Global")
    if not isinstance(glob, dict):
        raise ModelDirError(f"{path}: missing 'Global' section (expected a mapping)")
    for key in ("image_shape", "input_shape"):
        shape = glob.get(key)
        if not (isinstance(shape, list) and len(shape) == 3 and all(isinstance(v, int) for v in shape)):
            raise ModelDirError(f"{path}: Global.{key}: expected [C, H, W] of ints, got {shape!r}")
    if not isinstance(glob.get("dynamic_width", False), bool):
        raise ModelDirError(f"{path}: Global.dynamic_width: expected true or false, got {glob.get('dynamic_width')!r}")
    post = cfg.get("PostProcess")
    if not isinstance(post, dict) or not isinstance(post.get("name"), str):
        raise ModelDirError(f"{path}: PostProcess: expected a mapping with 'name' (e.g. CTCLabelDecode)")
    chars = post.get("character_dict")
    if chars is not None and not (isinstance(chars, list) and all(isinstance(c, str) for c in chars)):
        raise ModelDirError(f"{path}: PostProcess.character_dict: expected a list of strings")
    pre = cfg.get("PreProcess")
    if pre is not None and not (isinstance(pre, dict) and isinstance(pre.get("transform_ops", []), list)):
        raise ModelDirError(f"{path}: PreProcess: expected a mapping with a 'transform_ops' list")
    arch = cfg.get("Architecture")
    if arch is not None and not isinstance(arch, dict):
        raise ModelDirError(f"{path}: Architecture: expected a mapping, got {type(arch).__name__}")
    return cfg


def available_backends(model_dir=None):
    """Backends usable in this environment.

    Args:
        model_dir (str | None): when given, also drop backends whose files this export
            lacks (``onnxruntime`` / ``openvino`` need ``model.onnx``, ``eager`` needs
            ``model.pdparams``).

    Returns:
        list[str]: a subset of ``["paddle", "paddle-nomkl", "onnxruntime", "openvino", "eager"]``.
    """
    out = []
    if importlib.util.find_spec("paddle") is not None:
        from paddle.base import core

        onednn = getattr(core, "is_compiled_with_onednn", getattr(core, "is_compiled_with_mkldnn", lambda: False))
        if onednn():
            out.append("paddle")
        out.append("paddle-nomkl")
    if importlib.util.find_spec("onnxruntime") is not None:
        out.append("onnxruntime")
    if importlib.util.find_spec("openvino") is not None:
        out.append("openvino")
    out.append("eager")
    if model_dir is not None:
        has = lambda name: os.path.isfile(os.path.join(os.fspath(model_dir), name))  # noqa: E731
        out = [
            b for b in out
            if not (b in ("onnxruntime", "openvino") and not has(ONNX_FILE)) and not (b == "eager" and not has(STATE_DICT_FILE))
        ]
    return out


class Runtime:
    """Base class: input checks and the common attributes of every backend.

    Attributes:
        backend (str): one of :data:`BACKENDS`.
        precision (str): ``"fp32"`` or ``"bf16"``.
        input_name (str): the model's input tensor name.
        model_dir (str): the export directory.
        config (dict): the parsed ``inference.yml``.
        input_shape (list[int]): ``[C, H, W]`` with ``W = -1`` for a dynamic width.
        dynamic_width (bool): whether any width is accepted.
        cpu_threads (int): CPU threads the backend was configured with.
        use_gpu (bool): whether the backend runs on a GPU.
    """

    backend = None

    def __init__(self, model_dir, precision="fp32", cpu_threads=None, use_gpu=False):
        self.model_dir = os.fspath(model_dir)
        self.config = load_inference_config(model_dir)
        if precision not in PRECISIONS:
            raise BackendError(f"precision: expected one of {', '.join(PRECISIONS)}, got {precision!r}")
        if cpu_threads is not None and (isinstance(cpu_threads, bool) or not isinstance(cpu_threads, int) or cpu_threads < 1):
            raise BackendError(f"cpu_threads: expected a positive int, got {cpu_threads!r}")
        glob = self.config["Global"]
        self.precision = precision
        self.cpu_threads = cpu_threads or default_cpu_threads()
        self.use_gpu = bool(use_gpu)
        self.input_shape = list(glob["input_shape"])
        self.image_shape = list(glob["image_shape"])
        self.dynamic_width = bool(glob.get("dynamic_width", self.input_shape[2] == -1))
        self.input_name = "x"

    def _unsupported(self, what):
        return BackendError(f"backend '{self.backend}': {what}")

    def _check_input(self, images):
        if not isinstance(images, np.ndarray):
            raise TypeError(f"{self.backend} runtime: expected a numpy array [N, C, H, W], got {type(images).__name__}")
        if images.ndim != 4:
            raise ValueError(f"{self.backend} runtime: expected a 4-D batch [N, C, H, W], got shape {list(images.shape)}")
        c, h, w = self.input_shape
        n, ic, ih, iw = images.shape
        if n < 1 or ic != c or ih != h or (w != -1 and iw != w) or iw < 1:
            want = f"[N, {c}, {h}, {'W' if w == -1 else w}]"
            raise ValueError(f"{self.backend} runtime: expected input {want}, got {list(images.shape)}")
        return np.ascontiguousarray(images, dtype=np.float32)

    def __call__(self, images):
        """Run one batch.

        Args:
            images (np.ndarray): float32 ``[N, C, H, W]``.

        Returns:
            np.ndarray: float32 probabilities ``[N, T, K]`` (a fresh array, not a view of
            a backend buffer).
        """
        return self._run(self._check_input(images))

    def _run(self, images):  # pragma: no cover - implemented by subclasses
        raise NotImplementedError

    def info(self):
        """A JSON-friendly description of the runtime's settings (for reports)."""
        return {
            "backend": self.backend,
            "precision": self.precision,
            "cpu_threads": self.cpu_threads,
            "use_gpu": self.use_gpu,
            "input_name": self.input_name,
            "input_shape": self.input_shape,
            "dynamic_width": self.dynamic_width,
        }

    def __repr__(self):
        return f"{type(self).__name__}(model_dir={self.model_dir!r}, backend={self.backend!r}, precision={self.precision!r})"


class PaddleRuntime(Runtime):
    """Paddle Inference on ``inference.json`` + ``inference.pdiparams``.

    Args:
        model_dir (str): the export directory.
        precision (str): ``"fp32"``, or ``"bf16"`` (oneDNN BF16; CPU only, needs oneDNN
            and a CPU with AVX512-BF16 or AMX).
        cpu_threads (int | None): math-library threads (default: all usable cores).
        use_gpu (bool): run on GPU 0 (needs a CUDA build of Paddle).
        use_onednn (bool): use oneDNN kernels on CPU.
        gpu_mem_mb (int): initial GPU memory pool in MB.
    """

    def __init__(self, model_dir, precision="fp32", cpu_threads=None, use_gpu=False, use_onednn=True, gpu_mem_mb=500):
        super().__init__(model_dir, precision, cpu_threads, use_gpu)
        import paddle
        import paddle.inference as paddle_infer
        from paddle.base import core

        self.use_onednn = bool(use_onednn) and not self.use_gpu
        self.backend = "paddle" if (use_onednn or self.use_gpu) else "paddle-nomkl"
        config = paddle_infer.Config(
            os.path.join(self.model_dir, MODEL_FILE), os.path.join(self.model_dir, PARAMS_FILE)
        )
        config.switch_ir_optim(True)
        config.disable_glog_info()
        if self.use_gpu:
            if not paddle.is_compiled_with_cuda():
                raise BackendError(
                    f"backend '{self.backend}': use_gpu needs a CUDA build of Paddle (installed: paddlepaddle "
                    f"{paddle.__version__} for CPU); install paddlepaddle-gpu or run on CPU"
                )
            if precision != "fp32":
                raise self._unsupported(f"precision {precision!r} is CPU-only here; use fp32 on GPU")
            config.enable_use_gpu(int(gpu_mem_mb), 0)
        else:
            config.disable_gpu()
            config.set_cpu_math_library_num_threads(self.cpu_threads)
            if self.use_onednn:
                config.enable_onednn()
                config.set_onednn_cache_capacity(ONEDNN_CACHE_CAPACITY)
                if precision == "bf16":
                    if not core.supports_bfloat16():
                        raise self._unsupported("precision 'bf16' needs a CPU with AVX512-BF16 or AMX; this one has neither")
                    config.enable_onednn_bfloat16()
            else:
                config.disable_onednn()
                if precision == "bf16":
                    raise BackendError("backend 'paddle-nomkl': precision 'bf16' needs oneDNN; use backend 'paddle'")
        self.bf16_fast = bool(precision == "bf16" and core.supports_bfloat16_fast_performance())
        self._config = config
        self._predictor = paddle_infer.create_predictor(config)
        self.input_name = self._predictor.get_input_names()[0]
        self._output_name = self._predictor.get_output_names()[0]
        self._first_run = True

    def _run(self, images):
        handle = self._predictor.get_input_handle(self.input_name)
        handle.reshape(list(images.shape))
        handle.copy_from_cpu(images)
        if self._first_run:
            # oneDNN passes print a line from C++ on the first run; keep it off the console.
            with captured_native_output():
                self._predictor.run()
            self._first_run = False
        else:
            self._predictor.run()
        out = self._predictor.get_output_handle(self._output_name).copy_to_cpu()
        return np.asarray(out, dtype=np.float32)

    def info(self):
        d = super().info()
        d.update(onednn=self.use_onednn, ir_optim=True, bf16_native=self.bf16_fast if self.precision == "bf16" else None)
        return d


class OnnxRuntime(Runtime):
    """ONNX Runtime on ``model.onnx`` (FP32; CUDA with ``use_gpu`` when onnxruntime-gpu is installed)."""

    backend = "onnxruntime"

    def __init__(self, model_dir, precision="fp32", cpu_threads=None, use_gpu=False, **_):
        super().__init__(model_dir, precision, cpu_threads, use_gpu)
        if precision != "fp32":
            raise self._unsupported(
                f"precision {precision!r} is not supported (ONNX Runtime runs this model in fp32); "
                "use backend 'paddle' or 'openvino' for bf16"
            )
        path = _onnx_path(self.model_dir, self.backend)
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise BackendError(f"backend 'onnxruntime' needs the onnxruntime package ({exc}); pip install 'ppresnet45[onnx]'") from None
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.cpu_threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # warnings about unused initializers are noise here
        providers = ["CPUExecutionProvider"]
        if self.use_gpu:
            if "CUDAExecutionProvider" not in ort.get_available_providers():
                raise self._unsupported(
                    "use_gpu needs onnxruntime-gpu (CUDAExecutionProvider); available: "
                    + ", ".join(ort.get_available_providers())
                )
            providers = ["CUDAExecutionProvider", "CPUExecutionProvider"]
        self._session = ort.InferenceSession(path, options, providers=providers)
        self.input_name = self._session.get_inputs()[0].name
        self.providers = self._session.get_providers()

    def _run(self, images):
        out = self._session.run(None, {self.input_name: images})[0]
        return np.asarray(out, dtype=np.float32)

    def info(self):
        d = super().info()
        d.update(providers=self.providers)
        return d


class OpenVINORuntime(Runtime):
    """OpenVINO on ``model.onnx``, CPU, with the inference precision set explicitly."""

    backend = "openvino"

    def __init__(self, model_dir, precision="fp32", cpu_threads=None, use_gpu=False, **_):
        super().__init__(model_dir, precision, cpu_threads, use_gpu)
        path = _onnx_path(self.model_dir, self.backend)
        if self.use_gpu:
            raise self._unsupported("use_gpu is not supported (this runtime drives OpenVINO's CPU plugin only)")
        try:
            import openvino as ov
        except ImportError as exc:
            raise BackendError(f"backend 'openvino' needs the openvino package ({exc}); pip install 'ppresnet45[openvino]'") from None
        core = ov.Core()
        if precision == "bf16" and "BF16" not in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES"):
            raise self._unsupported("precision 'bf16' needs a CPU with AVX512-BF16 or AMX; this one has neither")
        properties = {
            # Without an explicit hint OpenVINO picks bf16 on CPUs that support it.
            "INFERENCE_PRECISION_HINT": "f32" if precision == "fp32" else "bf16",
            "INFERENCE_NUM_THREADS": self.cpu_threads,
            "PERFORMANCE_HINT": "LATENCY",
        }
        model = core.read_model(path)
        self._compiled = core.compile_model(model, "CPU", properties)
        hint = str(self._compiled.get_property("INFERENCE_PRECISION_HINT")).lower()  # e.g. "<Type: 'float32'>"
        self.effective_precision = "bf16" if ("bfloat16" in hint or "bf16" in hint) else "f32" if (
            "float32" in hint or "f32" in hint) else hint
        want = "f32" if precision == "fp32" else "bf16"
        if self.effective_precision != want:
            raise self._unsupported(f"asked for {want} but OpenVINO compiled the model for {hint}")
        self._request = self._compiled.create_infer_request()
        self.input_name = self._compiled.inputs[0].get_any_name()

    def _run(self, images):
        self._request.infer({0: images})
        # copy: the output tensor's buffer is reused by the next inference
        return np.array(self._request.get_output_tensor(0).data, dtype=np.float32, copy=True)

    def info(self):
        d = super().info()
        d.update(effective_precision=self.effective_precision)
        return d


class EagerRuntime(Runtime):
    """The dygraph model rebuilt from ``inference.yml`` + ``model.pdparams`` (reference path)."""

    backend = "eager"

    def __init__(self, model_dir, precision="fp32", cpu_threads=None, use_gpu=False, **_):
        super().__init__(model_dir, precision, cpu_threads, use_gpu)
        if precision != "fp32":
            raise self._unsupported(f"precision {precision!r} is not supported (the eager reference runs fp32)")
        _require_files(self.model_dir, (STATE_DICT_FILE,))
        arch = self.config.get("Architecture")
        yml = os.path.join(self.model_dir, CONFIG_FILE)
        if not isinstance(arch, dict) or not arch.get("Backbone") or not arch.get("Head"):
            raise ModelDirError(f"{yml}: Architecture: missing or without Backbone/Head (needed to rebuild the eager model)")
        import paddle
        from paddle.base import core

        from ..modeling.model import RecModel

        if self.use_gpu:
            if not paddle.is_compiled_with_cuda():
                raise self._unsupported("use_gpu needs a CUDA build of Paddle")
            paddle.set_device("gpu")
        elif cpu_threads is not None and hasattr(core, "set_num_threads"):
            core.set_num_threads(self.cpu_threads)
        self._paddle = paddle
        self._model = RecModel(arch)
        state = paddle.load(os.path.join(self.model_dir, STATE_DICT_FILE))
        missing, unexpected = self._model.set_state_dict(state)
        if missing or unexpected:
            raise ModelDirError(
                f"{os.path.join(self.model_dir, STATE_DICT_FILE)}: does not match {yml}'s Architecture "
                f"({len(missing)} missing, {len(unexpected)} unexpected keys)"
            )
        self._model.eval()

    def _run(self, images):
        with self._paddle.no_grad():
            out = self._model(self._paddle.to_tensor(images))
        if isinstance(out, (list, tuple)):
            out = out[-1]
        return np.asarray(out.numpy(), dtype=np.float32)


def _onnx_path(model_dir, backend):
    path = os.path.join(model_dir, ONNX_FILE)
    if not os.path.isfile(path):
        raise ModelDirError(
            f"model dir '{model_dir}': {ONNX_FILE} missing (backend '{backend}' needs it; run export with --onnx)"
        )
    return path


def create_runtime(model_dir, backend="paddle", precision="fp32", cpu_threads=None, use_gpu=False, use_onednn=True, **kwargs):
    """Open an export directory with one backend.

    Args:
        model_dir (str | os.PathLike): the export directory.
        backend (str): ``paddle`` | ``paddle-nomkl`` | ``onnxruntime`` | ``openvino`` | ``eager``.
        precision (str): ``fp32`` | ``bf16`` (bf16: ``paddle`` via oneDNN and ``openvino``).
        cpu_threads (int | None): CPU threads (default: all cores this process may use).
        use_gpu (bool): run on GPU (``paddle`` with a CUDA build, ``onnxruntime-gpu``, ``eager``).
        use_onednn (bool): for ``paddle``: oneDNN kernels on CPU (``False`` = ``paddle-nomkl``).
        **kwargs: backend-specific extras (``gpu_mem_mb`` for ``paddle``).

    Returns:
        Runtime: callable on float32 ``[N, C, H, W]`` batches, returning ``[N, T, K]`` probabilities.

    Raises:
        ModelDirError: the export directory is missing or incomplete for this backend.
        BackendError: the backend or setting is not available here.
    """
    if backend not in BACKENDS:
        raise BackendError(f"backend: expected one of {', '.join(BACKENDS)}, got {backend!r}")
    if backend == "paddle":
        return PaddleRuntime(model_dir, precision, cpu_threads, use_gpu, use_onednn=use_onednn, **kwargs)
    if backend == "paddle-nomkl":
        return PaddleRuntime(model_dir, precision, cpu_threads, use_gpu, use_onednn=False, **kwargs)
    cls = {"onnxruntime": OnnxRuntime, "openvino": OpenVINORuntime, "eager": EagerRuntime}[backend]
    return cls(model_dir, precision, cpu_threads, use_gpu, **kwargs)
