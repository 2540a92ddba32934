"""``convert-lmdb``: pack a PaddleOCR label file and its images into an LMDB dataset.

The output uses the standard text-recognition layout read by ``LMDBDataSet``:
``num-samples`` (ASCII count) and, for i = 1..num-samples, ``image-%09d`` (the encoded
image bytes as stored on disk) and ``label-%09d`` (UTF-8 text). It is written into a
temporary folder beside ``--output`` and renamed into place only when complete, together
with ``convert_report.json`` (counts of written and skipped samples).

    ppresnet45 convert-lmdb --label_file train_data/train_list.txt --output train_data/lmdb/train --check
"""

import contextlib
import json
import logging
import os

import cv2
import numpy as np
from tqdm import tqdm

from ..errors import DataError
from ..utils.io import atomic_output_dir
from .datasets import parse_label_file
from .lmdb_dataset import _import_lmdb

logger = logging.getLogger(__name__)

_MIN_MAP_SIZE = 64 << 20


def create_lmdb_dataset(
    label_file,
    data_dir=None,
    output_dir=None,
    delimiter="\t",
    check=False,
    overwrite=False,
    commit_every=1000,
    show_progress=True,
):
    """Write the images and labels listed in ``label_file`` into an LMDB at ``output_dir``.

    Samples whose image is missing (or, with ``check``, does not decode) are skipped and
    counted; lines without the delimiter are counted as malformed. Labels are copied as
    they are: label-level checks happen when a dataset reads them with a dictionary.

    Args:
        label_file (str): PaddleOCR label file, ``path<delimiter>text`` per line.
        data_dir (str | None): folder the image paths are relative to; default: the label
            file's folder.
        output_dir (str): the LMDB folder to create.
        delimiter (str): separator between path and text.
        check (bool): decode every image with OpenCV and skip those that fail.
        overwrite (bool): replace an existing, non-empty ``output_dir``.
        commit_every (int): samples per write transaction.
        show_progress (bool): show a tqdm progress bar.

    Returns:
        dict: ``{"written", "missing_image", "undecodable_image", "malformed_label",
        "output", "label_file", "data_dir"}``.
    """
    lmdb = _import_lmdb("convert-lmdb")
    label_file, data_dir, output_dir = _checked_paths(label_file, data_dir, output_dir, overwrite)
    lines = list(parse_label_file(label_file, delimiter))
    stats = {"written": 0, "missing_image": 0, "undecodable_image": 0, "malformed_label": 0}
    with atomic_output_dir(output_dir, overwrite=True) as tmp:
        writer = _LmdbWriter(lmdb, tmp, _initial_map_size(lines, data_dir), commit_every)
        for rel, text in tqdm(lines, desc="convert-lmdb", unit="img", disable=not show_progress):
            if text is None:
                stats["malformed_label"] += 1
                continue
            raw, problem = _read_image(os.path.join(data_dir, rel), check)
            if problem:
                stats[problem] += 1
                continue
            stats["written"] += 1
            writer.put(stats["written"], raw, text)
        writer.close(stats["written"])
        if stats["written"] == 0:
            raise DataError(
                f"convert-lmdb: no image of '{label_file}' could be written (data_dir '{data_dir}'): "
                f"{stats['missing_image']} missing, {stats['undecodable_image']} undecodable, "
                f"{stats['malformed_label']} malformed lines"
            )
        report = dict(
            stats,
            output=os.path.abspath(output_dir),
            label_file=os.path.abspath(label_file),
            data_dir=os.path.abspath(data_dir),
            checked=bool(check),
        )
        with open(os.path.join(tmp, "convert_report.json"), "w", encoding="utf-8") as f:
            json.dump(report, f, indent=2)
    return report


def _checked_paths(label_file, data_dir, output_dir, overwrite):
    """``(label_file, data_dir, output_dir)`` as strings, each checked with a one-line error."""
    label_file = os.fspath(label_file)
    if output_dir is None:
        raise DataError("convert-lmdb: --output is required")
    output_dir = os.fspath(output_dir)
    if not os.path.isfile(label_file):
        raise DataError(f"convert-lmdb: label file '{label_file}' not found")
    data_dir = os.fspath(data_dir if data_dir is not None else os.path.dirname(os.path.abspath(label_file)))
    if not os.path.isdir(data_dir):
        raise DataError(f"convert-lmdb: data_dir '{data_dir}' not found")
    if os.path.exists(output_dir) and not os.path.isdir(output_dir):
        raise DataError(f"convert-lmdb: output '{output_dir}' exists and is not a folder")
    if os.path.isdir(output_dir) and os.listdir(output_dir) and not overwrite:
        raise DataError(f"convert-lmdb: output '{output_dir}' exists and is not empty (use --overwrite to replace it)")
    return label_file, data_dir, output_dir


def _initial_map_size(lines, data_dir):
    # LMDB needs a map size up front: start from the images' total size (the writer
    # doubles it whenever a transaction does not fit).
    total = 0
    for rel, _ in lines:
        with contextlib.suppress(OSError):
            total += os.path.getsize(os.path.join(data_dir, rel))
    return max(_MIN_MAP_SIZE, int(total * 2 + len(lines) * 8192))


def _read_image(path, check):
    """``(bytes, None)``, or ``(None, "missing_image" | "undecodable_image")``."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError:
        logger.debug("convert-lmdb: missing image %s", path)
        return None, "missing_image"
    if check:
        img = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_UNCHANGED) if raw else None
        if img is None or img.size == 0:
            logger.debug("convert-lmdb: undecodable image %s", path)
            return None, "undecodable_image"
    return raw, None


class _LmdbWriter:
    """Samples 1..n as ``image-%09d`` / ``label-%09d``, committed in batches; the map grows
    (doubles) when a batch does not fit."""

    def __init__(self, lmdb, path, map_size, commit_every):
        self.lmdb, self.map_size, self.commit_every = lmdb, map_size, commit_every
        self.env = lmdb.open(path, map_size=map_size, subdir=True, lock=True)
        self.pending = {}

    def put(self, index, image_bytes, text):
        self.pending[b"image-%09d" % index] = image_bytes
        self.pending[b"label-%09d" % index] = text.encode("utf-8")
        if len(self.pending) >= 2 * self.commit_every:
            self.commit()

    def commit(self):
        while True:
            try:
                with self.env.begin(write=True) as txn:
                    for key, value in self.pending.items():
                        txn.put(key, value)
                break
            except self.lmdb.MapFullError:
                self.map_size *= 2
                self.env.set_mapsize(self.map_size)
        self.pending.clear()

    def close(self, num_samples):
        self.pending[b"num-samples"] = str(num_samples).encode("ascii")
        self.commit()
        self.env.close()
