"""Draw one text line in a :class:`.style.LineStyle`: ink mask, geometry, crop, colours and
degradations. Every random draw comes from the generator passed in."""

import math
import unicodedata

import cv2
import numpy as np
from PIL import Image, ImageDraw

from ...errors import ConfigError, DataError
from .fonts import BUILTIN_FONT, _box_ratio, _check_coverage, _load_font, font_family, fonts_for_text
from .style import max_rotation, plain_style, sample_style

_INK = 20  # mask level that counts as ink when cropping


def render_line(text, rng, fonts=None, height=32, augment=True, ranges=None, return_style=False):
    """Render one text line.

    Args:
        text (str): the text; must be drawable by at least one font of ``fonts``.
        rng (np.random.Generator): the only source of randomness (font, style, pixel
            noise), so equal generator states give identical images.
        fonts (list[str] | None): font sources from :func:`.fonts.find_fonts` (default: the
            built-in font only). The line's font family is drawn uniformly among the
            families that cover every character of ``text``, then one of its files.
        height (int): output height in pixels.
        augment (bool): draw the style from ``ranges``; ``False`` draws plain black text on
            white (:func:`.style.plain_style`).
        ranges (StyleRanges | None): the style distribution (default :class:`.style.StyleRanges`).
        return_style (bool): also return the :class:`.style.LineStyle` used.

    Returns:
        np.ndarray: BGR uint8 image ``(height, W, 3)`` (``W`` follows the text and margins);
        with ``return_style``, ``(image, style)``.

    Raises:
        ConfigError: ``text`` is empty or ``height`` is too small.
        DataError: no font in ``fonts`` has glyphs for every character of ``text``.
    """
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"text: expected a non-empty string with a visible character, got {text!r}")
    if not isinstance(height, int) or height < 8:
        raise ConfigError(f"height: expected an integer >= 8, got {height!r}")
    fonts = list(fonts) if fonts else [BUILTIN_FONT]
    usable = fonts_for_text(text, fonts)
    if not usable:
        _check_coverage(text, fonts, f"text {text!r}")
    source = _pick_font(rng, usable)
    if augment:
        style = sample_style(rng, source, ranges, allow_spacing=not _shapes_as_a_whole(text))
    else:
        style = plain_style(source)
    image = draw_line(text, style, height, rng)
    return (image, style) if return_style else image


def _pick_font(rng, usable):
    """A family uniformly, then one of its files (a family with many weights is not drawn
    more often than a single-file one)."""
    families = sorted({font_family(f) for f in usable})
    if len(families) > 1:
        family = families[int(rng.integers(len(families)))]
        usable = [f for f in usable if font_family(f) == family]
    return usable[int(rng.integers(len(usable)))]


def draw_line(text, style, height, rng):
    """Draw ``text`` in ``style`` at ``height`` px (pixel noise and texture from ``rng``)."""
    h = max(8, int(round(height * style.rescale)))  # low-resolution lines are drawn small
    font_size = max(6, int(round(style.fill * h / _box_ratio(style.font))))
    font = _load_font(style.font, font_size)
    mask, pad = _draw_ink(text, font, style, h)
    crop = _crop_line(mask, style, pad, h, f"font '{style.font}' drew nothing for text {text!r}")
    image = _paint(crop, style, rng)
    if h != height:
        width = max(4, int(round(image.shape[1] * height / float(h))))
        image = cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)
    return _degrade(image, style, height, rng)


def _shapes_as_a_whole(text):
    """Text whose glyphs depend on their neighbours (RTL joining, combining marks):
    per-character spacing would break it, so it is drawn in one piece."""
    for ch in text:
        if unicodedata.bidirectional(ch) in ("R", "AL", "AN") or unicodedata.combining(ch):
            return True
        if unicodedata.category(ch) in ("Mn", "Mc", "Me", "Cf"):
            return True
    return False


def _draw_mask(text, font, spacing, stroke, canvas_w, canvas_h, x, baseline, smear=False):
    """Grey-level coverage mask (uint8, 255 = ink) of the text drawn at ``(x, baseline)``;
    ``smear`` thickens vertical strokes by one pixel (a bold weight milder than a stroke)."""
    image = Image.new("L", (canvas_w, canvas_h), 0)
    draw = ImageDraw.Draw(image)
    if spacing == 0:
        draw.text((x, baseline), text, font=font, fill=255, anchor="ls", stroke_width=stroke, stroke_fill=255)
    else:
        for ch in text:
            draw.text((x, baseline), ch, font=font, fill=255, anchor="ls", stroke_width=stroke, stroke_fill=255)
            x += font.getlength(ch) + spacing
    mask = np.asarray(image)
    if smear:
        mask = mask.copy()
        np.maximum(mask[:, 1:], mask[:, :-1], out=mask[:, 1:])
    return mask


def _draw_ink(text, font, style, h):
    """The ink mask on a padded canvas (room for the warp), warped by the style's geometry;
    returns ``(mask, pad)``."""
    size = font.size
    spacing = style.spacing * size
    # Bold: a full stroke only on large text, where it does not clog counters; else a smear.
    stroke = 1 if style.bold and size >= 32 else 0
    smear = style.bold and size < 32
    ascent, descent = font.getmetrics()
    pad = h
    if spacing == 0:
        text_w = font.getlength(text)
    else:
        text_w = sum(font.getlength(ch) for ch in text) + spacing * (len(text) - 1)
    canvas_w = int(math.ceil(text_w)) + 2 * pad + 2 * stroke + 4
    canvas_h = h + 2 * pad
    slack = max(0.0, (h - (ascent + descent)) / 2.0)
    baseline = pad + slack + ascent + style.v_offset * slack
    x = pad + stroke + 2
    mask = _draw_mask(text, font, spacing, stroke, canvas_w, canvas_h, x, baseline, smear=smear)
    warp = _geometry(style, (x, baseline - ascent, x + text_w, baseline + descent), h)
    if warp is not None:
        mask = cv2.warpPerspective(mask, warp, (canvas_w, canvas_h), flags=cv2.INTER_LINEAR, borderValue=0)
    return mask, pad


