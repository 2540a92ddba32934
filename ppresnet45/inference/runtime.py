"""Run an exported model: one small interface over Paddle Inference (``paddle``,
``paddle-nomkl``), ONNX Runtime (``onnxruntime``), OpenVINO (``openvino``) and the eager
dygraph model (``eager``, a reference, not a deployment path).

Every backend is a :class:`Runtime` subclass registered in :data:`ppresnet45.registry.RUNTIMES`
under its ``--backend`` name; :func:`create_runtime` looks the name up there, so a plugin
package adds a backend with ``@RUNTIMES.register("name")`` on its own subclass. A runtime
takes a float32 ``[N, C, H, W]`` batch (already resized and normalised, see
:func:`ppresnet45.data.imgproc.resize_norm_img`) and returns the head's probabilities
``[N, T, K]`` as a float32 numpy array; with a dynamic width, consecutive calls may
change both ``N`` and ``W``. ONNX Runtime and OpenVINO are optional packages, imported
only when their backend is used.
"""

import importlib.util
import os

import numpy as np
import paddle
import paddle.inference as paddle_infer
from paddle.base import core as paddle_core

from ..errors import ModelDirError, PPResNetError, RegistryError
from ..modeling.model import RecModel
from ..registry import RUNTIMES
from ..utils.cpu import available_cores
from ..utils.stdio import captured_native_output
from .spec import MODEL_FILE, ONNX_FILE, PARAMS_FILE, STATE_DICT_FILE, InferenceSpec, check_model_dir
from .spec import load_inference_config  # noqa: F401 - kept importable from here for existing callers

PRECISIONS = ("fp32", "bf16")

# oneDNN keeps compiled primitives per input shape. Batches have widths in multiples of 8, so
# 32 entries cover the common widths of a text-line stream while bounding the memory of a
# long-running service that sees many widths.
ONEDNN_CACHE_CAPACITY = 32


class BackendError(PPResNetError, RuntimeError):
    """A backend is unavailable here or does not support the requested settings."""


class UnknownBackendError(BackendError, RegistryError):
    """No runtime is registered under the requested backend name (the registry's message)."""


def default_cpu_threads():
    """The number of CPU cores this process may use (the default for ``cpu_threads``)."""
    return available_cores()


class Runtime:
    """Base class: input checks and the common attributes of every backend.

    Subclasses are constructed as ``cls(model_dir, precision=, cpu_threads=, use_gpu=,
    use_onednn=, **options)`` and implement :meth:`_run`; options they do not know should
    be accepted and ignored (``**_``).

    Class attributes:
        backend (str): the registered name.
        required_files (dict): files the backend needs beyond :data:`REQUIRED_FILES`,
            mapped to how to get them (for the error message and :func:`available_backends`).
        holds_gil (bool): ``run`` keeps the GIL, so pre-processing in a thread cannot overlap it.
        list_order (int): place in :data:`BACKENDS` (then by name); plugins come after the built-ins.

    Attributes:
        precision (str): ``"fp32"`` or ``"bf16"``.
        input_name (str): the model's input tensor name.
        model_dir (str): the export directory.
        spec (InferenceSpec): the export's ``inference.yml``.
        config (dict): the parsed ``inference.yml`` (``spec.raw``).
        input_shape (list[int]): ``[C, H, W]`` with ``W = -1`` for a dynamic width.
        dynamic_width (bool): whether any width is accepted.
        cpu_threads (int): CPU threads the backend was configured with.
        use_gpu (bool): whether the backend runs on a GPU.
    """

    backend = None
    required_files = {}
    holds_gil = False
    list_order = 100

    @classmethod
    def is_installed(cls):
        """Whether this backend's libraries are importable here."""
        return True

    def __init__(self, model_dir, precision="fp32", cpu_threads=None, use_gpu=False):
        self.model_dir = check_model_dir(model_dir)
        for name, how in self.required_files.items():
            if not os.path.isfile(os.path.join(self.model_dir, name)):
                raise ModelDirError(f"model dir '{self.model_dir}': {name} missing (backend '{self.backend}' needs "
                                    f"it; {how})")
        self.spec = InferenceSpec.from_yaml(self.model_dir)
        self.config = self.spec.raw
        if precision not in PRECISIONS:
            raise BackendError(f"precision: expected one of {', '.join(PRECISIONS)}, got {precision!r}")
        if cpu_threads is not None and (isinstance(cpu_threads, bool) or not isinstance(cpu_threads, int)
                                        or cpu_threads < 1):
            raise BackendError(f"cpu_threads: expected a positive int, got {cpu_threads!r}")
        self.precision = precision
        self.cpu_threads = cpu_threads or default_cpu_threads()
        self.use_gpu = bool(use_gpu)
        self.input_shape = self.spec.input_shape
        self.image_shape = self.spec.image_shape
        self.dynamic_width = self.spec.dynamic_width
        self.input_name = "x"

    def _unsupported(self, what):
        return BackendError(f"backend '{self.backend}': {what}")

    def _check_input(self, images):
        if not isinstance(images, np.ndarray):
            raise TypeError(f"{self.backend} runtime: expected a numpy array [N, C, H, W], got "
                            f"{type(images).__name__}")
        if images.ndim != 4:
            raise ValueError(f"{self.backend} runtime: expected a 4-D batch [N, C, H, W], got shape "
                             f"{list(images.shape)}")
        c, h, w = self.input_shape
        n, ic, ih, iw = images.shape
        if n < 1 or ic != c or ih != h or (w != -1 and iw != w) or iw < 1:
            want = f"[N, {c}, {h}, {'W' if w == -1 else w}]"
            raise ValueError(f"{self.backend} runtime: expected input {want}, got {list(images.shape)}")
        return np.ascontiguousarray(images, dtype=np.float32)

    def __call__(self, images):
        """Run one float32 ``[N, C, H, W]`` batch; returns float32 probabilities ``[N, T, K]``
        (a fresh array, not a view of a backend buffer)."""
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
        return (f"{type(self).__name__}(model_dir={self.model_dir!r}, backend={self.backend!r}, "
                f"precision={self.precision!r})")


