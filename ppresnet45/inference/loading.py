"""The recognizer's inputs: header sizes for planning, then one decoded image at a time.

An input is an image path, a decoded array, or a :class:`.sources.BadInput` (a malformed
label-file line). Whatever is wrong with one becomes its failure reason here, never an
exception that stops the call: a missing file, a decompression bomb (its header declares
more than ``max_pixels``), a bad array, an undecodable file.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from ..errors import DataError
from .images import DEFAULT_MAX_PIXELS, ImageLoadError, check_array_image, load_image, read_image_size
from .sources import BadInput

if TYPE_CHECKING:
    from .._types import StrPath
    from .sources import ImageInput


def input_path(item: Any) -> Any:
    """The ``path`` a result row shows for ``item`` (None for arrays)."""
    if isinstance(item, BadInput):
        return item.path
    if isinstance(item, (str, os.PathLike)):
        return os.fspath(item)
    return None


class InputLoader:
    """Sizes and decoded images of one list of inputs.

    Args:
        images (list): paths, arrays or :class:`BadInput` items.
        max_pixels (int | None): images of more pixels are refused (header first).

    Attributes:
        sizes (list[tuple[int, int] | None]): ``(h, w)`` per input, None for a failed one.
        failures (dict[int, str]): input index -> why it failed before any model work.
    """

    def __init__(self, images: Sequence[ImageInput], max_pixels: int | None = DEFAULT_MAX_PIXELS) -> None:
        self.images = images
        self.max_pixels = max_pixels
        self.sizes: list[tuple[int, int] | None] = [None] * len(images)
        self.failures: dict[int, str] = {}
        self._arrays: dict[int, np.ndarray] = {}
        for i, item in enumerate(images):
            try:
                self.sizes[i] = self._size(i, item)
            except ImageLoadError as exc:
                self.failures[i] = exc.reason
            except DataError as exc:
                self.failures[i] = str(exc)
            except Exception as exc:  # noqa: BLE001 - one odd input must not stop the run
                self.failures[i] = f"cannot read: {type(exc).__name__}: {exc}"
            if i in self.failures:
                self.sizes[i] = None

    def _size(self, i: int, item: object) -> tuple[int, int]:
        if isinstance(item, BadInput):
            raise DataError(item.reason)
        if isinstance(item, np.ndarray):
            self._arrays[i] = check_array_image(item, where=f"image {i}")
            return self._arrays[i].shape[:2]
        if not isinstance(item, (str, os.PathLike)):
            raise DataError(f"image {i}: expected a path or a numpy array, got {type(item).__name__}")
        path = os.fspath(item)
        # An unknown header: decode now to learn the size (or the error).
        return read_image_size(path, self.max_pixels) or load_image(path, self.max_pixels).shape[:2]

    def __call__(self, i: int) -> np.ndarray:
        """The decoded image of input ``i`` (ImageLoadError for a bad file)."""
        if i in self._arrays:
            return self._arrays[i]
        return load_image(os.fspath(cast("StrPath", self.images[i])), self.max_pixels)  # not an array: a path
