"""Synthetic text-line renderer: the built-in data source for the demo, benchmarks and tests.

Lines of random text (from a charset or a word list) are drawn with Pillow's FreeType
fonts -- Pillow's built-in scalable font (Pillow >= 10.1) plus any TTF/OTF/TTC files the
user passes -- so no network and no system fonts are needed. Each line gets a random
font size (the font's ascender-to-descender box fills 60-85% of the line height),
character spacing, stroke weight, text and background colour (flat, gradient or a soft
noise texture), a small rotation, shear and perspective warp, blur, noise and JPEG
artefacts, all mild enough that the text stays legible. Every random choice comes from
the ``np.random.Generator`` that is passed in, so a seed reproduces byte-identical PNGs
and label file.

Output follows PaddleOCR's label format: ``images/000000.png<TAB>text`` per line, UTF-8.
"""

import functools
import logging
import math
import os
import tempfile
import unicodedata

import cv2
import numpy as np

from ..charset import DEFAULT_CHARACTERS
from ..errors import ConfigError, DataError
from ..utils.io import atomic_write_text, read_utf8_text

logger = logging.getLogger(__name__)

BUILTIN_FONT = "builtin"
FONT_EXTENSIONS = (".ttf", ".otf", ".ttc")

# A code point no real font maps (plane-16 private use): its mask is the font's .notdef glyph.
_UNMAPPED_CODEPOINT = "\U0010fffd"
_COVERAGE_SIZE = 24
_METRIC_SIZE = 64
# Tries per line before giving up on finding a text that is new / not excluded.
_MAX_TEXT_TRIES = 1000


# ----------------------------------------------------------------------------- fonts


def find_fonts(paths=None, include_builtin=True):
    """List the font sources to render with.

    Args:
        paths (str | list[str] | None): font files and/or folders; folders are searched
            recursively for ``.ttf``/``.otf``/``.ttc`` files.
        include_builtin (bool): start the list with ``"builtin"`` (Pillow's scalable font).

    Returns:
        list[str]: ``"builtin"`` (when included) followed by font file paths, in a stable
        (sorted) order so that a seed picks the same fonts on every run.

    Raises:
        DataError: a path does not exist, a folder holds no font file, or a file is not a
            font FreeType can load.
    """
    if paths is None:
        paths = []
    elif isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    sources = [BUILTIN_FONT] if include_builtin else []
    for raw in paths:
        path = os.fspath(raw)
        if path == BUILTIN_FONT:
            if BUILTIN_FONT not in sources:
                sources.append(BUILTIN_FONT)
            continue
        if os.path.isdir(path):
            found = []
            for root, dirs, files in os.walk(path):
                dirs.sort()
                found.extend(os.path.join(root, f) for f in sorted(files) if f.lower().endswith(FONT_EXTENSIONS))
            if not found:
                raise DataError(f"font folder '{path}' holds no {'/'.join(FONT_EXTENSIONS)} files")
        elif os.path.isfile(path):
            found = [path]
        else:
            raise DataError(f"font path '{path}' not found (expected a .ttf/.otf file or a folder of them)")
        for font_path in found:
            _load_font(font_path, _COVERAGE_SIZE)  # fail now, naming the file, not mid-dataset
            if font_path not in sources:
                sources.append(font_path)
    if not sources:
        raise DataError("no fonts: pass font files/folders or keep the built-in font")
    return sources


@functools.lru_cache(maxsize=512)
def _load_font(source, size):
    from PIL import ImageFont

    if source == BUILTIN_FONT:
        try:
            font = ImageFont.load_default(size=size)
        except TypeError:  # Pillow < 10.1 has no sized default font
            font = None
        if not isinstance(font, ImageFont.FreeTypeFont):
            raise DataError(
                "Pillow's built-in scalable font needs Pillow >= 10.1 built with FreeType; "
                "upgrade Pillow or pass font files with --fonts"
            )
        return font
    try:
        return ImageFont.truetype(source, size)
    except OSError as exc:
        raise DataError(f"font file '{source}' cannot be loaded by FreeType ({exc}); expected a TTF/OTF/TTC font")


@functools.lru_cache(maxsize=64)
def _box_ratio(source):
    """(ascender + descender) / font size: how tall a line box the font draws per size unit."""
    ascent, descent = _load_font(source, _METRIC_SIZE).getmetrics()
    return max(0.5, (ascent + descent) / float(_METRIC_SIZE))


