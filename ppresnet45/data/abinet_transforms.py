"""Data transforms of PaddleOCR's ABINet recipe: label encoding with a stop token, the
plain ImageNet-normalised resize, and ABINet's augmentation.

``ABINetRecAug`` follows ABINet's recipe (geometry, deterioration, colour jitter, each with
its probability) but draws every choice for every sample from ``data["rng"]`` (see
:mod:`ppresnet45.data.transforms`). PaddleOCR draws the geometry type, the deterioration
order and magnitudes once, when the op is built, so a whole run sees one of them only.
"""

import cv2
import numpy as np

from ..errors import ConfigError
from ..registry import DATA_TRANSFORMS
from .transforms import CTCLabelEncode, SkipSample, _global

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406])
IMAGENET_STD = np.array([0.229, 0.224, 0.225])
_INTERPOLATIONS = (cv2.INTER_NEAREST, cv2.INTER_LINEAR, cv2.INTER_CUBIC, cv2.INTER_AREA)
GEOMETRY_KINDS = ("rotation", "affine", "perspective")
DETERIORATIONS = ("noise", "blur", "rescale")
JITTERS = ("brightness", "contrast", "saturation", "hue")


@DATA_TRANSFORMS.register()
class ABINetLabelEncode(CTCLabelEncode):
    """Encode ``data["label"]`` for ABINet: character ``i`` of the dictionary -> ``i + 1``,
    then the stop token ``</s>`` (0), then ``ignore_index`` up to ``max_text_length + 1``.

    Outputs ``label`` (int64 ``[max_text_length + 1]``), ``length`` (0-d int64, characters
    without ``</s>``) and ``text``. A label of ``max_text_length`` characters or more (no
    room for ``</s>`` in PaddleOCR's recipe) raises :class:`SkipSample` (``label_too_long``),
    so the dataset counts it instead of dropping it silently.

    Args:
        max_text_length (int | None): default ``Global.max_text_length`` (25).
        character_dict_path (str | None): default ``Global.character_dict_path``.
        use_space_char (bool | None): default ``Global.use_space_char``.
        ignore_index (int): padding value after ``</s>``; the loss must ignore it
            (``Loss.ignore_index``). Must not be a class index (``0 .. dict size``).
        drop_unknown_chars (bool | None): drop characters outside the dictionary instead of
            skipping the sample; default ``Global.drop_unknown_chars`` (False).
        lower (bool | None): lower-case first; default: only without a dictionary.
        global_config (dict | None): the config's ``Global`` section.
    """

    def __init__(
        self,
        max_text_length=None,
        character_dict_path=None,
        use_space_char=None,
        ignore_index=100,
        drop_unknown_chars=None,
        lower=None,
        global_config=None,
    ):
        super().__init__(max_text_length, character_dict_path, use_space_char, drop_unknown_chars, lower, global_config)
        num_classes = len(self.charset.characters) + 1
        if isinstance(ignore_index, bool) or not isinstance(ignore_index, int) or 0 <= ignore_index < num_classes:
            raise ConfigError(
                f"ABINetLabelEncode.ignore_index: expected an int outside the class range 0..{num_classes - 1}, "
                f"got {ignore_index!r}"
            )
        self.ignore_index = ignore_index

    def clean_text(self, text):
        """``(text_to_encode, skip_reason_or_None)``; also the dataset's label pre-scan."""
        text, reason = super().clean_text(text)
        if reason is None and len(text) >= self.max_text_length:
            reason = "label_too_long"
        return text, reason

    def __call__(self, data):
        raw = data.get("label", "")
        text, reason = self.clean_text(raw)
        if reason == "label_too_long":
            raise SkipSample(
                reason,
                f"{raw!r}: {len(text)} characters, ABINet takes at most "
                f"max_text_length - 1 = {self.max_text_length - 1}",
            )
        if reason is not None:
            raise SkipSample(reason, repr(raw))
        indices, _ = self.charset.encode(text)
        label = np.full(self.max_text_length + 1, self.ignore_index, dtype=np.int64)
        label[: len(indices)] = indices
        label[len(indices)] = 0  # </s>
        data["label"] = label
        data["length"] = np.array(len(indices), dtype=np.int64)
        data["text"] = text
        return data


