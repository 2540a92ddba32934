"""VisionLAN's data transforms under PaddleOCR's names: ``VLLabelEncode`` and ``VLRecResizeImg``.

``VLLabelEncode`` removes one random character from each label, the target of VisionLAN's
masked language-aware module (MLM)::

    "hello", position 1  ->  label_res "hllo" (remaining), label_sub "e" (occluded), label_id 1

Label rule: a label may have up to ``max_text_length`` characters after cleaning
(lower-casing without a dictionary, unknown characters per ``drop_unknown_chars``); a
longer one raises :class:`SkipSample` ``label_too_long``. The head reads
``max_text_length + 1`` steps and :class:`~ppresnet45.modeling.losses.visionlan.VLLoss`
appends the end class itself, so a full-length label trains its end at the last step (in
PaddleOCR such a label has no end in its row and crashes the loss).
"""

import cv2
import numpy as np

from ..errors import ConfigError
from ..registry import DATA_TRANSFORMS
from .transforms import CTCLabelEncode, SkipSample, _global


@DATA_TRANSFORMS.register()
class VLLabelEncode(CTCLabelEncode):
    """Encode ``data["label"]`` for VisionLAN: the label and its MLM targets.

    Outputs (int64): ``label``, ``label_res``, ``label_sub`` (each ``[max_text_length]``,
    character ``i`` of the dictionary as ``i + 1``, zero-padded), ``length``,
    ``length_res``, ``length_sub`` and ``label_id`` (0-d: character counts and the position
    of the removed character in the encoded label), and ``text`` (the text encoded).

    The removed character is drawn uniformly from the cleaned text with ``data["rng"]``
    (the dataset's per-sample generator, so a seed reproduces it; a fresh unseeded generator
    when absent). PaddleOCR draws the position in the raw text before unknown characters are
    dropped; here it indexes the encoded label, so ``label_id`` always points at
    ``label_sub``'s character. A one-character label leaves ``label_res`` empty.

    Args:
        max_text_length (int | None): most characters per label; default
            ``Global.max_text_length`` (25).
        character_dict_path (str | None): dictionary file; default ``Global.character_dict_path``.
        use_space_char (bool | None): add a space to the dictionary; default ``Global.use_space_char``.
        drop_unknown_chars (bool | None): drop characters outside the dictionary (``True``)
            or skip the sample (``False``); default ``Global.drop_unknown_chars`` (False).
        lower (bool | None): lower-case the text first; default: only without a dictionary.
        global_config (dict | None): the config's ``Global`` section.
    """

    def _row(self, indices):
        row = np.zeros(self.max_text_length, dtype=np.int64)
        row[: len(indices)] = indices
        return row

    def __call__(self, data):
        text, reason = self.clean_text(data.get("label", ""))
        if reason is not None:
            raise SkipSample(reason, repr(data.get("label", "")))
        indices, _ = self.charset.encode(text)
        rng = data.get("rng")
        if rng is None:
            rng = np.random.default_rng()
        pos = int(rng.integers(len(indices)))
        res, sub = indices[:pos] + indices[pos + 1 :], [indices[pos]]
        data["label"] = self._row(indices)
        data["length"] = np.array(len(indices), dtype=np.int64)
        data["label_res"] = self._row(res)
        data["length_res"] = np.array(len(res), dtype=np.int64)
        data["label_sub"] = self._row(sub)
        data["length_sub"] = np.array(1, dtype=np.int64)
        data["label_id"] = np.array(pos, dtype=np.int64)
        data["text"] = text
        return data


@DATA_TRANSFORMS.register()
class VLRecResizeImg:
    """Stretch the image to ``[H, W]`` (bilinear, aspect ratio not kept) and scale to [0, 1].

    Outputs ``image`` (float32 ``[C, H, W]``, pixel / 255, no mean subtraction) and
    ``valid_ratio`` (float32 1.0), as PaddleOCR's ``VLRecResizeImg``. The channel order is
    the decoded one (PaddleOCR's VisionLAN config decodes RGB).

    Args:
        image_shape (list[int] | None): ``[C, H, W]``, ``C`` 1 (a GRAY image) or 3;
            default ``Global.image_shape``. VisionLAN: ``[3, 64, 256]``.
        global_config (dict | None): the config's ``Global`` section.
        infer_mode, character_dict_path, padding: accepted for PaddleOCR configs and ignored.
    """

    def __init__(self, image_shape=None, global_config=None, infer_mode=False, character_dict_path=None, padding=True):
        shape = _global(global_config, "image_shape", image_shape)
        if (
            not isinstance(shape, (list, tuple))
            or len(shape) != 3
            or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in shape)
            or shape[0] not in (1, 3)
        ):
            raise ConfigError(
                f"VLRecResizeImg.image_shape: expected [C, H, W] of positive ints, C 1 or 3, got {shape!r}"
            )
        self.image_shape = list(shape)

    def __call__(self, data):
        img = data["image"]
        channels, height, width = self.image_shape
        if not isinstance(img, np.ndarray) or img.ndim not in (2, 3):
            raise ConfigError("VLRecResizeImg: 'image' is not decoded; put DecodeImage (channel_first: false) first")
        have = 1 if img.ndim == 2 or img.shape[2] == 1 else img.shape[2]
        if have != channels:
            raise ConfigError(
                f"VLRecResizeImg.image_shape: {channels} channel(s) but the image has {have}; "
                f"decode with DecodeImage img_mode {'GRAY' if channels == 1 else 'RGB'}"
            )
        resized = cv2.resize(img, (width, height), interpolation=cv2.INTER_LINEAR).astype(np.float32)
        resized = resized.reshape(height, width, channels)
        data["image"] = np.ascontiguousarray(resized.transpose(2, 0, 1) / 255.0, dtype=np.float32)
        data["valid_ratio"] = np.array(1.0, dtype=np.float32)
        return data
