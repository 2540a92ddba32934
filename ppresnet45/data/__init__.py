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
    **dict.fromkeys(("ABINetLabelEncode", "ABINetRecAug", "ABINetRecResizeImg"), "abinet_transforms"),
    **dict.fromkeys(("RecDataSet", "SimpleDataSet", "build_dataset", "parse_label_file"), "datasets"),
    "LMDBDataSet": "lmdb_dataset",
    "RecAug": "rec_aug",
    **dict.fromkeys(("RecBatchSampler", "RecDataLoader", "build_dataloader", "collate_with_counts"), "loader"),
    **dict.fromkeys(
        (
            "SKIP_REASONS",
            "CTCLabelEncode",
            "DecodeImage",
            "KeepKeys",
            "RecResizeImg",
            "SkipSample",
            "apply_transforms",
            "build_transforms",
        ),
        "transforms",
    ),
    **dict.fromkeys(("VLLabelEncode", "VLRecResizeImg"), "visionlan_transforms"),
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())


__all__ = [
    "SKIP_REASONS",
    "CTCLabelEncode",
    "DecodeImage",
    "KeepKeys",
    "LMDBDataSet",
    "RecAug",
    "RecBatchSampler",
    "RecDataLoader",
    "RecDataSet",
    "RecResizeImg",
    "SimpleDataSet",
    "SkipSample",
    "apply_transforms",
    "build_dataloader",
    "build_dataset",
    "build_transforms",
    "collate_with_counts",
    "parse_label_file",
]
