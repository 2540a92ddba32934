"""How a rendered line looks: the documented ranges and probabilities of every style choice,
and one line's concrete draw from them.

:class:`StyleRanges` lists each choice with its range and probability (the defaults are the
renderer's distribution; the README has the same table). :func:`sample_style` draws a
:class:`LineStyle` from a ``np.random.Generator``: all scalar choices are drawn there, in a
fixed order, so the same generator state gives the same style (and, with the pixel noise
drawn afterwards from the same generator, the same image).
"""

import math
from dataclasses import dataclass, fields

from ...errors import ConfigError


@dataclass(frozen=True)
class StyleRanges:
    """Ranges (``(low, high)``, uniform) and probabilities of the style choices.

    Attributes:
        fill: height of the font's ascender-to-descender box / line height.
        v_offset: where the text box sits in the vertical slack: -1 top, 0 centred, 1 bottom.
        margin: left and right margins (each drawn alone), in line heights.
        tight_prob: probability that a side's margin is tight instead (``tight_margin``).
        tight_margin: a tight margin, in line heights.
        tight_crop_prob: crop to the ink's top and bottom and scale to the line height
            (detector-style tight boxes: no room above or below the glyphs).
        spacing_prob / spacing: extra space between glyphs, in font sizes (negative: tighter).
        bold_prob: thicken strokes (a one-pixel stroke on large text, a smear on small).
        rotate_prob / rotate_deg: rotation, at most this many degrees (also limited so that
            the line drifts at most 12 % of its height end to end).
        shear_prob / shear: italic-like slant (x shift per pixel of height).
        perspective_prob / perspective: corner jitter, in line heights.
        dark_text_prob: dark text on a light background (else light on dark).
        contrast: grey-level difference between text and background.
        tint: colour tint of text and background, in grey levels.
        gradient_prob / texture_prob: background is a linear gradient / a soft noise texture
            (else flat); ``bg_spread`` is its amplitude in grey levels.
        ink_fade: ink opacity.
        blur_prob / blur_sigma: Gaussian blur, sigma in pixels at a 32 px line.
        rescale_prob / rescale: render small and scale back up (low resolution), factor.
        noise_prob / noise_std: additive Gaussian noise, standard deviation in grey levels.
        jpeg_prob / jpeg_quality: JPEG compression artefacts at this quality.
    """

    fill: tuple = (0.5, 0.92)
    v_offset: tuple = (-0.8, 0.8)
    margin: tuple = (0.05, 0.8)
    tight_prob: float = 0.25
    tight_margin: tuple = (0.0, 0.05)
    tight_crop_prob: float = 0.15
    spacing_prob: float = 0.3
    spacing: tuple = (-0.05, 0.25)
    bold_prob: float = 0.15
    rotate_prob: float = 0.5
    rotate_deg: float = 3.0
    shear_prob: float = 0.3
    shear: tuple = (-0.3, 0.3)
    perspective_prob: float = 0.3
    perspective: float = 0.08
    dark_text_prob: float = 0.8
    contrast: tuple = (90.0, 250.0)
    tint: tuple = (0.0, 50.0)
    gradient_prob: float = 0.3
    texture_prob: float = 0.3
    bg_spread: tuple = (0.0, 25.0)
    ink_fade: tuple = (0.8, 1.0)
    blur_prob: float = 0.3
    blur_sigma: tuple = (0.3, 1.0)
    rescale_prob: float = 0.2
    rescale: tuple = (0.45, 0.9)
    noise_prob: float = 0.4
    noise_std: tuple = (2.0, 10.0)
    jpeg_prob: float = 0.2
    jpeg_quality: tuple = (30, 90)

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name.endswith("_prob") and not (isinstance(value, (int, float)) and 0.0 <= value <= 1.0):
                raise ConfigError(f"StyleRanges.{f.name}: expected a probability in [0, 1], got {value!r}")
            if isinstance(value, tuple) and (len(value) != 2 or not value[0] <= value[1]):
                raise ConfigError(f"StyleRanges.{f.name}: expected (low, high) with low <= high, got {value!r}")
        if self.gradient_prob + self.texture_prob > 1.0:
            raise ConfigError("StyleRanges: gradient_prob + texture_prob must be at most 1")


