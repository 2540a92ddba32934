"""Checkpoints: the files, writing them, and the run state a resumed run starts from.

A checkpoint is a file prefix in PaddleOCR's layout, e.g. ``output/rec/latest``:

* ``latest.pdparams`` — the model's state dict (``paddle.save``);
* ``latest.pdopt`` — the optimizer's state dict (moments, learning-rate scheduler);
* ``latest.states`` — a pickled dict as PaddleOCR writes it (``epoch``, ``global_step``,
  ``best_model_dict``, ``metrics``) plus what exact resumption needs: the data position
  (``epoch``, ``batch_in_epoch``) and the Python / NumPy / Paddle RNG states;
* ``latest.json`` — the same run state, readable: step, epoch, data position, metrics,
  best metrics, the config, the time.

Every file is written atomically (temporary file + rename); ``.json`` is written last, so
a complete ``.json`` means the files beside it are complete too. Loading the weights back
(exactly to resume, partially for ``Global.pretrained_model``) is :mod:`.weights`.
"""

import dataclasses
import io
import json
import logging
import math
import os
import pickle
import random
import time
from typing import ClassVar

import numpy as np
import paddle

from ..errors import ConfigError, DataError
from ..utils.io import atomic_output_file, atomic_write_bytes, atomic_write_text

logger = logging.getLogger(__name__)

SUFFIXES = (".pdparams", ".pdopt", ".states", ".json")


def checkpoint_prefix(path):
    """Strip a known suffix: ``out/latest.pdparams`` → ``out/latest``."""
    path = os.fspath(path)
    for suffix in SUFFIXES:
        if path.endswith(suffix):
            return path[: -len(suffix)]
    return path


def rng_state():
    """The Python, NumPy and Paddle (CPU generator) random states."""
    return {"python": random.getstate(), "numpy": np.random.get_state(), "paddle": paddle.get_rng_state()}


def seed_rngs(seed):
    """Seed the Python, NumPy and Paddle random generators with ``seed``."""
    random.seed(seed)
    np.random.seed(seed)
    paddle.seed(seed)


def set_rng_state(state):
    """Restore what :func:`rng_state` returned (missing parts are left alone)."""
    if not state:
        return
    if state.get("python") is not None:
        random.setstate(state["python"])
    if state.get("numpy") is not None:
        np.random.set_state(state["numpy"])
    if state.get("paddle") is not None:
        try:
            paddle.set_rng_state(state["paddle"])
        except Exception as exc:  # noqa: BLE001 - a state from another device type
            logger.warning("could not restore the Paddle RNG state (%s); continuing", exc)


