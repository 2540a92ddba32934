"""The benchmark's inputs: the model's settings, the images, and the work per image.

The same images are measured three ways (see :mod:`ppresnet45.benchmark.measure`): as they
are, as copies stretched to exactly the nominal ``H×W`` (:func:`nominal_copies`), and as
pre-processed arrays at the nominal width fed straight to the model (:func:`nominal_batches`),
so that the full path and the model alone can be compared on identical input shapes.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import cv2

from ..data.imgproc import to_model_channels
from ..data.synth import render_dataset
from ..errors import DataError
from ..inference.formats import open_model
from ..inference.images import ImageLoadError, list_image_sources, load_image
from ..inference.preprocess import model_input
from ..modeling.model import RecModel
from ..modeling.summary import count_macs

if TYPE_CHECKING:
    import numpy as np

    from .._types import StrPath
    from ..inference.spec import InferenceSpec


def load_model_spec(model_dir: str, **model_options: Any) -> tuple[dict[str, Any], InferenceSpec]:
    """``(parsed inference.yml, InferenceSpec)`` of the model in ``model_dir`` (any format
    :func:`~ppresnet45.inference.formats.open_model` opens, with ``model_options``; a model
    without an ``inference.yml`` gets the mapping its spec would write).

    The parsed config is kept as well as the spec: the report reads ``Global.untrained`` and
    ``Architecture`` from it.
    """
    spec = open_model(model_dir, **model_options).spec
    return (spec.raw if spec.raw is not None else spec.to_config()), spec


def benchmark_images(image_dir: StrPath | None, num_images: int, height: int, workdir: str) -> tuple[list[str], str]:
    """The first ``num_images`` images of ``image_dir`` (an image, a folder or a label file),
    or that many generated text lines (seeded) ``height`` px high, rendered under ``workdir``
    when it is ``None``.

    Returns:
        tuple: (list of absolute image paths, a one-line description for the report).
    """
    if image_dir is None:
        source = render_dataset(
            os.path.join(workdir, "lines"), num_images, seed=0, height=int(height), show_progress=False
        )
    else:
        source = image_dir
    paths = [os.path.abspath(p) for p in list_image_sources(source).paths[:num_images]]
    if image_dir is None:
        desc = f"{num_images} generated text lines (ppresnet45.data.synth, seed 0, height {height})"
    else:
        desc = f"{len(paths)} images from {image_dir}"
    return paths, desc


def nominal_copies(paths: Sequence[str], spec: InferenceSpec, folder: str) -> list[str]:
    """Copies of the readable images stretched to exactly the nominal ``H×W`` (PNG), so the full
    path can be compared with model-only timing on identical input shapes.

    Returns:
        list[str]: the written copies (unreadable images are left out).
    """
    os.makedirs(folder, exist_ok=True)
    out: list[str] = []
    for i, p in enumerate(paths):
        try:
            img = to_model_channels(load_image(p), spec.channels)
        except ImageLoadError:
            continue
        img = cv2.resize(img, (spec.width, spec.height), interpolation=cv2.INTER_LINEAR)
        path = os.path.join(folder, f"{i:06d}.png")
        ok, buf = cv2.imencode(".png", img)
        if ok:
            buf.tofile(path)
            out.append(path)
    return out


def nominal_batches(paths: Sequence[str], spec: InferenceSpec, max_n: int) -> list[np.ndarray]:
    """Up to ``max_n`` pre-processed ``[C, H, W]`` arrays at the nominal width, for model-only
    timing (pre-processed as the recognizer does: :func:`ppresnet45.inference.preprocess.model_input`).

    Raises:
        DataError: none of ``paths`` could be loaded.
    """
    rows: list[np.ndarray] = []
    for p in paths:
        try:
            img = load_image(p)
        except ImageLoadError:
            continue
        rows.append(model_input(img, spec, spec.width)[0])
        if len(rows) >= max_n:
            break
    if not rows:
        raise DataError("no readable benchmark image (every file failed to load)")
    return rows


def macs_per_image(cfg: dict[str, Any], spec: InferenceSpec) -> tuple[int | None, str | None]:
    """Multiply-adds of one image at the nominal size: recorded at export
    (``Global.macs_per_image``), else counted from ``inference.yml``'s Architecture.

    Returns:
        tuple: (the count or ``None`` when it cannot be had, a note for the report or ``None``).
    """
    if spec.macs_per_image:
        return spec.macs_per_image, None
    macs = _macs_from_architecture(cfg, spec)
    note = "inference.yml has no Global.macs_per_image; " + (
        "counted from its Architecture" if macs else "GFLOP/s not reported"
    )
    return macs, note


def _macs_from_architecture(cfg: dict[str, Any], spec: InferenceSpec) -> int | None:
    """Count multiply-adds from ``inference.yml``'s Architecture when the export did not record them."""
    arch = cfg.get("Architecture")
    if not isinstance(arch, dict):
        return None
    try:
        return int(count_macs(RecModel(arch), tuple(spec.image_shape))["total"])
    except Exception:  # noqa: BLE001 - GFLOP/s columns are then left empty
        return None