@RUNTIMES.register("paddle")
class PaddleRuntime(Runtime):
    """Paddle Inference on ``inference.json`` + ``inference.pdiparams``.

    Args:
        model_dir (str): the export directory.
        precision (str): ``"fp32"``, or ``"bf16"`` (oneDNN BF16; CPU only, needs oneDNN
            and a CPU with AVX512-BF16 or AMX).
        cpu_threads (int | None): math-library threads (default: all usable cores).
        use_gpu (bool): run on GPU 0 (needs a CUDA build of Paddle).
        use_onednn (bool): use oneDNN kernels on CPU (``False``: the ``paddle-nomkl`` backend).
        gpu_mem_mb (int): initial GPU memory pool in MB.
    """

    backend = "paddle"
    holds_gil = True  # Paddle Inference's predictor.run() keeps the GIL (Paddle 3.3)
    list_order = 0

    @classmethod
    def is_installed(cls):
        check = getattr(paddle_core, "is_compiled_with_onednn", getattr(paddle_core, "is_compiled_with_mkldnn", None))
        return bool(check and check())

    def __init__(self, model_dir, precision="fp32", cpu_threads=None, use_gpu=False, use_onednn=True, gpu_mem_mb=500):
        self.use_onednn = bool(use_onednn) and not use_gpu
        self.backend = "paddle" if (use_onednn or use_gpu) else "paddle-nomkl"
        super().__init__(model_dir, precision, cpu_threads, use_gpu)
        config = paddle_infer.Config(os.path.join(self.model_dir, MODEL_FILE),
                                     os.path.join(self.model_dir, PARAMS_FILE))
        config.switch_ir_optim(True)
        config.disable_glog_info()
        if self.use_gpu:
            self._configure_gpu(config, gpu_mem_mb)
        else:
            self._configure_cpu(config)
        self.bf16_fast = bool(precision == "bf16" and paddle_core.supports_bfloat16_fast_performance())
        self._config = config
        self._predictor = paddle_infer.create_predictor(config)
        self.input_name = self._predictor.get_input_names()[0]
        self._output_name = self._predictor.get_output_names()[0]
        self._first_run = True

    def _configure_gpu(self, config, gpu_mem_mb):
        if not paddle.is_compiled_with_cuda():
            raise BackendError(
                f"backend '{self.backend}': use_gpu needs a CUDA build of Paddle (installed: paddlepaddle "
                f"{paddle.__version__} for CPU); install paddlepaddle-gpu or run on CPU"
            )
        if self.precision != "fp32":
            raise self._unsupported(f"precision {self.precision!r} is CPU-only here; use fp32 on GPU")
        config.enable_use_gpu(int(gpu_mem_mb), 0)

    def _configure_cpu(self, config):
        config.disable_gpu()
        config.set_cpu_math_library_num_threads(self.cpu_threads)
        if not self.use_onednn:
            config.disable_onednn()
            if self.precision == "bf16":
                raise BackendError("backend 'paddle-nomkl': precision 'bf16' needs oneDNN; use backend 'paddle'")
            return
        config.enable_onednn()
        config.set_onednn_cache_capacity(ONEDNN_CACHE_CAPACITY)
        if self.precision == "bf16":
            if not paddle_core.supports_bfloat16():
                raise self._unsupported("precision 'bf16' needs a CPU with AVX512-BF16 or AMX; this one has neither")
            config.enable_onednn_bfloat16()

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
        return dict(super().info(), onednn=self.use_onednn, ir_optim=True,
                    bf16_native=self.bf16_fast if self.precision == "bf16" else None)


