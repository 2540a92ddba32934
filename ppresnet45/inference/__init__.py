"""Run exported models: :func:`create_runtime` opens an export directory with one of the
backends listed by :func:`available_backends`; :func:`load_inference_config` reads its
``inference.yml``."""

from .runtime import (
    BACKENDS,
    CONFIG_FILE,
    MODEL_FILE,
    ONNX_FILE,
    PARAMS_FILE,
    PRECISIONS,
    REPORT_FILE,
    STATE_DICT_FILE,
    BackendError,
    Runtime,
    available_backends,
    create_runtime,
    default_cpu_threads,
    load_inference_config,
)

__all__ = [
    "BACKENDS",
    "PRECISIONS",
    "CONFIG_FILE",
    "MODEL_FILE",
    "PARAMS_FILE",
    "ONNX_FILE",
    "REPORT_FILE",
    "STATE_DICT_FILE",
    "BackendError",
    "Runtime",
    "available_backends",
    "create_runtime",
    "default_cpu_threads",
    "load_inference_config",
]
