"""Reading the sections of a parsed ``inference.yml``, for :class:`.spec.InferenceSpec`.

Every function checks what it reads and raises :class:`ModelDirError` with one line naming
the file (``src``) and the key. Where a value can come from PaddleOCR's vocabulary
(``PreProcess`` ops) and from our own ``Global`` keys, both are read, and they must agree.
"""

from __future__ import annotations

from typing import Any

from ..charset import DEFAULT_CHARACTERS
from ..errors import ModelDirError
from .families import DEFAULT_RESIZE_OP, PREPROCESSING, Preprocessing

Norm = tuple[float, tuple[float, ...], tuple[float, ...]]  # (scale, mean, std)

IMG_MODES = ("BGR", "RGB", "GRAY")
CHUNKS, PADDLEOCR, PREDICT_REC = "chunks", "paddleocr", "predict_rec"
# paddleocr: as PaddleOCR 3 / PaddleX batch (a stable sort by aspect ratio); predict_rec: as PaddleOCR 2.x's
# predict_rec and RapidOCR do (numpy's default sort, its own order among equal ratios).
BATCHING = (CHUNKS, PADDLEOCR, PREDICT_REC)
# The widest batch PaddleX's text recognizer builds (OCRReisizeNormImg.max_imgW): with
# ``paddleocr`` batching, wider lines are squeezed to it.
PADDLEOCR_MAX_WIDTH = 3200
# Our keys in Global: a file with none of them is PaddleOCR's own export.
OWN_SHAPE_KEYS = ("image_shape", "input_shape", "dynamic_width", "max_width", "ppresnet45_version")


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def number(value: object, where: str) -> float:
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


def numbers(values: object, default: tuple[float, ...], where: str) -> tuple[float, ...]:
    if values is None:
        return tuple(default)
    if not isinstance(values, (list, tuple)) or not values:
        raise ModelDirError(f"{where}: expected a list of numbers, got {values!r}")
    return tuple(number(v, where) for v in values)


