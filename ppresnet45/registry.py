"""Named registries and the one door to build things from config dicts.

A class or factory is registered with a decorator; configs name it by string::

    @BACKBONES.register()
    class ResNet(nn.Layer): ...

    BACKBONES.build({"name": "ResNet45", "in_channels": 3})

Registration is lazy, as MMEngine does it with ``locations``: a registry knows which
modules register its built-ins and imports them the first time it is asked (a lookup, a
listing), so ``import ppresnet45`` and the CLI stay cheap and do not load Paddle. The
runtimes go further: each name maps to its own module (``lazy``), so running OpenVINO
imports neither Paddle nor ONNX Runtime.

Out-of-tree packages add their own modules without editing ppresnet45 by declaring an
entry point in the group ``ppresnet45.plugins`` (see :data:`ENTRY_POINT_GROUP`). Each
entry point names a module (or a callable); it is imported once, when a registry first
loads its built-ins or, at the latest, when a lookup misses, and its import registers its
classes with the decorators below.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import logging
from collections.abc import Callable, Iterable, Mapping
from importlib import metadata
from typing import Any

from .errors import ConfigError, RegistryError

ENTRY_POINT_GROUP = "ppresnet45.plugins"

logger = logging.getLogger(__name__)
_loaded_entry_points: set[tuple[str, str]] = set()
_plugin_errors: list[str] = []


def load_plugins() -> list[str]:
    """Import the modules declared under the ``ppresnet45.plugins`` entry-point group.

    Entry points already imported are skipped, so calling this again is cheap and only
    picks up distributions that appeared since (e.g. installed while the process runs).
    An entry point may name a module (importing it registers its classes) or a callable
    (called once with no arguments). A plugin that fails to import is reported as a
    warning and never breaks the core.

    Returns:
        list[str]: names of the entry points loaded by this call.
    """
    loaded: list[str] = []
    try:
        eps = metadata.entry_points(group=ENTRY_POINT_GROUP)
    except TypeError:  # Python < 3.10 API
        eps = metadata.entry_points().get(ENTRY_POINT_GROUP, [])  # type: ignore[arg-type]  # the Python 3.9 API, typed for 3.10+
    for ep in eps:
        key = (ep.name, ep.value)
        if key in _loaded_entry_points:  # also skips one distribution found twice on sys.path
            continue
        _loaded_entry_points.add(key)
        try:
            obj = ep.load()
            if callable(obj) and not inspect.isclass(obj) and not inspect.ismodule(obj):
                obj()
            loaded.append(ep.name)
        except Exception as exc:  # noqa: BLE001 - a broken plugin is reported, not fatal
            msg = f"plugin entry point '{ep.name} = {ep.value}' failed to load: {exc}"
            _plugin_errors.append(msg)
            logger.warning(msg)
    return loaded


class Registry:
    """A name → class (or factory) table for one kind of component.

    Args:
        kind (str): human name of what is stored, used in messages ("Backbone").
        section (str | None): the config key path of the section built from, used in
            messages ("Architecture.Backbone"); None where it varies (a caller that knows it
            prefixes the message, e.g. "Eval.dataset: ...").
    """

    def __init__(
        self,
        kind: str,
        section: str | None = None,
        locations: Iterable[str] = (),
        lazy: Mapping[str, str] | None = None,
    ) -> None:
        self.kind = kind
        self.section = section
        self.locations = tuple(locations)  # modules whose import registers the built-ins
        self.lazy = dict(lazy or {})  # name -> the module that registers it (imported on its lookup)
        self._items: dict[str, Any] = {}
        self._located = False

    def _load_locations(self) -> None:
        """Import the built-ins' modules (and the plugins) once."""
        if self._located:
            return
        self._located = True
        for module in self.locations:
            importlib.import_module(module)
        load_plugins()

    def register(self, name: str | None = None, obj: Any = None) -> Any:
        """Register ``obj`` under ``name`` (default: its ``__name__``).

        Usable as ``@REG.register()``, ``@REG.register("Alias")`` or
        ``REG.register("Name", obj)``. Registering a second, different object under a
        name that is taken raises :class:`RegistryError`.
        """
        if obj is not None:
            self._add(name or obj.__name__, obj)
            return obj

        def deco(o: Any) -> Any:
            self._add(name or o.__name__, o)
            return o

        return deco

    def _add(self, name: str, obj: Any) -> None:
        old = self._items.get(name)
        if old is not None and old is not obj:
            where = getattr(old, "__module__", "?")
            raise RegistryError(
                f"{self.kind} '{name}' is already registered (by {where}.{getattr(old, '__qualname__', old)}); "
                f"choose another name"
            )
        self._items[name] = obj

    def names(self) -> list[str]:
        """Sorted list of registered names (lazy entries listed without importing them)."""
        self._load_locations()
        return sorted(set(self._items) | set(self.lazy))

    def __contains__(self, name: object) -> bool:
        if name in self.lazy or name in self._items:
            return True
        self._load_locations()
        return name in self._items

    def __len__(self) -> int:
        return len(self.names())

    def get(self, name: str) -> Any:
        """Return the object registered as ``name`` (importing its module on first use); a
        miss loads plugins once, then raises an error listing the registered names and the
        closest match."""
        if name in self._items:
            return self._items[name]
        if name in self.lazy:
            importlib.import_module(self.lazy[name])
            if name in self._items:
                return self._items[name]
        self._load_locations()
        if name in self._items:
            return self._items[name]
        if load_plugins() and name in self._items:  # a plugin installed since import
            return self._items[name]
        raise RegistryError(self._unknown_message(name))

    def _unknown_message(self, name: str) -> str:
        names = self.names()
        msg = f"unknown {self.kind} '{name}'"
        close = difflib.get_close_matches(str(name), names, n=1, cutoff=0.5)
        if close:
            msg += f" (did you mean '{close[0]}'?)"
        msg += " — registered: " + (", ".join(names) if names else "(none)")
        return msg

    def build(self, cfg: str | dict[str, Any], **defaults: Any) -> Any:
        """Build an instance from ``{"name": ..., **kwargs}``.

        Args:
            cfg (dict): the config section; ``name`` selects the entry, the other keys
                are passed as keyword arguments. The dict is not modified.
            **defaults: keyword arguments used where ``cfg`` does not set them (for
                example ``in_channels`` flowing from the previous model part).
        """
        if isinstance(cfg, str):
            cfg = {"name": cfg}
        if not isinstance(cfg, dict) or "name" not in cfg:
            raise RegistryError(f"a {self.kind} config must be a mapping with a 'name' key, got {cfg!r}")
        kwargs = dict(cfg)
        name = kwargs.pop("name")
        obj = self.get(name)
        for k, v in defaults.items():
            kwargs.setdefault(k, v)
        check_kwargs(obj, kwargs, f"{self.kind} '{name}'")
        check_required(obj, kwargs, f"{self.kind} '{name}'", self.section)
        return obj(**kwargs)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self.names()})"


