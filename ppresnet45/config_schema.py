"""The one schema of config keys: which keys a config may hold, and what an unknown one is.

Known keys come from two places and nowhere else:

* the ``Global`` keys ppresnet45 reads (:data:`GLOBAL_KEYS`, with their types) and the
  fixed keys of the other sections (:data:`SECTION_KEYS`);
* each registered class's constructor arguments, for every ``{name: X, ...}`` component
  (``Architecture.Backbone/Neck/Head/Transform``, ``Loss``, ``PostProcess``, ``Metric``,
  ``Optimizer`` and ``Optimizer.lr``, ``Train/Eval.dataset`` and each of its transforms).

PaddleOCR's configs carry keys that ppresnet45 accepts but does not use (:data:`PADDLEOCR_UNUSED`,
e.g. ``Global.debug``, ``Global.infer_mode``, ``Train.sampler``): they load, and are listed
once in a log line. A component whose name is not registered here (a PaddleOCR backbone we do
not ship) is not checked at load time: building it says "unknown Backbone" with the names
we have. Any other key stops the load with one line naming the file, the key path and the
closest known key.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Iterable
from typing import Any

from .errors import ConfigError

logger = logging.getLogger(__name__)

SECTIONS = ("Global", "Architecture", "Loss", "Optimizer", "PostProcess", "Metric", "Train", "Eval")

_INT = (int,)
_NUM = (int, float)
_STR = (str,)
_OPT_STR = (str, type(None))
_OPT_INT = (int, type(None))
_BOOL = (bool,)
_LIST = (list,)

# Global keys ppresnet45 reads, with the types they may have.
GLOBAL_KEYS: dict[str, tuple[type, ...]] = {
    "use_gpu": _BOOL,
    "epoch_num": _INT,
    "max_steps": _OPT_INT,
    "log_smooth_window": _INT,
    "print_batch_step": _INT,
    "save_model_dir": _STR,
    "save_epoch_step": _INT,
    "eval_batch_step": (int, list),
    "cal_metric_during_train": _BOOL,
    "pretrained_model": _OPT_STR,
    "checkpoints": _OPT_STR,
    "save_inference_dir": _OPT_STR,
    "use_visualdl": _BOOL,
    "infer_img": _OPT_STR,
    "character_dict_path": _OPT_STR,
    "use_space_char": _BOOL,
    "max_text_length": _INT,
    "image_shape": _LIST,
    "seed": _INT,
    "distributed": _BOOL,
    "save_res_path": _OPT_STR,
    "use_onednn": _BOOL,
    "to_static": _BOOL,
    "drop_unknown_chars": _BOOL,
    "cpu_threads": _OPT_INT,
    "omp_blocktime": (int, str, type(None)),  # ms, "auto" or null: training/settings.omp_blocktime_of
    "model_name": _OPT_STR,
}

# Keys of the other sections that are not a registered class's arguments.
SECTION_KEYS: dict[str, tuple[str, ...]] = {
    "Architecture": ("model_type", "algorithm", "in_channels", "Transform", "Backbone", "Neck", "Head"),
    "Train": ("dataset", "loader"),
    "Eval": ("dataset", "loader"),
    "Train.loader": ("batch_size_per_card", "shuffle", "drop_last", "num_workers", "use_shared_memory"),
    "Eval.loader": ("batch_size_per_card", "shuffle", "drop_last", "num_workers", "use_shared_memory"),
    "Optimizer.regularizer": ("name", "factor"),
}

# Keys that PaddleOCR's recognition configs carry and ppresnet45 accepts without using them
# (PaddleOCR 2.x/3.x configs/rec/*.yml: debugging, AMP, other devices, its sampler, wandb).
PADDLEOCR_UNUSED: dict[str, tuple[str, ...]] = {
    "": ("wandb",),
    "Global": (
        "debug",
        "infer_mode",
        "character_type",
        "training_step",
        "calc_epoch_interval",
        "d2s_train_image_shape",
        "use_wandb",
        "use_tensorboard",
        "use_amp",
        "amp_level",
        "amp_dtype",
        "amp_custom_black_list",
        "amp_custom_white_list",
        "scale_loss",
        "use_dynamic_loss_scaling",
        "use_sync_bn",
        "use_xpu",
        "use_npu",
        "use_mlu",
        "use_gcu",
        "uniform_output_enabled",
        "return_word_box",
        "log_ranks",
        "profiler_options",
        "find_unused_parameters",
        "export_with_pir",
        "save_inference_dir_pir",
    ),
    "Train": ("sampler",),
    "Eval": ("sampler",),
}

# Where the components sit: key path -> registry name in ppresnet45.registry.
COMPONENTS: dict[str, str] = {
    "Architecture.Transform": "TRANSFORMS",
    "Architecture.Backbone": "BACKBONES",
    "Architecture.Neck": "NECKS",
    "Architecture.Head": "HEADS",
    "Loss": "LOSSES",
    "PostProcess": "POSTPROCESS",
    "Metric": "METRICS",
    "Optimizer": "OPTIMIZERS",
    "Optimizer.lr": "LR_SCHEDULERS",
    "Train.dataset": "DATASETS",
    "Eval.dataset": "DATASETS",
}
# Keys a component's section holds besides its class's arguments (read by the builder itself).
_COMPONENT_EXTRA = {"Optimizer": ("name", "lr"), "Train.dataset": ("name",), "Eval.dataset": ("name",)}


def unused_paddleocr_keys(config: dict) -> list[str]:
    """The key paths of ``config`` that PaddleOCR uses and ppresnet45 accepts unused."""
    found = []
    for section, keys in PADDLEOCR_UNUSED.items():
        node = config if section == "" else config.get(section)
        if isinstance(node, dict):
            found += [f"{section}.{k}" if section else k for k in keys if k in node]
    return found


def _closest(key: str, known: Iterable[str], prefix: str) -> str:
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    if close:
        return f" (closest known key: '{prefix}{close[0]}')"
    known = sorted(known)
    shown = ", ".join(known[:12]) + (", ..." if len(known) > 12 else "")
    return f" (known keys here: {shown})" if known else ""


def _unknown(source: str, path: str, key: str, known: Iterable[str]) -> ConfigError:
    prefix = f"{path}." if path else ""
    return ConfigError(f"{source}: unknown key '{prefix}{key}'{_closest(key, known, prefix)}")


def _check_mapping(node: Any, path: str, known: Iterable[str], source: str) -> None:
    if not isinstance(node, dict):
        return
    known = set(known) | set(PADDLEOCR_UNUSED.get(path, ()))
    for key in node:
        if key not in known:
            raise _unknown(source, path, str(key), known)


def _registry(name: str) -> Any:
    from . import registry

    return getattr(registry, name)


def _component_arguments(path: str, node: dict) -> tuple[list[str], bool] | None:
    """(accepted keys, takes any) of the component at ``path``, or None when its name is
    not registered (building it reports that)."""
    from .registry import accepted_arguments

    reg = _registry(COMPONENTS[path])
    name = node.get("name", "Adam" if path == "Optimizer" else None)
    if not isinstance(name, str) or name not in reg:
        return None
    names, var_kw = accepted_arguments(reg.get(name))
    return ["name", *names, *_COMPONENT_EXTRA.get(path, ())], var_kw


def _check_component(node: Any, path: str, source: str) -> None:
    if not isinstance(node, dict):
        return
    if path == "Optimizer.lr" and "name" not in node:
        node = {"name": "Const", **node}
    accepted = _component_arguments(path, node)
    if accepted is None or accepted[1]:
        return
    _check_mapping(node, path, accepted[0], source)


def _check_transforms(ops: Any, path: str, source: str) -> None:
    from .registry import DATA_TRANSFORMS, accepted_arguments

    if not isinstance(ops, list):
        return
    for index, item in enumerate(ops):
        if not isinstance(item, dict) or len(item) != 1:
            continue  # the dataset builder names the malformed item
        ((name, args),) = item.items()
        if not isinstance(args, dict) or name not in DATA_TRANSFORMS:
            continue
        names, var_kw = accepted_arguments(DATA_TRANSFORMS.get(name))
        if not var_kw:
            _check_mapping(args, f"{path}.{index}.{name}", [*names, "name"], source)


def check_keys(config: dict, source: str = "config") -> list[str]:
    """Raise a one-line :class:`ConfigError` on the first unknown key of ``config``.

    Returns:
        list[str]: the PaddleOCR keys present that ppresnet45 accepts without using.
    """
    _check_mapping(config, "", SECTIONS, source)
    _check_mapping(config.get("Global"), "Global", GLOBAL_KEYS, source)
    for path, keys in SECTION_KEYS.items():
        node: Any = config
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        _check_mapping(node, path, keys, source)
    for path in COMPONENTS:
        section, _, sub = path.partition(".")
        node = config.get(section)
        if sub:
            node = node.get(sub) if isinstance(node, dict) else None
        _check_component(node, path, source)
    for mode in ("Train", "Eval"):
        dataset = (config.get(mode) or {}).get("dataset") if isinstance(config.get(mode), dict) else None
        if isinstance(dataset, dict):
            _check_transforms(dataset.get("transforms"), f"{mode}.dataset.transforms", source)
    return unused_paddleocr_keys(config)


def known_override(config: dict, parts: list[str]) -> bool:
    """Whether an override may add the key ``parts`` that ``config`` does not hold yet: a
    Global key we read, a fixed section key, or an argument of the component it sits in."""
    path = ".".join(parts)
    parent = ".".join(parts[:-1])
    leaf = parts[-1]
    if len(parts) == 1:
        return leaf in SECTIONS
    if parent == "Global":
        return leaf in GLOBAL_KEYS or leaf in PADDLEOCR_UNUSED["Global"]
    if leaf in SECTION_KEYS.get(parent, ()) or leaf in PADDLEOCR_UNUSED.get(parent, ()):
        return True
    if parent in COMPONENTS:
        node: Any = config
        for part in parts[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            accepted = _component_arguments(parent, node)
            return accepted is None or accepted[1] or leaf in accepted[0]
    return path.startswith(("Train.dataset.transforms.", "Eval.dataset.transforms."))
