"""The contract between an export and everything that runs it: ``inference.yml``.

An export directory (written by ``ppresnet45 export``) holds::

    inference.json / inference.pdiparams   Paddle 3 (PIR) inference program + weights
    inference.yml                           pre/post-processing, dictionary, architecture
    model.pdparams                          the state dict, for the ``eager`` runtime
    model.onnx                              with ``export --onnx`` only
    export_report.json                      the export's parity numbers

:class:`InferenceSpec` is the one reading of ``inference.yml``: the export builds one and
writes it (:meth:`InferenceSpec.to_yaml`); the runtimes, the recognizer and the benchmark
read it back (:meth:`InferenceSpec.from_yaml`). Every check of the file lives in
:meth:`InferenceSpec.from_config`, and every error is one line naming the file and key.

The file uses PaddleOCR's section names (``Global``, ``PreProcess.transform_ops``,
``PostProcess``, ``Architecture``). Our files also state ``Global.image_shape`` /
``input_shape`` / ``dynamic_width`` / ``max_width``; a file without ``Global.image_shape``
(PaddleOCR's own exports) gives the shape in ``PreProcess`` ``RecResizeImg.image_shape``
only, and is then read as a dynamic-width model.
"""

import os
from dataclasses import dataclass, field

import yaml

from ..data.imgproc import MEAN, SCALE, STD
from ..config import read_yaml_file
from ..errors import ModelDirError
from ..utils.io import atomic_write_text

MODEL_FILE = "inference.json"
PARAMS_FILE = "inference.pdiparams"
CONFIG_FILE = "inference.yml"
STATE_DICT_FILE = "model.pdparams"
ONNX_FILE = "model.onnx"
REPORT_FILE = "export_report.json"
REQUIRED_FILES = (CONFIG_FILE, MODEL_FILE, PARAMS_FILE)

# The widest input one model call gets, as a multiple of the input height: 25 * H (800 px at
# H = 32: ~60 characters of typical print, 200 CTC steps at stride 4) bounds latency and
# memory per call; the recognizer cuts wider lines into overlapping chunks of that width.
# Written by the export as Global.max_width, and the default for files that lack it.
MAX_WIDTH_RATIO = 25


def default_max_width(height, width):
    """The default ``max_width`` of a dynamic-width model ``height`` px high (nominal ``width``)."""
    return max(int(width), MAX_WIDTH_RATIO * int(height))


def check_model_dir(model_dir, names=REQUIRED_FILES):
    """Check that ``model_dir`` is a folder holding ``names``; returns it as a ``str``.

    Raises:
        ModelDirError: the folder or one of the files is missing (one line naming it).
    """
    model_dir = os.fspath(model_dir)
    if not os.path.isdir(model_dir):
        raise ModelDirError(
            f"model dir '{model_dir}' not found (expected a folder written by `ppresnet45 export` "
            f"with {', '.join(REQUIRED_FILES)})"
        )
    for name in names:
        path = os.path.join(model_dir, name)
        if not os.path.isfile(path):
            raise ModelDirError(f"model dir '{model_dir}': {name} missing ('{path}' not found; "
                                "re-run `ppresnet45 export`)")
    return model_dir


def _read_yaml(path):
    """The parsed YAML of ``path``; syntax and encoding errors as one line with the file (and line)."""
    return read_yaml_file(path, ModelDirError, what="inference config")


def dump_inference_yml(data):
    """YAML text of ``inference.yml``: short number lists in flow style (``[3, 32, -1]``),
    the character list one entry per line, as PaddleOCR/PaddleX write it."""

    class _Dumper(yaml.SafeDumper):
        pass

    def represent_list(dumper, value):
        flow = len(value) <= 8 and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
        return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flow)

    _Dumper.add_representer(list, represent_list)
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1000, default_flow_style=False)


