"""Draw one text line: font and style, ink mask, geometry, crop, colours and degradations."""

import math
import unicodedata

import cv2
import numpy as np

from ...errors import ConfigError, DataError
from .fonts import BUILTIN_FONT, _box_ratio, _check_coverage, _load_font, fonts_for_text


def _colour_with_luma(rng, luma, tint):
    """An RGB-ish colour (float, 3) near grey level ``luma`` with a random tint."""
    colour = np.clip(luma + rng.uniform(-tint, tint, size=3), 0, 255)
    # Re-centre so that the perceived luminance really is ``luma`` (BGR weights).
    shift = luma - float(colour @ np.array([0.114, 0.587, 0.299]))
    return np.clip(colour + shift, 0, 255)


def _pick_colours(rng, augment):
    """(text colour, background colour, background spread): contrast >= ~90 grey levels."""
    if not augment:
        return np.zeros(3), np.full(3, 255.0), 0.0
    spread = float(rng.uniform(0, 22))  # gradient/texture amplitude around the background
    if rng.random() < 0.8:  # dark text on a light background
        bg_luma = float(rng.uniform(165, 250))
        text_luma = float(rng.uniform(0, max(5.0, bg_luma - spread - 110)))
    else:
        bg_luma = float(rng.uniform(5, 90))
        text_luma = float(rng.uniform(min(250.0, bg_luma + spread + 110), 255))
    tint = float(rng.uniform(0, 45))
    return _colour_with_luma(rng, text_luma, tint), _colour_with_luma(rng, bg_luma, tint), spread