@dataclass
class LineStyle:
    """One line's concrete style (see :class:`StyleRanges` for the meaning of each field).

    Zero means "off" for ``spacing``, ``rotate_deg``, ``shear``, ``blur_sigma``,
    ``noise_std`` and ``jpeg_quality``; 1.0 for ``rescale``; ``perspective`` is None or the
    eight corner offsets in line heights.
    """

    font: str
    fill: float
    v_offset: float
    margin_left: float
    margin_right: float
    tight_crop: bool
    spacing: float
    bold: bool
    rotate_deg: float
    shear: float
    perspective: object
    dark_text: bool
    text_luma: float
    bg_luma: float
    tint: float
    background: str
    bg_spread: float
    ink_fade: float
    blur_sigma: float
    rescale: float
    noise_std: float
    jpeg_quality: int


PLAIN = dict(
    fill=0.75,
    v_offset=0.0,
    margin_left=0.15,
    margin_right=0.15,
    tight_crop=False,
    spacing=0.0,
    bold=False,
    rotate_deg=0.0,
    shear=0.0,
    perspective=None,
    dark_text=True,
    text_luma=0.0,
    bg_luma=255.0,
    tint=0.0,
    background="flat",
    bg_spread=0.0,
    ink_fade=1.0,
    blur_sigma=0.0,
    rescale=1.0,
    noise_std=0.0,
    jpeg_quality=0,
)


def plain_style(font):
    """Black text on white, centred, 15 % margins, no distortion (``augment=False``)."""
    return LineStyle(font=font, **PLAIN)


def _uniform(rng, bounds):
    return float(rng.uniform(bounds[0], bounds[1]))


def _maybe(rng, prob, bounds, off=0.0):
    """A value from ``bounds`` with probability ``prob``, else ``off`` (always two draws)."""
    hit = rng.random() < prob
    value = _uniform(rng, bounds)
    return value if hit else off


def _margin(rng, r):
    tight = rng.random() < r.tight_prob
    loose = _uniform(rng, r.margin)
    close = _uniform(rng, r.tight_margin)
    return close if tight else loose


def sample_style(rng, font, ranges=None, allow_spacing=True):
    """Draw one line's style.

    Args:
        rng (np.random.Generator): the source of every choice.
        font (str): the font source already chosen for the line.
        ranges (StyleRanges | None): the distribution (default :class:`StyleRanges`).
        allow_spacing (bool): False for text whose glyphs join (extra spacing would break it).

    Returns:
        LineStyle
    """
    r = ranges or StyleRanges()
    fill, v_offset = _uniform(rng, r.fill), _uniform(rng, r.v_offset)
    margin_left, margin_right = _margin(rng, r), _margin(rng, r)
    tight_crop = rng.random() < r.tight_crop_prob
    spacing = _maybe(rng, r.spacing_prob, r.spacing)
    bold = rng.random() < r.bold_prob
    rotate = _maybe(rng, r.rotate_prob, (-r.rotate_deg, r.rotate_deg))
    shear = _maybe(rng, r.shear_prob, r.shear)
    corners = rng.uniform(-r.perspective, r.perspective, size=8)
    perspective = tuple(float(v) for v in corners) if rng.random() < r.perspective_prob else None
    dark_text = rng.random() < r.dark_text_prob
    contrast, tint, spread = _uniform(rng, r.contrast), _uniform(rng, r.tint), _uniform(rng, r.bg_spread)
    # Place the pair of grey levels so that both fit in [0, 255] with the drawn contrast.
    low = _uniform(rng, (0.0, max(0.0, 255.0 - contrast)))
    text_luma, bg_luma = (low, low + contrast) if dark_text else (low + contrast, low)
    kind = rng.random()
    background = (
        "gradient" if kind < r.gradient_prob else ("texture" if kind < r.gradient_prob + r.texture_prob else "flat")
    )
    return LineStyle(
        font=font,
        fill=fill,
        v_offset=v_offset,
        margin_left=margin_left,
        margin_right=margin_right,
        tight_crop=tight_crop,
        spacing=spacing if allow_spacing else 0.0,
        bold=bold,
        rotate_deg=rotate,
        shear=shear,
        perspective=perspective,
        dark_text=dark_text,
        text_luma=text_luma,
        bg_luma=bg_luma,
        tint=tint,
        background=background,
        bg_spread=spread,
        ink_fade=_uniform(rng, r.ink_fade),
        blur_sigma=_maybe(rng, r.blur_prob, r.blur_sigma),
        rescale=_maybe(rng, r.rescale_prob, r.rescale, 1.0),
        noise_std=_maybe(rng, r.noise_prob, r.noise_std),
        jpeg_quality=int(round(_maybe(rng, r.jpeg_prob, r.jpeg_quality))),
    )


def max_rotation(height, text_width, limit_deg):
    """The largest rotation (radians) that keeps the end-to-end drift under 12 % of the height."""
    return min(math.radians(limit_deg), math.asin(min(1.0, 0.12 * height / max(1.0, text_width))))