def _geometry(style, box, height):
    """The style's rotation, shear and perspective as one 3x3 warp around the text box, or None."""
    if not (style.rotate_deg or style.shear or style.perspective):
        return None
    x0, y0, x1, y1 = box
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    limit = max_rotation(height, x1 - x0, abs(style.rotate_deg))
    angle = math.copysign(min(math.radians(abs(style.rotate_deg)), limit), style.rotate_deg)
    c, s = math.cos(angle), math.sin(angle)
    m = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])
    m = np.array([[1, style.shear, 0], [0, 1, 0], [0, 0, 1.0]]) @ m
    m = np.array([[1, 0, cx], [0, 1, cy], [0, 0, 1.0]]) @ m @ np.array([[1, 0, -cx], [0, 1, -cy], [0, 0, 1.0]])
    if style.perspective:
        src = np.float32([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
        moved = cv2.perspectiveTransform(src[None], m)[0]
        jitter = np.asarray(style.perspective, dtype=np.float64).reshape(4, 2) * height
        m = cv2.getPerspectiveTransform(src, (moved + jitter).astype(np.float32)).astype(np.float64)
    return m


def _crop_line(mask, style, pad, h, nothing_drawn):
    """Crop the ink to the line: the style's side margins; vertically the line box where it
    was drawn (shifted, or for very tall ink shrunk, only when ink leaves the window), or
    with ``tight_crop`` the ink's own top and bottom scaled to the line height."""
    canvas_h, canvas_w = mask.shape
    cols = np.flatnonzero(mask.max(axis=0) > _INK)
    rows = np.flatnonzero(mask.max(axis=1) > _INK)
    if cols.size == 0:
        raise DataError(nothing_drawn)
    left = max(0, int(round(cols[0] - style.margin_left * h)))
    right = min(canvas_w, int(round(cols[-1] + 1 + style.margin_right * h)))
    ink_top, ink_bottom = int(rows[0]), int(rows[-1]) + 1
    if style.tight_crop or ink_bottom - ink_top > h:
        extra = 0 if style.tight_crop else int(0.05 * (ink_bottom - ink_top))
        t, b = max(0, ink_top - extra), min(canvas_h, ink_bottom + extra)
        crop = mask[t:b, left:right]
        new_w = max(1, int(round(crop.shape[1] * h / float(crop.shape[0]))))
        crop = cv2.resize(crop, (new_w, h), interpolation=cv2.INTER_AREA)
    else:
        top = min(max(pad, ink_bottom - h), ink_top)
        crop = mask[top : top + h, left:right]
    if crop.shape[1] < 4:
        crop = np.pad(crop, ((0, 0), (0, 4 - crop.shape[1])))
    return crop


def _colour(rng, luma, tint):
    """A BGR colour near grey level ``luma`` with a random tint of up to ``tint`` levels."""
    if not tint:
        return np.full(3, float(luma))
    colour = np.clip(luma + rng.uniform(-tint, tint, size=3), 0, 255)
    shift = luma - float(colour @ np.array([0.114, 0.587, 0.299]))  # keep the perceived luminance
    return np.clip(colour + shift, 0, 255)


def _background(rng, h, w, colour, style):
    bg = np.empty((h, w, 3), np.float32)
    bg[:] = colour
    spread = style.bg_spread
    if style.background == "flat" or spread < 1:
        return bg
    if style.background == "gradient":  # linear, along a random direction
        angle = rng.uniform(0, 2 * math.pi)
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
        t = xs * math.cos(angle) + ys * math.sin(angle)
        t = (t - t.min()) / max(1e-6, float(t.max() - t.min()))
        delta = rng.uniform(-1, 1, size=3) * 0.3 + 1.0  # slight hue change along the gradient
        bg += ((t[:, :, None] - 0.5) * 2 * spread) * delta.astype(np.float32)
        return bg
    # soft noise texture: a coarse random field upsampled smoothly, plus fine grain
    cell = int(rng.integers(3, 9))
    coarse = rng.standard_normal((max(2, h // cell + 2), max(2, w // cell + 2))).astype(np.float32)
    field = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
    field /= max(1e-6, float(np.abs(field).max()))
    grain = rng.standard_normal((h, w)).astype(np.float32) * 0.15
    bg += ((field + grain) * spread)[:, :, None]
    return bg


def _paint(crop, style, rng):
    """Ink of the text colour over the background (float BGR)."""
    h, w = crop.shape
    text_colour = _colour(rng, style.text_luma, style.tint)
    bg_colour = _colour(rng, style.bg_luma, style.tint)
    alpha = crop.astype(np.float32)[:, :, None] / 255.0 * style.ink_fade
    background = _background(rng, h, w, bg_colour.astype(np.float32), style)
    return background * (1.0 - alpha) + text_colour.astype(np.float32) * alpha


def _degrade(image, style, height, rng):
    """Blur, noise and JPEG artefacts, then uint8."""
    if style.blur_sigma:
        image = cv2.GaussianBlur(image, (0, 0), sigmaX=style.blur_sigma * height / 32.0)
    if style.noise_std:
        image = image + rng.standard_normal(image.shape).astype(np.float32) * style.noise_std
    out = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    if style.jpeg_quality:
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(style.jpeg_quality)])
        if ok:
            out = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return np.ascontiguousarray(out)