def _background(rng, h, w, colour, spread, augment):
    bg = np.empty((h, w, 3), np.float32)
    bg[:] = colour
    if not augment or spread < 1:
        return bg
    kind = rng.random()
    if kind < 0.35:  # flat
        return bg
    if kind < 0.7:  # linear gradient along a random direction
        angle = rng.uniform(0, 2 * math.pi)
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
        t = xs * math.cos(angle) + ys * math.sin(angle)
        t = (t - t.min()) / max(1e-6, float(t.max() - t.min()))
        delta = rng.uniform(-1, 1, size=3) * 0.3 + 1.0  # slight hue change along the gradient
        bg += ((t[:, :, None] - 0.5) * 2 * spread) * delta.astype(np.float32)
        return bg
    # soft noise texture: coarse random field upsampled smoothly, plus some fine grain
    cell = int(rng.integers(3, 9))
    coarse = rng.standard_normal((max(2, h // cell + 2), max(2, w // cell + 2))).astype(np.float32)
    field = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
    field /= max(1e-6, float(np.abs(field).max()))
    grain = rng.standard_normal((h, w)).astype(np.float32) * 0.15
    bg += ((field + grain) * spread)[:, :, None]
    return bg


def _draw_mask(text, font, spacing, stroke, canvas_w, canvas_h, x, baseline, smear=False):
    """Grey-level coverage mask (uint8, 255 = ink) of the text drawn at ``(x, baseline)``;
    ``smear`` thickens vertical strokes by one pixel (a bold weight milder than a stroke)."""
    from PIL import Image, ImageDraw

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


def _shapes_as_a_whole(text):
    """Text whose glyphs depend on their neighbours (RTL joining, combining marks):
    per-character spacing would break it, so it is drawn in one piece."""
    for ch in text:
        if unicodedata.bidirectional(ch) in ("R", "AL", "AN") or unicodedata.combining(ch):
            return True
        if unicodedata.category(ch) in ("Mn", "Mc", "Me", "Cf"):
            return True
    return False


def _geometry(rng, box, canvas_w, canvas_h, height):
    """A 3x3 warp (rotation, shear, perspective) around the text box, or None."""
    x0, y0, x1, y1 = box
    text_w = max(1.0, x1 - x0)
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    m = np.eye(3)
    changed = False
    if rng.random() < 0.5:
        # Keep the vertical drift over the whole line under ~12% of the height.
        limit = min(math.radians(2.5), math.asin(min(1.0, 0.12 * height / text_w)))
        angle = rng.uniform(-limit, limit)
        c, s = math.cos(angle), math.sin(angle)
        m = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]]) @ m
        changed = True
    if rng.random() < 0.3:
        shear = rng.uniform(-0.25, 0.25)  # italic-like slant
        m = np.array([[1, shear, 0], [0, 1, 0], [0, 0, 1.0]]) @ m
        changed = True
    centre = np.array([[1, 0, cx], [0, 1, cy], [0, 0, 1.0]])
    back = np.array([[1, 0, -cx], [0, 1, -cy], [0, 0, 1.0]])
    m = centre @ m @ back
    if rng.random() < 0.3:
        src = np.float32([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
        moved = cv2.perspectiveTransform(src[None], m)[0]
        jitter = rng.uniform(-0.07, 0.07, size=(4, 2)) * height
        m = cv2.getPerspectiveTransform(src, (moved + jitter).astype(np.float32)).astype(np.float64)
        changed = True
    return m if changed else None


def render_line(text, rng, fonts=None, height=32, augment=True):
    """Render one text line.

    Args:
        text (str): the text; must be drawable by at least one font of ``fonts``.
        rng (np.random.Generator): the only source of randomness (font, size, colours,
            augmentations), so equal generator states give identical images.
        fonts (list[str] | None): font sources from :func:`find_fonts` (default: the
            built-in font only).
        height (int): output height in pixels.
        augment (bool): vary size, spacing, weight, colours, background and geometry and
            add blur/noise; ``False`` draws plain black text on white.

    Returns:
        np.ndarray: BGR uint8 image of shape ``(height, W, 3)``; ``W`` follows the text
        (tight crop plus a small margin).

    Raises:
        ConfigError: ``text`` is empty or ``height`` is too small.
        DataError: no font in ``fonts`` has glyphs for every character of ``text``.
    """
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"text: expected a non-empty string with a visible character, got {text!r}")
    if not isinstance(height, int) or height < 8:
        raise ConfigError(f"height: expected an integer >= 8, got {height!r}")
    # The steps draw from ``rng`` in a fixed order: changing it changes every rendered set.
    source, font, style = _choose_font_and_style(text, rng, fonts, height, augment)
    mask, pad = _draw_ink(text, rng, font, style, height, augment)
    crop = _crop_line(mask, rng, pad, height, augment, f"font '{source}' drew nothing for text {text!r}")
    return _paint(crop, rng, height, augment)


def _choose_font_and_style(text, rng, fonts, height, augment):
    """A font that covers ``text``, sized so that its ascender-to-descender box fills 60-85%
    of the line, and the style: ``(spacing, stroke, smear)``."""
    fonts = list(fonts) if fonts else [BUILTIN_FONT]
    usable = fonts_for_text(text, fonts)
    if not usable:
        _check_coverage(text, fonts, f"text {text!r}")
    source = usable[int(rng.integers(len(usable)))]
    fill = rng.uniform(0.6, 0.85) if augment else 0.75
    size = max(6, int(round(fill * height / _box_ratio(source))))
    font = _load_font(source, size)
    spacing, stroke, smear = 0.0, 0, False
    if augment:
        if rng.random() < 0.3 and not _shapes_as_a_whole(text):
            spacing = float(rng.uniform(-0.03, 0.2)) * size
        if size >= 16 and rng.random() < 0.15:
            # Bolder weight: a full stroke only on large text, where it does not clog counters.
            if size >= 32:
                stroke = 1
            else:
                smear = True
    return source, font, (spacing, stroke, smear)


def _draw_ink(text, rng, font, style, height, augment):
    """The ink mask on a padded canvas (room for the warp), warped when augmenting;
    returns ``(mask, pad)``."""
    spacing, stroke, smear = style
    ascent, descent = font.getmetrics()
    pad = height
    if spacing == 0:
        text_w = font.getlength(text)
    else:
        text_w = sum(font.getlength(ch) for ch in text) + spacing * (len(text) - 1)
    canvas_w = int(math.ceil(text_w)) + 2 * pad + 2 * stroke + 4
    canvas_h = height + 2 * pad
    slack = max(0.0, (height - (ascent + descent)) / 2.0)
    jitter = rng.uniform(-0.5, 0.5) * min(slack, 0.1 * height) if augment else 0.0
    baseline = pad + slack + ascent + jitter
    x = pad + stroke + 2
    mask = _draw_mask(text, font, spacing, stroke, canvas_w, canvas_h, x, baseline, smear=smear)
    if augment:
        warp = _geometry(rng, (x, baseline - ascent, x + text_w, baseline + descent), canvas_w, canvas_h, height)
        if warp is not None:
            mask = cv2.warpPerspective(mask, warp, (canvas_w, canvas_h), flags=cv2.INTER_LINEAR, borderValue=0)
    return mask, pad


def _crop_line(mask, rng, pad, height, augment, nothing_drawn):
    """Crop the ink to the line: random side margins, the line box kept where it was drawn
    (shifted, or for very tall ink shrunk, only when ink leaves the window)."""
    canvas_h, canvas_w = mask.shape
    cols = np.flatnonzero(mask.max(axis=0) > 20)
    rows = np.flatnonzero(mask.max(axis=1) > 20)
    if cols.size == 0:
        raise DataError(nothing_drawn)
    margin_l = rng.uniform(0.05, 0.3) * height if augment else 0.15 * height
    margin_r = rng.uniform(0.05, 0.3) * height if augment else 0.15 * height
    left = max(0, int(round(cols[0] - margin_l)))
    right = min(canvas_w, int(round(cols[-1] + 1 + margin_r)))
    top = pad
    ink_top, ink_bottom = int(rows[0]), int(rows[-1]) + 1
    if ink_bottom - ink_top <= height:
        top = min(max(top, ink_bottom - height), ink_top)
        crop = mask[top : top + height, left:right]
    else:
        extra = int(0.05 * (ink_bottom - ink_top))
        t, b = max(0, ink_top - extra), min(canvas_h, ink_bottom + extra)
        crop = mask[t:b, left:right]
        new_w = max(1, int(round(crop.shape[1] * height / float(crop.shape[0]))))
        crop = cv2.resize(crop, (new_w, height), interpolation=cv2.INTER_AREA)
    if crop.shape[1] < 4:
        crop = np.pad(crop, ((0, 0), (0, 4 - crop.shape[1])))
    return crop


def _paint(crop, rng, height, augment):
    """Ink colour over a background, then blur, noise and JPEG artefacts (when augmenting)."""
    h, w = crop.shape
    text_colour, bg_colour, spread = _pick_colours(rng, augment)
    alpha = crop.astype(np.float32)[:, :, None] / 255.0
    if augment:
        alpha *= rng.uniform(0.85, 1.0)  # slightly faded ink
    background = _background(rng, h, w, bg_colour.astype(np.float32), spread, augment)
    image = background * (1.0 - alpha) + text_colour.astype(np.float32) * alpha
    if augment:
        if rng.random() < 0.3:
            sigma = rng.uniform(0.3, 0.8) * height / 32.0
            image = cv2.GaussianBlur(image, (0, 0), sigmaX=sigma)
        if rng.random() < 0.4:
            image = image + rng.standard_normal(image.shape).astype(np.float32) * rng.uniform(2, 8)
    out = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    if augment and rng.random() < 0.15:
        quality = int(rng.integers(45, 91))
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if ok:
            out = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return np.ascontiguousarray(out)
