"""The ``eager`` runtime: the dygraph model rebuilt from ``inference.yml`` + ``model.pdparams``
(a reference for checking the other backends, not a deployment path)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, ClassVar

import paddle
from paddle.base import core as paddle_core

from ..errors import ModelDirError
from ..modeling.model import RecModel
from ..registry import RUNTIMES
from .model_dir import STATE_DICT_FILE
from .runtime_base import Runtime

if TYPE_CHECKING:
    import numpy as np

    from .._types import StrPath


@RUNTIMES.register("eager")
class EagerRuntime(Runtime):
    """The dygraph model rebuilt from ``inference.yml`` + ``model.pdparams`` (reference path)."""

    backend = "eager"
    required_files: ClassVar[dict[str, str]] = {STATE_DICT_FILE: "re-run `ppresnet45 export`"}

    def __init__(
        self,
        model_dir: StrPath,
        precision: str = "fp32",
        cpu_threads: int | None = None,
        use_gpu: bool = False,
        **_: Any,
    ) -> None:
        super().__init__(model_dir, precision, cpu_threads, use_gpu)
        if precision != "fp32":
            raise self._unsupported(f"precision {precision!r} is not supported (the eager reference runs fp32)")
        arch = self.spec.architecture
        if not isinstance(arch, dict) or not arch.get("Backbone") or not arch.get("Head"):
            raise ModelDirError(
                f"{self.spec.source}: Architecture: missing or without Backbone/Head (needed to "
                "rebuild the eager model)"
            )
        if self.use_gpu:
            if not paddle.is_compiled_with_cuda():
                raise self._unsupported("use_gpu needs a CUDA build of Paddle")
            paddle.set_device("gpu")
        elif cpu_threads is not None and hasattr(paddle_core, "set_num_threads"):
            paddle_core.set_num_threads(self.cpu_threads)
        self._model = RecModel(arch)
        state_file = os.path.join(self.model_dir, STATE_DICT_FILE)
        missing, unexpected = self._model.set_state_dict(paddle.load(state_file))
        if missing or unexpected:
            raise ModelDirError(
                f"{state_file}: does not match {self.spec.source}'s Architecture "
                f"({len(missing)} missing, {len(unexpected)} unexpected keys)"
            )
        self._model.eval()

    def _run_all(self, images: np.ndarray) -> list[np.ndarray]:
        with paddle.no_grad():
            out = self._model(paddle.to_tensor(images))
        outs = list(out) if isinstance(out, (list, tuple)) else [out]
        if not self.output_names:
            self.output_names = [f"output_{i}" for i in range(len(outs))]
        return [o.numpy() for o in outs]
