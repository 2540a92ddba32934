"""Load what a user feeds the recognizer, robustly: every bad file is one :class:`ImageLoadError`.

:func:`load_image` decodes with ``cv2.imdecode(np.fromfile(...))`` so non-ASCII paths work
on every platform, falling back to Pillow for what OpenCV does not read (SGI ``.rgb``,
unusual TIFF/BMP variants; an animated GIF gives its first frame either way, as in
PaddleOCR). Every way a file can be bad (missing, a folder, unreadable, empty, truncated
PNG/JPEG, not an image, a corrupt or unsupported format, a header declaring more pixels
than ``max_pixels``) becomes an :class:`ImageLoadError` with a one-line reason.

Decompression bombs: the image size is read from the header (Pillow, no decoding) before
anything is decoded, and a file declaring more than ``max_pixels`` pixels
(:data:`DEFAULT_MAX_PIXELS`; ``infer --max_pixels``) is refused without allocating its
pixels. Pillow refuses headers beyond its own limit (``2 * PIL.Image.MAX_IMAGE_PIXELS``)
by itself; with ``max_pixels`` above that limit such files go to OpenCV, whose own limit
(``CV_IO_MAX_IMAGE_PIXELS``, 2^30) still applies.

Gray, 16-bit and float images are passed on for :func:`ppresnet45.data.imgproc.to_model_channels`
to convert; images with transparency are composited onto white first (an opaque image is
unchanged), so dark text on a transparent background stays readable.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import struct
import sys
import threading
import warnings
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING

import cv2
import numpy as np

from ..errors import DataError
from .sources import (  # noqa: F401 - kept importable from here
    IMAGE_EXTENSIONS,
    BadInput,
    ImageSources,
    is_image_path,
    list_folder_images,
    list_image_sources,
)

if TYPE_CHECKING:
    from .._types import StrPath

# 50 megapixels: a 600-dpi A4 scan is 35; a text line of 100k x 500 px is 50.
DEFAULT_MAX_PIXELS = 50_000_000

# A truncated PNG lacks its IEND chunk, a truncated JPEG its EOI marker (0xFFD9 cannot occur
# inside entropy-coded data, so finding it near the end means the scan data is complete).
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_JPEG_MAGIC = b"\xff\xd8\xff"
_TAIL_BYTES = 1024
_QUIET = threading.Lock()


class ImageLoadError(DataError):
    """One image could not be loaded; ``reason`` is the message without the path.

    Args:
        path (str): the file.
        reason (str): what went wrong, e.g. ``"empty file (0 bytes)"``.
    """

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def check_max_pixels(max_pixels: int | None) -> int | None:
    """``max_pixels`` if it is a positive int or None (no limit of ours)."""
    if max_pixels is not None and (isinstance(max_pixels, bool) or not isinstance(max_pixels, int) or max_pixels < 1):
        raise DataError(f"max_pixels: expected a positive int, got {max_pixels!r}")
    return max_pixels


def _png_size(head: bytes) -> tuple[int, int] | None:
    """``(h, w)`` from a PNG's IHDR chunk (the first 24 bytes), or None for anything else: text
    lines are mostly PNG, and this is ~50x cheaper than asking Pillow."""
    if len(head) < 24 or not head.startswith(_PNG_MAGIC) or head[12:16] != b"IHDR":
        return None
    w, h = struct.unpack(">II", head[16:24])
    return (int(h), int(w)) if w > 0 and h > 0 else None


def _header_size(fp: IO[bytes], path: str, max_pixels: int | None) -> tuple[int, int] | None:
    """``(h, w)`` from the header of the open file ``fp`` (PNG directly, else Pillow, lazily), or
    None when neither can tell; ImageLoadError when it declares more than ``max_pixels`` pixels."""
    from PIL import Image

    start = fp.tell()
    png = _png_size(fp.read(24))
    if png is not None:
        _check_pixels(png[0], png[1], path, max_pixels, "the header declares")
        return png
    fp.seek(start)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's notes on odd files; the outcome says it all
            with Image.open(fp) as im:
                w, h = im.size
    except Image.DecompressionBombError as exc:
        pillow_limit = 2 * (Image.MAX_IMAGE_PIXELS or 0)
        if max_pixels is not None and max_pixels <= pillow_limit:
            found = re.search(r"\((\d+) pixels\)", str(exc))
            declared = found.group(1) if found else f"more than {pillow_limit}"
            raise ImageLoadError(
                path, f"the header declares {declared} pixels, over the limit of {max_pixels} (--max_pixels)"
            ) from None
        return None
    except Exception:  # noqa: BLE001 - Pillow cannot read the header: OpenCV may
        return None
    if w < 1 or h < 1:
        return None
    _check_pixels(int(h), int(w), path, max_pixels, "the header declares")
    return int(h), int(w)


def _check_pixels(h: int, w: int, path: str, max_pixels: int | None, what: str) -> None:
    if max_pixels is not None and h * w > max_pixels:
        raise ImageLoadError(path, f"{what} {w}x{h} = {h * w} pixels, over the limit of {max_pixels} (--max_pixels)")


def read_image_size(path: StrPath, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> tuple[int, int] | None:
    """The ``(height, width)`` of an image from its header only, or ``None`` if unknown.

    Uses Pillow's lazy open (no pixel decoding), so it is cheap enough to call on every
    file before batching by aspect ratio.

    Raises:
        ImageLoadError: the header declares more than ``max_pixels`` pixels.
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            return _header_size(f, path, max_pixels)
    except OSError:
        return None  # missing or unreadable: load_image says which


