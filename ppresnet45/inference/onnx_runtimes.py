"""Runtimes on an ONNX model (``model.onnx`` written by ``export --onnx``, or a PP-OCR ONNX
file, :mod:`.formats`): ONNX Runtime (``onnxruntime``) and OpenVINO (``openvino``). Both are
optional packages, imported only when their backend is used."""

from __future__ import annotations

import importlib
import importlib.util
import os
from types import ModuleType
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ..errors import ModelDirError
from ..registry import RUNTIMES
from ..utils.cpu import cpu_description, cpu_has_bf16
from .int8 import INT8_FILES, int8_backends, int8_file
from .model_dir import ONNX_FILE
from .runtime_base import BF16_NEEDS, BackendError, Runtime

if TYPE_CHECKING:
    from .._types import StrPath
    from .formats import ModelFiles


class _OnnxFileRuntime(Runtime):
    """Base of the runtimes on ``model.onnx``; each needs one optional package."""

    required_files: ClassVar[dict[str, str]] = {ONNX_FILE: "run export with --onnx"}
    backend: str  # each subclass names its own
    package: str = ""  # the module to import (set by each subclass)
    extra: str = ""  # the pip extra that installs it

    @classmethod
    def missing(cls, model: ModelFiles) -> str | None:
        if model.onnx_file:
            return None
        return (
            f"model dir '{model.folder}': {ONNX_FILE} missing (backend '{cls.backend}' needs it; run export "
            "with --onnx)"
        )

    @classmethod
    def is_installed(cls) -> bool:
        return importlib.util.find_spec(cls.package) is not None

    def _model_file(self, precision: str, model_file: StrPath | None) -> str:
        """The model file to load: ``model_file`` when given (a path), else this runtime's int8
        model for int8 (written by ``ppresnet45 quantize``, :mod:`.int8`) and ``model.onnx`` otherwise."""
        if model_file is not None:
            return os.fspath(model_file)
        if precision == "int8":
            path = int8_file(self.model_dir, self.backend)
            if path is None:
                have = int8_backends(self.model_dir)
                hint = (
                    f"the export's int8 model is for {', '.join(have)}: use --backend {have[0]}"
                    if have
                    else f"run `ppresnet45 quantize --model_dir {self.model_dir}`"
                )
                raise self._unsupported(
                    f"precision 'int8': no int8 model for {self.backend} in {self.model_dir} "
                    f"({' or '.join(INT8_FILES[self.backend])}; {hint})"
                )
            return path
        if self.model.onnx_file is None:  # not reached: Runtime.__init__ raised missing()'s reason
            raise ModelDirError(f"model dir '{self.model.folder}': {ONNX_FILE} missing")
        return self.model.onnx_file

    def _import(self) -> ModuleType:
        try:
            return importlib.import_module(self.package)
        except ImportError as exc:
            raise BackendError(
                f"backend '{self.backend}' needs the {self.package} package ({exc}); "
                f"pip install 'ppresnet45[{self.extra}]'"
            ) from None


@RUNTIMES.register("onnxruntime")
class OnnxRuntime(_OnnxFileRuntime):
    """ONNX Runtime on ``model.onnx`` (FP32; CUDA with ``use_gpu`` when onnxruntime-gpu is installed) or
    on ``model_int8.onnx`` (int8). ``model_file`` loads another ONNX file (the quantizer's candidate)."""

    backend = "onnxruntime"
    package, extra = "onnxruntime", "onnx"

    def __init__(
        self,
        model_dir: StrPath,
        precision: str = "fp32",
        cpu_threads: int | None = None,
        use_gpu: bool = False,
        model_file: StrPath | None = None,
        **_: Any,
    ) -> None:
        super().__init__(model_dir, precision, cpu_threads, use_gpu)
        if precision == "bf16":
            raise self._unsupported(
                "precision 'bf16' is not supported (ONNX Runtime runs this model in fp32 or, "
                "after `ppresnet45 quantize`, int8); use backend 'paddle' or 'openvino' for bf16"
            )
        self.model_file = self._model_file(precision, model_file)
        ort = self._import()
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
        self._session = ort.InferenceSession(self.model_file, options, providers=providers)
        self.input_name = self._session.get_inputs()[0].name
        self.output_names = [o.name for o in self._session.get_outputs()]
        self.providers = self._session.get_providers()

    def _run(self, images: np.ndarray) -> np.ndarray:
        return self._session.run([self.output_names[self.text_output]], {self.input_name: images})[0]

    def _run_all(self, images: np.ndarray) -> list[np.ndarray]:
        return self._session.run(None, {self.input_name: images})

    def info(self) -> dict[str, Any]:
        return dict(super().info(), providers=self.providers, model_file=os.path.basename(self.model_file))


