"""One decoded image -> one model-input row, as the export's ``inference.yml`` says.

* ``RecResizeImg`` models (CTC) go through :func:`ppresnet45.data.imgproc.resize_norm_img`,
  the code training uses: aspect-ratio resize to the height, right-padding to the batch's
  width (or a stretch with ``padding: false``).
* Stretching models (``ABINetRecResizeImg``, ``VLRecResizeImg``) go through
  :func:`stretch_norm_img`: bilinear stretch to exactly ``H×W`` and the file's
  normalisation, in the same arithmetic as the training transforms of the same names
  (``x / 255`` in float32, then ``(x - mean) / std`` in float64, cast to float32), so the
  model sees what it was trained on, bit for bit.

* With ``paddleocr`` batching (PaddleOCR's own exports) :func:`paddleocr_norm_img` does what
  PaddleOCR's ``predict_rec`` does, operation for operation: resize to ``min(ceil(H·w/h),
  batch width)``, ``/ 255``, ``- 0.5``, ``/ 0.5`` in float32, zero padding on the right.

Channel order: images arrive as OpenCV decodes them (BGR, or gray); a model whose file says
``DecodeImage.img_mode: RGB`` (``Global.channel_order``) gets its channels swapped first.
(PaddleOCR's ``predict_rec`` feeds ABINet BGR although it was trained on RGB; this does not.)
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import cv2
import numpy as np

from ..data.imgproc import resize_norm_img, to_model_channels

if TYPE_CHECKING:
    from .spec import InferenceSpec


def in_channel_order(img: np.ndarray, spec: InferenceSpec) -> np.ndarray:
    """``img`` (gray, BGR or BGRA, any depth) as uint8 with the model's channels, in its order."""
    img = to_model_channels(img, spec.channels)
    if spec.img_mode == "RGB" and img.shape[2] == 3:
        img = img[:, :, ::-1]
    return img


def stretch_norm_img(img: np.ndarray, spec: InferenceSpec) -> np.ndarray:
    """Stretch to the spec's ``[C, H, W]`` and normalise: float32 ``[C, H, W]``."""
    c, h, w = spec.image_shape
    img = np.ascontiguousarray(in_channel_order(img, spec))
    resized = cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR).reshape(h, w, c).astype(np.float32)
    # Divide by 1 / scale (255 for 1/255) as the training transforms do: x * (1/255) can differ in the last bit.
    x = resized / np.float32(1.0 / spec.scale)
    mean = np.asarray(spec.mean[:c] if len(spec.mean) >= c else spec.mean, dtype=np.float64)
    std = np.asarray(spec.std[:c] if len(spec.std) >= c else spec.std, dtype=np.float64)
    return ((x - mean) / std).transpose(2, 0, 1).astype(np.float32)


def paddleocr_norm_img(img: np.ndarray, spec: InferenceSpec, width: int) -> tuple[np.ndarray, int]:
    """One line as PaddleOCR's ``predict_rec`` prepares it for a batch ``width`` px wide.

    Returns:
        tuple[ndarray, int]: the float32 ``[C, H, width]`` row and its content width.
    """
    c, h = spec.channels, spec.height
    img = in_channel_order(img, spec)
    rw = min(int(math.ceil(h * (img.shape[1] / float(img.shape[0])))), int(width))
    resized = cv2.resize(img, (rw, h)).reshape(h, rw, c).astype("float32").transpose((2, 0, 1)) / 255
    resized -= 0.5
    resized /= 0.5
    row = np.zeros((c, h, int(width)), dtype=np.float32)
    row[:, :, :rw] = resized
    return row, rw


def model_input(img: np.ndarray, spec: InferenceSpec, width: int | None = None) -> tuple[np.ndarray, int]:
    """One whole line as a model-input row.

    Args:
        img (ndarray): the decoded image (gray, BGR or BGRA).
        spec (InferenceSpec): the model's settings.
        width (int | None): the row's width (a dynamic-width batch's); default the nominal one.

    Returns:
        tuple[ndarray, int]: the float32 ``[C, H, width]`` row and the width its content
        covers (the rest is padding).
    """
    width = int(width or spec.width)
    if spec.paddleocr_batching:
        return paddleocr_norm_img(img, spec, width)
    if spec.keep_ratio_resize:
        row, ratio = resize_norm_img(
            in_channel_order(img, spec), spec.image_shape, padding=spec.padding, target_width=width
        )
        return row, max(1, int(round(ratio * width)))
    return stretch_norm_img(img, spec), spec.width
