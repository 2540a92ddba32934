"""ppresnet45: a ResNet45 backbone family and the tools around it for PaddleOCR-style text recognition.

``import ppresnet45`` registers every built-in component and loads plugins declared under
the ``ppresnet45.plugins`` entry-point group.
"""

import warnings

# Paddle warns at import that the C++-extension builder finds no ccache; ppresnet45 builds
# no extensions, so the line is only noise on every command.
warnings.filterwarnings("ignore", message="No ccache found")

# Importing these registers every built-in component: models, losses, decoders and metrics,
# data transforms and datasets, optimizers and lr schedules, inference runtimes.
from . import data, inference, modeling  # noqa: F401,E402
from .training import optim as _optim  # noqa: F401,E402
from .config import load_config  # noqa: E402
from .version import __version__  # noqa: E402
from .errors import ConfigError, DataError, ModelDirError, PPResNetError, RegistryError  # noqa: E402
from .modeling import RecModel, build_model, count_macs, count_parameters, model_summary  # noqa: E402
from .modeling.backbones import (  # noqa: E402
    BasicBlock,
    Bottleneck,
    ClassicBasicBlock,
    ResNet,
    ResNet18,
    ResNet45,
    ResNet50,
)
from .registry import (  # noqa: E402
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


def list_backbones():
    """Names of all registered backbones (built-ins and plugins), sorted."""
    load_plugins()
    return BACKBONES.names()


def build_backbone(cfg):
    """Build a backbone from ``{"name": "ResNet45", **kwargs}``."""
    return BACKBONES.build(cfg)


load_plugins()

__all__ = [
    "__version__",
    "ResNet",
    "ResNet45",
    "ResNet18",
    "ResNet50",
    "BasicBlock",
    "ClassicBasicBlock",
    "Bottleneck",
    "RecModel",
    "build_model",
    "build_backbone",
    "list_backbones",
    "load_config",
    "count_macs",
    "count_parameters",
    "model_summary",
    "Registry",
    "load_plugins",
    "ENTRY_POINT_GROUP",
    "BACKBONES",
    "NECKS",
    "HEADS",
    "LOSSES",
    "POSTPROCESS",
    "METRICS",
    "DATASETS",
    "TRANSFORMS",
    "DATA_TRANSFORMS",
    "OPTIMIZERS",
    "LR_SCHEDULERS",
    "RUNTIMES",
    "ALL_REGISTRIES",
    "PPResNetError",
    "ConfigError",
    "RegistryError",
    "DataError",
    "ModelDirError",
]
