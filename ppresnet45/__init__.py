"""ppresnet45: a ResNet45 backbone family and the tools around it for PaddleOCR-style text recognition.

``import ppresnet45`` is cheap: it loads neither Paddle nor OpenCV. The registries import
their built-in components (and the plugins declared under the ``ppresnet45.plugins``
entry-point group) the first time they are asked (:mod:`.registry`), and the names below
that need Paddle (``ResNet45``, ``build_model``, ...) are imported on first access.
"""

import os
import warnings

# The one place Paddle's logging is set up (every import of Paddle by ppresnet45 comes after
# this): its C++ INFO lines off unless the user asked for them, and its import-time warning
# that the C++-extension builder finds no ccache (ppresnet45 builds no extensions) ignored.
os.environ.setdefault("GLOG_minloglevel", "2")
warnings.filterwarnings("ignore", message="No ccache found")

from .errors import ConfigError, DataError, ModelDirError, PPResNetError, RegistryError  # noqa: E402 - after the logging setup above
from .registry import (  # noqa: E402 - after the logging setup above
    ALL_REGISTRIES,
    BACKBONES,
    DATA_TRANSFORMS,
    DATASETS,
    ENTRY_POINT_GROUP,
    HEADS,
    LOSSES,
    LR_SCHEDULERS,
    METRICS,
    NECKS,
    OPTIMIZERS,
    POSTPROCESS,
    RUNTIMES,
    TRANSFORMS,
    Registry,
    load_plugins,
)
from .utils.lazy import lazy_exports  # noqa: E402 - after the logging setup above
from .version import __version__  # noqa: E402 - after the logging setup above

# name -> module that defines it, imported on first access (PEP 562)
_LAZY = {
    "load_config": "config",
    **dict.fromkeys(("RecModel", "build_model", "count_macs", "count_parameters", "model_summary"), "modeling"),
    **dict.fromkeys(
        ("BasicBlock", "Bottleneck", "ClassicBasicBlock", "ResNet", "ResNet18", "ResNet45", "ResNet50"),
        "modeling.backbones",
    ),
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())


def list_backbones():
    """Names of all registered backbones (built-ins and plugins), sorted."""
    load_plugins()
    return BACKBONES.names()


def build_backbone(cfg):
    """Build a backbone from ``{"name": "ResNet45", **kwargs}``."""
    return BACKBONES.build(cfg)


__all__ = [
    "ALL_REGISTRIES",
    "BACKBONES",
    "DATASETS",
    "DATA_TRANSFORMS",
    "ENTRY_POINT_GROUP",
    "HEADS",
    "LOSSES",
    "LR_SCHEDULERS",
    "METRICS",
    "NECKS",
    "OPTIMIZERS",
    "POSTPROCESS",
    "RUNTIMES",
    "TRANSFORMS",
    "BasicBlock",
    "Bottleneck",
    "ClassicBasicBlock",
    "ConfigError",
    "DataError",
    "ModelDirError",
    "PPResNetError",
    "RecModel",
    "Registry",
    "RegistryError",
    "ResNet",
    "ResNet18",
    "ResNet45",
    "ResNet50",
    "__version__",
    "build_backbone",
    "build_model",
    "count_macs",
    "count_parameters",
    "list_backbones",
    "load_config",
    "load_plugins",
    "model_summary",
]
