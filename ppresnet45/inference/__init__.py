"""Run exported models.

:class:`Recognizer` (:mod:`.api`) is the one recognition entry point: the CLI, the API
(:func:`recognize`) and larger-scale engines call it. :class:`InferenceSpec` reads (and the export writes) an export's ``inference.yml``;
:func:`create_runtime` opens an export directory with one of the backends registered in
:data:`ppresnet45.registry.RUNTIMES` (:func:`available_backends` lists the usable ones);
:class:`TextRecognizer` turns image files or arrays into text with one of them. What differs
between model families (CTC, ABINet, VisionLAN: pre-processing, the text output's layout)
is in :mod:`.families`; the pre-processing itself in :mod:`.preprocess`.
"""

from .api import Recognizer, RunSummary, recognize
from .auto import AUTO, choose_backend
from .model_dir import (
    CONFIG_FILE,
    MODEL_FILE,
    ONNX_FILE,
    PARAMS_FILE,
    REPORT_FILE,
    REQUIRED_FILES,
    STATE_DICT_FILE,
    check_model_dir,
)
from .recognizer import TextRecognizer, score_against_labels
from .runtime import (
    BACKENDS,
    PRECISIONS,
    BackendError,
    Runtime,
    UnknownBackendError,
    available_backends,
    backend_names,
    create_runtime,
    default_cpu_threads,
)
from .spec import MAX_WIDTH_RATIO, InferenceSpec, default_max_width, load_inference_config

__all__ = [
    "AUTO",
    "BACKENDS",
    "CONFIG_FILE",
    "MAX_WIDTH_RATIO",
    "MODEL_FILE",
    "ONNX_FILE",
    "PARAMS_FILE",
    "PRECISIONS",
    "REPORT_FILE",
    "REQUIRED_FILES",
    "STATE_DICT_FILE",
    "BackendError",
    "InferenceSpec",
    "Recognizer",
    "RunSummary",
    "Runtime",
    "TextRecognizer",
    "UnknownBackendError",
    "available_backends",
    "backend_names",
    "check_model_dir",
    "choose_backend",
    "create_runtime",
    "default_cpu_threads",
    "default_max_width",
    "load_inference_config",
    "recognize",
    "score_against_labels",
]
