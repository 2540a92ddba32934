"""Paddle Inference runtimes on ``inference.json`` + ``inference.pdiparams``: ``paddle``
(oneDNN kernels on CPU; FP32 or BF16) and ``paddle-nomkl`` (Paddle's plain CPU kernels).

PaddleOCR 2.x folders (``inference.pdmodel``, Paddle's program format before PIR) load the
same way: Paddle 3.3 reads a ``.pdmodel`` through the same ``Config`` (no flag needed), so
the runtime only points it at that file; their output shape is checked once on load (the
old format does not declare it), so a detection model or a wrong dictionary is one line
before any image is read."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import paddle
import paddle.inference as paddle_infer
from paddle.base import core as paddle_core

from ..errors import ModelDirError
from ..registry import RUNTIMES
from ..utils.cpu import cpu_description, cpu_has_bf16
from ..utils.stdio import captured_native_output
from .formats import OLD_PROGRAM_FILE, check_class_count, check_recognizer_output
from .model_dir import MODEL_FILE, PARAMS_FILE
from .runtime_base import BF16_NEEDS, BackendError, Runtime

if TYPE_CHECKING:
    from .._types import StrPath
    from .formats import ModelFiles

# oneDNN keeps compiled primitives per input shape. Batches have widths in multiples of 8, so
# 32 entries cover the common widths of a text-line stream while bounding the memory of a
# long-running service that sees many widths.
ONEDNN_CACHE_CAPACITY = 32
# The oneDNN pass that breaks BF16 inference of models with a Conv1D (see _configure_cpu).
BF16_BROKEN_PASS = "operator_unsqueeze_onednn_fuse_pass"
# Paddle Inference 3.3 has no working int8 path for a PIR export (docs/int8.md says what was tried).
INT8_UNSUPPORTED = (
    "precision 'int8': Paddle Inference has no int8 path for this export; `ppresnet45 quantize` "
    "makes int8 models for OpenVINO and ONNX Runtime: use backend 'onnxruntime' or 'openvino'"
)


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

    @classmethod
    def is_installed(cls) -> bool:
        check = getattr(paddle_core, "is_compiled_with_onednn", getattr(paddle_core, "is_compiled_with_mkldnn", None))
        return bool(check and check())

    @classmethod
    def missing(cls, model: ModelFiles) -> str | None:
        if model.program and model.params:
            return None
        name = PARAMS_FILE if model.program else MODEL_FILE
        return (
            f"model dir '{model.folder}': {name} missing (backend '{cls.backend}' needs {MODEL_FILE} or a "
            f"PaddleOCR 2.x {OLD_PROGRAM_FILE}, with {PARAMS_FILE}; re-run `ppresnet45 export`, or run an ONNX "
            "model with --backend onnxruntime or openvino)"
        )

    def __init__(
        self,
        model_dir: StrPath,
        precision: str = "fp32",
        cpu_threads: int | None = None,
        use_gpu: bool = False,
        use_onednn: bool = True,
        gpu_mem_mb: int = 500,
    ) -> None:
        self.use_onednn = bool(use_onednn) and not use_gpu
        self.backend = "paddle" if (use_onednn or use_gpu) else "paddle-nomkl"
        super().__init__(model_dir, precision, cpu_threads, use_gpu)
        if precision == "int8":
            raise self._unsupported(INT8_UNSUPPORTED)
        config = paddle_infer.Config(self.model.program, self.model.params)
        config.switch_ir_optim(True)
        config.disable_glog_info()
        if self.model.old_program:
            # As predict_rec sets it: on PP-OCRv4's 2.x program ~1.3x faster per batch here (a [6, 3, 48, 480]
            # batch), outputs the same to the bit. Its other settings (feed/fetch ops off, two fuse passes left
            # out) measured no faster and are not copied.
            config.enable_memory_optim()
        if self.use_gpu:
            self._configure_gpu(config, gpu_mem_mb)
        else:
            self._configure_cpu(config)
        self.bf16_fast = bool(precision == "bf16" and paddle_core.supports_bfloat16_fast_performance())
        self._config = config
        self._predictor = paddle_infer.create_predictor(config)
        self.input_name = self._predictor.get_input_names()[0]
        self.output_names = list(self._predictor.get_output_names())
        self._first_run = True
        if self.model.old_program:
            self._check_output()

    def _check_output(self) -> None:
        """Run one blank line at the nominal shape: a recognizer outputs ``[N, T, classes]``."""
        program = self.model.program
        if program is None:  # not reached: old_program is set and missing() requires the program
            raise ModelDirError(f"model dir '{self.model.folder}': no Paddle program to check")
        shape = [1] + self.spec.image_shape
        try:
            out = self._run(np.zeros(shape, np.float32))
        except Exception as exc:  # noqa: BLE001 - Paddle raises many kinds; the file is what is wrong
            why = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
            raise ModelDirError(
                f"'{program}': a blank text line {shape} does not run through it ({why}); "
                "expected a text recognizer of that --image_shape"
            ) from None
        classes = check_recognizer_output([list(out.shape)], program)
        if self.spec.raw is None:  # the dictionary came from --dict, not from an inference.yml
            check_class_count(self.spec.character_list, classes, program, self.spec.source)

    def _configure_gpu(self, config: Any, gpu_mem_mb: int) -> None:
        if not paddle.is_compiled_with_cuda():
            raise BackendError(
                f"backend '{self.backend}': use_gpu needs a CUDA build of Paddle (installed: paddlepaddle "
                f"{paddle.__version__} for CPU); install paddlepaddle-gpu or run on CPU"
            )
        if self.precision != "fp32":
            raise self._unsupported(f"precision {self.precision!r} is CPU-only here; use fp32 on GPU")
        config.enable_use_gpu(int(gpu_mem_mb), 0)

    def _configure_cpu(self, config: Any) -> None:
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
            if not (cpu_has_bf16() and paddle_core.supports_bfloat16()):
                raise self._unsupported(BF16_NEEDS + cpu_description())
            config.enable_onednn_bfloat16()
            # Paddle 3.3: with BF16 on, a Conv1D (unsqueeze + conv2d; VisionLAN's feed-forward) whose
            # unsqueeze this pass folds into the op before it fails with "The input of Op(Conv) should
            # be a 4-D or 5-D Tensor ... shape is [-1, C, L]"; without the pass it runs. FP32 keeps it.
            config.delete_pass(BF16_BROKEN_PASS)

    def _predict(self, images: np.ndarray) -> None:
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

    def _fetch(self, name: str) -> np.ndarray:
        return np.asarray(self._predictor.get_output_handle(name).copy_to_cpu(), dtype=np.float32)

    def _run(self, images: np.ndarray) -> np.ndarray:
        self._predict(images)
        return self._fetch(self.output_names[self.text_output])

    def _run_all(self, images: np.ndarray) -> list[np.ndarray]:
        self._predict(images)
        return [self._fetch(name) for name in self.output_names]

    def info(self) -> dict[str, Any]:
        return dict(
            super().info(),
            onednn=self.use_onednn,
            ir_optim=True,
            bf16_native=self.bf16_fast if self.precision == "bf16" else None,
        )


@RUNTIMES.register("paddle-nomkl")
class PaddleNoMKLRuntime(PaddleRuntime):
    """Paddle Inference with oneDNN off (the plain CPU kernels); same arguments as :class:`PaddleRuntime`."""

    backend = "paddle-nomkl"

    @classmethod
    def is_installed(cls) -> bool:
        return True  # Paddle is a dependency of this package

    def __init__(
        self,
        model_dir: StrPath,
        precision: str = "fp32",
        cpu_threads: int | None = None,
        use_gpu: bool = False,
        use_onednn: bool = False,
        **options: Any,
    ) -> None:
        super().__init__(model_dir, precision, cpu_threads, use_gpu, use_onednn=False, **options)
