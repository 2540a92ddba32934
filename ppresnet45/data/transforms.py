"""Per-sample data transforms listed under ``Train/Eval.dataset.transforms``.

A config lists the ops in order, PaddleOCR style::

    transforms:
      - DecodeImage: {img_mode: BGR, channel_first: false}
      - RecAug: null
      - CTCLabelEncode: null
      - RecResizeImg: {image_shape: [3, 32, 128]}
      - KeepKeys: {keep_keys: [image, label, length]}

Each op is a callable ``op(data) -> data`` on a sample dict (``image`` holds the encoded
bytes at first, ``label`` the text). An op that finds the sample unusable raises
:class:`SkipSample` with one of :data:`SKIP_REASONS`; the dataset counts it and loads a
replacement, so one bad sample never stops training. Ops whose constructor accepts a
``global_config`` keyword receive the config's ``Global`` section (dictionary path,
``max_text_length``, ...) from :func:`build_transforms`.

Random ops draw from ``data["rng"]``, a :class:`numpy.random.Generator` that the dataset
derives from (seed, epoch, position) for every sample, so augmentation is reproducible from
the seed regardless of worker count or resume point.
"""

import cv2
import numpy as np

from ..charset import CTCCharset, load_character_list
from ..errors import ConfigError, PPResNetError
from ..registry import DATA_TRANSFORMS, accepted_arguments
from .imgproc import resize_norm_img

# Why a sample can be skipped; the order is the layout of the per-batch count vector.
SKIP_REASONS = (
    "missing_image",  # the image file / LMDB record does not exist
    "undecodable_image",  # the bytes are not an image OpenCV can decode
    "empty_label",  # the label text is empty
    "label_too_long",  # more characters than max_text_length
    "unknown_char",  # a character outside the dictionary (skip mode), or nothing left after dropping
    "malformed_label",  # a label-file line without the delimiter or not UTF-8; an LMDB label record missing
    "transform_error",  # any other failure inside a transform (logged)
)


class SkipSample(Exception):
    """Raised by a transform or a dataset when a sample must be skipped.

    Args:
        reason (str): one of :data:`SKIP_REASONS`.
        detail (str): human-readable detail for logs (file, text, ...).
    """

    def __init__(self, reason, detail=""):
        if reason not in SKIP_REASONS:
            raise ValueError(f"unknown skip reason {reason!r}; expected one of {SKIP_REASONS}")
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def _global(global_config, key, value, default=None):
    """An op argument, else ``Global.<key>``, else ``default``."""
    if value is not None:
        return value
    if global_config and global_config.get(key) is not None:
        return global_config[key]
    return default


@DATA_TRANSFORMS.register()
class DecodeImage:
    """Decode ``data["image"]`` (encoded bytes) into a uint8 array.

    Args:
        img_mode (str): ``"BGR"`` (OpenCV's order, the default), ``"RGB"`` or ``"GRAY"``
            (an H×W array).
        channel_first (bool): transpose to C×H×W (1×H×W for ``GRAY``).
        ignore_orientation (bool): accepted for PaddleOCR configs; EXIF orientation is
            always ignored (text-line crops carry none).
    """

    def __init__(self, img_mode="BGR", channel_first=False, ignore_orientation=False):
        mode = str(img_mode).upper()
        if mode not in ("BGR", "RGB", "GRAY"):
            raise ConfigError(f"DecodeImage.img_mode: expected BGR, RGB or GRAY, got {img_mode!r}")
        self.img_mode = mode
        self.channel_first = bool(channel_first)

    def __call__(self, data):
        raw = data.get("image")
        if isinstance(raw, np.ndarray) and raw.dtype == np.uint8 and raw.ndim in (2, 3):
            img = raw  # already decoded (e.g. built in memory)
        else:
            if raw is None or len(raw) == 0:
                raise SkipSample("undecodable_image", f"{data.get('img_path', '?')}: empty file")
            buf = np.frombuffer(raw, dtype=np.uint8) if isinstance(raw, (bytes, bytearray, memoryview)) else raw
            flag = cv2.IMREAD_GRAYSCALE if self.img_mode == "GRAY" else cv2.IMREAD_COLOR
            try:
                img = cv2.imdecode(buf, flag)
            except cv2.error:
                img = None
            if img is None or img.size == 0:
                raise SkipSample("undecodable_image", f"{data.get('img_path', '?')}: not a decodable image")
        if self.img_mode == "RGB" and img.ndim == 3:
            img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        if self.channel_first:
            img = img[None] if img.ndim == 2 else img.transpose(2, 0, 1)
        data["image"] = img
        return data


