"""``RecAug``: mild OpenCV augmentation for text lines, drawn from the sample's seeded rng."""

import cv2
import numpy as np

from ..errors import ConfigError
from ..registry import DATA_TRANSFORMS


@DATA_TRANSFORMS.register()
class RecAug:
    """Mild OpenCV augmentation for text-line images (uint8, H×W or H×W×C).

    Each effect is applied independently with its probability; random numbers come from
    ``data["rng"]`` (see module docstring). Output keeps the dtype and channel layout;
    only ``crop`` changes the size.

    Args:
        tia_prob (float): geometric jitter: a small random affine (rotation, shear, scale)
            or perspective warp of the corners.
        crop_prob (float): crop a few pixels off the top/bottom and the ends.
        blur_prob (float): Gaussian blur (kernel 3 or 5).
        noise_prob (float): additive Gaussian noise.
        hsv_aug_prob (float): hue / saturation / value jitter (colour images).
        contrast_prob (float): random contrast and brightness.
        jitter_prob (float): shift the image by a pixel or two.
        reverse_prob (float): invert the colours (dark text on light ↔ light on dark).
        max_angle (float): largest rotation of the affine jitter, in degrees.
        max_perspective (float): largest corner shift of the perspective warp, as a
            fraction of the image height.
        max_noise_std (float): largest noise standard deviation, in grey levels.
        aug_prob (float): probability of augmenting a sample at all (PaddleOCR's older
            ``RecAug`` argument); each effect's own probability applies after it.
        use_tia (bool): ``False`` turns the geometric jitter off (PaddleOCR argument).
    """

    def __init__(
        self,
        tia_prob=0.3,
        crop_prob=0.3,
        blur_prob=0.2,
        noise_prob=0.2,
        hsv_aug_prob=0.2,
        contrast_prob=0.2,
        jitter_prob=0.2,
        reverse_prob=0.0,
        max_angle=3.0,
        max_perspective=0.15,
        max_noise_std=8.0,
        aug_prob=1.0,
        use_tia=True,
    ):
        if not use_tia:
            tia_prob = 0.0
        probs = dict(
            aug_prob=aug_prob,
            tia_prob=tia_prob,
            crop_prob=crop_prob,
            blur_prob=blur_prob,
            noise_prob=noise_prob,
            hsv_aug_prob=hsv_aug_prob,
            contrast_prob=contrast_prob,
            jitter_prob=jitter_prob,
            reverse_prob=reverse_prob,
        )
        for key, p in probs.items():
            if not isinstance(p, (int, float)) or isinstance(p, bool) or not 0.0 <= p <= 1.0:
                raise ConfigError(f"RecAug.{key}: expected a probability in [0, 1], got {p!r}")
        for key, v in dict(max_angle=max_angle, max_perspective=max_perspective, max_noise_std=max_noise_std).items():
            if not isinstance(v, (int, float)) or isinstance(v, bool) or v < 0:
                raise ConfigError(f"RecAug.{key}: expected a non-negative number, got {v!r}")
        self.probs = {k: float(v) for k, v in probs.items()}
        self.max_angle = float(max_angle)
        self.max_perspective = float(max_perspective)
        self.max_noise_std = float(max_noise_std)

    def __call__(self, data):
        img = data["image"]
        if not isinstance(img, np.ndarray) or img.dtype != np.uint8 or img.ndim not in (2, 3):
            raise ConfigError(
                "RecAug: expects a decoded uint8 H×W(×C) image; put DecodeImage (channel_first: false) first"
            )
        rng = data.get("rng")
        if rng is None:
            rng = np.random.default_rng()
        squeeze = img.ndim == 3 and img.shape[2] == 1
        if squeeze:
            img = img[:, :, 0]
        p = self.probs
        # Draw every decision up front so the stream of random numbers does not depend on
        # the image content: the same seed gives the same choices for any image.
        u = rng.random(9)
        if u[8] >= p["aug_prob"]:
            return data  # image untouched
        if u[0] < p["tia_prob"]:
            img = self._geometric(img, rng)
        if u[1] < p["crop_prob"]:
            img = self._crop(img, rng)
        if u[2] < p["jitter_prob"]:
            img = self._shift(img, rng)
        if u[3] < p["blur_prob"]:
            k = int(rng.choice([3, 5])) if min(img.shape[:2]) >= 16 else 3
            img = cv2.GaussianBlur(img, (k, k), 0)
        if u[4] < p["hsv_aug_prob"] and img.ndim == 3 and img.shape[2] == 3:
            img = self._hsv(img, rng)
        if u[5] < p["contrast_prob"]:
            alpha = rng.uniform(0.7, 1.3)
            beta = rng.uniform(-25, 25)
            img = cv2.convertScaleAbs(img, alpha=alpha, beta=beta)
        if u[6] < p["noise_prob"] and self.max_noise_std > 0:
            std = rng.uniform(1.0, self.max_noise_std)
            noisy = img.astype(np.float32) + rng.normal(0.0, std, size=img.shape).astype(np.float32)
            img = np.clip(noisy, 0, 255).astype(np.uint8)
        if u[7] < p["reverse_prob"]:
            img = 255 - img
        if squeeze:
            img = img[:, :, None]
        data["image"] = np.ascontiguousarray(img)
        return data

    def _geometric(self, img, rng):
        h, w = img.shape[:2]
        if h < 4 or w < 4:
            return img
        border = dict(borderMode=cv2.BORDER_REPLICATE)
        if rng.random() < 0.5:
            angle = rng.uniform(-self.max_angle, self.max_angle)
            scale = rng.uniform(0.95, 1.05)
            m = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), angle, scale)
            m[0, 1] += rng.uniform(-0.15, 0.15)  # horizontal shear, like italic text
            m[0, 2] -= m[0, 1] * h / 2.0
            return cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, **border)
        d = self.max_perspective * h
        src = np.float32([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]])
        dst = src + rng.uniform(-d, d, size=(4, 2)).astype(np.float32)
        m = cv2.getPerspectiveTransform(src, dst)
        return cv2.warpPerspective(img, m, (w, h), flags=cv2.INTER_LINEAR, **border)

    @staticmethod
    def _crop(img, rng):
        h, w = img.shape[:2]
        if h < 8 or w < 8:
            return img
        top, bottom = (int(v) for v in rng.integers(0, max(1, h // 8) + 1, size=2))
        left, right = (int(v) for v in rng.integers(0, max(1, w // 32) + 1, size=2))
        return img[top : h - bottom, left : w - right]

    @staticmethod
    def _shift(img, rng):
        h, w = img.shape[:2]
        dx, dy = (float(v) for v in rng.integers(-2, 3, size=2))
        m = np.float32([[1, 0, dx], [0, 1, dy]])
        return cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REPLICATE)

    @staticmethod
    def _hsv(img, rng):
        hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV).astype(np.int16)
        hsv[:, :, 0] = (hsv[:, :, 0] + int(rng.integers(-8, 9))) % 180
        hsv[:, :, 1] = np.clip(hsv[:, :, 1] * rng.uniform(0.7, 1.3), 0, 255)
        hsv[:, :, 2] = np.clip(hsv[:, :, 2] * rng.uniform(0.8, 1.2), 0, 255)
        return cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2BGR)