@functools.lru_cache(maxsize=64)
def _notdef_mask(source):
    mask = _load_font(source, _COVERAGE_SIZE).getmask(_UNMAPPED_CODEPOINT)
    return mask.size, bytes(mask)


@functools.lru_cache(maxsize=200000)
def font_supports_char(source, ch):
    """Whether font ``source`` has a glyph for ``ch`` (it does not draw its .notdef box).

    Args:
        source (str): ``"builtin"`` or a font file path.
        ch (str): one character (dictionary entry).
    """
    if ch.isspace():
        return True
    mask = _load_font(source, _COVERAGE_SIZE).getmask(ch)
    if mask.size[0] == 0 or mask.size[1] == 0:
        # An empty drawing for a printable character means the glyph is missing, unless
        # it is a format/combining character that legitimately draws nothing alone.
        return unicodedata.category(ch[:1]) in ("Cf", "Mn", "Me")
    return (mask.size, bytes(mask)) != _notdef_mask(source)


def fonts_for_text(text, fonts):
    """The fonts of ``fonts`` that have a glyph for every character of ``text``."""
    chars = set(text)
    return [f for f in fonts if all(font_supports_char(f, c) for c in chars)]


def _check_coverage(chars, fonts, what):
    missing = [c for c in dict.fromkeys(chars) if not any(font_supports_char(f, c) for f in fonts)]
    if missing:
        shown = ", ".join(f"{c!r} (U+{ord(c[0]):04X})" for c in missing[:8])
        more = f" and {len(missing) - 8} more" if len(missing) > 8 else ""
        raise DataError(
            f"{what}: no font can draw {shown}{more}; fonts tried: {', '.join(fonts)} "
            "(pass --fonts with a font covering these characters, or drop them)"
        )


# ----------------------------------------------------------------------------- text


def _charset_list(charset):
    if charset is None:
        return None
    if isinstance(charset, str):
        chars = list(dict.fromkeys(charset))
    else:
        chars = list(dict.fromkeys(str(c) for c in charset))
    bad = [c for c in chars if c == "" or "\t" in c or "\n" in c or "\r" in c]
    if bad:
        raise ConfigError(f"charset: entries {bad[:5]!r} cannot appear in a label (empty, tab or newline)")
    if not chars:
        raise ConfigError("charset: empty (expected at least one character)")
    return chars


def random_text(rng, charset, min_len, max_len, words=None):
    """Draw one random string.

    Without ``words``: ``rng.integers(min_len, max_len + 1)`` characters from ``charset``
    (a space, if in the charset, is never first, last or doubled, since it would be
    invisible or ambiguous). With ``words``: words joined by single spaces, between
    ``min_len`` and ``max_len`` characters long.

    Args:
        rng (np.random.Generator): the only source of randomness.
        charset (str | list[str]): characters to draw from (ignored with ``words``).
        min_len (int): shortest text, in characters (dictionary entries).
        max_len (int): longest text.
        words (list[str] | None): word list to draw from instead of single characters.

    Returns:
        str: the text.

    Raises:
        ConfigError: lengths are invalid, the charset has no visible character, or no
            word combination fits ``min_len..max_len``.
    """
    if not (isinstance(min_len, int) and isinstance(max_len, int)) or min_len < 1 or max_len < min_len:
        raise ConfigError(f"min_len/max_len: expected integers with 1 <= min_len <= max_len, got {min_len!r}/{max_len!r}")
    if words:
        return _random_words(rng, words, min_len, max_len)
    chars = charset if isinstance(charset, list) else _charset_list(charset)
    visible = [c for c in chars if not c.isspace()]
    if not visible:
        raise ConfigError(f"charset: {chars!r} has no visible character")
    has_space = len(visible) != len(chars)
    length = int(rng.integers(min_len, max_len + 1))
    out = []
    for i in range(length):
        edge = i == 0 or i == length - 1 or out[-1].isspace()
        pool = visible if (edge or not has_space) else chars
        out.append(pool[int(rng.integers(len(pool)))])
    return "".join(out)


def _random_words(rng, words, min_len, max_len):
    fitting = [w for w in words if len(w) <= max_len]
    if not fitting:
        raise ConfigError(f"words: no word is at most max_len={max_len} characters long")
    for _ in range(100):
        target = int(rng.integers(min_len, max_len + 1))
        text = fitting[int(rng.integers(len(fitting)))]
        while len(text) < target:
            word = fitting[int(rng.integers(len(fitting)))]
            if len(text) + 1 + len(word) > max_len:
                break
            text = text + " " + word
        if min_len <= len(text) <= max_len:
            return text
    raise ConfigError(f"words: cannot join words into a text of {min_len}..{max_len} characters (check min_len/max_len)")


