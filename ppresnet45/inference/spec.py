"""The contract between an export and everything that runs it: ``inference.yml``.

:class:`InferenceSpec` is the one reading of ``inference.yml``: the export builds one and
writes it (:meth:`InferenceSpec.to_yaml`); the runtimes, the recognizer and the benchmark
read it back (:meth:`InferenceSpec.from_yaml`). Every check of the file lives in
:meth:`InferenceSpec.from_config`, and every error is one line naming the file and key. The
export directory's files, their check and the file's YAML text are :mod:`.model_dir`'s.

The file speaks PaddleOCR's vocabulary (``Global``, ``PreProcess.transform_ops`` with
PaddleOCR's op names, ``PostProcess`` with ``name`` and ``character_dict``), so PaddleOCR
and PaddleX read it; everything only ppresnet45 needs lives in one place, as extra keys of
``Global`` that PaddleOCR ignores (:meth:`InferenceSpec.extras`): ``image_shape``,
``input_shape``, ``dynamic_width``, ``max_width``, ``channel_order``, ``normalize``,
``batching``, ``macs_per_image``, ``model_type`` / ``algorithm`` / ``backbone``, ``untrained``,
``ppresnet45_version``, ``quantization`` (what ``ppresnet45 quantize`` made and measured); plus the ``Architecture`` section (rebuilds the eager model).
``Global.model_name`` is written only when the export was given one: PaddleOCR's
``predict_rec`` rejects names outside its own model list.

Every family writes the same layout, the one PaddleOCR's exports use and PaddleX's text
recognition predictor accepts: ``DecodeImage`` (``img_mode``, ``channel_first``), the
family's resize op with its ``image_shape`` (:mod:`.families`: ``RecResizeImg`` for CTC,
whose ``padding: false`` is written only when set; ``ABINetRecResizeImg``,
``VLRecResizeImg``), and ``KeepKeys``. No ``NormalizeImage``: PaddleX refuses ops outside
its list, and each resize op implies its normalisation (ours is also in ``Global.normalize``).

Reading: files of older releases (``NormalizeImage``, ``Global.model_name`` from the config
file's name) still read. A file without our ``Global`` keys (PaddleOCR's own exports: the
shape only in the resize op's ``image_shape``, perhaps no ``Global`` section, no
``character_dict`` for the default ``0-9a-z``) is read the way PaddleOCR runs it: any width
for ``RecResizeImg``, a fixed size for the other resize ops, and PaddleOCR's batching
(``batching: paddleocr``: the batch width follows its widest line as ``predict_rec`` computes
it, at least the nominal width, at most :data:`PADDLEOCR_MAX_WIDTH`; every time step decoded).
Our exports use ``batching: chunks`` (:mod:`.chunking`); ``Global.batching`` overrides either.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..data.imgproc import MEAN, SCALE, STD
from ..errors import ModelDirError
from ..utils.io import atomic_write_text
from . import spec_parse as parse
from .families import DEFAULT_RESIZE_OP, output_layout, preprocessing
from .int8 import INT8_ONNX_FILE  # noqa: F401 - kept importable from here
from .model_dir import CONFIG_FILE, check_model_dir, dump_inference_yml, read_inference_yml
from .spec_parse import BATCHING, CHUNKS, PADDLEOCR, PADDLEOCR_MAX_WIDTH, PREDICT_REC  # noqa: F401 - part of this module's API

if TYPE_CHECKING:
    from .._types import StrPath
    from .families import OutputLayout, Preprocessing

# The widest input one model call gets, as a multiple of the input height: 25 * H (800 px at
# H = 32: ~60 characters of typical print, 200 CTC steps at stride 4) bounds latency and
# memory per call; the recognizer cuts wider lines into overlapping chunks of that width.
# Written by the export as Global.max_width, and the default for files that lack it.
MAX_WIDTH_RATIO = 25


def default_max_width(height: int, width: int) -> int:
    """The default ``max_width`` of a dynamic-width model ``height`` px high (nominal ``width``)."""
    return max(int(width), MAX_WIDTH_RATIO * int(height))


# ----------------------------------------------------------------------------- the spec
@dataclass
class InferenceSpec:
    """What running an exported model needs to know (its ``inference.yml``).

    Attributes:
        channels (int): model input channels.
        height (int): model input height.
        width (int): nominal input width (``image_shape[2]``).
        padding (bool): keep the aspect ratio and right-pad (``RecResizeImg.padding``);
            ``False`` for a stretch to exactly ``height × width``.
        dynamic_width (bool): the model accepts any width (batches pad to their widest line).
        max_width (int): widest input the model is run on; wider lines are chunked (or, with
            ``paddleocr`` batching, squeezed).
        img_mode (str): the channel order, ``"BGR"``, ``"RGB"`` or ``"GRAY"``
            (``DecodeImage.img_mode`` / ``Global.channel_order``).
        character_list (list[str]): the dictionary (without the decoder's special classes).
        macs_per_image (int | None): multiply-adds of one image at the nominal width.
        model_name (str): ``Global.model_name`` ("" when the file has none).
        scale, mean, std: the input normalisation ``(x * scale - mean) / std`` per channel.
        postprocess (str): the decoder's name (``PostProcess.name``).
        resize_op (str): the resize op of ``PreProcess`` (the model family's pre-processing).
        batching (str): ``"chunks"`` (ours: a batch padded to its widest line, long lines cut
            into chunks, the steps over padding dropped), ``"paddleocr"`` (as PaddleOCR 3 /
            PaddleX) or ``"predict_rec"`` (as PaddleOCR 2.x's ``predict_rec`` and RapidOCR: the
            same, but lines ordered by numpy's default sort); see the module docs.
        model_type, algorithm, backbone (str | None): what the model is (``Global``).
        untrained (bool | None): exported without trained weights.
        ppresnet45_version (str | None): the version that wrote the file.
        quantization (dict | None): what ``ppresnet45 quantize`` kept and measured
            (``{"int8": {...}}``, :mod:`.int8`); kept through a read/write round trip.
        architecture (dict | None): the ``Architecture`` section (rebuilds the eager model).
        raw (dict | None): the mapping the spec was read from (not compared).
        source (str): where it was read from, for messages (not compared).
    """

    channels: int
    height: int
    width: int
    padding: bool
    dynamic_width: bool
    max_width: int
    img_mode: str
    character_list: list[str]
    macs_per_image: int | None = None
    model_name: str = ""
    scale: float = SCALE
    mean: tuple[float, ...] = MEAN
    std: tuple[float, ...] = STD
    postprocess: str = "CTCLabelDecode"
    resize_op: str = DEFAULT_RESIZE_OP
    batching: str = CHUNKS
    model_type: str = "rec"
    algorithm: str = "CTC"
    backbone: str | None = None
    untrained: bool | None = None
    ppresnet45_version: str | None = None
    quantization: dict[str, Any] | None = None
    architecture: dict[str, Any] | None = field(default=None, repr=False)
    raw: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    source: str = field(default=CONFIG_FILE, compare=False)

    # -- derived ------------------------------------------------------------------
    @property
    def image_shape(self) -> list[int]:
        """``[C, H, W]`` at the nominal width."""
        return [self.channels, self.height, self.width]

    @property
    def input_shape(self) -> list[int]:
        """The model input ``[C, H, W]``; ``W = -1`` for a dynamic width."""
        return [self.channels, self.height, -1 if self.dynamic_width else self.width]

    @property
    def chunking(self) -> bool:
        """Whether over-wide lines are split into chunks (dynamic width, padding, ``chunks`` batching)."""
        return self.dynamic_width and self.padding and self.batching == CHUNKS

    @property
    def paddleocr_batching(self) -> bool:
        """Whether batches are formed, padded and decoded as PaddleOCR's ``predict_rec`` does
        (dynamic width, padding, ``paddleocr`` batching)."""
        return self.dynamic_width and self.padding and self.batching in (PADDLEOCR, PREDICT_REC)

    @property
    def preprocessing(self) -> Preprocessing:
        """The family's :class:`.families.Preprocessing` (from the resize op)."""
        return preprocessing(self.resize_op)

    @property
    def keep_ratio_resize(self) -> bool:
        """Lines go through the aspect-ratio resize of ``RecResizeImg`` (else a stretch)."""
        return self.preprocessing.keep_ratio

    @property
    def output_layout(self) -> OutputLayout:
        """The family's :class:`.families.OutputLayout` (from the decoder's name)."""
        return output_layout(self.postprocess)

    # -- constructors -------------------------------------------------------------
    @classmethod
    def for_model(
        cls,
        image_shape: Sequence[int],
        character_list: Iterable[str],
        dynamic_width: bool = True,
        resize_op: str = DEFAULT_RESIZE_OP,
        img_mode: str | None = None,
        **meta: Any,
    ) -> InferenceSpec:
        """The spec of a freshly exported model: the pre-processing of its family's resize op
        (aspect-ratio resize with right padding for ``RecResizeImg``, else a stretch), its
        normalisation and channel order, and the default max width.

        Args:
            image_shape (list[int]): the nominal ``[C, H, W]``.
            character_list (list[str]): the dictionary (without the decoder's special classes).
            dynamic_width (bool): whether the model takes any width.
            resize_op (str): the training config's resize op (a key of
                :data:`.families.PREPROCESSING`).
            img_mode (str | None): the channel order (default: the family's).
            **meta: more attributes (``model_name``, ``macs_per_image``, ``architecture``, ...).
        """
        c, h, w = (int(v) for v in image_shape)
        pre = preprocessing(resize_op)
        meta.setdefault("max_width", default_max_width(h, w) if dynamic_width and pre.keep_ratio else w)
        return cls(
            channels=c,
            height=h,
            width=w,
            padding=pre.keep_ratio,
            dynamic_width=bool(dynamic_width),
            img_mode=img_mode or pre.img_mode,
            character_list=list(character_list),
            scale=pre.scale,
            mean=tuple(pre.mean[:c]),
            std=tuple(pre.std[:c]),
            resize_op=pre.resize_op,
            **meta,
        )

    @classmethod
    def from_config(cls, cfg: dict[str, Any], source: StrPath = CONFIG_FILE) -> InferenceSpec:
        """Read and check a parsed ``inference.yml``.

        Args:
            cfg (dict): the parsed file.
            source (str): the file's path, for messages.

        Raises:
            ModelDirError: a section or key is missing or malformed (one line naming both).
        """
        src = os.fspath(source)
        glob, ops = parse.sections(cfg, src)
        resize = parse.resize_op(ops, src)
        pre = preprocessing(resize)
        (c, h, w), dynamic = parse.shape(glob, ops, resize, pre.dynamic, src)
        postprocess, chars = parse.postprocess(cfg, src)
        padding = parse.padding(ops, resize, pre, src)
        batching = parse.batching(glob, src)
        default = max(w, PADDLEOCR_MAX_WIDTH) if batching in (PADDLEOCR, PREDICT_REC) else default_max_width(h, w)
        max_width = parse.max_width(glob, default, src) if dynamic and padding else w
        scale, mean, std = parse.normalization(glob, ops, pre, src)
        macs = glob.get("macs_per_image")
        return cls(
            channels=c,
            height=h,
            width=w,
            padding=padding,
            dynamic_width=dynamic,
            max_width=max_width,
            img_mode=parse.img_mode(glob, ops, pre, src),
            character_list=chars,
            macs_per_image=int(macs) if isinstance(macs, (int, float)) and macs > 0 else None,
            model_name=str(glob.get("model_name") or ""),
            scale=scale,
            mean=mean,
            std=std,
            postprocess=postprocess,
            resize_op=resize,
            batching=batching,
            model_type=glob.get("model_type", "rec"),
            algorithm=glob.get("algorithm", "CTC"),
            backbone=glob.get("backbone"),
            untrained=glob.get("untrained"),
            ppresnet45_version=glob.get("ppresnet45_version"),
            quantization=parse.quantization(glob, src),
            architecture=cfg.get("Architecture"),
            raw=cfg,
            source=src,
        )

    @classmethod
    def from_yaml(cls, path: StrPath) -> InferenceSpec:
        """Read ``inference.yml``, given as the file or as its export directory.

        Raises:
            ModelDirError: the folder or file is missing, or the file is malformed.
        """
        path = os.fspath(path)
        if os.path.isdir(path):
            path = os.path.join(check_model_dir(path, (CONFIG_FILE,)), CONFIG_FILE)
        elif not os.path.isfile(path):
            if not path.endswith((".yml", ".yaml")):
                check_model_dir(path)  # names the missing export directory
            raise ModelDirError(f"'{path}' not found (expected an inference.yml written by `ppresnet45 export`)")
        return cls.from_config(read_inference_yml(path), path)

    # -- writing ------------------------------------------------------------------
    def extras(self) -> dict[str, Any]:
        """What only ppresnet45 reads: the ``Global`` keys besides ``model_name`` (None values left out)."""
        keys = {
            "model_type": self.model_type,
            "algorithm": self.algorithm,
            "backbone": self.backbone,
            "input_shape": self.input_shape,
            "dynamic_width": self.dynamic_width,
            "image_shape": self.image_shape,
            "max_width": int(self.max_width),
            "channel_order": self.img_mode,
            "normalize": {"scale": self.scale, "mean": list(self.mean), "std": list(self.std)},
            "batching": self.batching,
            "untrained": self.untrained,
            "ppresnet45_version": self.ppresnet45_version,
            "macs_per_image": self.macs_per_image,
            "quantization": self.quantization,
        }
        return {k: v for k, v in keys.items() if v is not None}

    def _transform_ops(self) -> list[dict[str, Any]]:
        """``PreProcess.transform_ops``: PaddleOCR's ops for the family (see the module docs)."""
        resize: dict[str, Any] = {"image_shape": self.image_shape}
        if self.keep_ratio_resize and not self.padding:
            resize["padding"] = False
        return [
            {"DecodeImage": {"channel_first": False, "img_mode": self.img_mode}},
            {self.resize_op: resize},
            {"KeepKeys": {"keep_keys": ["image"]}},
        ]

    def to_config(self) -> dict[str, Any]:
        """The ``inference.yml`` mapping (what :meth:`from_config` reads back)."""
        glob = {"model_name": self.model_name} if self.model_name else {}
        out: dict[str, Any] = {
            "Global": dict(glob, **self.extras()),
            "PreProcess": {"transform_ops": self._transform_ops()},
            "PostProcess": {"name": self.postprocess, "character_dict": list(self.character_list)},
        }
        if self.architecture is not None:
            out["Architecture"] = self.architecture
        return out

    def to_yaml(self, path: StrPath) -> None:
        """Write :meth:`to_config` to ``path`` atomically (a reader never sees half a file)."""
        atomic_write_text(path, dump_inference_yml(self.to_config()))

    def save_records(self, path: StrPath | None = None) -> None:
        """Write the records only ppresnet45 keeps (``quantization``) into the file the spec was
        read from (or ``path``), leaving every other key as it was (a PaddleOCR export keeps
        its own layout), atomically."""
        cfg = dict(self.raw) if isinstance(self.raw, dict) else self.to_config()
        glob = dict(cfg.get("Global") or {})
        if self.quantization is None:
            glob.pop("quantization", None)
        else:
            glob["quantization"] = self.quantization
        cfg["Global"] = glob
        self.raw = cfg
        atomic_write_text(os.fspath(path or self.source), dump_inference_yml(cfg))


def load_inference_config(model_dir: StrPath) -> dict[str, Any] | None:
    """Check an export directory and return its parsed ``inference.yml``.

    Args:
        model_dir (str | os.PathLike): the export directory.

    Returns:
        dict: the file's mapping (sections ``Global``, ``PreProcess``, ``PostProcess``,
        ``Architecture``), checked by :meth:`InferenceSpec.from_config`.

    Raises:
        ModelDirError: the folder, ``inference.yml``, ``inference.json`` or
            ``inference.pdiparams`` is missing, or ``inference.yml`` is malformed.
    """
    return InferenceSpec.from_yaml(check_model_dir(model_dir)).raw
