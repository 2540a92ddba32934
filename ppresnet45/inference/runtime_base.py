"""The base of every runtime: input checks, output selection and the common attributes.

A runtime takes a float32 ``[N, C, H, W]`` batch (already resized and normalised, see
:mod:`.preprocess`) and returns the model's *text output* as a float32 numpy array: the
output the export's decoder reads (:mod:`.families`): probabilities ``[N, T, K]`` for CTC
and ABINet, time-major logits ``[T, N, K]`` for VisionLAN. :meth:`Runtime.run_all`
returns every output of the model (VisionLAN: the logits and the features). With a dynamic
width, consecutive calls may change both ``N`` and ``W``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ..errors import ModelDirError, PPResNetError, RegistryError
from ..utils.cpu import available_cores
from .families import select_output
from .formats import open_model

if TYPE_CHECKING:
    from .._types import StrPath
    from .formats import ModelFiles

PRECISIONS = ("fp32", "bf16", "int8")  # int8: the model `ppresnet45 quantize` kept
# The one-line refusal of bf16 on a CPU without it (the CPU's description follows).
BF16_NEEDS = "precision 'bf16' needs a CPU with AVX512-BF16 or AMX; this one has neither: "


class BackendError(PPResNetError, RuntimeError):
    """A backend is unavailable here or does not support the requested settings."""


class UnknownBackendError(BackendError, RegistryError):
    """No runtime is registered under the requested backend name (the registry's message)."""


def default_cpu_threads() -> int:
    """The number of CPU cores this process may use (the default for ``cpu_threads``)."""
    return available_cores()


class Runtime:
    """Base class: input checks and the common attributes of every backend.

    Subclasses are constructed as ``cls(model, precision=, cpu_threads=, use_gpu=,
    use_onednn=, **options)`` and implement :meth:`_run_all` (every output) and, when
    fetching one output is cheaper, :meth:`_run` (the text output); a plugin may implement
    :meth:`_run` alone. Options they do not know should be accepted and ignored (``**_``).

    Class attributes:
        backend (str): the registered name.
        required_files (dict): files the backend needs in the model's folder, mapped to how
            to get them (for :meth:`missing`, which a backend may override).
        holds_gil (bool): ``run`` keeps the GIL, so pre-processing in a thread cannot overlap it.

    Attributes:
        precision (str): ``"fp32"``, ``"bf16"`` or ``"int8"``.
        input_name (str): the model's input tensor name.
        output_names (list[str]): the model's output names (where the backend tells).
        model (ModelFiles): the model's files and spec (:func:`.formats.open_model`; a path
            given to the constructor is opened with it).
        model_dir (str): the model's folder.
        spec (InferenceSpec): how to run it (an export's ``inference.yml``).
        config (dict): the parsed ``inference.yml`` (``spec.raw``).
        input_shape (list[int]): ``[C, H, W]`` with ``W = -1`` for a dynamic width.
        dynamic_width (bool): whether any width is accepted.
        text_output (int): index of the text output among the model's outputs.
        cpu_threads (int): CPU threads the backend was configured with.
        use_gpu (bool): whether the backend runs on a GPU.
    """

    backend: str | None = None
    required_files: ClassVar[dict[str, str]] = {}
    holds_gil = False

    @classmethod
    def is_installed(cls) -> bool:
        """Whether this backend's libraries are importable here."""
        return True

    @classmethod
    def missing(cls, model: ModelFiles) -> str | None:
        """Why this backend cannot run ``model`` (a :class:`.formats.ModelFiles`): a one-line
        reason, or None when it can. Default: a file of :attr:`required_files` is missing."""
        for name, how in cls.required_files.items():
            if not os.path.isfile(os.path.join(model.folder, name)):
                return f"model dir '{model.folder}': {name} missing (backend '{cls.backend}' needs it; {how})"
        return None

    def __init__(
        self, model_dir: StrPath, precision: str = "fp32", cpu_threads: int | None = None, use_gpu: bool = False
    ) -> None:
        self.model = open_model(model_dir)
        self.model_dir = self.model.folder
        reason = type(self).missing(self.model)
        if reason:
            raise ModelDirError(reason)
        self.spec = self.model.spec
        self.config = self.spec.raw
        if precision not in PRECISIONS:
            raise BackendError(f"precision: expected one of {', '.join(PRECISIONS)}, got {precision!r}")
        if cpu_threads is not None and (
            isinstance(cpu_threads, bool) or not isinstance(cpu_threads, int) or cpu_threads < 1
        ):
            raise BackendError(f"cpu_threads: expected a positive int, got {cpu_threads!r}")
        self.precision = precision
        self.cpu_threads = cpu_threads or default_cpu_threads()
        self.use_gpu = bool(use_gpu)
        self.input_shape = self.spec.input_shape
        self.image_shape = self.spec.image_shape
        self.dynamic_width = self.spec.dynamic_width
        self.text_output = self.spec.output_layout.text_output
        self.input_name = "x"
        self.output_names: list[str] = []

    def _unsupported(self, what: str) -> BackendError:
        return BackendError(f"backend '{self.backend}': {what}")

    def _check_input(self, images: object) -> np.ndarray:
        if not isinstance(images, np.ndarray):
            raise TypeError(f"{self.backend} runtime: expected a numpy array [N, C, H, W], got {type(images).__name__}")
        if images.ndim != 4:
            raise ValueError(
                f"{self.backend} runtime: expected a 4-D batch [N, C, H, W], got shape {list(images.shape)}"
            )
        c, h, w = self.input_shape
        n, ic, ih, iw = images.shape
        if n < 1 or ic != c or ih != h or (w != -1 and iw != w) or iw < 1:
            want = f"[N, {c}, {h}, {'W' if w == -1 else w}]"
            raise ValueError(f"{self.backend} runtime: expected input {want}, got {list(images.shape)}")
        return np.ascontiguousarray(images, dtype=np.float32)

    def __call__(self, images: np.ndarray) -> np.ndarray:
        """Run one float32 ``[N, C, H, W]`` batch; returns the float32 text output (a fresh
        array, not a view of a backend buffer)."""
        return np.asarray(self._run(self._check_input(images)), dtype=np.float32)

    def run_all(self, images: np.ndarray) -> list[np.ndarray]:
        """Run one batch; returns every output of the model, as float32 arrays, in order."""
        return [np.asarray(o, dtype=np.float32) for o in self._run_all(self._check_input(images))]

    def _run(self, images: np.ndarray) -> np.ndarray:
        """The text output of one checked batch (default: picked from :meth:`_run_all`)."""
        return select_output(self._run_all(images), self.spec.postprocess)

    def _run_all(self, images: np.ndarray) -> list[np.ndarray]:
        """Every output of one checked batch (default: the text output alone)."""
        if type(self)._run is Runtime._run:  # pragma: no cover - a subclass must implement one
            raise NotImplementedError(f"{type(self).__name__} implements neither _run nor _run_all")
        return [self._run(images)]

    def info(self) -> dict[str, Any]:
        """A JSON-friendly description of the runtime's settings (for reports)."""
        return {
            "backend": self.backend,
            "precision": self.precision,
            "cpu_threads": self.cpu_threads,
            "use_gpu": self.use_gpu,
            "input_name": self.input_name,
            "input_shape": self.input_shape,
            "dynamic_width": self.dynamic_width,
            "outputs": list(self.output_names),
        }

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(model_dir={self.model_dir!r}, backend={self.backend!r}, "
            f"precision={self.precision!r})"
        )