def accepted_arguments(obj: Callable[..., Any]) -> tuple[list[str], bool]:
    """Return (names, takes_var_kwargs) of the keyword arguments ``obj`` accepts."""
    target = obj.__init__ if inspect.isclass(obj) else obj
    sig = inspect.signature(target)
    names: list[str] = []
    var_kw = False
    for p in sig.parameters.values():
        if p.name == "self":
            continue
        if p.kind == p.VAR_KEYWORD:
            var_kw = True
        elif p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
            names.append(p.name)
    return names, var_kw


def check_kwargs(obj: Callable[..., Any], kwargs: Mapping[str, Any], what: str) -> None:
    """Raise a RegistryError naming ``what`` and its accepted arguments on a bad keyword."""
    names, var_kw = accepted_arguments(obj)
    if var_kw:
        return
    bad = [k for k in kwargs if k not in names]
    if bad:
        hint = ""
        close = difflib.get_close_matches(bad[0], names, n=1, cutoff=0.6)
        if close:
            hint = f" (did you mean '{close[0]}'?)"
        raise RegistryError(
            f"{what} got unexpected argument(s) {', '.join(repr(b) for b in bad)}{hint}; "
            f"accepted: {', '.join(names) if names else '(none)'}"
        )


def check_required(obj: Callable[..., Any], kwargs: Mapping[str, Any], what: str, section: str | None = None) -> None:
    """Raise a one-line :class:`ConfigError` naming the section and the key(s) when ``kwargs``
    lacks an argument ``obj`` requires (checked by binding to its signature before the call,
    so a TypeError raised inside the constructor is never mistaken for a missing key)."""
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):  # no introspectable signature: let the call decide
        return
    missing = [
        p.name
        for p in sig.parameters.values()
        if p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in kwargs
    ]
    if not missing:
        try:
            sig.bind(**kwargs)
        except TypeError as exc:  # e.g. a positional-only parameter
            raise ConfigError(f"{section or what}: cannot build {what}: {exc}") from None
        return
    keys = ", ".join(f"'{section}.{m}'" if section else f"'{m}'" for m in missing)
    where = f"{section}: {what}" if section else what
    raise ConfigError(f"{where} is missing the required key{'s' if len(missing) > 1 else ''} {keys}")


