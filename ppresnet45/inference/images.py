"""Image sources for inference: list the images a user points at, and load them robustly.

A source is one of

* an image file (by extension, see :data:`IMAGE_EXTENSIONS`);
* a folder, searched recursively for image files (sorted by relative path, hidden
  entries skipped);
* a label file in PaddleOCR's format, one ``path<TAB>text`` per line, paths relative to
  the label file's folder (absolute paths are kept); its texts become ground truth.

:func:`load_image` decodes with ``cv2.imdecode(np.fromfile(...))`` so non-ASCII paths work
on every platform, and turns every way a file can be bad (missing, unreadable, empty,
truncated PNG/JPEG, not an image) into an :class:`ImageLoadError` with a one-line reason.
Gray, 16-bit and float images are passed on for :func:`ppresnet45.data.imgproc.to_model_channels`
to convert; images with transparency are composited onto white first (an opaque image is
unchanged), so dark text on a transparent background stays readable.
"""

import os
from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import DataError

IMAGE_EXTENSIONS = (
    ".jpg", ".jpeg", ".jpe", ".png", ".bmp", ".dib", ".tif", ".tiff", ".webp",
    ".jp2", ".pbm", ".pgm", ".ppm", ".pnm",
)

# A truncated PNG lacks its IEND chunk, a truncated JPEG its EOI marker (0xFFD9 cannot occur
# inside entropy-coded data, so finding it near the end means the scan data is complete).
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_JPEG_MAGIC = b"\xff\xd8\xff"
_TAIL_BYTES = 1024


class ImageLoadError(DataError):
    """One image could not be loaded; ``reason`` is the message without the path.

    Args:
        path (str): the file.
        reason (str): what went wrong, e.g. ``"empty file (0 bytes)"``.
    """

    def __init__(self, path, reason):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass
class ImageSources:
    """The images named by a source path.

    Attributes:
        paths (list[str]): image files, in the order the source lists them.
        labels (list[str] | None): ground-truth texts (label-file sources only).
        kind (str): ``"file"``, ``"folder"`` or ``"label_file"``.
        source (str): the path the list came from.
    """

    paths: list
    labels: list = None
    kind: str = "file"
    source: str = ""


def is_image_path(path):
    """True when ``path`` ends with one of :data:`IMAGE_EXTENSIONS` (case-insensitive)."""
    return os.path.splitext(os.fspath(path))[1].lower() in IMAGE_EXTENSIONS