def _check_complete(data: np.ndarray, path: str) -> None:
    head = data[:8].tobytes()
    tail = data[-_TAIL_BYTES:].tobytes()
    if head.startswith(_PNG_MAGIC) and b"IEND" not in tail:
        raise ImageLoadError(path, "truncated PNG (no IEND chunk at the end)")
    if head.startswith(_JPEG_MAGIC) and b"\xff\xd9" not in tail:
        raise ImageLoadError(path, "truncated JPEG (no end-of-image marker)")


def _composite_alpha(img: np.ndarray) -> np.ndarray:
    """BGRA (any depth) → BGR on a white background; opaque images just drop alpha."""
    alpha = img[:, :, 3]
    bgr = img[:, :, :3]
    full = np.iinfo(img.dtype).max if img.dtype.kind in "ui" else 1.0
    if alpha.min() >= full:
        return np.ascontiguousarray(bgr)
    a = alpha.astype(np.float32)[:, :, None] / float(full)
    out = bgr.astype(np.float32) * a + float(full) * (1.0 - a)
    return out.astype(img.dtype) if img.dtype.kind in "ui" else out


def normalize_decoded(img: np.ndarray) -> np.ndarray:
    """Bring a decoded image to a form ``to_model_channels`` accepts.

    Float images in [0, 1] are scaled to [0, 255]; 2-channel (gray + alpha) images keep
    the gray plane composited onto white; 4-channel images are composited onto white.
    """
    if img.dtype.kind == "f":
        img = np.nan_to_num(img.astype(np.float32), posinf=255.0, neginf=0.0)
        if img.size and float(img.max()) <= 1.0:
            img = img * 255.0
    elif img.dtype.kind in "ui" and img.dtype not in (np.uint8, np.uint16):
        img = np.clip(img, 0, 65535).astype(np.uint16)
    if img.ndim == 3 and img.shape[2] == 2:
        gray, alpha = img[:, :, 0], img[:, :, 1]
        img = _composite_alpha(np.dstack([gray, gray, gray, alpha]))[:, :, 0]
    elif img.ndim == 3 and img.shape[2] == 4:
        img = _composite_alpha(img)
    elif img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    return img


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Silence what OpenCV and the codecs under it (libpng, libjpeg, libtiff) print to file
    descriptor 2 about a bad file while decoding it: the file's row says what is wrong. One
    thread at a time (the descriptor is the process's)."""
    level = cv2.utils.logging.getLogLevel()
    try:
        fd: int | None = sys.__stderr__.fileno()  # type: ignore[union-attr]  # None: AttributeError, caught
    except (AttributeError, ValueError, OSError):  # no real descriptor (embedded, IDE)
        fd = None
    with _QUIET:
        saved: int | None = None
        devnull: int | None = None
        try:
            cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
            if fd is not None:
                with contextlib.suppress(Exception):
                    sys.__stderr__.flush()  # type: ignore[union-attr]  # not None: it has a descriptor
                saved, devnull = os.dup(fd), os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, fd)
            yield
        finally:
            if saved is not None and fd is not None and devnull is not None:  # set together
                os.dup2(saved, fd)
                os.close(saved)
                os.close(devnull)
            cv2.utils.logging.setLogLevel(level)