@RUNTIMES.register("paddle-nomkl")
class PaddleNoMKLRuntime(PaddleRuntime):
    """Paddle Inference with oneDNN off (the plain CPU kernels); same arguments as :class:`PaddleRuntime`."""

    backend = "paddle-nomkl"
    list_order = 1

    @classmethod
    def is_installed(cls):
        return True  # Paddle is a dependency of this package

    def __init__(self, model_dir, precision="fp32", cpu_threads=None, use_gpu=False, use_onednn=False, **options):
        super().__init__(model_dir, precision, cpu_threads, use_gpu, use_onednn=False, **options)


class _OnnxFileRuntime(Runtime):
    """Base of the runtimes on ``model.onnx``; each needs one optional package."""

    required_files = {ONNX_FILE: "run export with --onnx"}
    package = extra = None  # the module to import, and the pip extra that installs it

    @classmethod
    def is_installed(cls):
        return importlib.util.find_spec(cls.package) is not None

    def _import(self):
        try:
            return importlib.import_module(self.package)
        except ImportError as exc:
            raise BackendError(f"backend '{self.backend}' needs the {self.package} package ({exc}); "
                               f"pip install 'ppresnet45[{self.extra}]'") from None


@RUNTIMES.register("onnxruntime")
class OnnxRuntime(_OnnxFileRuntime):
    """ONNX Runtime on ``model.onnx`` (FP32; CUDA with ``use_gpu`` when onnxruntime-gpu is installed)."""

    backend = "onnxruntime"
    package, extra = "onnxruntime", "onnx"
    list_order = 2

    def __init__(self, model_dir, precision="fp32", cpu_threads=None, use_gpu=False, **_):
        super().__init__(model_dir, precision, cpu_threads, use_gpu)
        if precision != "fp32":
            raise self._unsupported(f"precision {precision!r} is not supported (ONNX Runtime runs this model in "
                                    "fp32); use backend 'paddle' or 'openvino' for bf16")
        ort = self._import()
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.cpu_threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # warnings about unused initializers are noise here
        providers = ["CPUExecutionProvider"]
        if self.use_gpu:
            if "CUDAExecutionProvider" not in ort.get_available_providers():
                raise self._unsupported("use_gpu needs onnxruntime-gpu (CUDAExecutionProvider); available: "
                                        + ", ".join(ort.get_available_providers()))
            providers = ["CUDAExecutionProvider", "CPUExecutionProvider"]
        self._session = ort.InferenceSession(os.path.join(self.model_dir, ONNX_FILE), options, providers=providers)
        self.input_name = self._session.get_inputs()[0].name
        self.providers = self._session.get_providers()

    def _run(self, images):
        out = self._session.run(None, {self.input_name: images})[0]
        return np.asarray(out, dtype=np.float32)

    def info(self):
        return dict(super().info(), providers=self.providers)


@RUNTIMES.register("openvino")
class OpenVINORuntime(_OnnxFileRuntime):
    """OpenVINO on ``model.onnx``, CPU. The precision is set explicitly: on CPUs with BF16
    support OpenVINO otherwise silently runs in BF16."""

    backend = "openvino"
    package, extra = "openvino", "openvino"
    list_order = 3

    def __init__(self, model_dir, precision="fp32", cpu_threads=None, use_gpu=False, **_):
        super().__init__(model_dir, precision, cpu_threads, use_gpu)
        if self.use_gpu:
            raise self._unsupported("use_gpu is not supported (this runtime drives OpenVINO's CPU plugin only)")
        core = self._import().Core()
        if precision == "bf16" and "BF16" not in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES"):
            raise self._unsupported("precision 'bf16' needs a CPU with AVX512-BF16 or AMX; this one has neither")
        want = "f32" if precision == "fp32" else "bf16"
        properties = {"INFERENCE_PRECISION_HINT": want, "INFERENCE_NUM_THREADS": self.cpu_threads,
                      "PERFORMANCE_HINT": "LATENCY"}
        self._compiled = core.compile_model(core.read_model(os.path.join(self.model_dir, ONNX_FILE)), "CPU", properties)
        hint = str(self._compiled.get_property("INFERENCE_PRECISION_HINT")).lower()  # e.g. "<Type: 'float32'>"
        self.effective_precision = "bf16" if ("bfloat16" in hint or "bf16" in hint) else "f32" if (
            "float32" in hint or "f32" in hint) else hint
        if self.effective_precision != want:
            raise self._unsupported(f"asked for {want} but OpenVINO compiled the model for {hint}")
        self._request = self._compiled.create_infer_request()
        self.input_name = self._compiled.inputs[0].get_any_name()

    def _run(self, images):
        self._request.infer({0: images})
        # copy: the output tensor's buffer is reused by the next inference
        return np.array(self._request.get_output_tensor(0).data, dtype=np.float32, copy=True)

    def info(self):
        return dict(super().info(), effective_precision=self.effective_precision)