@DATA_TRANSFORMS.register()
class CTCLabelEncode:
    """Encode ``data["label"]`` text into CTC indices (blank = 0).

    Outputs ``label`` (int64 ``[max_text_length]``, zero-padded), ``length`` (0-d int64)
    and ``text`` (the text actually encoded). Without a dictionary file the dictionary is
    ``0-9a-z`` and text is lower-cased, as in PaddleOCR.

    Args:
        max_text_length (int | None): longest label; default ``Global.max_text_length`` (25).
        character_dict_path (str | None): dictionary file; default
            ``Global.character_dict_path``.
        use_space_char (bool | None): add a space to the dictionary; default
            ``Global.use_space_char``.
        drop_unknown_chars (bool | None): drop characters outside the dictionary (``True``)
            or skip the sample (``False``); default ``Global.drop_unknown_chars`` (False).
        lower (bool | None): lower-case the text first; default: only without a dictionary.
        global_config (dict | None): the config's ``Global`` section.
    """

    def __init__(
        self,
        max_text_length=None,
        character_dict_path=None,
        use_space_char=None,
        drop_unknown_chars=None,
        lower=None,
        global_config=None,
    ):
        self.max_text_length = int(_global(global_config, "max_text_length", max_text_length, 25))
        if self.max_text_length < 1:
            raise ConfigError(f"CTCLabelEncode.max_text_length: expected a positive int, got {self.max_text_length}")
        dict_path = _global(global_config, "character_dict_path", character_dict_path)
        use_space = bool(_global(global_config, "use_space_char", use_space_char, False))
        self.drop_unknown_chars = bool(_global(global_config, "drop_unknown_chars", drop_unknown_chars, False))
        self.lower = dict_path in (None, "", "None") if lower is None else bool(lower)
        self.charset = CTCCharset(load_character_list(dict_path, use_space))

    def clean_text(self, text):
        """Return ``(text_to_encode, skip_reason_or_None)`` for a label text.

        Cheap enough to run over every label at dataset init (the pre-scan)."""
        if self.lower:
            text = text.lower()
        if len(text) == 0:
            return text, "empty_label"
        index = self.charset.index
        if any(ch not in index for ch in text):
            if not self.drop_unknown_chars:
                return text, "unknown_char"
            text = "".join(ch for ch in text if ch in index)
            if not text:
                return text, "unknown_char"
        if len(text) > self.max_text_length:
            return text, "label_too_long"
        return text, None

    def check_label(self, text):
        """The skip reason for a label text, or ``None`` if it encodes."""
        return self.clean_text(text)[1]

    def __call__(self, data):
        text, reason = self.clean_text(data.get("label", ""))
        if reason is not None:
            raise SkipSample(reason, repr(data.get("label", "")))
        indices, _ = self.charset.encode(text)
        label = np.zeros(self.max_text_length, dtype=np.int64)
        label[: len(indices)] = indices
        data["label"] = label
        data["length"] = np.array(len(indices), dtype=np.int64)
        data["text"] = text
        return data