@RUNTIMES.register("openvino")
class OpenVINORuntime(_OnnxFileRuntime):
    """OpenVINO on ``model.onnx``, CPU, or for int8 on NNCF's ``model_int8.xml`` (the quantized
    ops run as int8 kernels, the rest in FP32; never ONNX Runtime's QDQ file, see :mod:`.int8`).
    The precision is set explicitly: on CPUs with BF16 support OpenVINO otherwise silently runs
    in BF16."""

    backend = "openvino"
    package, extra = "openvino", "openvino"

    def __init__(
        self,
        model_dir: StrPath,
        precision: str = "fp32",
        cpu_threads: int | None = None,
        use_gpu: bool = False,
        model_file: StrPath | None = None,
        **_: Any,
    ) -> None:
        super().__init__(model_dir, precision, cpu_threads, use_gpu)
        if self.use_gpu:
            raise self._unsupported("use_gpu is not supported (this runtime drives OpenVINO's CPU plugin only)")
        core = self._import().Core()
        if precision == "bf16" and not (
            cpu_has_bf16() and "BF16" in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")
        ):
            raise self._unsupported(BF16_NEEDS + cpu_description())
        self.model_file = self._model_file(precision, model_file)
        want = "bf16" if precision == "bf16" else "f32"  # int8: the non-quantized ops in f32
        properties = {
            "INFERENCE_PRECISION_HINT": want,
            "INFERENCE_NUM_THREADS": self.cpu_threads,
            "PERFORMANCE_HINT": "LATENCY",
        }
        self._compiled = core.compile_model(core.read_model(self.model_file), "CPU", properties)
        hint = str(self._compiled.get_property("INFERENCE_PRECISION_HINT")).lower()  # e.g. "<Type: 'float32'>"
        self.effective_precision = (
            "bf16"
            if ("bfloat16" in hint or "bf16" in hint)
            else "f32"
            if ("float32" in hint or "f32" in hint)
            else hint
        )
        if self.effective_precision != want:
            raise self._unsupported(f"asked for {want} but OpenVINO compiled the model for {hint}")
        self._request = self._compiled.create_infer_request()
        self.input_name = self._compiled.inputs[0].get_any_name()
        self.output_names = [_port_name(port, i) for i, port in enumerate(self._compiled.outputs)]

    def _output(self, index: int) -> np.ndarray:
        # copy: the output tensor's buffer is reused by the next inference
        return np.array(self._request.get_output_tensor(index).data, dtype=np.float32, copy=True)

    def _run(self, images: np.ndarray) -> np.ndarray:
        self._request.infer({0: images})
        return self._output(self.text_output % len(self.output_names))

    def _run_all(self, images: np.ndarray) -> list[np.ndarray]:
        self._request.infer({0: images})
        return [self._output(i) for i in range(len(self.output_names))]

    def info(self) -> dict[str, Any]:
        return dict(
            super().info(), effective_precision=self.effective_precision, model_file=os.path.basename(self.model_file)
        )


def _port_name(port: Any, index: int) -> str:
    try:
        return port.get_any_name()
    except RuntimeError:  # an unnamed output
        return f"output_{index}"
