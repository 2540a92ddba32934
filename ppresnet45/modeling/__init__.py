"""Models: backbones, necks, heads and the recognition model. Importing registers them."""

from . import backbones, decoders, heads, losses, metrics, necks  # noqa: F401  (registration side effects)
from .model import RecModel, build_model, resolve_architecture
from .summary import count_macs, count_parameters, format_summary, model_summary

__all__ = ["RecModel", "build_model", "resolve_architecture", "count_macs", "count_parameters", "model_summary",
           "format_summary"]