# ----------------------------------------------------------------------------- parsing helpers
def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value, where):
    """A number that PaddleOCR configs may spell as a string like ``"1./255."``."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            if "/" in value:
                num, den = value.split("/", 1)
                return float(num) / float(den)
            return float(value)
        except (ValueError, ZeroDivisionError):
            pass
    raise ModelDirError(f"{where}: expected a number, got {value!r}")


def _numbers(values, default, where):
    if values is None:
        return tuple(default)
    if not isinstance(values, (list, tuple)) or not values:
        raise ModelDirError(f"{where}: expected a list of numbers, got {values!r}")
    return tuple(_number(v, where) for v in values)


def _sections(cfg, src):
    """``(Global, {transform op name: args})`` of a parsed file, type-checked."""
    if not isinstance(cfg, dict):
        raise ModelDirError(f"{src}: expected a mapping with Global, PreProcess, PostProcess, got {type(cfg).__name__}")
    glob = cfg.get("Global")
    if not isinstance(glob, dict):
        raise ModelDirError(f"{src}: missing 'Global' section (expected a mapping)")
    pre = cfg.get("PreProcess")
    if pre is not None and not (isinstance(pre, dict) and isinstance(pre.get("transform_ops", []), list)):
        raise ModelDirError(f"{src}: PreProcess: expected a mapping with a 'transform_ops' list")
    ops = {}
    for op in (pre or {}).get("transform_ops") or []:
        if isinstance(op, dict):
            for name, args in op.items():
                ops[name] = args if isinstance(args, dict) else {}
    return glob, ops


def _postprocess(cfg, src):
    """``(decoder name, character list)`` of ``PostProcess``; ``Architecture`` is type-checked too."""
    post = cfg.get("PostProcess")
    if not isinstance(post, dict) or not isinstance(post.get("name"), str):
        raise ModelDirError(f"{src}: PostProcess: expected a mapping with 'name' (e.g. CTCLabelDecode)")
    chars = post.get("character_dict")
    if not (isinstance(chars, list) and chars and all(isinstance(ch, str) for ch in chars)):
        raise ModelDirError(f"{src}: PostProcess.character_dict: expected the list of characters (strings), got "
                            f"{type(chars).__name__}")
    arch = cfg.get("Architecture")
    if arch is not None and not isinstance(arch, dict):
        raise ModelDirError(f"{src}: Architecture: expected a mapping, got {type(arch).__name__}")
    return post["name"], list(chars)


def _shape(glob, ops, src):
    """``(image_shape, dynamic_width)``: the nominal ``[C, H, W]`` and whether any width is accepted."""
    resize = ops.get("RecResizeImg", {})
    if "image_shape" in resize:
        key, shape = "PreProcess RecResizeImg.image_shape", resize["image_shape"]
    else:
        key, shape = "Global.image_shape", glob.get("image_shape")
    if not (isinstance(shape, list) and len(shape) == 3 and all(_is_int(v) and v > 0 for v in shape)):
        raise ModelDirError(f"{src}: {key}: expected [C, H, W] of positive ints, got {shape!r}")
    inp = glob.get("input_shape")
    if inp is None and "image_shape" not in glob:  # PaddleOCR's vocabulary: the shape is only in PreProcess
        inp = [shape[0], shape[1], -1]
    if not (isinstance(inp, list) and len(inp) == 3 and all(_is_int(v) for v in inp)):
        raise ModelDirError(f"{src}: Global.input_shape: expected [C, H, W] of ints, got {inp!r}")
    if inp[:2] != shape[:2] or inp[2] not in (-1, shape[2]):
        raise ModelDirError(f"{src}: Global.input_shape: {inp} does not match {key} {shape} (expected "
                            f"[{shape[0]}, {shape[1]}, -1 or {shape[2]}])")
    dynamic = glob.get("dynamic_width", inp[2] == -1)
    if not isinstance(dynamic, bool) or dynamic != (inp[2] == -1):
        raise ModelDirError(f"{src}: Global.dynamic_width: expected {str(inp[2] == -1).lower()} for input_shape "
                            f"{inp}, got {dynamic!r}")
    return shape, dynamic


def _normalization(ops, src):
    norm = ops.get("NormalizeImage") or {}
    scale = _number(norm.get("scale", SCALE), f"{src}: NormalizeImage.scale")
    mean = _numbers(norm.get("mean"), MEAN, f"{src}: NormalizeImage.mean")
    std = _numbers(norm.get("std"), STD, f"{src}: NormalizeImage.std")
    return scale, mean, std


# ----------------------------------------------------------------------------- the spec
@dataclass
class InferenceSpec:
    """What running an exported model needs to know (its ``inference.yml``).

    Attributes:
        channels (int): model input channels.
        height (int): model input height.
        width (int): nominal input width (``image_shape[2]``).
        padding (bool): keep the aspect ratio and right-pad (``RecResizeImg.padding``).
        dynamic_width (bool): the model accepts any width (batches pad to their widest line).
        max_width (int): widest input the model is run on; wider lines are chunked.
        img_mode (str): ``"BGR"``, ``"RGB"`` or ``"GRAY"`` (``DecodeImage.img_mode``).
        character_list (list[str]): the CTC dictionary (without the blank).
        macs_per_image (int | None): multiply-adds of one image at the nominal width.
        model_name (str): name recorded at export.
        scale, mean, std: the input normalisation ``(x * scale - mean) / std`` per channel.
        postprocess (str): the decoder's name (``PostProcess.name``).
        model_type, algorithm, backbone (str | None): what the model is (``Global``).
        untrained (bool | None): exported without trained weights.
        ppresnet45_version (str | None): the version that wrote the file.
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
    character_list: list
    macs_per_image: int = None
    model_name: str = ""
    scale: float = SCALE
    mean: tuple = MEAN
    std: tuple = STD
    postprocess: str = "CTCLabelDecode"
    model_type: str = "rec"
    algorithm: str = "CTC"
    backbone: str = None
    untrained: bool = None
    ppresnet45_version: str = None
    architecture: dict = field(default=None, repr=False)
    raw: dict = field(default=None, repr=False, compare=False)
    source: str = field(default=CONFIG_FILE, compare=False)

    # -- derived ------------------------------------------------------------------
    @property
    def image_shape(self):
        """``[C, H, W]`` at the nominal width."""
        return [self.channels, self.height, self.width]

    @property
    def input_shape(self):
        """The model input ``[C, H, W]``; ``W = -1`` for a dynamic width."""
        return [self.channels, self.height, -1 if self.dynamic_width else self.width]

    @property
    def chunking(self):
        """Whether over-wide lines are split into chunks (dynamic width with padding)."""
        return self.dynamic_width and self.padding

    # -- constructors -------------------------------------------------------------
    @classmethod
    def for_model(cls, image_shape, character_list, dynamic_width=True, **meta):
        """The spec of a freshly exported model: the shared pre-processing (BGR, aspect-ratio
        resize with right padding, ``data.imgproc``'s normalisation) and the default max width.

        Args:
            image_shape (list[int]): the nominal ``[C, H, W]``.
            character_list (list[str]): the CTC dictionary (without the blank).
            dynamic_width (bool): whether the model takes any width.
            **meta: more attributes (``model_name``, ``macs_per_image``, ``architecture``, ...).
        """
        c, h, w = (int(v) for v in image_shape)
        meta.setdefault("max_width", default_max_width(h, w) if dynamic_width else w)
        return cls(channels=c, height=h, width=w, padding=True, dynamic_width=bool(dynamic_width), img_mode="BGR",
                   character_list=list(character_list), mean=tuple(MEAN[:c]), std=tuple(STD[:c]), **meta)

    @classmethod
    def from_config(cls, cfg, source=CONFIG_FILE):
        """Read and check a parsed ``inference.yml``.

        Args:
            cfg (dict): the parsed file.
            source (str): the file's path, for messages.

        Raises:
            ModelDirError: a section or key is missing or malformed (one line naming both).
        """
        src = os.fspath(source)
        glob, ops = _sections(cfg, src)
        (c, h, w), dynamic = _shape(glob, ops, src)
        postprocess, chars = _postprocess(cfg, src)
        img_mode = str((ops.get("DecodeImage") or {}).get("img_mode", "BGR")).upper()
        if img_mode not in ("BGR", "RGB", "GRAY"):
            raise ModelDirError(f"{src}: DecodeImage.img_mode: expected BGR, RGB or GRAY, got {img_mode!r}")
        padding = bool(ops.get("RecResizeImg", {}).get("padding", True))
        max_width = glob.get("max_width")
        max_width = default_max_width(h, w) if max_width is None else max_width
        if not _is_int(max_width) or max_width < 1:
            raise ModelDirError(f"{src}: Global.max_width: expected a positive int, got {max_width!r}")
        if not (dynamic and padding):
            max_width = w
        scale, mean, std = _normalization(ops, src)
        macs = glob.get("macs_per_image")
        return cls(
            channels=c, height=h, width=w, padding=padding, dynamic_width=dynamic, max_width=max_width,
            img_mode=img_mode, character_list=chars,
            macs_per_image=int(macs) if isinstance(macs, (int, float)) and macs > 0 else None,
            model_name=str(glob.get("model_name", "")), scale=scale, mean=mean, std=std, postprocess=postprocess,
            model_type=glob.get("model_type", "rec"), algorithm=glob.get("algorithm", "CTC"),
            backbone=glob.get("backbone"), untrained=glob.get("untrained"),
            ppresnet45_version=glob.get("ppresnet45_version"), architecture=cfg.get("Architecture"), raw=cfg,
            source=src,
        )

    @classmethod
    def from_yaml(cls, path):
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
        return cls.from_config(_read_yaml(path), path)

    # -- writing ------------------------------------------------------------------
    def to_config(self):
        """The ``inference.yml`` mapping (what :meth:`from_config` reads back)."""
        glob = {
            "model_name": self.model_name,
            "model_type": self.model_type,
            "algorithm": self.algorithm,
            "backbone": self.backbone,
            "input_shape": self.input_shape,
            "dynamic_width": self.dynamic_width,
            "image_shape": self.image_shape,
            "max_width": int(self.max_width),
            "untrained": self.untrained,
            "ppresnet45_version": self.ppresnet45_version,
            "macs_per_image": self.macs_per_image,
        }
        out = {
            "Global": {k: v for k, v in glob.items() if v is not None},
            "PreProcess": {"transform_ops": [
                {"DecodeImage": {"img_mode": self.img_mode, "channel_first": False}},
                {"RecResizeImg": {"image_shape": self.image_shape, "padding": self.padding}},
                {"NormalizeImage": {"scale": self.scale, "mean": list(self.mean), "std": list(self.std),
                                    "order": "chw"}},
            ]},
            "PostProcess": {"name": self.postprocess, "character_dict": list(self.character_list)},
        }
        if self.architecture is not None:
            out["Architecture"] = self.architecture
        return out

    def to_yaml(self, path):
        """Write :meth:`to_config` to ``path`` atomically (a reader never sees half a file)."""
        atomic_write_text(path, dump_inference_yml(self.to_config()))


def load_inference_config(model_dir):
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
