"""What a user points ``infer`` at: list the images of a file, a folder or a label file.

A source is one of

* an image file (by extension, see :data:`IMAGE_EXTENSIONS`: every format PaddleOCR reads
  except PDF, plus the other formats OpenCV decodes);
* a folder, searched recursively for image files (sorted by relative path, hidden
  entries skipped);
* a label file in PaddleOCR's format, one ``path<TAB>text`` per line, paths relative to
  the label file's folder (absolute paths are kept); its texts become ground truth. It is
  read by :func:`ppresnet45.data.label_file.iter_label_lines`, the one label-file parser; a
  malformed line does not stop the run: it becomes a :class:`BadInput` (its row reports
  ``<file>:<line>: <what is wrong>``) and the other lines go on.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Union

from ..data.label_file import iter_label_lines
from ..errors import DataError

if TYPE_CHECKING:
    import numpy as np

    from .._types import StrPath

IMAGE_EXTENSIONS = (
    ".jpg",
    ".jpeg",
    ".jpe",
    ".png",
    ".bmp",
    ".dib",
    ".tif",
    ".tiff",
    ".webp",
    ".gif",
    ".rgb",
    ".jp2",
    ".pbm",
    ".pgm",
    ".ppm",
    ".pnm",
)
_SNIFF_BYTES = 4096


@dataclass(frozen=True)
class BadInput:
    """An input known to be unusable before any image is opened (a malformed label-file
    line): the recognizer gives it a row with ``error`` = ``reason``.

    Attributes:
        path (str | None): what the row shows as ``path``.
        reason (str): the row's ``error``.
    """

    path: object
    reason: str


# What the recognizer accepts per image: a path, a decoded array, or an input known to be bad.
ImageInput = Union[str, "os.PathLike[str]", "np.ndarray", BadInput]


@dataclass
class ImageSources:
    """The images named by a source path.

    Attributes:
        paths (list[str]): image files, in the order the source lists them (for a malformed
            label-file line: ``<label file>:<line>``, which names no file).
        labels (list[str | None] | None): ground-truth texts (label files only; None for a
            malformed line).
        kind (str): ``"file"``, ``"folder"`` or ``"label_file"``.
        source (str): the path the list came from.
        errors (dict[int, str]): index -> why that entry is unusable (malformed lines).
        lines (list[int] | None): the label file's line number of each entry.
    """

    paths: list[str]
    labels: list[str | None] | None = None
    kind: str = "file"
    source: str = ""
    errors: dict[int, str] = field(default_factory=dict)
    lines: list[int] | None = None

    def inputs(self) -> list[str | BadInput]:
        """What to hand the recognizer: the paths, with a :class:`BadInput` for each bad entry."""
        return [BadInput(None, self.errors[i]) if i in self.errors else p for i, p in enumerate(self.paths)]


def is_image_path(path: StrPath) -> bool:
    """True when ``path`` ends with one of :data:`IMAGE_EXTENSIONS` (case-insensitive)."""
    return os.path.splitext(os.fspath(path))[1].lower() in IMAGE_EXTENSIONS


def list_folder_images(folder: StrPath) -> list[str]:
    """Image files under ``folder`` (recursive), sorted by relative path; hidden entries skipped."""
    found: list[str] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            if not name.startswith(".") and is_image_path(name):
                found.append(os.path.join(root, name))
    return sorted(found, key=lambda p: os.path.relpath(p, folder))


def _check_text_file(path: str) -> None:
    """A binary file is no label file: a one-line error for the whole source."""
    try:
        with open(path, "rb") as f:
            head = f.read(_SNIFF_BYTES)
    except OSError as exc:
        raise DataError(f"label file '{path}': cannot read ({exc.strerror or exc})") from None
    if b"\x00" in head:
        raise DataError(
            f"'{path}': not an image (unknown extension) and not a text label file "
            f"(expected 'path<TAB>text' lines; image extensions: {' '.join(IMAGE_EXTENSIONS)})"
        )


def read_label_sources(path: str) -> ImageSources:
    """The entries of a ``path<TAB>text`` label file, malformed lines included as errors.

    Raises:
        DataError: the file cannot be read, is binary, or has no non-blank line.
    """
    _check_text_file(path)
    base = os.path.dirname(os.path.abspath(path))
    labels: list[str | None] = []
    lines: list[int] = []
    out = ImageSources(paths=[], labels=labels, kind="label_file", source=path, lines=lines)
    for line in iter_label_lines(path):
        if line.error:
            out.errors[len(out.paths)] = f"{path}:{line.lineno}: {line.error}"
            out.paths.append(f"{path}:{line.lineno}")
            labels.append(None)
        else:
            image = line.path.strip()
            out.paths.append(image if os.path.isabs(image) else os.path.join(base, image))
            labels.append(line.text)
        lines.append(line.lineno)
    if not out.paths:
        raise DataError(f"label file '{path}' has no 'path<TAB>text' lines")
    return out


def list_image_sources(path: StrPath) -> ImageSources:
    """List the images of an image file, a folder (recursive) or a label file.

    Args:
        path (str | os.PathLike): the source.

    Returns:
        ImageSources: the paths (and labels, line numbers and malformed lines for a label file).

    Raises:
        DataError: the path does not exist, a folder holds no images, or the label file is
            unreadable, binary or empty.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        paths = list_folder_images(path)
        if not paths:
            raise DataError(f"folder '{path}' holds no images (searched recursively for {' '.join(IMAGE_EXTENSIONS)})")
        return ImageSources(paths=paths, kind="folder", source=path)
    if not os.path.exists(path):
        raise DataError(
            f"image path '{path}' not found (expected an image, a folder of images or a 'path<TAB>text' label file)"
        )
    if is_image_path(path):
        return ImageSources(paths=[path], kind="file", source=path)
    return read_label_sources(path)