def sections(cfg: object, src: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """``(Global, {transform op name: args})`` of a parsed file, type-checked. ``Global`` may
    be absent (PaddleOCR's exports of most models have none)."""
    if not isinstance(cfg, dict):
        raise ModelDirError(f"{src}: expected a mapping with Global, PreProcess, PostProcess, got {type(cfg).__name__}")
    glob = cfg.get("Global", {})
    if not isinstance(glob, dict):
        raise ModelDirError(f"{src}: Global: expected a mapping, got {type(glob).__name__}")
    pre = cfg.get("PreProcess")
    if pre is not None and not (isinstance(pre, dict) and isinstance(pre.get("transform_ops", []), list)):
        raise ModelDirError(f"{src}: PreProcess: expected a mapping with a 'transform_ops' list")
    ops: dict[str, dict[str, Any]] = {}
    for op in (pre or {}).get("transform_ops") or []:
        if isinstance(op, dict):
            for name, args in op.items():
                ops[name] = args if isinstance(args, dict) else {}
    return glob, ops


def postprocess(cfg: dict[str, Any], src: str) -> tuple[str, list[str]]:
    """``(decoder name, character list)`` of ``PostProcess``; ``Architecture`` is type-checked too.

    Without ``character_dict`` the dictionary is PaddleOCR's default ``0-9a-z`` (its exports of
    configs without ``character_dict_path`` have none).
    """
    post = cfg.get("PostProcess")
    if not isinstance(post, dict) or not isinstance(post.get("name"), str):
        raise ModelDirError(f"{src}: PostProcess: expected a mapping with 'name' (e.g. CTCLabelDecode)")
    chars = post.get("character_dict", list(DEFAULT_CHARACTERS))
    if not (isinstance(chars, list) and chars and all(isinstance(ch, str) for ch in chars)):
        raise ModelDirError(
            f"{src}: PostProcess.character_dict: expected the list of characters (strings), got {type(chars).__name__}"
        )
    arch = cfg.get("Architecture")
    if arch is not None and not isinstance(arch, dict):
        raise ModelDirError(f"{src}: Architecture: expected a mapping, got {type(arch).__name__}")
    return post["name"], list(chars)


def resize_op(ops: dict[str, dict[str, Any]], src: str) -> str:
    """The name of the one resize op in ``PreProcess`` (``RecResizeImg`` when there is none)."""
    found = [name for name in ops if name in PREPROCESSING]
    if len(found) > 1:
        raise ModelDirError(f"{src}: PreProcess: expected one resize op, got {', '.join(found)}")
    return found[0] if found else DEFAULT_RESIZE_OP


def shape(
    glob: dict[str, Any], ops: dict[str, dict[str, Any]], resize: str, dynamic_default: bool, src: str
) -> tuple[list[int], bool]:
    """``(image_shape, dynamic_width)``: the nominal ``[C, H, W]`` and whether any width is accepted.

    Without our ``Global`` keys (a PaddleOCR file) the width is dynamic when the family's
    ``dynamic_default`` says so (``RecResizeImg``), else fixed.
    """
    args = ops.get(resize, {})
    if "image_shape" in args:
        key, value = f"PreProcess {resize}.image_shape", args["image_shape"]
    else:
        key, value = "Global.image_shape", glob.get("image_shape")
    if not (isinstance(value, list) and len(value) == 3 and all(is_int(v) and v > 0 for v in value)):
        raise ModelDirError(f"{src}: {key}: expected [C, H, W] of positive ints, got {value!r}")
    inp = glob.get("input_shape")
    if inp is None and "image_shape" not in glob:  # PaddleOCR's vocabulary: the shape is only in PreProcess
        inp = [value[0], value[1], -1 if dynamic_default else value[2]]
    if not (isinstance(inp, list) and len(inp) == 3 and all(is_int(v) for v in inp)):
        raise ModelDirError(f"{src}: Global.input_shape: expected [C, H, W] of ints, got {inp!r}")
    if inp[:2] != value[:2] or inp[2] not in (-1, value[2]):
        raise ModelDirError(
            f"{src}: Global.input_shape: {inp} does not match {key} {value} (expected "
            f"[{value[0]}, {value[1]}, -1 or {value[2]}])"
        )
    dynamic = glob.get("dynamic_width", inp[2] == -1)
    if not isinstance(dynamic, bool) or dynamic != (inp[2] == -1):
        raise ModelDirError(
            f"{src}: Global.dynamic_width: expected {str(inp[2] == -1).lower()} for input_shape {inp}, got {dynamic!r}"
        )
    return value, dynamic


def padding(ops: dict[str, dict[str, Any]], resize: str, pre: Preprocessing, src: str) -> bool:
    """Whether an aspect-ratio resize op pads (``padding``, default true as in PaddleOCR);
    always ``False`` for the stretching ops."""
    if not pre.keep_ratio:
        return False
    value = ops.get(resize, {}).get("padding", True)
    if not isinstance(value, bool):
        raise ModelDirError(f"{src}: PreProcess {resize}.padding: expected true or false, got {value!r}")
    return value


def batching(glob: dict[str, Any], src: str) -> str:
    """``Global.batching`` (``chunks``, ``paddleocr`` or ``predict_rec``); without it ``paddleocr`` for a file with
    none of our keys (PaddleOCR's export), else ``chunks``."""
    value = glob.get("batching")
    if value is None:
        return CHUNKS if any(k in glob for k in OWN_SHAPE_KEYS) else PADDLEOCR
    if value not in BATCHING:
        raise ModelDirError(
            f"{src}: Global.batching: expected {', '.join(BATCHING[:-1])} or {BATCHING[-1]}, got {value!r}"
        )
    return value


def _norm_triple(args: dict[str, Any], pre: Preprocessing, where: str) -> Norm:
    return (
        number(args.get("scale", pre.scale), f"{where}.scale"),
        numbers(args.get("mean"), pre.mean, f"{where}.mean"),
        numbers(args.get("std"), pre.std, f"{where}.std"),
    )


def normalization(glob: dict[str, Any], ops: dict[str, dict[str, Any]], pre: Preprocessing, src: str) -> Norm:
    """``(scale, mean, std)``: ``Global.normalize`` (ours), ``NormalizeImage`` (PaddleOCR's op;
    both must agree when both are there), else the resize op's own."""
    from_op: Norm | None = None
    from_glob: Norm | None = None
    if "NormalizeImage" in ops:
        from_op = _norm_triple(ops["NormalizeImage"], pre, f"{src}: NormalizeImage")
    if glob.get("normalize") is not None:
        if not isinstance(glob["normalize"], dict):
            raise ModelDirError(
                f"{src}: Global.normalize: expected a mapping with scale, mean, std, got {glob['normalize']!r}"
            )
        from_glob = _norm_triple(glob["normalize"], pre, f"{src}: Global.normalize")
    if from_op and from_glob and not _close(from_op, from_glob):
        raise ModelDirError(
            f"{src}: Global.normalize {_show(from_glob)} disagrees with PreProcess NormalizeImage {_show(from_op)}"
        )
    return from_glob or from_op or (pre.scale, pre.mean, pre.std)


def _close(a: Norm, b: Norm) -> bool:
    def flat(t: Norm) -> list[float]:
        return [t[0], *t[1], *t[2]]

    return (
        len(a[1]) == len(b[1]) and len(a[2]) == len(b[2]) and all(abs(x - y) <= 1e-9 for x, y in zip(flat(a), flat(b)))
    )


def _show(norm: Norm) -> str:
    return f"(scale={norm[0]:g}, mean={list(norm[1])}, std={list(norm[2])})"


def img_mode(glob: dict[str, Any], ops: dict[str, dict[str, Any]], pre: Preprocessing, src: str) -> str:
    """The channel order: ``DecodeImage.img_mode`` and ``Global.channel_order`` (both must agree
    when both are there), else the resize op's default."""
    decode = ops.get("DecodeImage")
    mode = str(decode.get("img_mode", pre.img_mode)).upper() if decode is not None else pre.img_mode
    if mode not in IMG_MODES:
        raise ModelDirError(f"{src}: DecodeImage.img_mode: expected BGR, RGB or GRAY, got {mode!r}")
    order = glob.get("channel_order")
    if order is None:
        return mode
    order = str(order).upper()
    if order not in IMG_MODES:
        raise ModelDirError(f"{src}: Global.channel_order: expected BGR, RGB or GRAY, got {glob['channel_order']!r}")
    if decode is not None and "img_mode" in decode and order != mode:
        raise ModelDirError(
            f"{src}: Global.channel_order {order} disagrees with PreProcess DecodeImage.img_mode {mode}"
        )
    return order


def max_width(glob: dict[str, Any], default: int, src: str) -> int:
    value = glob.get("max_width")
    value = default if value is None else value
    if not is_int(value) or value < 1:
        raise ModelDirError(f"{src}: Global.max_width: expected a positive int, got {value!r}")
    return value


def quantization(glob: dict[str, Any], src: str) -> dict[str, dict[str, Any]] | None:
    """``Global.quantization`` (a mapping of records, e.g. ``{"int8": {...}}``), or None."""
    value = glob.get("quantization")
    if value is None:
        return None
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise ModelDirError(
            f"{src}: Global.quantization: expected a mapping of records (e.g. int8: {{...}}), got {value!r:.80}"
        )
    return value
