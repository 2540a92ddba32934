"""An export directory: its files, the check that one is complete, and the YAML text of its
``inference.yml`` (read and dumped here; what the file says is :mod:`.spec`'s).

An export directory (written by ``ppresnet45 export``) holds::

    inference.json / inference.pdiparams   Paddle 3 (PIR) inference program + weights
    inference.yml                           pre/post-processing, dictionary, architecture
    model.pdparams                          the state dict, for the ``eager`` runtime
    model.onnx                              with ``export --onnx`` only
    model_int8.onnx | model_int8.xml/.bin   with ``ppresnet45 quantize`` only (int8: :mod:`.int8`)
    export_report.json                      the export's parity numbers
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import yaml

from ..config import read_yaml_file
from ..errors import ModelDirError

if TYPE_CHECKING:
    from .._types import StrPath

MODEL_FILE = "inference.json"
PARAMS_FILE = "inference.pdiparams"
CONFIG_FILE = "inference.yml"
STATE_DICT_FILE = "model.pdparams"
ONNX_FILE = "model.onnx"
REPORT_FILE = "export_report.json"
REQUIRED_FILES = (CONFIG_FILE, MODEL_FILE, PARAMS_FILE)


def check_model_dir(model_dir: StrPath, names: Iterable[str] = REQUIRED_FILES) -> str:
    """Check that ``model_dir`` is a folder holding ``names``; returns it as a ``str``.

    Raises:
        ModelDirError: the folder or one of the files is missing (one line naming it).
    """
    model_dir = os.fspath(model_dir)
    if not os.path.isdir(model_dir):
        raise ModelDirError(
            f"model dir '{model_dir}' not found (expected a folder written by `ppresnet45 export` "
            f"with {', '.join(REQUIRED_FILES)})"
        )
    for name in names:
        path = os.path.join(model_dir, name)
        if not os.path.isfile(path):
            raise ModelDirError(
                f"model dir '{model_dir}': {name} missing ('{path}' not found; re-run `ppresnet45 export`)"
            )
    return model_dir


def read_inference_yml(path: StrPath) -> Any:
    """The parsed YAML of ``inference.yml`` at ``path``; syntax and encoding errors as one line
    with the file (and line). Checking what it says is :class:`.spec.InferenceSpec`'s job."""
    return read_yaml_file(path, ModelDirError, what="inference config")


def dump_inference_yml(data: dict[str, Any]) -> str:
    """YAML text of ``inference.yml``: short number lists in flow style (``[3, 32, -1]``),
    the character list one entry per line, as PaddleOCR/PaddleX write it."""

    class _Dumper(yaml.SafeDumper):
        # a record repeated in two places is written twice, never as &id001
        def ignore_aliases(self, data: Any) -> bool:
            return True

    def represent_list(dumper: yaml.SafeDumper, value: list[Any]) -> yaml.Node:
        flow = len(value) <= 8 and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
        return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flow)

    _Dumper.add_representer(list, represent_list)
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1000, default_flow_style=False)