def read_word_list(path):
    """Read a word list: one word (or phrase) per line, UTF-8; blank lines are skipped.

    Args:
        path (str): the file.

    Raises:
        DataError: the file is missing, not UTF-8, empty, or a line holds a tab.
    """
    path = os.fspath(path)
    raw = read_utf8_text(path, "word list", "a UTF-8 file, one word per line", DataError)
    words = []
    for lineno, line in enumerate(raw.splitlines(), 1):
        word = line.strip()
        if not word:
            continue
        if "\t" in word:
            raise DataError(f"word list '{path}' line {lineno}: a word cannot contain a tab (labels are tab-separated)")
        words.append(" ".join(word.split()))
    if not words:
        raise DataError(f"word list '{path}' is empty (expected one word per line)")
    return words


def read_label_texts(path):
    """The texts of a PaddleOCR label file (``path<TAB>text`` per line), as a set.

    Args:
        path (str): the label file.

    Raises:
        DataError: the file is missing, not UTF-8, or a line has no tab.
    """
    path = os.fspath(path)
    raw = read_utf8_text(path, "label file", "'image_path<TAB>text' lines", DataError)
    texts = set()
    for lineno, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        if "\t" not in line:
            raise DataError(f"label file '{path}' line {lineno}: expected 'image_path<TAB>text', found no tab")
        texts.add(line.split("\t", 1)[1])
    return texts


# ----------------------------------------------------------------------------- rendering


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
    fonts = list(fonts) if fonts else [BUILTIN_FONT]
    usable = fonts_for_text(text, fonts)
    if not usable:
        _check_coverage(text, fonts, f"text {text!r}")
    source = usable[int(rng.integers(len(usable)))]

    # Size so that the font's ascender-to-descender box fills 60-85% of the line.
    fill = rng.uniform(0.6, 0.85) if augment else 0.75
    size = max(6, int(round(fill * height / _box_ratio(source))))
    font = _load_font(source, size)
    ascent, descent = font.getmetrics()
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

    pad = height  # room for rotation / perspective before cropping
    if spacing == 0:
        text_w = font.getlength(text)
    else:
        text_w = sum(font.getlength(ch) for ch in text) + spacing * (len(text) - 1)
    canvas_w = int(math.ceil(text_w)) + 2 * pad + 2 * stroke + 4
    canvas_h = height + 2 * pad
    box_h = ascent + descent
    slack = max(0.0, (height - box_h) / 2.0)
    jitter = rng.uniform(-0.5, 0.5) * min(slack, 0.1 * height) if augment else 0.0
    baseline = pad + slack + ascent + jitter
    x = pad + stroke + 2
    mask = _draw_mask(text, font, spacing, stroke, canvas_w, canvas_h, x, baseline, smear=smear)

    if augment:
        warp = _geometry(rng, (x, baseline - ascent, x + text_w, baseline + descent), canvas_w, canvas_h, height)
        if warp is not None:
            mask = cv2.warpPerspective(mask, warp, (canvas_w, canvas_h), flags=cv2.INTER_LINEAR, borderValue=0)

    cols = np.flatnonzero(mask.max(axis=0) > 20)
    rows = np.flatnonzero(mask.max(axis=1) > 20)
    if cols.size == 0:
        raise DataError(f"font '{source}' drew nothing for text {text!r}")
    margin_l = rng.uniform(0.05, 0.3) * height if augment else 0.15 * height
    margin_r = rng.uniform(0.05, 0.3) * height if augment else 0.15 * height
    left = max(0, int(round(cols[0] - margin_l)))
    right = min(canvas_w, int(round(cols[-1] + 1 + margin_r)))
    # Keep the line box where it was drawn; shift (or, for very tall ink, shrink) only
    # when glyphs or the warp push ink outside the window.
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
    h, w = crop.shape
    if w < 4:
        crop = np.pad(crop, ((0, 0), (0, 4 - w)))
        w = 4

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


# ----------------------------------------------------------------------------- datasets