def list_folder_images(folder):
    """Image files under ``folder`` (recursive), sorted by relative path; hidden entries skipped."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            if not name.startswith(".") and is_image_path(name):
                found.append(os.path.join(root, name))
    return sorted(found, key=lambda p: os.path.relpath(p, folder))


def read_label_file(path):
    """Parse a ``path<TAB>text`` label file.

    Args:
        path (str): the label file (UTF-8; a BOM is accepted).

    Returns:
        tuple[list[str], list[str]]: image paths (relative ones joined to the label
        file's folder) and their texts.

    Raises:
        DataError: the file is not UTF-8, a line has no tab, or there are no entries.
    """
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise DataError(f"label file '{path}': cannot read ({exc.strerror or exc})") from None
    if b"\x00" in raw[:4096]:
        raise DataError(f"'{path}': not an image (unknown extension) and not a text label file "
                        f"(expected 'path<TAB>text' lines; image extensions: {' '.join(IMAGE_EXTENSIONS)})")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"label file '{path}': not UTF-8 text (byte {exc.start}); expected 'path<TAB>text' "
                        "lines") from None
    base = os.path.dirname(os.path.abspath(path))
    paths, labels = [], []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if "\t" not in line:
            raise DataError(f"{path}:{lineno}: expected 'image_path<TAB>text', got {line[:60]!r}")
        rel, label = line.split("\t", 1)
        rel = rel.strip()
        if not rel:
            raise DataError(f"{path}:{lineno}: empty image path before the tab")
        paths.append(rel if os.path.isabs(rel) else os.path.join(base, rel))
        labels.append(label)
    if not paths:
        raise DataError(f"label file '{path}' has no 'path<TAB>text' lines")
    return paths, labels


def list_image_sources(path):
    """List the images of an image file, a folder (recursive) or a label file.

    Args:
        path (str | os.PathLike): the source.

    Returns:
        ImageSources: the paths (and labels for a label file).

    Raises:
        DataError: the path does not exist, a folder holds no images, or a label file is
            malformed.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        paths = list_folder_images(path)
        if not paths:
            raise DataError(f"folder '{path}' holds no images (searched recursively for "
                            f"{' '.join(IMAGE_EXTENSIONS)})")
        return ImageSources(paths=paths, kind="folder", source=path)
    if not os.path.exists(path):
        raise DataError(f"image path '{path}' not found (expected an image, a folder of images or a "
                        "'path<TAB>text' label file)")
    if is_image_path(path):
        return ImageSources(paths=[path], kind="file", source=path)
    paths, labels = read_label_file(path)
    return ImageSources(paths=paths, labels=labels, kind="label_file", source=path)


def read_image_size(path):
    """The ``(height, width)`` of an image from its header only, or ``None`` if unknown.

    Uses Pillow's lazy open (no pixel decoding), so it is cheap enough to call on every
    file before batching by aspect ratio.
    """
    try:
        from PIL import Image

        with Image.open(path) as im:
            w, h = im.size
        if w > 0 and h > 0:
            return int(h), int(w)
    except Exception:  # noqa: BLE001 - any failure just means "decode to find out"
        return None
    return None


def _check_complete(data, path):
    head = data[:8].tobytes()
    tail = data[-_TAIL_BYTES:].tobytes()
    if head.startswith(_PNG_MAGIC) and b"IEND" not in tail:
        raise ImageLoadError(path, "truncated PNG (no IEND chunk at the end)")
    if head.startswith(_JPEG_MAGIC) and b"\xff\xd9" not in tail:
        raise ImageLoadError(path, "truncated JPEG (no end-of-image marker)")


def _composite_alpha(img):
    """BGRA (any depth) → BGR on a white background; opaque images just drop alpha."""
    alpha = img[:, :, 3]
    bgr = img[:, :, :3]
    full = np.iinfo(img.dtype).max if img.dtype.kind in "ui" else 1.0
    if alpha.min() >= full:
        return np.ascontiguousarray(bgr)
    a = alpha.astype(np.float32)[:, :, None] / float(full)
    out = bgr.astype(np.float32) * a + float(full) * (1.0 - a)
    return out.astype(img.dtype) if img.dtype.kind in "ui" else out


def normalize_decoded(img):
    """Bring a decoded image to a form ``to_model_channels`` accepts.

    Float images in [0, 1] are scaled to [0, 255]; 2-channel (gray + alpha) images keep
    the gray plane composited onto white; 4-channel images are composited onto white.
    """
    if img.dtype.kind == "f":
        img = np.nan_to_num(img.astype(np.float32))
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


def load_image(path):
    """Decode an image file to an array (gray, BGR; uint8, uint16 or float32).

    Args:
        path (str | os.PathLike): the image file (any Unicode name).

    Returns:
        ndarray: ``H×W`` or ``H×W×3``; alpha is composited onto white.

    Raises:
        ImageLoadError: the file is missing, unreadable, empty, truncated or not an image.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise ImageLoadError(path, "is a folder, not an image file")
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except FileNotFoundError:
        raise ImageLoadError(path, "file not found") from None
    except OSError as exc:
        raise ImageLoadError(path, f"cannot read ({exc.strerror or exc})") from None
    if data.size == 0:
        raise ImageLoadError(path, "empty file (0 bytes)")
    _check_complete(data, path)
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if img is None or img.size == 0:
        raise ImageLoadError(path, "cannot decode: not an image, or a corrupt/unsupported format")
    if img.ndim == 3 and img.shape[2] not in (1, 2, 3, 4):
        raise ImageLoadError(path, f"unsupported channel count {img.shape[2]} (expected 1, 3 or 4)")
    return normalize_decoded(img)


def check_array_image(img, where="image"):
    """Validate an in-memory image (``H×W`` or ``H×W×C``, C in 1..4) and normalise it like a file.

    Raises:
        DataError: wrong type, rank, channel count or an empty array.
    """
    if not isinstance(img, np.ndarray):
        raise DataError(f"{where}: expected a numpy array (H×W or H×W×C), got {type(img).__name__}")
    if img.ndim not in (2, 3) or img.size == 0 or (img.ndim == 3 and img.shape[2] not in (1, 2, 3, 4)):
        raise DataError(f"{where}: expected a non-empty H×W or H×W×C array with C in 1..4, got shape {img.shape}")
    if img.dtype == np.bool_:
        img = img.astype(np.uint8) * 255
    return normalize_decoded(img)
