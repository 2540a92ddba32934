"""Data: pre-processing, transforms, datasets, loaders and the synthetic text-line renderer.

The data transforms (``DecodeImage``, ``RecAug``, ``CTCLabelEncode``, ``RecResizeImg``,
``KeepKeys``, ...) and datasets (``SimpleDataSet``, ``LMDBDataSet``) register themselves
when :data:`ppresnet45.registry.DATA_TRANSFORMS` / ``DATASETS`` are first asked; the names
below are imported on first access, so ``ppresnet45.data.imgproc`` (what inference uses)
does not load Paddle. The synthetic renderer (``ppresnet45.data.synth``) and the LMDB
converter (``ppresnet45.data.lmdb_convert``) are imported on demand.
"""

from ..utils.lazy import lazy_exports

_LAZY = {
    **{n: "abinet_transforms" for n in ("ABINetLabelEncode", "ABINetRecAug", "ABINetRecResizeImg")},
    **{n: "datasets" for n in ("RecDataSet", "SimpleDataSet", "build_dataset", "parse_label_file")},
    "LMDBDataSet": "lmdb_dataset",
    "RecAug": "rec_aug",
    **{n: "loader" for n in ("RecBatchSampler", "RecDataLoader", "build_dataloader", "collate_with_counts")},
    **{n: "transforms" for n in ("SKIP_REASONS", "CTCLabelEncode", "DecodeImage", "KeepKeys", "RecResizeImg",
                                 "SkipSample", "apply_transforms", "build_transforms")},
    **{n: "visionlan_transforms" for n in ("VLLabelEncode", "VLRecResizeImg")},
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())


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
