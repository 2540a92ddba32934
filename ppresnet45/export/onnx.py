"""``export --onnx``: convert the saved Paddle inference model to ``model.onnx`` and check it.

paddle2onnx (and ``onnx``, for the check) are optional packages, imported only here.
The check reads the ONNX graph's input and, for a dynamic-width export, requires both the
batch and the width to stay dynamic (a fixed-size export keeps a dynamic batch), and
records the outputs; the numerical check is the parity check run with ONNX Runtime
(:mod:`.parity`).
"""

from __future__ import annotations

import os
from typing import Any

from ..errors import PPResNetError
from ..inference.model_dir import MODEL_FILE, ONNX_FILE, PARAMS_FILE
from ..inference.runtime import BackendError
from ..utils.io import atomic_write_bytes
from ..utils.stdio import captured_native_output

ONNX_OPSET = 17


def _convert(model_file: str, params_file: str) -> tuple[bytes, str]:
    """The ONNX bytes of a Paddle inference model (paddle2onnx's C++ output kept off the console)."""
    try:
        import paddle2onnx
    except ImportError as exc:
        raise BackendError(f"--onnx needs paddle2onnx ({exc}); pip install 'ppresnet45[onnx]'") from None
    # save_file=None returns the bytes: paddle2onnx's own saving path runs polygraphy with
    # POLYGRAPHY_AUTOINSTALL_DEPS=1, which may pip-install packages during an export.
    err: Exception | None
    with captured_native_output() as captured:
        try:
            data = paddle2onnx.export(model_file, params_file, None, opset_version=ONNX_OPSET, enable_onnx_checker=True)
        except Exception as exc:  # noqa: BLE001 - reported with the captured output below
            err = exc
        else:
            err = None
    if err is not None or not data:
        raise PPResNetError(f"paddle2onnx could not convert {model_file}: {err or 'no output'} ({captured.tail()})")
    return data, getattr(paddle2onnx, "__version__", "?")


def check_onnx_input(path: str, dynamic: bool) -> dict[str, Any] | None:
    """The ONNX model's input ``{"name", "shape"}`` (``-1`` for a dynamic dimension), or
    ``None`` when the ``onnx`` package is not installed.

    Raises:
        PPResNetError: ``dynamic`` is set but the batch or the width is fixed in the graph.
    """
    try:
        import onnx
    except ImportError:
        return None
    graph = onnx.load(path, load_external_data=False).graph
    dims = [d.dim_param or d.dim_value for d in graph.input[0].type.tensor_type.shape.dim]
    shape = [d if isinstance(d, int) and d > 0 else -1 for d in dims]
    if dynamic and not (shape[0] == -1 and shape[3] == -1):
        raise PPResNetError(f"{path}: expected dynamic batch and width, got input shape {dims}")
    return {"name": graph.input[0].name, "shape": shape}


def export_onnx(model_dir: str, dynamic: bool) -> dict[str, Any]:
    """Write ``model.onnx`` beside ``inference.json`` / ``inference.pdiparams`` in ``model_dir``.

    Args:
        model_dir (str): the (temporary) export directory.
        dynamic (bool): the model was exported with a dynamic width (checked in the graph).

    Returns:
        dict: ``file``, ``opset``, ``paddle2onnx_version`` and, with ``onnx`` installed, ``input``
        and ``outputs`` (the output names: two for VisionLAN, its logits and features).

    Raises:
        BackendError: paddle2onnx is not installed.
        PPResNetError: the conversion failed or lost the dynamic dimensions.
    """
    data, version = _convert(os.path.join(model_dir, MODEL_FILE), os.path.join(model_dir, PARAMS_FILE))
    path = os.path.join(model_dir, ONNX_FILE)
    atomic_write_bytes(path, data)
    info = {"file": ONNX_FILE, "opset": ONNX_OPSET, "paddle2onnx_version": version}
    graph_input = check_onnx_input(path, dynamic)
    if graph_input is not None:
        info["input"] = graph_input
        info["outputs"] = onnx_output_names(path)
    return info


def onnx_output_names(path: str) -> list[str]:
    """The ONNX graph's output names, in order (needs the ``onnx`` package)."""
    import onnx

    return [o.name for o in onnx.load(path, load_external_data=False).graph.output]
