"""RecAug: dtype and channels kept, reproducible from the sample's generator, arguments checked."""

import cv2
import numpy as np
import pytest

from ppresnet45.data.rec_aug import RecAug
from ppresnet45.errors import ConfigError


def line_image(text="hello", width=100, height=32, channels=3):
    img = np.full((height, width, 3), 255, np.uint8)
    cv2.putText(img, text, (2, height - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (0, 0, 0), 2)
    return img if channels == 3 else cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)


@pytest.mark.parametrize("channels", [3, 1])
def test_rec_aug_keeps_dtype_and_channels(channels):
    img = line_image(channels=channels)
    rng = np.random.default_rng(0)
    every = RecAug(
        tia_prob=1,
        crop_prob=1,
        blur_prob=1,
        noise_prob=1,
        hsv_aug_prob=1,
        contrast_prob=1,
        jitter_prob=1,
        reverse_prob=1,
    )
    for _ in range(5):
        out = every({"image": img.copy(), "rng": rng})["image"]
        assert out.dtype == np.uint8 and out.ndim == img.ndim
        assert out.shape[2:] == img.shape[2:] and out.shape[0] <= img.shape[0] and out.shape[1] <= img.shape[1]
    no_crop = RecAug(tia_prob=1, crop_prob=0, blur_prob=1, noise_prob=1, hsv_aug_prob=1, contrast_prob=1, jitter_prob=1)
    out = no_crop({"image": img.copy(), "rng": rng})["image"]
    assert out.shape == img.shape and out.dtype == np.uint8
    assert not np.array_equal(out, img)


def test_rec_aug_is_reproducible_from_the_generator():
    img = line_image()
    op = RecAug()
    a = [op({"image": img.copy(), "rng": np.random.default_rng([3, i])})["image"] for i in range(6)]
    b = [op({"image": img.copy(), "rng": np.random.default_rng([3, i])})["image"] for i in range(6)]
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not all(x.shape == img.shape and np.array_equal(x, img) for x in a)  # something happened


def test_rec_aug_handles_tiny_images_and_validates_probabilities():
    tiny = np.full((3, 3, 3), 200, np.uint8)
    out = RecAug(tia_prob=1, crop_prob=1, blur_prob=1)({"image": tiny, "rng": np.random.default_rng(0)})["image"]
    assert out.dtype == np.uint8 and out.shape == (3, 3, 3)
    with pytest.raises(ConfigError, match="RecAug.blur_prob"):
        RecAug(blur_prob=1.5)