@RUNTIMES.register("eager")
class EagerRuntime(Runtime):
    """The dygraph model rebuilt from ``inference.yml`` + ``model.pdparams`` (reference path)."""

    backend = "eager"
    required_files = {STATE_DICT_FILE: "re-run `ppresnet45 export`"}
    list_order = 4

    def __init__(self, model_dir, precision="fp32", cpu_threads=None, use_gpu=False, **_):
        super().__init__(model_dir, precision, cpu_threads, use_gpu)
        if precision != "fp32":
            raise self._unsupported(f"precision {precision!r} is not supported (the eager reference runs fp32)")
        arch = self.spec.architecture
        if not isinstance(arch, dict) or not arch.get("Backbone") or not arch.get("Head"):
            raise ModelDirError(f"{self.spec.source}: Architecture: missing or without Backbone/Head (needed to "
                                "rebuild the eager model)")
        if self.use_gpu:
            if not paddle.is_compiled_with_cuda():
                raise self._unsupported("use_gpu needs a CUDA build of Paddle")
            paddle.set_device("gpu")
        elif cpu_threads is not None and hasattr(paddle_core, "set_num_threads"):
            paddle_core.set_num_threads(self.cpu_threads)
        self._model = RecModel(arch)
        state_file = os.path.join(self.model_dir, STATE_DICT_FILE)
        missing, unexpected = self._model.set_state_dict(paddle.load(state_file))
        if missing or unexpected:
            raise ModelDirError(f"{state_file}: does not match {self.spec.source}'s Architecture "
                                f"({len(missing)} missing, {len(unexpected)} unexpected keys)")
        self._model.eval()

    def _run(self, images):
        with paddle.no_grad():
            out = self._model(paddle.to_tensor(images))
        if isinstance(out, (list, tuple)):
            out = out[-1]
        return np.asarray(out.numpy(), dtype=np.float32)


def backend_names():
    """Names of the registered runtimes: the built-ins (deployment backends first, ``eager``
    last), then plugins' by name. Called again, it includes runtimes registered since."""
    return tuple(sorted(RUNTIMES.names(), key=lambda n: (getattr(RUNTIMES.get(n), "list_order", 100), n)))


BACKENDS = backend_names()  # the runtimes registered when this module was imported


def available_backends(model_dir=None):
    """Backends usable in this environment (a subset of :func:`backend_names`, in its order).

    Args:
        model_dir (str | None): when given, also drop backends whose files this export
            lacks (``onnxruntime`` / ``openvino`` need ``model.onnx``, ``eager`` needs
            ``model.pdparams``).
    """
    out = [name for name in backend_names() if RUNTIMES.get(name).is_installed()]
    if model_dir is not None:
        has = lambda name: os.path.isfile(os.path.join(os.fspath(model_dir), name))  # noqa: E731
        out = [b for b in out if all(has(f) for f in RUNTIMES.get(b).required_files)]
    return out


def create_runtime(model_dir, backend="paddle", precision="fp32", cpu_threads=None, use_gpu=False, use_onednn=True,
                   **kwargs):
    """Open an export directory with the runtime registered as ``backend`` (:func:`backend_names`).

    Args:
        model_dir (str | os.PathLike): the export directory.
        backend (str): ``paddle`` | ``paddle-nomkl`` | ``onnxruntime`` | ``openvino`` | ``eager`` or a plugin's.
        precision (str): ``fp32`` | ``bf16`` (bf16: ``paddle`` via oneDNN and ``openvino``).
        cpu_threads (int | None): CPU threads (default: all cores this process may use).
        use_gpu (bool): run on GPU (``paddle`` with a CUDA build, ``onnxruntime-gpu``, ``eager``).
        use_onednn (bool): for ``paddle``: oneDNN kernels on CPU (``False`` = ``paddle-nomkl``).
        **kwargs: backend-specific extras (``gpu_mem_mb`` for ``paddle``).

    Raises:
        ModelDirError: the export directory is missing or incomplete for this backend.
        BackendError: the backend or setting is not available here (an unknown name:
            :class:`UnknownBackendError`, with the registry's message).
    """
    try:
        cls = RUNTIMES.get(backend)
    except RegistryError as exc:
        raise UnknownBackendError(str(exc)) from None
    return cls(model_dir, precision=precision, cpu_threads=cpu_threads, use_gpu=use_gpu, use_onednn=use_onednn,
               **kwargs)
