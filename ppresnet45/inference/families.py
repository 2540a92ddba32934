"""What differs between the model families an export can hold, in one table each.

*Pre-processing* is keyed by the resize op in ``inference.yml``'s ``PreProcess`` (PaddleOCR's
op names, the same ones the training transforms are registered under):

* ``RecResizeImg`` (CTC): keep the aspect ratio, right-pad, ``(x / 255 - 0.5) / 0.5``, BGR
  (:func:`ppresnet45.data.imgproc.resize_norm_img`); any width.
* ``SVTRRecResizeImg`` (PaddleOCR's SVTR + CTC): the same arithmetic on a model of fixed
  width (``padding: false``, as SVTR's configs set it, stretches to exactly ``H×W``).
* ``ABINetRecResizeImg``: stretch to exactly ``H×W``, ``x / 255``, ImageNet mean/std, RGB.
* ``VLRecResizeImg``: stretch to exactly ``H×W``, ``x / 255``, RGB.

*Outputs* are keyed by the decoder's name (``PostProcess.name``): which output of the model
decides the text, whether it is batch- or time-major, and whether it holds probabilities
or logits. CTC and ABINet: probabilities ``[N, T, K]`` (CTC's is the last output: a head
with ``return_feats`` puts its features first); VisionLAN: logits ``[T, N, K]`` as its first
output (the second is the features PaddleOCR's ``predict_rec`` also fetches).

A family missing from a table gets the CTC entry, so PaddleOCR-style files keep working.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..data.abinet_transforms import IMAGENET_MEAN, IMAGENET_STD
from ..data.imgproc import MEAN, SCALE, STD
from ..modeling.decoders.base import softmax


@dataclass(frozen=True)
class Preprocessing:
    """How one resize op prepares an image.

    Attributes:
        resize_op (str): the op's name in ``PreProcess`` (PaddleOCR's).
        keep_ratio (bool): aspect-ratio resize with right padding (any width) rather than a
            stretch to the fixed ``H×W``.
        img_mode (str): channel order when the file does not say (``DecodeImage.img_mode``).
        scale, mean, std: the normalisation ``(x * scale - mean) / std`` per channel.
        dynamic (bool): a file without our ``Global`` keys (PaddleOCR's own export) is read
            as a model of any width (PaddleOCR exports ``RecResizeImg`` models with
            ``[C, H, -1]``); ``False``: of the fixed ``image_shape`` width.
    """

    resize_op: str
    keep_ratio: bool
    img_mode: str
    scale: float
    mean: tuple[float, ...]
    std: tuple[float, ...]
    dynamic: bool = None  # type: ignore[assignment]  # None: as keep_ratio (__post_init__ sets it: always a bool)

    def __post_init__(self) -> None:
        if self.dynamic is None:
            object.__setattr__(self, "dynamic", self.keep_ratio)


@dataclass(frozen=True)
class OutputLayout:
    """Where the text is in a model's outputs.

    Attributes:
        text_output (int): index of the output the decoder reads.
        time_major (bool): that output is ``[T, N, K]`` (else ``[N, T, K]``).
        logits (bool): it holds logits (else probabilities).
    """

    text_output: int = -1
    time_major: bool = False
    logits: bool = False


PREPROCESSING = {
    p.resize_op: p
    for p in (
        Preprocessing("RecResizeImg", True, "BGR", SCALE, MEAN, STD),
        Preprocessing("SVTRRecResizeImg", True, "BGR", SCALE, MEAN, STD, dynamic=False),
        Preprocessing(
            "ABINetRecResizeImg",
            False,
            "RGB",
            SCALE,
            tuple(float(v) for v in IMAGENET_MEAN),
            tuple(float(v) for v in IMAGENET_STD),
        ),
        Preprocessing("VLRecResizeImg", False, "RGB", SCALE, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)),
    )
}
DEFAULT_RESIZE_OP = "RecResizeImg"

OUTPUT_LAYOUTS = {
    "CTCLabelDecode": OutputLayout(),
    "ABINetLabelDecode": OutputLayout(),
    "VLLabelDecode": OutputLayout(text_output=0, time_major=True, logits=True),
}


def preprocessing(resize_op: str) -> Preprocessing:
    """The :class:`Preprocessing` of ``resize_op`` (the CTC one for an unknown name)."""
    return PREPROCESSING.get(resize_op, PREPROCESSING[DEFAULT_RESIZE_OP])


def output_layout(postprocess: str) -> OutputLayout:
    """The :class:`OutputLayout` of the decoder ``postprocess`` (CTC's for an unknown name)."""
    return OUTPUT_LAYOUTS.get(postprocess, OUTPUT_LAYOUTS["CTCLabelDecode"])


def config_resize_op(config: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """``(resize op name, its args)`` of a training config: the first op of the Eval (else
    Train) transforms that names a known resize op; ``(DEFAULT_RESIZE_OP, {})`` without one."""
    for section in ("Eval", "Train"):
        for op in (((config.get(section) or {}).get("dataset") or {}).get("transforms")) or []:
            for name, args in op.items() if isinstance(op, dict) else ():
                if name in PREPROCESSING:
                    return name, args if isinstance(args, dict) else {}
    return DEFAULT_RESIZE_OP, {}


def config_img_mode(config: dict[str, Any]) -> str | None:
    """``DecodeImage.img_mode`` of a config's Eval (else Train) transforms, upper-cased, or None."""
    for section in ("Eval", "Train"):
        for op in (((config.get(section) or {}).get("dataset") or {}).get("transforms")) or []:
            args = op.get("DecodeImage") if isinstance(op, dict) else None
            if isinstance(args, dict) and args.get("img_mode"):
                return str(args["img_mode"]).upper()
    return None


def select_output(outputs: list[np.ndarray] | tuple[np.ndarray, ...] | np.ndarray, postprocess: str) -> np.ndarray:
    """The text-deciding array among a model's ``outputs`` (a list, or one array)."""
    if not isinstance(outputs, (list, tuple)):
        return outputs
    return outputs[output_layout(postprocess).text_output]


def batch_major(output: np.ndarray, postprocess: str) -> np.ndarray:
    """The text output as ``[N, T, K]`` (a view; no copy for batch-major outputs)."""
    return np.swapaxes(output, 0, 1) if output_layout(postprocess).time_major else output


def to_decoder_input(rows: np.ndarray, postprocess: str) -> np.ndarray:
    """Batch-major rows ``[N, T, K]`` back in the layout the decoder reads."""
    return np.swapaxes(rows, 0, 1) if output_layout(postprocess).time_major else rows


def text_probabilities(output: Any, postprocess: str) -> np.ndarray:
    """The text output as float32 probabilities ``[N, T, K]`` (softmax of logits when the
    family outputs logits): what the parity check compares."""
    out = np.asarray(batch_major(np.asarray(output), postprocess), dtype=np.float32)
    return softmax(out, axis=-1) if output_layout(postprocess).logits else out