def _write_png(path, image):
    """Write a PNG through a temporary name + rename, so no reader sees half a file."""
    ok, buf = cv2.imencode(".png", image)
    if not ok:
        raise DataError(f"cannot encode image for '{path}'")
    folder = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".png", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(buf.tobytes())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def render_dataset(
    out_dir,
    num,
    seed=0,
    charset=DEFAULT_CHARACTERS,
    words=None,
    min_len=1,
    max_len=10,
    fonts=None,
    height=32,
    augment=True,
    label_file="labels.txt",
    image_subdir="images",
    exclude_texts=None,
    unique=False,
    show_progress=True,
):
    """Render ``num`` text lines into ``out_dir`` with a PaddleOCR label file.

    Writes ``out_dir/<image_subdir>/000000.png ...`` and ``out_dir/<label_file>`` with
    lines ``images/000000.png<TAB>text``. The label file is written last and atomically,
    so it only ever lists complete images. The same arguments and seed give
    byte-identical files.

    Args:
        out_dir (str): output folder (created if missing).
        num (int): number of lines.
        seed (int): seed of the ``np.random.Generator`` that drives everything.
        charset (str | list[str] | None): characters to draw texts from; with ``words``
            it filters the word list (words using other characters are dropped), and
            ``None`` keeps every word.
        words (list[str] | None): draw texts as words joined by spaces instead.
        min_len (int): shortest text in characters.
        max_len (int): longest text in characters.
        fonts (list[str] | None): font sources from :func:`find_fonts` (default: built-in).
        height (int): image height in pixels.
        augment (bool): random styles and distortions (see :func:`render_line`).
        label_file (str): label-file name inside ``out_dir``.
        image_subdir (str): image folder inside ``out_dir``.
        exclude_texts (set[str] | None): texts never to generate (e.g. a held-out set).
        unique (bool): never generate the same text twice.
        show_progress (bool): show a tqdm progress bar.

    Returns:
        str: the label-file path.

    Raises:
        ConfigError: bad arguments, or too few distinct texts are possible.
        DataError: fonts are missing or cannot draw the charset/words.
    """
    from tqdm import tqdm

    if not isinstance(num, int) or isinstance(num, bool) or num < 1:
        raise ConfigError(f"num: expected a positive integer, got {num!r}")
    if not isinstance(min_len, int) or not isinstance(max_len, int) or min_len < 1 or max_len < min_len:
        raise ConfigError(f"min_len/max_len: expected integers with 1 <= min_len <= max_len, got {min_len!r}/{max_len!r}")
    fonts = list(fonts) if fonts else find_fonts()
    chars = _charset_list(charset)
    if words is not None:
        words = [w for w in words if w and w.strip()]
        if chars is not None:
            allowed = set(chars)
            kept = [w for w in words if set(w) <= allowed | {" "}]
            if len(kept) < len(words):
                logger.warning("dropped %d of %d words that use characters outside the charset", len(words) - len(kept), len(words))
            words = kept
        if not words:
            raise ConfigError("words: no word left that uses only characters of the charset")
        if any("\t" in w or "\n" in w or "\r" in w for w in words):
            raise ConfigError("words: a word contains a tab or newline (labels are one line, tab-separated)")
        _check_coverage("".join(sorted(set("".join(words)))), fonts, "words")
    else:
        if chars is None:
            chars = list(DEFAULT_CHARACTERS)
        _check_coverage(chars, fonts, "charset")
    exclude = set(exclude_texts or ())
    seen = set()

    out_dir = os.fspath(out_dir)
    image_dir = os.path.join(out_dir, image_subdir)
    os.makedirs(image_dir, exist_ok=True)
    rng = np.random.default_rng(seed)
    lines = []
    for i in tqdm(range(num), desc="synth", unit="line", disable=not show_progress):
        for _ in range(_MAX_TEXT_TRIES):
            text = random_text(rng, chars, min_len, max_len, words=words)
            if text in exclude or (unique and text in seen):
                continue
            break
        else:
            raise ConfigError(
                f"could only generate {len(lines)} of {num} lines: every new text was excluded or a repeat "
                f"(allow more texts: raise max_len, widen the charset/words, or drop unique/exclude)"
            )
        seen.add(text)
        image = render_line(text, rng, fonts=fonts, height=height, augment=augment)
        rel = f"{image_subdir}/{i:06d}.png" if image_subdir else f"{i:06d}.png"
        _write_png(os.path.join(out_dir, rel), image)
        lines.append(f"{rel}\t{text}\n")
    label_path = os.path.join(out_dir, label_file)
    atomic_write_text(label_path, "".join(lines))
    return label_path


# ----------------------------------------------------------------------------- CLI
