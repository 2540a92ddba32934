"""Image pre-processing shared by training, evaluation and inference.

One definition of the recognition resize + normalisation, so that an exported model sees
exactly what it was trained on. Conventions follow PaddleOCR: images are BGR uint8
(H, W, 3) as ``cv2.imread`` gives them, resized to height ``H`` keeping the aspect ratio,
scaled to [-1, 1] ((x / 255 - 0.5) / 0.5), transposed to CHW and right-padded with zeros
to the target width.
"""

import math

import cv2
import numpy as np

MEAN = (0.5, 0.5, 0.5)
STD = (0.5, 0.5, 0.5)
SCALE = 1.0 / 255.0


def to_model_channels(img, channels):
    """Convert a decoded image (gray, BGR or BGRA, any bit depth) to uint8 with ``channels`` channels."""
    if img.dtype == np.uint16:
        img = (img >> 8).astype(np.uint8)
    elif img.dtype != np.uint8:
        img = np.clip(img, 0, 255).astype(np.uint8)
    if img.ndim == 2:
        img = img[:, :, None]
    if img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
    if channels == 1 and img.shape[2] != 1:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)[:, :, None]
    elif channels == 3 and img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)
    return img


def resized_width(h, w, target_h, max_w=None):
    """Width after resizing an ``h``×``w`` image to height ``target_h`` keeping the ratio
    (at least 1 px; at most ``max_w`` when given)."""
    ratio = w / float(max(h, 1))
    rw = max(1, int(math.ceil(target_h * ratio)))
    if max_w is not None:
        rw = min(rw, int(max_w))
    return rw


def resize_norm_img(img, image_shape, padding=True, target_width=None):
    """Resize + normalise one text-line image for the recognizer.

    Args:
        img (ndarray): uint8 image, HxW (gray) or HxWxC (BGR / BGRA).
        image_shape (list[int]): ``[C, H, W]``; ``W`` is the width of the padded output and
            the largest width a line is resized to.
        padding (bool): keep the aspect ratio and right-pad with zeros (``True``), or
            stretch to exactly ``W`` (``False``).
        target_width (int | None): output width to pad to instead of ``W`` (inference
            batches pad to their widest line); lines are still capped at this width.

    Returns:
        tuple[ndarray, float]: the float32 ``[C, H, W_out]`` array and the valid ratio
        (resized width / padded width).
    """
    c, h, w = (int(v) for v in image_shape)
    out_w = int(target_width) if target_width else w
    img = to_model_channels(img, c)
    if padding:
        rw = resized_width(img.shape[0], img.shape[1], h, out_w)
    else:
        rw = out_w
    resized = cv2.resize(img, (rw, h), interpolation=cv2.INTER_LINEAR)
    if resized.ndim == 2:
        resized = resized[:, :, None]
    chw = resized.transpose(2, 0, 1).astype(np.float32)
    chw = (chw * SCALE - 0.5) / 0.5
    out = np.zeros((c, h, out_w), dtype=np.float32)
    out[:, :, :rw] = chw
    return out, rw / float(out_w)
