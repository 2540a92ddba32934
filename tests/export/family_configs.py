"""PaddleOCR's ABINet and VisionLAN configs for the export, inference and benchmark tests.

:func:`family_config` loads PaddleOCR's own file (``shared/third_party/paddleocr``) with
``-o`` overrides; where the shared files are absent it builds the same model, pre- and
post-processing from :data:`FALLBACK` (the configs' values, training sections left out).
:data:`SMALL` shrinks either model to a few hundred thousand parameters with the same
structure (every layer kind, ABINet's 3 language-model rounds, VisionLAN's 256 positions).

The other test folders load this module by path (:func:`load_by_path` in their conftest).
"""

import copy
import pathlib

import paddle
from paddleocr_archs import VISIONLAN_ARCH

from ppresnet45.config import load_config, merge_overrides
from ppresnet45.export.exporter import export_inference_model

REPO = pathlib.Path(__file__).resolve().parents[2]
_SHARED = [p for p in (REPO.parent / "shared", REPO / "shared", pathlib.Path("/work/shared")) if p.is_dir()]
PADDLEOCR_CONFIGS = _SHARED[0] / "third_party" / "paddleocr" / "configs" / "rec" if _SHARED else None
SHARED_MISSING = (
    "PaddleOCR's configs not found (expected shared/third_party/paddleocr/configs/rec beside or in "
    "the checkout, or under /work/shared)"
)
FAMILIES = ("abinet", "visionlan")
CHARS = list("0123456789abcdefghijklmnopqrstuvwxyz")

_EVAL = lambda *ops: {"dataset": {"name": "SimpleDataSet", "transforms": list(ops)}}  # noqa: E731 - a one-line table helper
FALLBACK = {
    "abinet": {
        "Global": {"character_dict_path": None, "max_text_length": 25, "use_space_char": False},
        "Architecture": {
            "model_type": "rec",
            "algorithm": "ABINet",
            "in_channels": 3,
            "Transform": None,
            "Backbone": {"name": "ResNet45"},
            "Head": {"name": "ABINetHead", "use_lang": True, "iter_size": 3, "max_length": 25, "image_size": [32, 128]},
        },
        "PostProcess": {"name": "ABINetLabelDecode"},
        "Eval": _EVAL(
            {"DecodeImage": {"img_mode": "RGB", "channel_first": False}},
            {"ABINetLabelEncode": {"ignore_index": 100}},
            {"ABINetRecResizeImg": {"image_shape": [3, 32, 128]}},
            {"KeepKeys": {"keep_keys": ["image", "label", "length"]}},
        ),
    },
    "visionlan": {
        "Global": {"character_dict_path": None, "max_text_length": 25, "use_space_char": False},
        "Architecture": copy.deepcopy(VISIONLAN_ARCH),
        "PostProcess": {"name": "VLLabelDecode"},
        "Eval": _EVAL(
            {"DecodeImage": {"img_mode": "RGB", "channel_first": False}},
            {"VLLabelEncode": None},
            {"VLRecResizeImg": {"image_shape": [3, 64, 256]}},
            {"KeepKeys": {"keep_keys": ["image", "label", "label_res", "label_sub", "label_id", "length"]}},
        ),
    },
}

_SMALL_BACKBONE = [
    "Architecture.Backbone.layers=[1,1,1,1,1]",
    "Architecture.Backbone.channels=[8,16,16,32,32]",
    "Architecture.Backbone.stem_channels=8",
]
SMALL = {
    "abinet": _SMALL_BACKBONE
    + [
        "Architecture.Head.d_model=32",
        "Architecture.Head.nhead=4",
        "Architecture.Head.num_layers=1",
        "Architecture.Head.dim_feedforward=64",
    ],
    "visionlan": _SMALL_BACKBONE + ["Architecture.Head.n_dim=32", "Architecture.Head.n_layers=1"],
}
# No weights to load (PaddleOCR's ABINet config names a pretrained model that is not here).
NO_WEIGHTS = ["Global.pretrained_model=", "Global.checkpoints="]


def config_file(name):
    """PaddleOCR's config file of ``name`` (``abinet`` / ``visionlan``), or None without the shared files."""
    return PADDLEOCR_CONFIGS / f"rec_r45_{name}.yml" if PADDLEOCR_CONFIGS else None


def family_config(name, *overrides, small=True):
    """The loaded config of ``name`` with :data:`NO_WEIGHTS`, :data:`SMALL` (``small``) and ``overrides``."""
    opts = NO_WEIGHTS + (SMALL[name] if small else []) + list(overrides)
    path = config_file(name)
    if path is not None:
        return load_config(path, opts)
    return merge_overrides(copy.deepcopy(FALLBACK[name]), opts)


def export_small(name, folder, onnx=True, **kwargs):
    """Export the small ``name`` model (seeded) into ``folder``; returns the export report."""
    paddle.seed(0)
    return export_inference_model(family_config(name), folder, onnx=onnx, config_path=config_file(name), **kwargs)