def _pillow_decode(data: np.ndarray, path: str, max_pixels: int | None) -> np.ndarray:
    """Decode with Pillow (first frame): gray, BGR or BGRA, as OpenCV would give them."""
    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Image.open(io.BytesIO(data.tobytes())) as im:
            _check_pixels(im.size[1], im.size[0], path, max_pixels, "the image has")
            im.seek(0)
            if im.mode in ("1", "P", "PA", "LA", "RGBA", "La", "RGBa") or "transparency" in im.info:
                return np.asarray(im.convert("RGBA"))[:, :, [2, 1, 0, 3]]
            if im.mode in ("L", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"):
                return np.asarray(im)
            return np.asarray(im.convert("RGB"))[:, :, ::-1]


def _decode(data: np.ndarray, path: str, max_pixels: int | None) -> np.ndarray:
    """OpenCV, else Pillow; ImageLoadError when neither decodes ``data``."""
    try:
        with quiet_native_stderr():
            img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    except cv2.error:
        img = None
    if img is None or img.size == 0:
        try:
            with quiet_native_stderr():
                img = _pillow_decode(data, path, max_pixels)
        except ImageLoadError:
            raise
        except MemoryError:
            raise ImageLoadError(path, "out of memory while decoding it") from None
        except Exception:  # noqa: BLE001 - every other failure means the same to a user
            img = None
    if img is None or img.size == 0 or img.ndim not in (2, 3):
        raise ImageLoadError(path, "cannot decode: not an image, or a corrupt/unsupported format")
    return img


def load_image(path: StrPath, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode an image file to an array (gray, BGR; uint8, uint16 or float32).

    Args:
        path (str | os.PathLike): the image file (any Unicode name).
        max_pixels (int | None): refuse images of more pixels (read from the header first);
            None: no limit of ours.

    Returns:
        ndarray: ``H×W`` or ``H×W×3``; alpha is composited onto white.

    Raises:
        ImageLoadError: the file is missing, unreadable, empty, truncated, too large or
            not an image.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise ImageLoadError(path, "is a folder, not an image file")
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except FileNotFoundError:
        raise ImageLoadError(path, "file not found") from None
    except (OSError, ValueError) as exc:
        raise ImageLoadError(path, f"cannot read ({getattr(exc, 'strerror', None) or exc})") from None
    return decode_image_bytes(data, path, max_pixels)


def decode_image_bytes(
    data: bytes | np.ndarray, name: str = "image", max_pixels: int | None = DEFAULT_MAX_PIXELS
) -> np.ndarray:
    """Decode the bytes of an image file with every check of :func:`load_image` (the service's
    uploads go through here, files through :func:`load_image`).

    Args:
        data (bytes | ndarray): the encoded file (``uint8`` array or bytes).
        name (str): what the errors call it.
        max_pixels (int | None): refuse images of more pixels (read from the header first).

    Returns:
        ndarray: as :func:`load_image`.

    Raises:
        ImageLoadError: empty, truncated, too large or not an image.
    """
    path = name
    if not isinstance(data, np.ndarray):
        data = np.frombuffer(bytes(data), dtype=np.uint8)
    if data.size == 0:
        raise ImageLoadError(path, "empty file (0 bytes)")
    _check_complete(data, path)
    _header_size(io.BytesIO(data.tobytes()), path, max_pixels)
    try:
        img = _decode(data, path, max_pixels)
    except MemoryError:
        raise ImageLoadError(path, "out of memory while decoding it") from None
    _check_pixels(img.shape[0], img.shape[1], path, max_pixels, "the image has")
    if img.ndim == 3 and img.shape[2] not in (1, 2, 3, 4):
        raise ImageLoadError(path, f"unsupported channel count {img.shape[2]} (expected 1, 3 or 4)")
    return normalize_decoded(img)


def check_array_image(img: object, where: str = "image") -> np.ndarray:
    """Validate an in-memory image (``H×W`` or ``H×W×C``, C in 1..4) and normalise it like a file.

    Raises:
        DataError: wrong type, rank, channel count, dtype or an empty array.
    """
    if not isinstance(img, np.ndarray):
        raise DataError(f"{where}: expected a numpy array (H×W or H×W×C), got {type(img).__name__}")
    if img.ndim not in (2, 3) or img.size == 0 or (img.ndim == 3 and img.shape[2] not in (1, 2, 3, 4)):
        raise DataError(f"{where}: expected a non-empty H×W or H×W×C array with C in 1..4, got shape {img.shape}")
    if img.dtype == np.bool_:
        img = img.astype(np.uint8) * 255
    if img.dtype.kind not in "uif":
        raise DataError(f"{where}: expected an integer or float array, got dtype {img.dtype}")
    return normalize_decoded(img)
