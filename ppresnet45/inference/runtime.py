"""Run an exported model: one small interface over Paddle Inference (``paddle``,
``paddle-nomkl``), ONNX Runtime (``onnxruntime``), OpenVINO (``openvino``) and the eager
dygraph model (``eager``, a reference, not a deployment path).

Every backend is a :class:`Runtime` subclass (:mod:`.runtime_base`) registered in
:data:`ppresnet45.registry.RUNTIMES` under its ``--backend`` name; :func:`create_runtime`
looks the name up there, so a plugin package adds a backend with
``@RUNTIMES.register("name")`` on its own subclass. The built-ins live in
:mod:`.paddle_runtime`, :mod:`.onnx_runtimes` and :mod:`.eager_runtime`, each imported only
when one of its backends is looked up (the registry's ``lazy`` table), so an OpenVINO run
never loads Paddle. A runtime returns the model's text output (probabilities ``[N, T, K]``,
or VisionLAN's time-major logits: see :mod:`.runtime_base`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import RegistryError
from ..registry import RUNTIMES
from ..utils.lazy import lazy_exports
from .formats import open_model
from .runtime_base import PRECISIONS, BackendError, Runtime, UnknownBackendError, default_cpu_threads

if TYPE_CHECKING:
    from .._types import StrPath

__all__ = [
    "BACKENDS",
    "PRECISIONS",
    "BackendError",
    "Runtime",
    "UnknownBackendError",
    "available_backends",
    "backend_names",
    "create_runtime",
    "default_cpu_threads",
]
# The built-in runtime classes stay importable from here, loaded on first access.
_LAZY_CLASSES = {
    "PaddleRuntime": "paddle_runtime",
    "PaddleNoMKLRuntime": "paddle_runtime",
    "ONEDNN_CACHE_CAPACITY": "paddle_runtime",
    "OnnxRuntime": "onnx_runtimes",
    "OpenVINORuntime": "onnx_runtimes",
    "EagerRuntime": "eager_runtime",
}
BUILTIN_ORDER = tuple(RUNTIMES.lazy)  # deployment backends first, eager last


__getattr__, __dir__ = lazy_exports(__package__, _LAZY_CLASSES, globals())


def backend_names() -> tuple[str, ...]:
    """Names of the registered runtimes: the built-ins (deployment backends first, ``eager``
    last), then plugins' by name. Called again, it includes runtimes registered since.
    Listing imports no backend."""
    order = {name: i for i, name in enumerate(BUILTIN_ORDER)}
    return tuple(sorted(RUNTIMES.names(), key=lambda n: (order.get(n, len(order)), n)))


BACKENDS = backend_names()  # the runtimes registered when this module was imported


def available_backends(model_dir: StrPath | None = None) -> list[str]:
    """Backends usable in this environment (a subset of :func:`backend_names`, in its order).

    Args:
        model_dir (str | ModelFiles | None): when given, also drop backends that cannot run
            this model (``onnxruntime`` / ``openvino`` need an ONNX file, ``paddle`` a Paddle
            program, ``eager`` ``model.pdparams``).
    """
    out = [name for name in backend_names() if RUNTIMES.get(name).is_installed()]
    if model_dir is not None:
        model = open_model(model_dir)
        out = [b for b in out if RUNTIMES.get(b).missing(model) is None]
    return out


def create_runtime(
    model_dir: StrPath,
    backend: str = "paddle",
    precision: str = "fp32",
    cpu_threads: int | None = None,
    use_gpu: bool = False,
    use_onednn: bool = True,
    **kwargs: Any,
) -> Runtime:
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
    return cls(
        model_dir, precision=precision, cpu_threads=cpu_threads, use_gpu=use_gpu, use_onednn=use_onednn, **kwargs
    )