@DATA_TRANSFORMS.register()
class ABINetRecResizeImg:
    """Stretch to ``image_shape`` (no padding), scale to [0, 1], normalise with the
    ImageNet mean/std (RGB order: put ``DecodeImage: {img_mode: RGB}`` first).

    Outputs ``image`` (float32 ``[3, H, W]``) and ``valid_ratio`` (1.0).

    Args:
        image_shape (list[int] | None): ``[3, H, W]``; default ``Global.image_shape``.
        global_config (dict | None): the config's ``Global`` section.
    """

    def __init__(self, image_shape=None, global_config=None):
        shape = _global(global_config, "image_shape", image_shape)
        if (
            not isinstance(shape, (list, tuple))
            or len(shape) != 3
            or shape[0] != 3
            or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in shape)
        ):
            raise ConfigError(f"ABINetRecResizeImg.image_shape: expected [3, H, W] of positive ints, got {shape!r}")
        self.image_shape = list(shape)

    def __call__(self, data):
        img = data["image"]
        if not isinstance(img, np.ndarray) or img.ndim not in (2, 3):
            raise ConfigError("ABINetRecResizeImg: 'image' is not decoded; put DecodeImage before it")
        if img.ndim == 2 or img.shape[2] == 1:
            img = np.repeat(img.reshape(img.shape[0], img.shape[1], 1), 3, axis=2)
        _, h, w = self.image_shape
        resized = cv2.resize(img[:, :, :3], (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32) / 255.0
        norm = (resized - IMAGENET_MEAN) / IMAGENET_STD
        data["image"] = norm.transpose(2, 0, 1).astype(np.float32)
        data["valid_ratio"] = np.array(1.0, dtype=np.float32)
        return data


def _sym(rng, magnitude):
    """Symmetric draw in ``[-magnitude, magnitude]``, concentrated near 0 (Beta(4, 4))."""
    return (rng.beta(4, 4) - 0.5) * 2 * magnitude


def _asym(rng, magnitude, size=None):
    """Draw in ``[0, magnitude]``, concentrated near 0 (Beta(1, 4))."""
    return rng.beta(1, 4, size) * magnitude


def _interp(rng):
    return _INTERPOLATIONS[int(rng.integers(len(_INTERPOLATIONS)))]


def _fit_affine(m, w, h):
    """Shift the 2x3 forward matrix ``m`` so the transformed image fits its own canvas."""
    corners = np.array([[0, 0, 1], [w - 1, 0, 1], [w - 1, h - 1, 1], [0, h - 1, 1]], dtype=np.float64)
    pts = corners @ m.T
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    m = m.copy()
    m[:, 2] -= lo
    size = np.maximum(np.round(hi - lo).astype(int) + 1, 1)
    return m, (int(size[0]), int(size[1]))


def _check_number(name, value, low=0.0, high=None):
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value >= low
    if not ok or (high is not None and value > high):
        span = f"in [{low}, {high}]" if high is not None else f">= {low}"
        raise ConfigError(f"ABINetRecAug.{name}: expected a number {span}, got {value!r}")
    return float(value)


def _check_pair(name, value, positive=False):
    if (
        not isinstance(value, (list, tuple))
        or len(value) != 2
        or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
        or (positive and not 0 < value[0] <= value[1])
        or (not positive and min(value) < 0)
    ):
        what = "0 < low <= high" if positive else "non-negative numbers"
        raise ConfigError(f"ABINetRecAug.{name}: expected a pair [a, b] of {what}, got {value!r}")
    return tuple(float(v) for v in value)


@DATA_TRANSFORMS.register()
class ABINetRecAug:
    """ABINet's augmentation of a decoded uint8 RGB image (H×W×3, or H×W gray).

    Per sample, with independent probabilities: a geometric warp (one of rotation, affine
    with scale and shear, perspective, drawn uniformly), a deterioration (Gaussian noise,
    motion blur and down-and-up rescaling, in a random order), a colour jitter
    (brightness, contrast, saturation, hue, in a random order). Kinds, orders and
    magnitudes are all drawn from ``data["rng"]``; the output size may change (geometry).

    Args:
        geometry_p (float): probability of the geometric warp.
        deterioration_p (float): probability of the deterioration.
        colorjitter_p (float): probability of the colour jitter.
        degrees (float): largest rotation, in degrees.
        scale (list[float]): affine scale range ``[low, high]``.
        shear (list[float]): largest affine shear ``[x, y]``, in degrees.
        distortion (float): perspective corner shift, as a fraction of half the size.
        noise_var (float): largest Gaussian noise variance, in grey levels squared.
        blur_degrees (float): largest motion-blur kernel size.
        rescale_factor (float): largest number of pyramid halvings of the rescale.
        brightness, contrast, saturation (float): jitter factor range ``1 ± value``.
        hue (float): hue shift range ``± value`` (fraction of the hue circle, <= 0.5).
    """

    def __init__(
        self,
        geometry_p=0.5,
        deterioration_p=0.25,
        colorjitter_p=0.25,
        degrees=45,
        scale=(0.5, 2.0),
        shear=(45, 15),
        distortion=0.5,
        noise_var=20,
        blur_degrees=6,
        rescale_factor=4,
        brightness=0.5,
        contrast=0.5,
        saturation=0.5,
        hue=0.1,
    ):
        self.geometry_p = _check_number("geometry_p", geometry_p, 0.0, 1.0)
        self.deterioration_p = _check_number("deterioration_p", deterioration_p, 0.0, 1.0)
        self.colorjitter_p = _check_number("colorjitter_p", colorjitter_p, 0.0, 1.0)
        self.degrees = _check_number("degrees", degrees, 0.0, 180.0)
        self.scale = _check_pair("scale", scale, positive=True)
        self.shear = _check_pair("shear", shear)
        if max(self.shear) >= 60:
            raise ConfigError(f"ABINetRecAug.shear: expected angles below 60 degrees, got {shear!r}")
        self.distortion = _check_number("distortion", distortion, 0.0, 1.0)
        self.noise_var = _check_number("noise_var", noise_var)
        self.blur_degrees = _check_number("blur_degrees", blur_degrees)
        self.rescale_factor = _check_number("rescale_factor", rescale_factor, 0.0, 8.0)
        jitter = {"brightness": brightness, "contrast": contrast, "saturation": saturation}
        self.jitter = {k: _check_number(k, v) for k, v in jitter.items()}
        self.jitter["hue"] = _check_number("hue", hue, 0.0, 0.5)

    def plan(self, rng):
        """Draw this sample's choices: ``{"geometry": kind or None, "deterioration": [ops in
        order], "jitter": [ops in order]}`` (an empty list: not applied)."""
        u = rng.random(3)
        geometry = GEOMETRY_KINDS[int(rng.integers(len(GEOMETRY_KINDS)))] if u[0] < self.geometry_p else None
        deterioration = [DETERIORATIONS[i] for i in rng.permutation(3)] if u[1] < self.deterioration_p else []
        jitter = [JITTERS[i] for i in rng.permutation(4)] if u[2] < self.colorjitter_p else []
        return {"geometry": geometry, "deterioration": deterioration, "jitter": jitter}

    def __call__(self, data):
        img = data["image"]
        if not isinstance(img, np.ndarray) or img.dtype != np.uint8 or img.ndim not in (2, 3):
            raise ConfigError("ABINetRecAug: expects a decoded uint8 H×W(×C) image; put DecodeImage first")
        rng = data.get("rng")
        if rng is None:
            rng = np.random.default_rng()
        plan = self.plan(rng)
        if plan["geometry"] is not None and min(img.shape[:2]) >= 2:
            img = getattr(self, "_" + plan["geometry"])(img, rng)
        for name in plan["deterioration"]:
            img = getattr(self, "_" + name)(img, rng)
        for name in plan["jitter"]:
            img = self._jitter(img, name, rng)
        data["image"] = np.ascontiguousarray(img)
        return data

    # -- geometry
    def _rotation(self, img, rng):
        h, w = img.shape[:2]
        m = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), _sym(rng, self.degrees), 1.0)
        m, size = _fit_affine(m, w, h)
        return cv2.warpAffine(img, m, size, flags=_interp(rng), borderMode=cv2.BORDER_REPLICATE)

    def _affine(self, img, rng):
        h, w = img.shape[:2]
        angle = np.radians(_sym(rng, self.degrees))
        scale = rng.uniform(*self.scale)
        sx, sy = np.radians(_sym(rng, self.shear[0])), np.radians(_sym(rng, self.shear[1]))
        rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        a = scale * rot @ np.array([[1.0, np.tan(sx)], [np.tan(sy), 1.0]])
        center = np.array([w / 2.0, h / 2.0])
        m, size = _fit_affine(np.hstack([a, (center - a @ center)[:, None]]), w, h)
        return cv2.warpAffine(img, m, size, flags=_interp(rng), borderMode=cv2.BORDER_REPLICATE)

    def _perspective(self, img, rng):
        h, w = img.shape[:2]
        oh = _asym(rng, self.distortion * h / 2, 4).astype(np.int32)
        ow = _asym(rng, self.distortion * w / 2, 4).astype(np.int32)
        src = np.float32([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]])
        dst = np.float32(
            [[ow[0], oh[0]], [w - 1 - ow[1], oh[1]], [w - 1 - ow[2], h - 1 - oh[2]], [ow[3], h - 1 - oh[3]]]
        )
        m = cv2.getPerspectiveTransform(src, dst)
        out = cv2.warpPerspective(img, m, (w, h), flags=_interp(rng), borderMode=cv2.BORDER_REPLICATE)
        x0, y0 = (int(v) for v in dst.min(axis=0))
        x1, y1 = (int(v) for v in dst.max(axis=0))
        return out[y0 : y1 + 1, x0 : x1 + 1]

    # -- deterioration
    def _noise(self, img, rng):
        var = max(int(_asym(rng, self.noise_var)), 1)
        noisy = img.astype(np.float32) + rng.normal(0.0, var**0.5, img.shape).astype(np.float32)
        return np.clip(noisy, 0, 255).astype(np.uint8)

    def _blur(self, img, rng):
        size = max(int(_asym(rng, self.blur_degrees)), 1)
        angle = rng.uniform(-90, 90)
        kernel = np.zeros((size, size), dtype=np.float32)
        kernel[size // 2, :] = 1.0
        rot = cv2.getRotationMatrix2D((size // 2, size // 2), angle, 1.0)
        kernel = cv2.warpAffine(kernel, rot, (size, size)) / size
        return np.clip(cv2.filter2D(img, -1, kernel), 0, 255).astype(np.uint8)

    def _rescale(self, img, rng):
        halvings = round(rng.uniform(0, self.rescale_factor))
        if halvings == 0:
            return img
        h, w = img.shape[:2]
        small = cv2.resize(img, (512, 128), interpolation=_interp(rng))
        for _ in range(halvings):
            small = cv2.pyrDown(small)
        return cv2.resize(small, (w, h), interpolation=_interp(rng))

    # -- colour jitter
    def _jitter(self, img, name, rng):
        amount = self.jitter[name]
        colour = img.ndim == 3 and img.shape[2] == 3
        if amount == 0 or (name in ("saturation", "hue") and not colour):
            return img
        if name == "hue":
            hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)
            shift = round(rng.uniform(-amount, amount) * 180)
            hsv[:, :, 0] = ((hsv[:, :, 0].astype(np.int32) + shift) % 180).astype(np.uint8)
            return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
        factor = rng.uniform(max(0.0, 1.0 - amount), 1.0 + amount)
        x = img.astype(np.float32)
        if name == "brightness":
            out = x * factor
        else:
            gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32) if colour else x.reshape(img.shape[:2])
            base = gray.mean() if name == "contrast" else gray.reshape(gray.shape + (1,) * (img.ndim - 2))
            out = x * factor + base * (1.0 - factor)
        return np.clip(out, 0, 255).astype(np.uint8)
