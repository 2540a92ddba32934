"""Models: backbones, necks, heads and the recognition model, with their losses, decoders and metrics.

Each part registers itself when its registry is first asked (:mod:`ppresnet45.registry`);
the names below are imported on first access, so the decoders and metrics (numpy only,
what inference uses) do not load Paddle.
"""

from ..utils.lazy import lazy_exports

_LAZY = {
    **dict.fromkeys(("RecModel", "build_model", "resolve_architecture"), "model"),
    **dict.fromkeys(("count_macs", "count_parameters", "format_summary", "model_summary"), "summary"),
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())


__all__ = [
    "RecModel",
    "build_model",
    "count_macs",
    "count_parameters",
    "format_summary",
    "model_summary",
    "resolve_architecture",
]
