"""PaddleOCR-style YAML configs: load, apply ``-o Section.key=value`` overrides, validate.

A config is a plain dict with PaddleOCR's sections (Global, Architecture, Loss,
Optimizer, PostProcess, Metric, Train, Eval). Every error names the file and key path.
"""

from __future__ import annotations

import copy
import difflib
import logging
import os
import re
from typing import IO, Any

import yaml

from .config_schema import GLOBAL_KEYS, SECTIONS, check_keys, known_override
from .errors import ConfigError

logger = logging.getLogger(__name__)

# The configs and dictionaries shipped inside the package (``configs/`` at the repo root links here).
PACKAGE_CONFIG_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "configs")

# Known keys and their expected types: Global's from the one schema (config_schema), plus the
# fixed keys of Architecture and the components' names. An override may add a known key the
# file does not set; any other new key is rejected as a probable typo.
SCHEMA: dict[str, tuple[type, ...]] = {
    **{f"Global.{key}": types for key, types in GLOBAL_KEYS.items()},
    "Architecture.model_type": (str,),
    "Architecture.algorithm": (str,),
    "Architecture.in_channels": (int,),
    "Architecture.Backbone": (dict,),
    "Architecture.Backbone.name": (str,),
    "Architecture.Neck": (dict, type(None)),
    "Architecture.Head": (dict,),
    "Architecture.Head.name": (str,),
    "Architecture.Transform": (dict, type(None)),
    "Loss.name": (str,),
    "PostProcess.name": (str,),
    "Metric.name": (str,),
    "Optimizer.name": (str,),
}
_TYPE_NAMES = {
    int: "int",
    float: "float",
    str: "string",
    bool: "bool",
    list: "list",
    dict: "mapping",
    type(None): "null",
}


class _Loader(yaml.SafeLoader):
    """SafeLoader that also reads ``1e-3`` / ``5E+4`` as floats (YAML 1.1 wants ``1.0e-3``),
    so learning rates written the usual way are numbers."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def _yaml_load(text: str | IO[str]) -> Any:
    return yaml.load(text, Loader=_Loader)


def _type_text(types: tuple[type, ...]) -> str:
    return " or ".join(_TYPE_NAMES.get(t, t.__name__) for t in types)


def read_yaml_file(
    path: str | os.PathLike[str], error: type[Exception] = ConfigError, what: str = "config file"
) -> Any:
    """The parsed YAML of ``path`` (``1e-3`` reads as a float); a missing file, a syntax error
    or a file that is not UTF-8 raises ``error`` with one line naming the file (and line)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise error(f"{what} '{path}' not found")
    try:
        with open(path, encoding="utf-8") as f:
            return _yaml_load(f)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else path
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise error(f"{where}: YAML syntax error: {problem}") from None
    except UnicodeDecodeError:
        raise error(f"{what} '{path}' is not UTF-8 text") from None