def _to_jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_to_jsonable(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    return str(obj)


_STRUCTURED = "@param_names"  # marks a .pdopt whose keys use structured parameter names


def optimizer_state_by_structure(optimizer, layer):
    """The optimizer's state dict with accumulator keys renamed from Paddle's internal
    parameter names (``conv2d_17.w_0_moment1_0``, which depend on how many layers the
    process created before) to structured names (``backbone.conv1.weight_moment1_0``), so a
    checkpoint resumes in any process."""
    internal = {p.name: n for n, p in layer.named_parameters()}
    by_length = sorted(internal, key=len, reverse=True)
    out = {_STRUCTURED: "structured"}
    for key, value in optimizer.state_dict().items():
        new = key
        if isinstance(key, str):
            for name in by_length:
                if key.startswith(name + "_"):
                    new = internal[name] + key[len(name) :]
                    break
        out[new] = value
    return out


def optimizer_state_for(layer, state):
    """Undo :func:`optimizer_state_by_structure` for ``layer``; a PaddleOCR ``.pdopt`` (internal
    names) is returned unchanged."""
    if state.get(_STRUCTURED) != "structured":
        return state
    structured = {n: p.name for n, p in layer.named_parameters()}
    by_length = sorted(structured, key=len, reverse=True)
    out = {}
    for key, value in state.items():
        if key == _STRUCTURED:
            continue
        new = key
        for name in by_length:
            if key.startswith(name + "_"):
                new = structured[name] + key[len(name) :]
                break
        out[new] = value
    return out


def _paddle_save(obj, path):
    with atomic_output_file(path) as tmp:
        paddle.save(obj, tmp)


def save_checkpoint(prefix, model, optimizer=None, state=None, config=None):
    """Save a checkpoint under ``prefix`` (``.pdparams``, ``.pdopt``, ``.states``, ``.json``).

    Args:
        prefix (str): path without suffix, e.g. ``output/rec/latest``.
        model (paddle.nn.Layer): the model (a ``paddle.DataParallel`` is unwrapped).
        optimizer (paddle.optimizer.Optimizer | None): saved to ``.pdopt`` when given.
        state (dict | None): run state: ``global_step``, ``epoch``, ``batch_in_epoch``,
            ``metrics``, ``best_model_dict``, ... (JSON-friendly values).
        config (dict | None): the run's config, stored in the ``.json``.

    Returns:
        str: the prefix.
    """
    prefix = checkpoint_prefix(prefix)
    layer = getattr(model, "_layers", model)
    state = dict(state or {})
    _paddle_save(layer.state_dict(), prefix + ".pdparams")
    if optimizer is not None:
        _paddle_save(optimizer_state_by_structure(optimizer, layer), prefix + ".pdopt")
    states = dict(state)
    states.setdefault("best_model_dict", {})
    states["rng"] = rng_state()
    buf = io.BytesIO()
    pickle.dump(states, buf, protocol=2)
    atomic_write_bytes(prefix + ".states", buf.getvalue())
    record = {k: v for k, v in state.items() if k != "rng"}
    record["saved_at"] = time.strftime("%Y-%m-%d %H:%M:%S")
    record["files"] = [
        os.path.basename(prefix) + s
        for s in (".pdparams", ".pdopt", ".states")
        if s != ".pdopt" or optimizer is not None
    ]
    if config is not None:
        record["config"] = config
    atomic_write_text(prefix + ".json", json.dumps(_to_jsonable(record), indent=2, ensure_ascii=False) + "\n")
    return prefix


class _StatesUnpickler(pickle.Unpickler):
    """Unpickle ``.states`` files allowing only plain data, NumPy arrays and Paddle RNG
    states: a checkpoint from elsewhere cannot run code when it is loaded."""

    _ALLOWED: ClassVar[set[tuple[str, str]]] = {
        ("builtins", "set"),
        ("builtins", "frozenset"),
        ("builtins", "tuple"),
        ("builtins", "list"),
        ("builtins", "dict"),
        ("builtins", "int"),
        ("builtins", "float"),
        ("builtins", "str"),
        ("builtins", "bytes"),
        ("builtins", "bool"),
        ("builtins", "complex"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("collections", "OrderedDict"),
        ("paddle.base.libpaddle", "GeneratorState"),
        ("paddle.fluid.libpaddle", "GeneratorState"),
        ("copyreg", "_reconstructor"),
        ("builtins", "object"),
        ("_codecs", "encode"),
    }

    def find_class(self, module, name):
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def read_states(prefix):
    """The run state of a checkpoint: ``.states`` (ours or PaddleOCR's), else ``.json``, else ``{}``."""
    prefix = checkpoint_prefix(prefix)
    if os.path.isfile(prefix + ".states"):
        try:
            with open(prefix + ".states", "rb") as f:
                return _StatesUnpickler(f, encoding="latin1").load()
        except Exception as exc:  # noqa: BLE001 - any unreadable file falls back to .json
            logger.warning("could not read %s.states (%s); falling back to %s.json", prefix, exc, prefix)
    if os.path.isfile(prefix + ".json"):
        try:
            with open(prefix + ".json", encoding="utf-8") as f:
                return json.load(f)
        except (OSError, ValueError) as exc:
            raise DataError(f"checkpoint '{prefix}.json' is not readable JSON: {exc}") from None
    return {}


def saved_step(prefix):
    """The ``global_step`` recorded in ``prefix.json``, or None (no such file, unreadable)."""
    try:
        with open(checkpoint_prefix(prefix) + ".json", encoding="utf-8") as f:
            return json.load(f).get("global_step")
    except (OSError, ValueError, AttributeError):
        return None


def data_position(epoch, batch, steps_per_epoch):
    """The loader position ``(epoch, batch)``, a finished epoch rolled over to the next one's start."""
    return (epoch + 1, 0) if batch >= steps_per_epoch else (epoch, batch)


def run_state(global_step, epoch, batch, steps_per_epoch, best, metrics=None, **more):
    """The run state a checkpoint records (what :meth:`ResumePoint.read` reads back) at optimizer
    step ``global_step``, ``batch`` batches into ``epoch``. ``best`` is PaddleOCR's
    ``best_model_dict``; ``more`` (``world_size``, ``seed``, ``lr``, ...) is recorded as given."""
    epoch, batch = data_position(epoch, batch, steps_per_epoch)
    return {
        "global_step": global_step,
        "epoch": epoch,  # PaddleOCR's meaning when batch_in_epoch is 0: epochs completed
        "data_epoch": epoch,
        "batch_in_epoch": batch,
        "steps_per_epoch": steps_per_epoch,
        **more,
        "metrics": metrics or {},
        "best_model_dict": best,
    }


def update_best(best, metrics, key, step, epoch):
    """``(best, improved)``: ``metrics`` become the best when their ``key`` beats it (or there is
    none yet), kept as PaddleOCR's ``best_model_dict``: without ``acc_by_length``, with
    ``best_step`` and ``best_epoch``."""
    improved = not best or metrics.get(key, 0.0) > best.get(key, -math.inf)
    if improved:
        best = {k: v for k, v in metrics.items() if k != "acc_by_length"}
        best.update(best_step=step, best_epoch=epoch)
    return best, improved


@dataclasses.dataclass
class ResumePoint:
    """Where a run resumes: the optimizer step, the data position and the best metrics.

    ``epoch`` / ``batch`` are the loader position (``batch`` batches of ``epoch`` done);
    ``states`` is the checkpoint's whole run state (RNG states included).
    """

    global_step: int = 0
    epoch: int = 0
    batch: int = 0
    best: dict = dataclasses.field(default_factory=dict)
    states: dict = dataclasses.field(default_factory=dict)

    @classmethod
    def read(cls, prefix, key="Global.checkpoints", example_dir="./output/rec"):
        """Read the resume point of checkpoint ``prefix`` (ours or PaddleOCR's)."""
        prefix = checkpoint_prefix(prefix)
        if not os.path.isfile(prefix + ".pdparams"):
            raise ConfigError(
                f"{key}: '{prefix}.pdparams' not found (expected a checkpoint prefix such as {example_dir}/latest)"
            )
        st = read_states(prefix)
        point = cls(global_step=int(st.get("global_step", 0)), best=dict(st.get("best_model_dict") or {}), states=st)
        if "data_epoch" in st:
            point.epoch, point.batch = int(st["data_epoch"]), int(st.get("batch_in_epoch", 0))
        else:  # a PaddleOCR checkpoint: 'epoch' epochs are done
            point.epoch = int(st.get("epoch", 0))
        return point