_M = "ppresnet45.modeling."
_DATA = tuple(
    "ppresnet45.data." + m
    for m in ("transforms", "abinet_transforms", "visionlan_transforms", "rec_aug", "datasets", "lmdb_dataset")
)
_OPTIM = ("ppresnet45.training.optim",)
BACKBONES = Registry("Backbone", "Architecture.Backbone", [_M + "backbones"])
NECKS = Registry("Neck", "Architecture.Neck", [_M + "necks"])
HEADS = Registry("Head", "Architecture.Head", [_M + "heads"])
TRANSFORMS = Registry("Transform", "Architecture.Transform", [_M + "model"])  # model-level input transforms
LOSSES = Registry("Loss", "Loss", [_M + "losses"])
POSTPROCESS = Registry("PostProcess", "PostProcess", [_M + "decoders"])  # numpy only: inference needs no Paddle
METRICS = Registry("Metric", "Metric", [_M + "metrics"])
DATASETS = Registry("Dataset", None, _DATA)  # Train.dataset / Eval.dataset: build_dataset prefixes the section
DATA_TRANSFORMS = Registry("data transform", None, _DATA)  # Train/Eval.dataset.transforms ops (caller prefixes)
OPTIMIZERS = Registry("Optimizer", "Optimizer", _OPTIM)  # Optimizer.name
LR_SCHEDULERS = Registry("lr schedule", "Optimizer.lr", _OPTIM)  # Optimizer.lr.name
# inference backends (infer/benchmark --backend): one module per name, so OpenVINO never loads Paddle
RUNTIMES = Registry(
    "runtime",
    lazy={
        "paddle": "ppresnet45.inference.paddle_runtime",
        "paddle-nomkl": "ppresnet45.inference.paddle_runtime",
        "onnxruntime": "ppresnet45.inference.onnx_runtimes",
        "openvino": "ppresnet45.inference.onnx_runtimes",
        "eager": "ppresnet45.inference.eager_runtime",
    },
)

ALL_REGISTRIES = {
    "backbones": BACKBONES,
    "necks": NECKS,
    "heads": HEADS,
    "transforms": TRANSFORMS,
    "losses": LOSSES,
    "postprocess": POSTPROCESS,
    "metrics": METRICS,
    "datasets": DATASETS,
    "data_transforms": DATA_TRANSFORMS,
    "optimizers": OPTIMIZERS,
    "lr_schedulers": LR_SCHEDULERS,
    "runtimes": RUNTIMES,
}