def _read_yaml(path: str | os.PathLike[str]) -> dict[str, Any]:
    data = read_yaml_file(path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of sections at the top level, got {type(data).__name__}")
    return data


def parse_override(text: str) -> tuple[list[str], Any]:
    """Split ``"A.b.c=value"`` into (["A", "b", "c"], parsed value); the value is read as YAML."""
    if "=" not in text:
        raise ConfigError(f"override '{text}': expected Section.key=value")
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key or any(part == "" for part in key.split(".")):
        raise ConfigError(f"override '{text}': expected Section.key=value")
    try:
        value = _yaml_load(raw) if raw.strip() != "" else ""
    except yaml.YAMLError:
        value = raw  # not valid YAML: keep it as a plain string
    return key.split("."), value


def apply_override(config: dict[str, Any], text: str) -> None:
    """Apply one ``Section.key=value`` override in place.

    The key path must exist in the config, be a known key (see ``SCHEMA``), or be an
    argument of a named component (e.g. ``Architecture.Backbone.strides``, checked when
    the component is built). Integer parts index lists (``Train.dataset.transforms.2``).
    """
    parts, value = parse_override(text)
    node: Any = config
    for depth, part in enumerate(parts[:-1]):
        path = ".".join(parts[: depth + 1])
        if isinstance(node, list):
            if not part.lstrip("-").isdigit() or not -len(node) <= int(part) < len(node):
                raise ConfigError(f"override '{text}': {path}: no list item {part} (list has {len(node)})")
            node = node[int(part)]
            continue
        if not isinstance(node, dict):
            raise ConfigError(f"override '{text}': {'.'.join(parts[:depth])} is not a mapping")
        if part not in node:
            if depth == 0 and part in SECTIONS:
                node[part] = {}
            else:
                raise ConfigError(f"override '{text}': key '{path}' does not exist in the config")
        node = node[part]
    leaf, path = parts[-1], ".".join(parts)
    if isinstance(node, list):
        if not leaf.lstrip("-").isdigit() or not -len(node) <= int(leaf) < len(node):
            raise ConfigError(f"override '{text}': {path}: no list item {leaf} (list has {len(node)})")
        node[int(leaf)] = value
        return
    if not isinstance(node, dict):
        raise ConfigError(f"override '{text}': {'.'.join(parts[:-1])} is not a mapping")
    if leaf not in node and path not in SCHEMA and not known_override(config, parts):
        close = difflib.get_close_matches(leaf, [str(k) for k in node], n=1, cutoff=0.6)
        hint = f" (closest known key: '{'.'.join(parts[:-1] + [close[0]])}')" if close else ""
        raise ConfigError(f"override '{text}': key '{path}' does not exist in the config{hint}")
    node[leaf] = value


def validate_config(config: dict[str, Any], source: str = "config") -> dict[str, Any]:
    """Check sections and known keys' types; raise ConfigError naming the key path."""
    for section in ("Global", "Architecture"):
        if section not in config:
            raise ConfigError(f"{source}: missing section '{section}'")
    for section, body in config.items():
        if section in SECTIONS and body is not None and not isinstance(body, dict):
            raise ConfigError(f"{source}: {section}: expected a mapping, got {type(body).__name__}")
    for path, types in SCHEMA.items():
        node: Any = config
        found = True
        for part in path.split("."):
            if isinstance(node, dict) and part in node:
                node = node[part]
            else:
                found = False
                break
        if not found:
            continue
        ok = isinstance(node, types) and not (isinstance(node, bool) and bool not in types)
        if int in types and float in types and isinstance(node, bool):
            ok = False
        if not ok:
            raise ConfigError(f"{source}: {path}: expected {_type_text(types)}, got {type(node).__name__} {node!r}")
    shape = config.get("Global", {}).get("image_shape")
    if shape is not None:
        check_image_shape(shape, "Global.image_shape", source)
    image_shape_of(config, source)  # Global.image_shape and the transforms must agree
    arch = config["Architecture"]
    if not isinstance(arch.get("Backbone"), dict) or "name" not in arch["Backbone"]:
        raise ConfigError(f"{source}: Architecture.Backbone: expected a mapping with 'name' (e.g. {{name: ResNet45}})")
    return config


def packaged_configs() -> dict[str, tuple[str, str]]:
    """The configs shipped in the package: ``{name: (path, one-line summary)}``, the name being
    the file name without ``.yml`` and the summary the file's first comment line."""
    folder = os.path.join(PACKAGE_CONFIG_DIR, "rec")
    found = {}
    for entry in sorted(os.listdir(folder)):
        if entry.endswith(".yml"):
            path = os.path.join(folder, entry)
            with open(path, encoding="utf-8") as f:
                first = f.readline().strip()
            found[entry[: -len(".yml")]] = (path, first.lstrip("#").strip() if first.startswith("#") else "")
    return found


def find_config(name_or_path: str | os.PathLike[str]) -> str:
    """The config file that ``-c`` names: a path to a YAML file, else the name of a packaged
    config from anywhere: ``rec_resnet45_ctc``, ``rec_resnet45_ctc.yml`` or the checkout's path
    ``configs/rec/rec_resnet45_ctc.yml``. Any other missing path is an error, never a
    packaged file in its place; an unknown name is one line with the closest packaged name."""
    path = os.fspath(name_or_path)
    if os.path.isfile(path):
        return path
    packaged = packaged_configs()
    folder, base = os.path.split(path.replace("\\", "/"))
    name = base[: -len(".yml")] if base.endswith(".yml") else base
    if name in packaged and folder.replace(os.sep, "/").rstrip("/") in ("", "configs/rec", "./configs/rec"):
        return packaged[name][0]
    if folder:
        raise ConfigError(f"config file '{path}' not found")
    close = difflib.get_close_matches(name, list(packaged), n=1, cutoff=0.5)
    hint = f" (closest: '{close[0]}')" if close else ""
    raise ConfigError(f"config '{path}': not a file and not a packaged config{hint}; `ppresnet45 configs` lists them")


def load_config(path: str | os.PathLike[str], overrides: list[str] | dict[str, Any] | None = None) -> dict[str, Any]:
    """Load a YAML config, apply overrides and validate it.

    Args:
        path (str | os.PathLike): the YAML file, or the name of a packaged config
            (:func:`find_config`).
        overrides (list[str] | dict | None): ``["Global.epoch_num=10", ...]`` or a dict
            ``{"Global.epoch_num": 10}``.

    Returns:
        dict: the config as plain Python data.
    """
    path = find_config(path)
    config = _read_yaml(path)
    source = os.fspath(path)
    unused = check_keys(config, source)  # the file's own keys first: a typo there names the file alone
    config = merge_overrides(config, overrides)
    validate_config(config, source=source)
    if overrides:
        unused = check_keys(config, source + " with -o overrides")
    if unused:
        logger.info("%s: PaddleOCR keys accepted and not used by ppresnet45: %s", source, ", ".join(unused))
    _resolve_relative_paths(config, os.path.dirname(os.path.abspath(os.fspath(path))))
    return config


def _resolve_relative_paths(config: dict[str, Any], config_dir: str) -> None:
    """Make a relative ``Global.character_dict_path`` that does not exist from the working
    directory (PaddleOCR's convention) resolve against the config file's folder, so the
    shipped configs work from anywhere."""
    glob = config.get("Global") or {}
    dict_path = glob.get("character_dict_path")
    if isinstance(dict_path, str) and dict_path and not os.path.isabs(dict_path) and not os.path.exists(dict_path):
        candidate = os.path.normpath(os.path.join(config_dir, dict_path))
        if os.path.exists(candidate):
            glob["character_dict_path"] = candidate


def merge_overrides(config: dict[str, Any], overrides: list[str] | dict[str, Any] | None) -> dict[str, Any]:
    """Return a copy of ``config`` with overrides applied (list of strings or a dict)."""
    config = copy.deepcopy(config)
    if not overrides:
        return config
    if isinstance(overrides, dict):
        overrides = [
            f"{k}={yaml.safe_dump(v, default_flow_style=True).strip().removesuffix('...').strip()}"
            for k, v in overrides.items()
        ]
    for text in overrides:
        apply_override(config, text)
    return config


def save_config(config: dict[str, Any], path: str | os.PathLike[str]) -> None:
    """Write a config dict as YAML atomically."""
    from .utils.io import atomic_write_text

    atomic_write_text(path, yaml.safe_dump(config, sort_keys=False, allow_unicode=True))


# Sane bounds of a model input [C, H, W]: beyond them a typo, not an image.
MAX_IMAGE_CHANNELS = 64
MAX_IMAGE_SIDE = 8192


def check_image_shape(shape: Any, key: str, source: str = "config") -> list[int]:
    """Return ``shape`` as a list of 3 ints ``[C, H, W]`` (``1 <= C <= 64``, ``1 <= H, W <= 8192``);
    else raise a one-line :class:`ConfigError` naming ``key``."""
    ok = (
        isinstance(shape, (list, tuple))
        and len(shape) == 3
        and all(isinstance(v, int) and not isinstance(v, bool) for v in shape)
    )
    if ok:
        c, h, w = shape
        ok = 0 < c <= MAX_IMAGE_CHANNELS and 0 < h <= MAX_IMAGE_SIDE and 0 < w <= MAX_IMAGE_SIDE
    if not ok:
        raise ConfigError(
            f"{source}: {key}: expected [C, H, W] of positive ints (C <= {MAX_IMAGE_CHANNELS}, "
            f"H and W <= {MAX_IMAGE_SIDE}), got {shape!r}"
        )
    return list(shape)


def _transform_shape(config: dict[str, Any], source: str = "config") -> tuple[list[int], str] | None:
    """``(shape, key path)`` of the first ``image_shape`` among the Eval (else Train) data
    transforms (``RecResizeImg``, ``ABINetRecResizeImg``, ``VLRecResizeImg``, ...), or None.
    A malformed section on the way, or a malformed shape, is a :class:`ConfigError`."""
    for section in ("Eval", "Train"):
        transforms: Any = config
        path: list[str] = []
        for key, want in (
            (section, "a mapping"),
            ("dataset", "a mapping like {name: SimpleDataSet, ...}"),
            ("transforms", "a list of {Name: args} items"),
        ):
            transforms, path = transforms.get(key), path + [key]
            if transforms is None:
                break
            if not isinstance(transforms, list if key == "transforms" else dict):
                raise ConfigError(
                    f"{source}: {'.'.join(path)}: expected {want}, got {type(transforms).__name__} {transforms!r}"
                )
        if transforms is None:
            continue
        for index, op in enumerate(transforms):
            if not isinstance(op, dict):
                continue
            for name, args in op.items():
                if isinstance(args, dict) and args.get("image_shape") is not None:
                    where = f"{section}.dataset.transforms.{index}.{name}.image_shape"
                    return check_image_shape(args["image_shape"], where, source), where
    return None


def image_shape_of(config: dict[str, Any], source: str = "config") -> list[int]:
    """The model input ``[C, H, W]``.

    As in PaddleOCR, the resize transform of the Eval (else Train) pipeline is the truth:
    it is what the model is trained and evaluated on, so export and inference use it too.
    ``Global.image_shape`` is only a fallback for configs whose transforms do not say; where
    both are given they must agree, else a :class:`ConfigError` names both values.
    Without either: ``[Architecture.in_channels, 32, 128]``.
    """
    glob = config.get("Global") or {}
    glob_shape = glob.get("image_shape") if isinstance(glob, dict) else None
    if glob_shape is not None:
        glob_shape = check_image_shape(glob_shape, "Global.image_shape", source)
    found = _transform_shape(config, source)
    if found is not None:
        shape, where = found
        if glob_shape is not None and list(glob_shape) != shape:
            raise ConfigError(
                f"{source}: Global.image_shape {list(glob_shape)} disagrees with {where} {shape} (the transforms "
                f"decide the model input: change both, or drop Global.image_shape)"
            )
        return shape
    if glob_shape:
        return list(glob_shape)
    arch = config.get("Architecture") or {}
    in_channels = arch.get("in_channels", 3) if isinstance(arch, dict) else 3
    if isinstance(in_channels, bool) or not isinstance(in_channels, int) or not 0 < in_channels <= MAX_IMAGE_CHANNELS:
        raise ConfigError(
            f"{source}: Architecture.in_channels: expected the image channels, a positive int "
            f"<= {MAX_IMAGE_CHANNELS}, got {in_channels!r}"
        )
    return [in_channels, 32, 128]
