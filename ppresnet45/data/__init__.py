"""Data: pre-processing, transforms, datasets, loaders and the synthetic text-line renderer.

Importing this package registers the data transforms (``DecodeImage``, ``RecAug``,
``CTCLabelEncode``, ``RecResizeImg``, ``KeepKeys``) and datasets (``SimpleDataSet``,
``LMDBDataSet``). The synthetic renderer (``ppresnet45.data.synth``) and the LMDB
converter (``ppresnet45.data.lmdb_convert``) are imported on demand.
"""

from .abinet_transforms import ABINetLabelEncode, ABINetRecAug, ABINetRecResizeImg  # noqa: F401
from .datasets import RecDataSet, SimpleDataSet, build_dataset, parse_label_file  # noqa: F401
from .lmdb_dataset import LMDBDataSet  # noqa: F401
from .rec_aug import RecAug  # noqa: F401
from .loader import RecBatchSampler, RecDataLoader, build_dataloader, collate_with_counts  # noqa: F401
from .transforms import (  # noqa: F401
    SKIP_REASONS,
    CTCLabelEncode,
    DecodeImage,
    KeepKeys,
    RecResizeImg,
    SkipSample,
    apply_transforms,
    build_transforms,
)
from .visionlan_transforms import VLLabelEncode, VLRecResizeImg  # noqa: F401

__all__ = [
    "SKIP_REASONS",
    "SkipSample",
    "DecodeImage",
    "RecAug",
    "CTCLabelEncode",
    "RecResizeImg",
    "KeepKeys",
    "build_transforms",
    "apply_transforms",
    "RecDataSet",
    "SimpleDataSet",
    "LMDBDataSet",
    "build_dataset",
    "parse_label_file",
    "RecBatchSampler",
    "RecDataLoader",
    "build_dataloader",
    "collate_with_counts",
]