@DATA_TRANSFORMS.register()
class RecResizeImg:
    """Resize + normalise to the model input with :func:`imgproc.resize_norm_img`.

    Outputs ``image`` (float32 ``[C, H, W]`` in [-1, 1]) and ``valid_ratio`` (float32,
    resized width / ``W``).

    Args:
        image_shape (list[int] | None): ``[C, H, W]``; default ``Global.image_shape``.
        padding (bool): keep the aspect ratio and right-pad (``True``) or stretch to ``W``.
        global_config (dict | None): the config's ``Global`` section.
        infer_mode, eval_mode, character_dict_path: accepted for PaddleOCR configs and
            ignored (training and inference share one resize here).
    """

    def __init__(
        self,
        image_shape=None,
        padding=True,
        global_config=None,
        infer_mode=False,
        eval_mode=False,
        character_dict_path=None,
    ):
        shape = _global(global_config, "image_shape", image_shape)
        if (
            not isinstance(shape, (list, tuple))
            or len(shape) != 3
            or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in shape)
        ):
            raise ConfigError(f"RecResizeImg.image_shape: expected [C, H, W] of positive ints, got {shape!r}")
        if shape[0] not in (1, 3):
            raise ConfigError(f"RecResizeImg.image_shape: channels must be 1 or 3, got {shape[0]}")
        self.image_shape = list(shape)
        self.padding = bool(padding)

    def __call__(self, data):
        img = data["image"]
        if not isinstance(img, np.ndarray):
            raise ConfigError("RecResizeImg: 'image' is not decoded; put DecodeImage before RecResizeImg")
        norm, valid_ratio = resize_norm_img(img, self.image_shape, padding=self.padding)
        data["image"] = norm
        data["valid_ratio"] = np.array(valid_ratio, dtype=np.float32)
        return data


@DATA_TRANSFORMS.register()
class KeepKeys:
    """Turn the sample dict into a list of its ``keep_keys`` values, in that order.

    Args:
        keep_keys (list[str]): keys to keep, e.g. ``[image, label, length]``.
    """

    def __init__(self, keep_keys):
        if not isinstance(keep_keys, (list, tuple)) or not keep_keys or not all(isinstance(k, str) for k in keep_keys):
            raise ConfigError(f"KeepKeys.keep_keys: expected a non-empty list of key names, got {keep_keys!r}")
        self.keep_keys = list(keep_keys)

    def __call__(self, data):
        missing = [k for k in self.keep_keys if k not in data]
        if missing:
            have = ", ".join(k for k in data if k != "rng")
            raise ConfigError(f"KeepKeys.keep_keys: sample has no key {missing[0]!r} (available: {have})")
        return [data[k] for k in self.keep_keys]


def build_transforms(transform_list, global_config=None, key="transforms"):
    """Build the ops listed in a dataset's ``transforms`` section.

    Args:
        transform_list (list): items ``{Name: {args}}`` or ``{Name: null}`` (or a bare
            ``"Name"``), in order.
        global_config (dict | None): the ``Global`` section, given to ops that accept a
            ``global_config`` keyword.
        key (str): config key named in error messages (``Train.dataset.transforms``).

    Returns:
        list[callable]: the ops.
    """
    if transform_list is None:
        return []
    if not isinstance(transform_list, list):
        raise ConfigError(f"{key}: expected a list of {{Name: args}} items, got {type(transform_list).__name__}")
    ops = []
    for i, item in enumerate(transform_list):
        if isinstance(item, str):
            item = {item: None}
        if not isinstance(item, dict) or len(item) != 1:
            raise ConfigError(f"{key}[{i}]: expected one {{Name: args}} mapping, got {item!r}")
        ((name, args),) = item.items()
        if args is None:
            args = {}
        if not isinstance(args, dict):
            raise ConfigError(f"{key}[{i}].{name}: expected a mapping of arguments or null, got {args!r}")
        cfg = dict(args, name=name)
        try:
            names, _ = accepted_arguments(DATA_TRANSFORMS.get(name))
            defaults = {"global_config": global_config} if "global_config" in names else {}
            ops.append(DATA_TRANSFORMS.build(cfg, **defaults))
        except PPResNetError as exc:
            raise type(exc)(f"{key}[{i}]: {exc}") from None
    return ops


def apply_transforms(data, ops):
    """Run ``ops`` on ``data`` in order and return the result (a dict, or a list after
    :class:`KeepKeys`). :class:`SkipSample` propagates to the caller."""
    for op in ops:
        data = op(data)
    return data
